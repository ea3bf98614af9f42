"""Nuisance-extended information bottleneck (NIB)."""
import rgl.datasets.corruptions  # noqa: F401  (registers ImageCorruption)
from .decoder import NIBConvDecoder
from .gradient_reversal import GradientReversal, reverse_gradient
from .latent_split import ChannelSplit, TokenSplit
from .nib import NuisanceIBClassifier, gaussian_kl

__all__ = [
    'NuisanceIBClassifier', 'NIBConvDecoder', 'ChannelSplit', 'TokenSplit',
    'GradientReversal', 'reverse_gradient', 'gaussian_kl'
]
