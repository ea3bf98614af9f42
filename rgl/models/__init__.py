"""Models. Importing this package registers every model in rgl's MODELS.

One subpackage per kind of part; see docs/architecture.md for how they meet.
"""
from . import (aligners, anomaly, backbones, classifiers,  # noqa: F401
               denoisers, distillers, encoders, energy, generative, ib,
               losses, meta, rewards, smoothing, vae)
from .data_preprocessors import ImageDataPreprocessor
from .wrappers import RglDistributedDataParallel

__all__ = ['ImageDataPreprocessor', 'RglDistributedDataParallel']
