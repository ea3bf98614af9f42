"""Datasets of other modalities for MetaMAE: DABS PAMAP2/HIGGS and digits
as a table."""
from .digits_table import DigitsTableDataset
from .higgs import HIGGSDataset, read_higgs_csv
from .pamap2 import ACTIVITY_IDS, PAMAP2Dataset, read_protocol

__all__ = [
    'DigitsTableDataset', 'HIGGSDataset', 'PAMAP2Dataset', 'ACTIVITY_IDS',
    'read_higgs_csv', 'read_protocol'
]
