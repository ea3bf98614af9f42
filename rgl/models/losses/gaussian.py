import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from .utils import check_noise_args, draw_noise, repeat_copies


@MODELS.register_module()
class GaussianAugmentationLoss(nn.Module):
    """Gaussian data augmentation (Cohen et al. 2019):
    ``E_δ CE(f(x + δ), y)`` with ``δ ~ N(0, σ² I)``.

    Args:
        sigma (float): noise level σ in [0, 1] pixel space.
        num_noise (int): M noisy copies per image (1 in the paper).
        loss_weight (float): multiplies the loss.
    """

    def __init__(self, sigma, num_noise=1, loss_weight=1.0):
        super().__init__()
        check_noise_args(sigma, num_noise, 'GaussianAugmentationLoss')
        self.sigma, self.num_noise = float(sigma), num_noise
        self.loss_weight = loss_weight

    def forward(self, classifier_fn, inputs, labels):
        m = self.num_noise
        noisy = repeat_copies(inputs, m) + draw_noise(inputs, self.sigma, m)
        logits = classifier_fn(noisy)
        loss = F.cross_entropy(logits, labels.repeat(m))
        return dict(loss_cls=self.loss_weight * loss)
