"""Gaussian augmentation with label smoothing, registered in rgl's MODELS."""
import torch.nn.functional as F
from torch import nn

from rgl.models.losses.utils import (check_noise_args, draw_noise,
                                     repeat_copies)
from rgl.registry import MODELS


@MODELS.register_module()
class LabelSmoothedGaussianLoss(nn.Module):
    """``E_δ CE_ε(f(x + δ), y)`` with ``δ ~ N(0, σ² I)``: Gaussian data
    augmentation (Cohen et al. 2019) against label-smoothed targets.

    It follows rgl's objective contract: called as ``loss(classifier_fn,
    inputs, labels)`` by ``ImageClassifier`` and returns
    ``dict(loss_xxx=...)``; the noisy copies are laid out copy-major, as
    rgl's objectives (and a REPA aligner on the classifier) expect.

    Args:
        sigma (float): noise level σ in [0, 1] pixel space.
        num_noise (int): M noisy copies per image.
        label_smoothing (float): ε of the smoothed targets.
    """

    def __init__(self, sigma, num_noise=1, label_smoothing=0.1):
        super().__init__()
        check_noise_args(sigma, num_noise, 'LabelSmoothedGaussianLoss')
        self.sigma, self.num_noise = float(sigma), num_noise
        self.label_smoothing = float(label_smoothing)

    def forward(self, classifier_fn, inputs, labels):
        m = self.num_noise
        noisy = repeat_copies(inputs, m) + draw_noise(inputs, self.sigma, m)
        loss = F.cross_entropy(classifier_fn(noisy), labels.repeat(m),
                               label_smoothing=self.label_smoothing)
        return dict(loss_cls=loss)
