import torch
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from .utils import check_noise_args, draw_noise, kl_rows


@MODELS.register_module()
class StabilityTrainingLoss(nn.Module):
    """Stability training (Li et al. 2019, as a smoothing baseline):
    ``CE(f(x'), y) + λ KL(softmax f(x) ‖ softmax f(x + δ))``.

    Args:
        sigma (float): noise level σ.
        lbd (float): λ, weight of the stability (KL) term.
        ce_on_noisy (bool): ``x' = x + δ`` (default) or the clean ``x``.
            With ``lbd=0`` and ``ce_on_noisy=True`` this is Gaussian
            augmentation.
    """

    def __init__(self, sigma, lbd=2.0, ce_on_noisy=True):
        super().__init__()
        check_noise_args(sigma, 1, 'StabilityTrainingLoss')
        self.sigma, self.lbd = float(sigma), lbd
        self.ce_on_noisy = ce_on_noisy

    def forward(self, classifier_fn, inputs, labels):
        b = inputs.shape[0]
        noisy = inputs + draw_noise(inputs, self.sigma, 1)
        # clean and noisy images share one forward pass
        logits = classifier_fn(torch.cat([inputs, noisy]))
        clean, noisy_logits = logits[:b], logits[b:]
        ce = F.cross_entropy(noisy_logits if self.ce_on_noisy else clean,
                             labels)
        kl = kl_rows(clean.softmax(dim=1), noisy_logits).mean()
        return dict(loss_cls=ce, loss_stability=self.lbd * kl)
