"""Noise-robust training objectives (Gaussian, Consistency, SmoothAdv, ...,
and FT-CADIS for classifiers behind a denoiser).

Each is called ``loss(classifier_fn, inputs, labels) -> dict(loss_xxx=...)``
with ``inputs`` in [0, 1] and returns terms that mmengine sums.
"""
from .catrs import CATRSLoss
from .consistency import ConsistencyLoss
from .ftcadis import FTCADISLoss
from .gaussian import GaussianAugmentationLoss
from .macer import MACERLoss
from .smooth_adv import SmoothAdvLoss
from .smoothmix import SmoothMixLoss
from .stability import StabilityTrainingLoss

__all__ = [
    'CATRSLoss', 'ConsistencyLoss', 'FTCADISLoss',
    'GaussianAugmentationLoss', 'MACERLoss', 'SmoothAdvLoss', 'SmoothMixLoss',
    'StabilityTrainingLoss'
]
