"""Models. Importing this package registers every model in rgl's MODELS.

Each family lives in its own subpackage (see docs/architecture.md).
"""
from . import backbones, classifiers  # noqa: F401
from .data_preprocessors import ImageDataPreprocessor
from .wrappers import RglDistributedDataParallel

__all__ = ['ImageDataPreprocessor', 'RglDistributedDataParallel']
