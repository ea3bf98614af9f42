"""Samplers on analytic fields: data x ~ N(μ, s²) per dimension."""
import numpy as np
import pytest
import torch

from rgl.models.generative import GaussianDiffusion, LinearInterpolant
from rgl.registry import SAMPLERS
from rgl.samplers import (ODESampler, euler_step, guidance_active,
                          guided_call)

MU, S = 1.5, 0.5
NULL = 10


def gaussian_velocity(x, t, y):
    """E[ε − x | x_t] on the linear path for x ~ N(μ(y), s²); the label
    shifts the mean (μ + y) and ∅ gets μ, so CFG is testable."""
    t = t.double().reshape(-1, *[1] * (x.dim() - 1))
    mu = MU + torch.where(y == NULL, 0, y).double().reshape(t.shape)
    var = (1 - t)**2 * S**2 + t**2
    r = x.double() - (1 - t) * mu
    e_x = mu + (1 - t) * S**2 / var * r
    e_eps = t / var * r
    return (e_eps - e_x).float()


def gaussian_eps(x, t, y):
    """E[ε | x_t] of the DDPM forward process (1000 linear steps)."""
    ab = torch.from_numpy(DIFF.alphas_cumprod)[t.long()].reshape(-1, 1, 1, 1)
    var = ab * S**2 + (1 - ab)
    return ((1 - ab).sqrt() / var * (x.double() - ab.sqrt() * MU)).float()


DIFF = GaussianDiffusion.linear(1000)


def point_velocity(x, t, y):
    """All data at x* = 2: v = (x_t − x*)/t."""
    t = t.double().reshape(-1, *[1] * (x.dim() - 1))
    return ((x.double() - 2.0) / t).float()


def noise(n=4000, seed=0):
    return torch.randn(n, 1, 1, 1, generator=torch.Generator().manual_seed(
        seed))


@pytest.mark.parametrize('method', ['euler', 'heun'])
def test_ode_reaches_point_mass_exactly(method):
    sampler = ODESampler(num_steps=7, method=method)
    out = sampler(point_velocity, noise(16), torch.zeros(16, dtype=torch.long),
                  NULL)
    torch.testing.assert_close(out, torch.full_like(out, 2.0),
                               atol=1e-5, rtol=0)


@pytest.mark.parametrize('cfg', [
    dict(type='ODESampler', num_steps=50, method='heun'),
    dict(type='SDESampler', num_steps=250),
])
def test_flow_samplers_recover_gaussian(cfg):
    sampler = SAMPLERS.build(cfg)
    gen = torch.Generator().manual_seed(1)
    out = sampler(gaussian_velocity, noise(), torch.zeros(4000,
                                                          dtype=torch.long),
                  NULL, process=LinearInterpolant(), generator=gen)
    assert abs(out.mean().item() - MU) < 0.04
    assert abs(out.std().item() - S) < 0.04


@pytest.mark.parametrize('cfg', [
    dict(type='DDPMSampler', num_steps=100),
    dict(type='DDIMSampler', num_steps=50),
])
def test_diffusion_samplers_recover_gaussian(cfg):
    sampler = SAMPLERS.build(cfg)
    out = sampler(gaussian_eps, noise(), torch.zeros(4000, dtype=torch.long),
                  NULL, process=DIFF,
                  generator=torch.Generator().manual_seed(2))
    assert abs(out.mean().item() - MU) < 0.05
    assert abs(out.std().item() - S) < 0.05


def test_cfg_formula_and_interval():
    calls = []

    def model(x, t, y):
        calls.append(len(y))
        return torch.where(y == NULL, 1.0, 3.0).reshape(-1, 1).expand(
            -1, 2).clone()

    x, t, y = torch.zeros(2, 2), torch.zeros(2), torch.tensor([0, 1])
    out = guided_call(model, x, t, y, NULL, 4.0, True)
    torch.testing.assert_close(out, torch.full((2, 2), 1 + 4 * (3 - 1.0)))
    assert calls == [4]  # one batched call for cond + uncond
    half = guided_call(model, x, t, y, NULL, 4.0, True, guided_channels=1)
    torch.testing.assert_close(half[:, 1], torch.full((2, ), 3.0))
    assert guidance_active(0.5, 1.8, (0.0, 0.7))
    assert not guidance_active(0.8, 1.8, (0.0, 0.7))
    assert not guidance_active(0.5, 1.0, (0.0, 1.0))


def test_cfg_extrapolates_class_mean_on_ode():
    # guided velocity of N(μ+y) vs N(μ): scale w moves the mean to μ + w·y
    sampler = ODESampler(num_steps=50, method='heun', cfg_scale=2.0)
    y = torch.ones(4000, dtype=torch.long)
    out = sampler(gaussian_velocity, noise(), y, NULL)
    assert abs(out.mean().item() - (MU + 2.0)) < 0.05
    # outside the interval nothing changes
    off = ODESampler(num_steps=50, method='heun', cfg_scale=2.0,
                     guidance_interval=(2.0, 3.0))
    out = off(gaussian_velocity, noise(), y, NULL)
    assert abs(out.mean().item() - (MU + 1.0)) < 0.05


def test_step_functions_and_determinism():
    x = torch.ones(3)
    torch.testing.assert_close(euler_step(x, 2 * x, 1.0, 0.75), 0.5 * x)
    sde = SAMPLERS.build(dict(type='SDESampler', num_steps=20))
    kw = dict(process=LinearInterpolant())
    a = sde(gaussian_velocity, noise(8), torch.zeros(8, dtype=torch.long),
            NULL, generator=torch.Generator().manual_seed(5), **kw)
    b = sde(gaussian_velocity, noise(8), torch.zeros(8, dtype=torch.long),
            NULL, generator=torch.Generator().manual_seed(5), **kw)
    assert torch.equal(a, b)
    assert np.isfinite(a.numpy()).all()
