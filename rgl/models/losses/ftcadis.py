import torch
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from .utils import (check_noise_args, draw_noise, kl_rows, per_copy,
                    repeat_copies, standardized_kl_pgd)


def selective_cross_entropy(ce, correct, warm_start=True):
    """FT-CADIS's confidence-aware selective cross-entropy.

    ``L_SCE = (1/M) Σ_i 1[f(D(x + δ_i)) = y] · CE_i``: only the denoised
    copies the classifier already gets right are trained on (a wrong one
    may be a hallucination of the denoiser). With ``warm_start`` a sample
    with no correct copy keeps its lowest-CE copy, so every sample
    contributes from the start of fine-tuning.

    Args:
        ce (Tensor): ``(B, M)`` per-copy cross-entropies.
        correct (Tensor): ``(B, M)`` bool, copy ``i`` classified as ``y``.

    Returns:
        (Tensor, Tensor): ``(B,)`` losses and the ``(B, M)`` float mask
        actually applied (in the original copy order).
    """
    mask = correct.float()
    if warm_start:
        none = ~correct.any(1)
        lowest = ce.argmin(1)
        mask[none, lowest[none]] = 1.0
    return (ce * mask).mean(1), mask


@MODELS.register_module()
class FTCADISLoss(nn.Module):
    """FT-CADIS: confidence-aware denoised fine-tuning of an off-the-shelf
    classifier (Jang, Kim, Shin, Jeong; TMLR 2024).

    For each image ``x`` with label ``y``, ``M`` denoised copies
    ``D_i = D(x + δ_i)``, ``δ_i ~ N(0, σ² I)``, from a frozen one-shot
    denoiser ``D``:

    - ``L_SCE``: :func:`selective_cross_entropy` of ``f(D_i)``;
    - consistent target ``q = (1/M) Σ_i softmax f(D_i)``;
    - ``η_i = D_i − x``; a PGD (:func:`standardized_kl_pgd`: ``T`` steps of
      size ``2ε/T``, L2 ball ε, re-standardised to ``η_i``'s mean and RMS)
      maximises ``KL(q ‖ f(x + η))`` in the denoised-image space;
    - ``L_MAdv = λ · 1[all M copies correct] · max_i KL(q ‖ f(x + η_i*))``;
    - ``L = mean_b (L_SCE + L_MAdv)``, returned as ``loss_sce`` and
      ``loss_madv`` (their sum is the objective).

    As in the reference, ``q`` is not detached in ``L_MAdv`` (its gradient
    flows into the clean-copy predictions too) and the copies are
    classified in training mode, the attack in eval mode.

    Paper settings (ε in rgl's [0, 1] pixel space; the reference's
    ``--eps 64`` is 64/256 in its [−1, 1] space, i.e. ε = 0.125 here):
    CIFAR-10 (ViT-B/16, full fine-tuning) M=4, T=4, λ=4; ImageNet
    (ViT-B/16 CLIP-384, LoRA) M=2, T=1, λ=2; both with the warm start.

    Args:
        denoiser (dict | nn.Module): a one-shot denoiser with
            ``denoise(x_noisy, sigma)`` on [0, 1] images (e.g.
            ``ADMDenoiser``, ``DDPMDenoiser``). Frozen, run without
            gradients, kept out of this module's parameters and checkpoints.
        sigma (float): σ of the smoothed classifier being fine-tuned.
        num_noise (int): M.
        lbd (float): λ (0 disables the adversarial term and the attack).
        epsilon (float): ε, the L2 radius of the attack on ``η``.
        num_steps (int): T.
        warm_start (bool): keep the lowest-CE copy of samples without any
            correct copy.
    """

    def __init__(self, denoiser, sigma, num_noise=4, lbd=4.0, epsilon=0.125,
                 num_steps=4, warm_start=True):
        super().__init__()
        check_noise_args(sigma, num_noise, 'FTCADISLoss')
        if epsilon < 0 or not isinstance(num_steps, int) or num_steps < 0:
            raise ConfigError('FTCADISLoss.epsilon must be >= 0 and '
                              f'num_steps an int >= 0, got {epsilon!r}, '
                              f'{num_steps!r}')
        if lbd < 0:
            raise ConfigError(f'FTCADISLoss.lbd must be >= 0, got {lbd!r}')
        if denoiser is None:
            raise ConfigError('FTCADISLoss.denoiser is required (a one-shot '
                              'denoiser config, e.g. ADMDenoiser)')
        denoiser = denoiser if isinstance(denoiser, nn.Module) else \
            MODELS.build(denoiser)
        if not hasattr(denoiser, 'denoise'):
            raise ConfigError(f'FTCADISLoss.denoiser: '
                              f'{type(denoiser).__name__} has no '
                              'denoise(x_noisy, sigma)')
        denoiser.requires_grad_(False).eval()
        self._denoiser = [denoiser]  # a list: not a submodule, never saved
        self.sigma, self.num_noise = float(sigma), num_noise
        self.lbd, self.epsilon = float(lbd), float(epsilon)
        self.num_steps, self.warm_start = num_steps, warm_start

    @property
    def denoiser(self):
        return self._denoiser[0]

    @torch.no_grad()
    def denoised_copies(self, inputs):
        """``D(x + δ_i)`` for ``M`` fresh noises, ``(M·B, C, H, W)``
        copy-major."""
        m = self.num_noise
        denoiser = self.denoiser.to(inputs.device)
        noisy = repeat_copies(inputs, m) + draw_noise(inputs, self.sigma, m)
        return denoiser.denoise(noisy, self.sigma).to(inputs.dtype)

    def forward(self, classifier_fn, inputs, labels):
        m, b = self.num_noise, inputs.shape[0]
        denoised = self.denoised_copies(inputs)
        logits = classifier_fn(denoised)
        k = logits.shape[-1]
        labels_rep = labels.repeat(m)
        correct = (logits.argmax(1) == labels_rep).view(m, b).t()  # (B, M)
        ce = F.cross_entropy(logits, labels_rep,
                             reduction='none').view(m, b).t()
        loss_sce, _ = selective_cross_entropy(ce, correct, self.warm_start)
        out = dict(loss_sce=loss_sce.mean())
        if self.lbd:
            q = per_copy(logits.softmax(-1), m).mean(0)  # (B, K)
            x_rep = repeat_copies(inputs, m)
            eta = standardized_kl_pgd(
                classifier_fn, x_rep, q.repeat(m, 1), denoised - x_rep,
                self.epsilon, self.num_steps, m)
            adv_logits = per_copy(classifier_fn(x_rep + eta), m)
            kl = kl_rows(q.expand(m, b, k), adv_logits).max(0).values
            full = correct.all(1)
            out['loss_madv'] = self.lbd * (kl * full).mean()
        return out
