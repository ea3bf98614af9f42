"""TIA2 text-to-image alignment labels and prompt sets (TextNorm)."""
from .io import check_images, load_alignment_scores, load_human_labels
from .metrics import (METRICS, alignment_scores, ap_at_k, format_table,
                      majority, prompt_average, prompt_metrics)

__all__ = [
    'check_images', 'load_alignment_scores', 'load_human_labels', 'METRICS',
    'alignment_scores', 'ap_at_k', 'format_table', 'majority',
    'prompt_average', 'prompt_metrics'
]
