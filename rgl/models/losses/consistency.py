import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from .utils import (check_noise_args, draw_noise, kl_rows, per_copy,
                    repeat_copies)


@MODELS.register_module()
class ConsistencyLoss(nn.Module):
    """Consistency regularization (Jeong & Shin, NeurIPS 2020).

    With ``p_i = softmax f(x + δ_i)``, ``i = 1..M``, and ``p̂ = mean_i p_i``::

        L = mean_i CE(f(x + δ_i), y) + λ mean_i KL(p̂ ‖ p_i) + η H(p̂)

    Args:
        sigma (float): noise level σ.
        num_noise (int): M (2 in the paper).
        lbd (float): λ (CIFAR-10: 5, 10 or 20; CIFAR-100: 20 at σ=0.25,
            10 at σ=0.5/1.0).
        eta (float): η, weight of the entropy of ``p̂`` (0.5).
    """

    def __init__(self, sigma, num_noise=2, lbd=10.0, eta=0.5):
        super().__init__()
        check_noise_args(sigma, num_noise, 'ConsistencyLoss')
        self.sigma, self.num_noise = float(sigma), num_noise
        self.lbd, self.eta = lbd, eta

    def forward(self, classifier_fn, inputs, labels):
        m = self.num_noise
        noisy = repeat_copies(inputs, m) + draw_noise(inputs, self.sigma, m)
        logits = classifier_fn(noisy)
        ce = F.cross_entropy(logits, labels.repeat(m))
        probs = per_copy(logits.softmax(dim=1), m)  # (M, B, K)
        p_hat = probs.mean(dim=0)
        kl = kl_rows(p_hat.expand_as(probs), per_copy(logits, m)).mean()
        entropy = -(p_hat * p_hat.clamp_min(1e-20).log()).sum(1).mean()
        return dict(loss_cls=ce, loss_consistency=self.lbd * kl,
                    loss_entropy=self.eta * entropy)
