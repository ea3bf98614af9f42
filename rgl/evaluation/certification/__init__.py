"""Certification results: the TSV format, certified accuracy / ACR,
tables and plots, and resumable writing for tools/certify.py."""
from .analysis import (average_certified_radius, certified_accuracy,
                       high_probability_correction, summarize)
from .plots import plot_certified_accuracy
from .tables import latex_table, markdown_table
from .tsv import COLUMNS, HEADER, format_row, read_certify_tsv
from .writer import (RowWriter, check_or_create, finished_indices,
                     merge_parts)

__all__ = [
    'average_certified_radius', 'certified_accuracy',
    'high_probability_correction', 'summarize', 'plot_certified_accuracy',
    'latex_table', 'markdown_table', 'COLUMNS', 'HEADER', 'format_row',
    'read_certify_tsv', 'RowWriter', 'check_or_create', 'finished_indices',
    'merge_parts'
]
