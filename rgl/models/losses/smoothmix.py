import torch
import torch.nn.functional as F
from torch import nn

from rgl.registry import MODELS
from .smooth_adv import smoothed_soft_nll
from .utils import (WarmupCounter, check_noise_args, draw_noise, eval_mode,
                    kl_rows, l2_normalize, per_copy, project_l2,
                    repeat_copies)


@MODELS.register_module()
class SmoothMixLoss(nn.Module):
    """SmoothMix (Jeong et al., NeurIPS 2021): mixup between a sample and
    its adversary on the smoothed classifier.

    An unbounded L2 PGD of ``T`` steps of size ``α`` on the soft smoothed
    classifier (noises fixed) gives ``x^(T)``; the "clean side" is
    ``x̃ = x^(mix_step)`` (``x`` itself for ``mix_step=0``), kept within
    ``α·mix_step`` of ``x``. With ``λ ~ U[0, 1/2]``::

        x_mix = (1−λ) x̃ + λ x^(T),   y_mix = (1−λ) ĝ(x̃) + λ · 1/K
        L = mean_i CE(f(x̃ + δ_i), y)
            + η · mean_i 1[ĝ(x̃) correct] KL(y_mix ‖ softmax f(x_mix + δ_i))

    where ``ĝ`` is the mean softmax of the M noisy copies. With ``eta=0`` it
    is Gaussian augmentation with M copies.

    Paper settings (CIFAR-10, M=2, T=4, η=5): σ=0.25: α=0.5, mix_step 0;
    σ=0.5: α=1.0, mix_step 1; σ=1.0: α=2.0, mix_step 1.

    Args:
        sigma (float): σ.
        num_noise (int): M.
        num_steps (int): T.
        step_size (float): α.
        eta (float): η.
        mix_step (int): which PGD iterate is the clean side.
        maxnorm (float, optional): L2 bound of ``x^(T) − x`` (unbounded in
            the paper).
        warmup_iters (int): η and the clean side's bound grow linearly over
            this many training iterations (the paper: 10 epochs); 0
            disables.
    """

    def __init__(self, sigma, num_noise=2, num_steps=4, step_size=0.5,
                 eta=5.0, mix_step=0, maxnorm=None, warmup_iters=0):
        super().__init__()
        self.warmup = WarmupCounter(warmup_iters)
        check_noise_args(sigma, num_noise, 'SmoothMixLoss')
        self.sigma, self.num_noise = float(sigma), num_noise
        self.num_steps, self.step_size = num_steps, step_size
        self.eta, self.mix_step, self.maxnorm = eta, mix_step, maxnorm

    def attack(self, classifier_fn, inputs, labels, noise, warmup=1.0):
        m, adv, clean_side = self.num_noise, inputs.detach(), inputs.detach()
        with eval_mode(classifier_fn), torch.enable_grad():
            for step in range(self.num_steps):
                if step == self.mix_step:
                    clean_side = adv
                adv = adv.detach().requires_grad_(True)
                loss = smoothed_soft_nll(classifier_fn, repeat_copies(adv, m),
                                         noise, labels, m)
                grad, = torch.autograd.grad(loss, [adv])
                adv = adv.detach() + self.step_size * l2_normalize(grad)
                if self.maxnorm is not None:
                    adv = inputs + project_l2(adv - inputs, self.maxnorm)
                adv = adv.clamp(0, 1)
        if self.mix_step:
            clean_side = (inputs + project_l2(
                clean_side - inputs,
                warmup * self.step_size * self.mix_step)).clamp(
                    0, 1)
        return clean_side.detach(), adv.detach()

    def forward(self, classifier_fn, inputs, labels):
        m, b = self.num_noise, inputs.shape[0]
        noise = draw_noise(inputs, self.sigma, m)
        warmup = self.warmup.step()
        if self.eta == 0:
            logits = classifier_fn(repeat_copies(inputs, m) + noise)
            return dict(loss_cls=F.cross_entropy(logits, labels.repeat(m)))
        clean, adv = self.attack(classifier_fn, inputs, labels, noise,
                                 warmup)
        logits = classifier_fn(repeat_copies(clean, m) + noise)
        loss_cls = F.cross_entropy(logits, labels.repeat(m))
        g_hat = per_copy(logits.softmax(dim=1), m).mean(0).detach()
        correct = (g_hat.argmax(1) == labels).float()
        lam = torch.rand(b, device=inputs.device) / 2
        lam_x = lam.view((-1, ) + (1, ) * (inputs.dim() - 1))
        x_mix = (1 - lam_x) * clean + lam_x * adv
        k = g_hat.shape[1]
        y_mix = (1 - lam[:, None]) * g_hat + lam[:, None] / k
        mix_logits = per_copy(classifier_fn(repeat_copies(x_mix, m) + noise),
                              m)
        kl = kl_rows(y_mix.expand(m, -1, -1), mix_logits)  # (M, B)
        return dict(loss_cls=loss_cls,
                    loss_mixup=warmup * self.eta * (kl * correct).mean())
