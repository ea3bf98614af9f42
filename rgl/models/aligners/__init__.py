"""Representation aligners (REPA) bound to a feature tap of any backbone."""
from .repa_aligner import REPAAligner, build_projector

__all__ = ['REPAAligner', 'build_projector']
