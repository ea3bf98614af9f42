"""Representation aligners (REPA, iREPA, HASTE) bound to a feature tap of
any backbone."""
from .haste_aligner import HASTEAligner, attention_cross_entropy
from .projectors import ConvProjector, build_mlp_projector, build_projector
from .repa_aligner import REPAAligner
from .spatial_norm import spatial_normalize

__all__ = [
    'REPAAligner', 'HASTEAligner', 'ConvProjector', 'build_projector',
    'build_mlp_projector', 'spatial_normalize', 'attention_cross_entropy'
]
