"""Stochastic interpolants x_t = α_t x + σ_t ε (Albergo et al.; SiT).

REPA's convention: t = 0 is data and t = 1 is noise; the network predicts
the velocity v = dx_t/dt = α'_t x + σ'_t ε.
"""
import math

import torch

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError


def expand_like(t, x):
    """(N,) → (N, 1, 1, ...) broadcastable against x."""
    return t.reshape(t.shape[0], *([1] * (x.dim() - 1)))


class Interpolant:
    """A path (α_t, σ_t) with α_0 = σ_1 = 1 and α_1 = σ_0 = 0."""

    def alpha_sigma(self, t):
        """(α_t, σ_t, α'_t, σ'_t) for times t of any shape."""
        raise NotImplementedError

    def interpolate(self, x, noise, t):
        """``(x_t, v_t)``: the noisy point and its target velocity."""
        alpha, sigma, d_alpha, d_sigma = self.alpha_sigma(expand_like(t, x))
        return alpha * x + sigma * noise, d_alpha * x + d_sigma * noise

    def score_from_velocity(self, v, x_t, t):
        """∇ log p_t(x_t) = −ε/σ_t recovered from a velocity v.

        With r = α_t/α'_t: ``s = (r·v − x_t) / (σ_t² − r·σ'_t·σ_t)``.
        Undefined where α'_t = 0 (t = 0 on the cosine path).
        """
        alpha, sigma, d_alpha, d_sigma = self.alpha_sigma(expand_like(t, x_t))
        ratio = alpha / d_alpha
        return (ratio * v - x_t) / (sigma**2 - ratio * d_sigma * sigma)

    def data_from_velocity(self, v, x_t, t):
        """x̂_0 = (σ'_t x_t − σ_t v) / (α_t σ'_t − σ_t α'_t)."""
        alpha, sigma, d_alpha, d_sigma = self.alpha_sigma(expand_like(t, x_t))
        return (d_sigma * x_t - sigma * v) / (alpha * d_sigma -
                                              sigma * d_alpha)


@MODELS.register_module()
class LinearInterpolant(Interpolant):
    """α_t = 1 − t, σ_t = t (rectified flow; REPA's ``--path-type linear``),
    so v = ε − x."""

    def alpha_sigma(self, t):
        one = torch.ones_like(t)
        return 1 - t, t, -one, one


@MODELS.register_module()
class CosineInterpolant(Interpolant):
    """α_t = cos(πt/2), σ_t = sin(πt/2) (the variance-preserving path of
    REPA's ``--path-type cosine``)."""

    def alpha_sigma(self, t):
        half_pi = math.pi / 2
        c, s = torch.cos(half_pi * t), torch.sin(half_pi * t)
        return c, s, -half_pi * s, half_pi * c


def build_interpolant(cfg):
    """``'linear' | 'cosine' | dict(type=...) | Interpolant`` → object."""
    if isinstance(cfg, Interpolant):
        return cfg
    if isinstance(cfg, str):
        names = dict(linear='LinearInterpolant', cosine='CosineInterpolant')
        if cfg not in names:
            raise ConfigError(f'path {cfg!r} is unknown; use one of '
                              f'{sorted(names)}')
        cfg = dict(type=names[cfg])
    return MODELS.build(cfg)


def time_shift(t, shift=1.0):
    """SD3/LightningDiT timestep shift in rgl's convention (t = 1 is noise):

        t' = s·t / (1 + (s − 1)·t).

    s = 1 is the identity; the map is increasing on [0, 1] with t' = 0 at 0
    and 1 at 1, and s > 1 moves every time towards noise (more steps and
    training samples at high noise, as high-resolution or high-dimensional
    latents need). Data-at-one codebases write the same map with 1/s:
    LightningDiT's ``timestep_shift: 0.3`` is s = 1/0.3 here, and DDT's
    ``shift_respace_fn(t, shift)`` is s = shift.

    Works on floats and tensors.
    """
    if shift == 1:
        return t
    if shift <= 0:
        raise ConfigError(f'time shift must be > 0, got {shift}')
    # s·t / (s·t + 1 − t): the same map, exact at both endpoints
    st = shift * t
    return st / (st + (1 - t))


TIME_WEIGHTINGS = ('uniform', 'lognormal')


def sample_time(n, weighting='uniform', device=None, generator=None,
                mean=0.0, std=1.0, shift=1.0):
    """t ∈ (0, 1) per sample.

    ``'uniform'``: t ~ U(0, 1). ``'lognormal'``: t = σ/(1 + σ) with
    log σ ~ N(mean, std²), i.e. t = sigmoid(u), u ~ N(mean, std²) (REPA's
    and DDT's ``lognormal``, SD3's logit-normal; concentrated near t = ½ for
    mean 0). ``shift`` then applies :func:`time_shift`.
    """
    if weighting == 'uniform':
        t = torch.rand(n, device=device, generator=generator)
    elif weighting == 'lognormal':
        if std <= 0:
            raise ConfigError(f'lognormal time std must be > 0, got {std}')
        # σ/(1 + σ) rather than sigmoid(u): the same draws give the same t
        # as before these options existed (bit-exact runs)
        sigma = (torch.randn(n, device=device, generator=generator) * std +
                 mean).exp()
        t = sigma / (1 + sigma)
    else:
        raise ConfigError(f'time weighting must be one of '
                          f'{list(TIME_WEIGHTINGS)}, got {weighting!r}')
    return time_shift(t, shift)
