from . import corruptions, dabs, imagenet32, tia2, transforms  # noqa: F401
from .anomaly import (AnomalyFolderDataset, MVTecADDataset,  # noqa: F401
                      VisADataset)
from .base import LabeledImageDataset, build_transforms
from .cifar import CIFAR10Dataset
from .digits import DigitsDataset
from .held_out import HeldOutClassDataset  # noqa: F401
from .image_folder import ImageFolderDataset, list_images
from .latents import LatentDataset
from .smoothed_predictions import SmoothedPredictionDataset

__all__ = [
    'LabeledImageDataset', 'build_transforms', 'CIFAR10Dataset',
    'DigitsDataset', 'ImageFolderDataset', 'list_images', 'LatentDataset',
    'SmoothedPredictionDataset'
]
