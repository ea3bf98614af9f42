"""Noise-level matching shared by every one-shot denoiser.

Randomized smoothing hands the denoiser ``x + δ`` with ``δ ~ N(0, σ²I)`` on
[0, 1] images. Diffusion models live on [−1, 1], where the same image is
``x' + δ'`` with ``x' = 2x − 1`` and ``δ' ~ N(0, σ'²I)``, ``σ' = 2σ``.

* **DDPM / iDDPM (discrete ᾱ_t).** ``x_t = √ᾱ_t x' + √(1 − ᾱ_t) ε`` has
  noise-to-signal ratio ``r_t = √((1 − ᾱ_t)/ᾱ_t)``; the matched step is the
  first t with ``r_t ≥ σ'`` and the model input is ``√ᾱ_t (x' + δ')``
  (Carlini et al. 2023; Jeong & Shin 2023 state the same t as the first t
  with ``√ᾱ_t ≤ 1/√(1 + σ'²)``).
* **Flow matching (continuous interpolant x_t = α_t x + σ_t ε).** The
  matched time solves ``σ_t/α_t = σ'`` and the model input is
  ``α_t (x' + δ')``.
"""
import math

import numpy as np
import torch

from rgl.models.generative.gaussian_diffusion import linear_betas
from rgl.utils.errors import ConfigError


def cosine_betas(num_timesteps, s=0.008, max_beta=0.999):
    """iDDPM's cosine schedule: ``ᾱ(u) = cos²((u + s)/(1 + s) · π/2)``
    discretised as ``β_t = min(1 − ᾱ((t+1)/T)/ᾱ(t/T), max_beta)``."""
    def alpha_bar(u):
        return math.cos((u + s) / (1 + s) * math.pi / 2)**2

    return np.array([
        min(1 - alpha_bar((i + 1) / num_timesteps) /
            alpha_bar(i / num_timesteps), max_beta)
        for i in range(num_timesteps)
    ], dtype=np.float64)


def make_betas(noise_schedule, num_timesteps):
    """β_1..β_T of ``'linear'`` (DDPM, rescaled to T) or ``'cosine'``
    (iDDPM)."""
    if not isinstance(num_timesteps, int) or num_timesteps < 1:
        raise ConfigError(f'num_timesteps must be a positive int, got '
                          f'{num_timesteps!r}')
    if noise_schedule == 'linear':
        return linear_betas(num_timesteps)
    if noise_schedule == 'cosine':
        return cosine_betas(num_timesteps)
    raise ConfigError(f"noise_schedule must be 'linear' or 'cosine', got "
                      f'{noise_schedule!r}')


def noise_to_signal(alphas_cumprod):
    """``r_t = √((1 − ᾱ_t)/ᾱ_t)`` for every step (float64)."""
    a = np.asarray(alphas_cumprod, dtype=np.float64)
    return np.sqrt((1.0 - a) / a)


def match_timestep(alphas_cumprod, sigma_prime, key='sigma'):
    """The first t in [0, T) with ``√((1 − ᾱ_t)/ᾱ_t) ≥ σ'``.

    Raises:
        ConfigError: naming ``key`` when σ' exceeds the ratio of the last
            step (t would fall outside [0, T)), or is not positive.
    """
    if not sigma_prime > 0 or not math.isfinite(sigma_prime):
        raise ConfigError(f'{key} must be a positive number, got '
                          f'{sigma_prime!r}')
    ratio = noise_to_signal(alphas_cumprod)
    t = int(np.searchsorted(ratio, sigma_prime, side='left'))
    if not np.all(np.diff(ratio) > 0):  # not monotone: plain scan
        hits = np.nonzero(ratio >= sigma_prime)[0]
        t = int(hits[0]) if len(hits) else len(ratio)
    if t >= len(ratio):
        raise ConfigError(
            f'{key}: the noise level σ\' = {sigma_prime:g} on [−1, 1] '
            f'exceeds the schedule\'s largest √((1−ᾱ_t)/ᾱ_t) = '
            f'{ratio[-1]:.4g} (t would fall outside [0, {len(ratio)}))')
    return t


def ddpm_input_scale(alphas_cumprod, t):
    """√ᾱ_t: ``√ᾱ_t (x' + δ')`` is distributed as the model's x_t when
    ``σ' = r_t`` (and has slightly less noise than x_t when ``σ' < r_t``)."""
    return float(np.sqrt(np.asarray(alphas_cumprod, dtype=np.float64)[t]))


def flow_match_time(interpolant, sigma_prime, key='sigma', tol=1e-10):
    """The time t in (0, 1) with ``σ_t/α_t = σ'`` on the interpolant.

    Closed forms: ``t = σ'/(1 + σ')`` on the linear path and
    ``t = (2/π) arctan σ'`` on the cosine path; any other path (α_t
    decreasing, σ_t increasing) is solved by bisection.
    """
    from rgl.models.generative.interpolants import (CosineInterpolant,
                                                    LinearInterpolant)
    if not sigma_prime > 0 or not math.isfinite(sigma_prime):
        raise ConfigError(f'{key} must be a positive number, got '
                          f'{sigma_prime!r}')
    if type(interpolant) is LinearInterpolant:
        return sigma_prime / (1.0 + sigma_prime)
    if type(interpolant) is CosineInterpolant:
        return 2.0 / math.pi * math.atan(sigma_prime)

    def ratio(t):
        alpha, sigma = interpolant.alpha_sigma(
            torch.tensor(t, dtype=torch.float64))[:2]
        return float(sigma / alpha)

    lo, hi = 0.0, 1.0
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if ratio(mid) < sigma_prime else (lo, mid)
    return 0.5 * (lo + hi)


def flow_input_scale(interpolant, t):
    """α_t: ``α_t (x' + δ') = α_t x' + σ_t ε`` when ``σ_t/α_t = σ'``."""
    alpha = interpolant.alpha_sigma(torch.tensor(t, dtype=torch.float64))[0]
    return float(alpha)
