import torch
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from .utils import check_noise_args, draw_noise, per_copy, repeat_copies


@MODELS.register_module()
class MACERLoss(nn.Module):
    """MACER (Zhai et al., ICLR 2020): attack-free maximisation of the
    certified radius.

    With ``M`` noisy copies, the classification term is the NLL of the soft
    smoothed prediction ``ĝ(x) = mean_i softmax f(x + δ_i)``. The robustness
    term uses ``ĝ_β(x) = mean_i softmax(β f(x + δ_i))`` with top-2
    probabilities ``p_1, p_2`` and, on correctly classified samples, the
    hinge on the radius surrogate::

        L_rob = σ/2 · mean_b 1[ŷ_b = y_b] max(0, γ − (Φ⁻¹(p_1) − Φ⁻¹(p_2)))

    ``L = L_cls + λ L_rob``. With ``lbd=0`` and ``num_noise=1`` it is
    Gaussian augmentation.

    Paper settings (CIFAR-10): M=16, β=16, γ=8, λ=12 (σ=0.25), 6 (σ=0.5);
    at σ=1.0 λ starts at 0 and is raised to 12 later in training.

    Args:
        sigma (float): σ. num_noise (int): M. beta (float): β, inverse
        temperature. gamma (float): γ, the hinge margin. lbd (float): λ.
    """

    def __init__(self, sigma, num_noise=16, beta=16.0, gamma=8.0, lbd=12.0):
        super().__init__()
        check_noise_args(sigma, num_noise, 'MACERLoss')
        self.sigma, self.num_noise = float(sigma), num_noise
        self.beta, self.gamma, self.lbd = beta, gamma, lbd

    def forward(self, classifier_fn, inputs, labels):
        m = self.num_noise
        noisy = repeat_copies(inputs, m) + draw_noise(inputs, self.sigma, m)
        logits = per_copy(classifier_fn(noisy), m)  # (M, B, K)
        g_hat = logits.softmax(dim=-1).mean(0)
        loss_cls = F.nll_loss(g_hat.clamp_min(1e-10).log(), labels)
        out = dict(loss_cls=loss_cls)
        if self.lbd:
            g_beta = (self.beta * logits).softmax(dim=-1).mean(0)
            top2 = g_beta.topk(2, dim=1)
            correct = top2.indices[:, 0] == labels
            # clamping keeps Φ⁻¹ finite where the reference drops inf/nan
            p = top2.values.clamp(1e-6, 1 - 1e-6)
            gap = torch.special.ndtri(p[:, 0]) - torch.special.ndtri(p[:, 1])
            hinge = F.relu(self.gamma - gap) * correct
            out['loss_robust'] = self.lbd * self.sigma / 2 * hinge.sum() \
                / inputs.shape[0]
        return out
