"""Collaborative score distillation: score sources, kernels, SVGD."""
from .kernels import BaseKernel, FixedRBFKernel, RBFKernel
from .score_sources import (BaseScoreSource, InstructPix2PixScore,
                            StableDiffusionScore, load_local_pipeline)
from .svgd import SVGDDistiller, particle_seed, svgd_gradient
from .tiling import (gather_windows, region_weights, scatter_average,
                     window_views)

__all__ = [
    'BaseKernel', 'RBFKernel', 'FixedRBFKernel', 'BaseScoreSource',
    'InstructPix2PixScore', 'StableDiffusionScore', 'load_local_pipeline',
    'SVGDDistiller', 'svgd_gradient', 'particle_seed', 'window_views',
    'gather_windows', 'scatter_average', 'region_weights'
]
