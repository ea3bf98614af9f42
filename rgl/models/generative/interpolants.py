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


def sample_time(n, weighting='uniform', device=None, generator=None):
    """t ∈ (0, 1) per sample: ``'uniform'`` t ~ U(0, 1), or ``'lognormal'``
    t = σ/(1 + σ) with σ = exp(N(0, 1)) (concentrated near t = ½)."""
    if weighting == 'uniform':
        return torch.rand(n, device=device, generator=generator)
    if weighting == 'lognormal':
        sigma = torch.randn(n, device=device, generator=generator).exp()
        return sigma / (1 + sigma)
    raise ConfigError(f"time weighting must be 'uniform' or 'lognormal', got "
                      f'{weighting!r}')
