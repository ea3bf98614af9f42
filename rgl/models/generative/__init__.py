"""Generative algorithms: flow matching (SiT), DDPM (DiT) and REPA-E."""
from .base import GenerativeAlgorithm
from .data_preprocessor import GenerativeDataPreprocessor
from .ddpm import DDPM
from .flow_matching import FlowMatching
from .gaussian_diffusion import GaussianDiffusion
from .interpolants import (CosineInterpolant, LinearInterpolant,
                           build_interpolant, sample_time)
from .repa_e import REPAE

__all__ = [
    'GenerativeAlgorithm', 'GenerativeDataPreprocessor', 'DDPM',
    'FlowMatching', 'GaussianDiffusion', 'CosineInterpolant',
    'LinearInterpolant', 'build_interpolant', 'sample_time', 'REPAE'
]
