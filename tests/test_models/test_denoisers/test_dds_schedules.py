"""Timestep matching and scaling identities (DDPM linear, iDDPM cosine,
flow-matching paths)."""
import math

import numpy as np
import pytest
import torch

from rgl.models.denoisers import (cosine_betas, ddpm_input_scale,
                                  flow_input_scale, flow_match_time,
                                  make_betas, match_timestep,
                                  noise_to_signal)
from rgl.models.generative import CosineInterpolant, LinearInterpolant
from rgl.utils.errors import ConfigError


def _alphas(schedule, steps):
    return np.cumprod(1 - make_betas(schedule, steps))


# t found by running the official DDS certify.py loops (reference (d)):
# CIFAR-10 iDDPM cosine T=4000 and ImageNet ADM linear T=1000.
@pytest.mark.parametrize('schedule,steps,expected', [
    ('cosine', 4000, [1158, 1984, 2809]),
    ('linear', 1000, [145, 259, 396])])
def test_matched_steps_of_the_released_models(schedule, steps, expected):
    a = _alphas(schedule, steps)
    got = [match_timestep(a, 2 * s) for s in (0.25, 0.5, 1.0)]
    assert got == expected


@pytest.mark.parametrize('schedule', ['linear', 'cosine'])
@pytest.mark.parametrize('sigma_prime', [0.01, 0.5, 1.3, 2.0, 7.0])
def test_first_step_at_or_above_the_noise_level(schedule, sigma_prime):
    a = _alphas(schedule, 1000)
    t = match_timestep(a, sigma_prime)
    r = noise_to_signal(a)
    assert r[t] >= sigma_prime and (t == 0 or r[t - 1] < sigma_prime)
    # MDDS's form of the same rule: first t with √ᾱ_t ≤ 1/√(1 + σ'²)
    ok = np.sqrt(a) <= 1 / np.sqrt(1 + sigma_prime**2)
    assert t == int(np.argmax(ok))


@pytest.mark.parametrize('schedule', ['linear', 'cosine'])
def test_scaled_noisy_input_is_the_forward_process(schedule):
    """√ᾱ_t (x' + r_t ε) = √ᾱ_t x' + √(1−ᾱ_t) ε (q_sample) exactly when
    σ' = r_t."""
    a = _alphas(schedule, 1000)
    t = match_timestep(a, 0.8)
    r = float(noise_to_signal(a)[t])
    g = torch.Generator().manual_seed(0)
    x, eps = torch.rand(2, 3, 4, 4, generator=g, dtype=torch.float64) * 2 - 1
    lhs = ddpm_input_scale(a, t) * (x + r * eps)
    rhs = math.sqrt(a[t]) * x + math.sqrt(1 - a[t]) * eps
    torch.testing.assert_close(lhs, rhs)


def test_cosine_schedule_against_its_formula():
    betas = cosine_betas(4000)
    f = [math.cos((u / 4000 + 0.008) / 1.008 * math.pi / 2)**2
         for u in range(4001)]
    a = np.cumprod(1 - betas)
    # ᾱ_t = f(t+1)/f(0) while β is below its 0.999 cap
    np.testing.assert_allclose(a[:3900], np.array(f[1:3901]) / f[0],
                               rtol=1e-9)
    assert betas.max() == pytest.approx(0.999)


def test_sigma_beyond_the_schedule_names_the_key():
    a = _alphas('linear', 1000)
    top = noise_to_signal(a)[-1]
    with pytest.raises(ConfigError, match='sigma') as err:
        match_timestep(a, top * 1.01)
    assert '[0, 1000)' in str(err.value)
    with pytest.raises(ConfigError, match='sigma'):
        match_timestep(a, -1.0)


class _SlowLinear(LinearInterpolant):
    """The linear path under another type: solved by bisection."""


@pytest.mark.parametrize('interp', [LinearInterpolant(), CosineInterpolant(),
                                    _SlowLinear()])
@pytest.mark.parametrize('sigma_prime', [0.05, 0.5, 2.0, 20.0])
def test_flow_time_has_the_noise_to_signal_ratio(interp, sigma_prime):
    t = flow_match_time(interp, sigma_prime)
    alpha, sigma = interp.alpha_sigma(torch.tensor(t, dtype=torch.float64))[:2]
    assert 0 < t < 1
    assert float(sigma / alpha) == pytest.approx(sigma_prime, rel=1e-7)
    if isinstance(interp, LinearInterpolant):
        assert t == pytest.approx(sigma_prime / (1 + sigma_prime), rel=1e-8)
    # α_t (x' + σ' ε) = α_t x' + σ_t ε: the interpolant at t
    g = torch.Generator().manual_seed(1)
    x, eps = torch.randn(2, 5, generator=g, dtype=torch.float64)
    lhs = flow_input_scale(interp, t) * (x + sigma_prime * eps)
    x_t, _ = interp.interpolate(x[None], eps[None],
                                torch.tensor([t], dtype=torch.float64))
    torch.testing.assert_close(lhs, x_t[0], rtol=1e-7, atol=1e-9)


def test_bad_schedule_names_the_key():
    with pytest.raises(ConfigError, match='noise_schedule'):
        make_betas('sigmoid', 10)
    with pytest.raises(ConfigError, match='num_timesteps'):
        make_betas('linear', 0)
