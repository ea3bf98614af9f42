"""TIA2 text-to-image alignment labels and prompt sets (TextNorm).

The per-prompt ranking metrics live in ``rgl.evaluation.metrics.ranking``.
"""
from .io import check_images, load_alignment_scores, load_human_labels

__all__ = ['check_images', 'load_alignment_scores', 'load_human_labels']
