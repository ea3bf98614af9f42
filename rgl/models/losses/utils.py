"""Helpers shared by the noise-robust objectives.

Every objective lays its ``M`` noisy copies out copy-major: row ``i·B + b``
holds ``x_b + δ_i``, so ``logits.view(M, B, K)`` separates the copies and
one forward pass serves all of them.
"""
import contextlib

import torch
import torch.nn.functional as F
from torch import nn

from rgl.utils.errors import ConfigError


def check_noise_args(sigma, num_noise=1, owner='loss'):
    if not isinstance(sigma, (int, float)) or sigma < 0:
        raise ConfigError(f'{owner}.sigma must be a number >= 0, '
                          f'got {sigma!r}')
    if not isinstance(num_noise, int) or num_noise < 1:
        raise ConfigError(f'{owner}.num_noise must be a positive int, '
                          f'got {num_noise!r}')


def draw_noise(x, sigma, m):
    """``M`` Gaussian noises ``δ_i ~ N(0, σ² I)`` for each image, ``(M·B,
    C, H, W)`` copy-major."""
    return torch.randn((m * x.shape[0], ) + x.shape[1:], device=x.device,
                       dtype=x.dtype) * sigma


def repeat_copies(x, m):
    """``x`` repeated ``M`` times copy-major (matches :func:`draw_noise`)."""
    return x.repeat((m, ) + (1, ) * (x.dim() - 1))


def per_copy(t, m):
    """``(M·B, ...) -> (M, B, ...)``."""
    return t.view((m, -1) + tuple(t.shape[1:]))


def kl_rows(target, logits):
    """``KL(target ‖ softmax(logits))`` per row (target a distribution)."""
    return F.kl_div(F.log_softmax(logits, dim=-1), target,
                    reduction='none').sum(-1)


def l2_normalize(g, eps=1e-8):
    norm = g.flatten(1).norm(dim=1).view((-1, ) + (1, ) * (g.dim() - 1))
    return g / (norm + eps)


def project_l2(delta, radius):
    """Project each row of ``delta`` onto the L2 ball of ``radius``."""
    return delta.renorm(p=2, dim=0, maxnorm=radius)


@contextlib.contextmanager
def eval_mode(classifier_fn):
    """Attacks run the classifier in eval mode (BatchNorm with running
    statistics, as in the reference implementations), then restore it.
    ``classifier_fn`` is a bound method of a module or a module."""
    module = getattr(classifier_fn, '__self__', classifier_fn)
    if not isinstance(module, nn.Module):
        yield
        return
    was_training = module.training
    module.eval()
    try:
        yield
    finally:
        module.train(was_training)


class WarmupCounter(nn.Module):
    """Counts training calls in a persistent buffer, so a linear warm-up
    (``min(1, t / T_warmup)``) survives checkpoint and ``--resume``."""

    def __init__(self, warmup_iters=0):
        super().__init__()
        if not isinstance(warmup_iters, int) or warmup_iters < 0:
            raise ConfigError('warmup_iters must be an int >= 0, got '
                              f'{warmup_iters!r}')
        self.warmup_iters = warmup_iters
        self.register_buffer('num_calls', torch.zeros((), dtype=torch.long))

    def step(self):
        """The warm-up factor of this call (1 without warm-up)."""
        if self.training:
            self.num_calls += 1
        if self.warmup_iters == 0:
            return 1.0
        return min(1.0, self.num_calls.item() / self.warmup_iters)


def mean_rms(t):
    """Per-sample mean and root-mean-square of ``t``, shaped to broadcast."""
    flat = t.flatten(1)
    shape = (-1, ) + (1, ) * (t.dim() - 1)
    return (flat.mean(1).view(shape), flat.pow(2).mean(1).sqrt().view(shape))


def standardized_kl_pgd(classifier_fn, x_rep, target_rep, delta0, epsilon,
                        num_steps, m):
    """The L2 PGD of CAT-RS and FT-CADIS on a perturbation added to ``x``.

    From ``δ₀`` (CAT-RS: the Gaussian noise; FT-CADIS: ``η = D(x + δ) −
    x``), ``T`` L2-normalised ascent steps of size ``2ε/T`` on
    ``(1/M) Σ KL(target ‖ softmax f(x + δ))``; ``δ − δ₀`` is projected onto
    the ε-ball and each sample is re-standardised to ``δ₀``'s per-sample
    mean and RMS (so it keeps the statistics of a Gaussian noise or of a
    denoiser residual). Runs ``classifier_fn`` in eval mode.

    Args:
        x_rep, target_rep, delta0: ``(M·B, ...)`` copy-major.
    """
    if epsilon == 0 or num_steps == 0:
        return delta0
    x_rep, target_rep = x_rep.detach(), target_rep.detach()
    delta0 = delta0.detach()
    mu0, rms0 = mean_rms(delta0)
    step = 2 * epsilon / num_steps
    delta = delta0
    with eval_mode(classifier_fn), torch.enable_grad():
        for _ in range(num_steps):
            delta.requires_grad_(True)
            loss = kl_rows(target_rep, classifier_fn(x_rep + delta)).sum() / m
            grad, = torch.autograd.grad(loss, [delta])
            delta = delta.detach() + step * l2_normalize(grad)
            delta = delta0 + project_l2(delta - delta0, epsilon)
            mu, rms = mean_rms(delta)
            delta = ((delta - mu) / rms * rms0 + mu0).detach()
    return delta
