"""SGLDSampler: the target distribution on a known energy, per-item noise,
and a clear error for a bad step size."""
import math

import pytest
import torch

from rgl.registry import SAMPLERS
from rgl.samplers.sgld import SGLDSampler, item_normal, item_uniform
from rgl.utils.errors import ConfigError

MU = torch.tensor([[-2.0, 0.0], [2.0, 0.0]])
SIGMA = 0.5


def mixture_energy(x):
    """E(x) = −log Σ_k ½ N(x; μ_k, σ²I) (up to a constant)."""
    d2 = (x[:, None, :] - MU[None]).pow(2).sum(-1)
    return -torch.logsumexp(-d2 / (2 * SIGMA**2), dim=1)


def test_sgld_reaches_gaussian_mixture():
    # unadjusted Langevin: noise s = √(2a) makes exp(−E) stationary
    a = 0.005
    sampler = SAMPLERS.build(dict(type='SGLDSampler', num_steps=600,
                                  step_size=a, noise=math.sqrt(2 * a),
                                  clamp=None))
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(4000, 2, generator=gen) * 2
    x = sampler(mixture_energy, x0, generator=gen)
    # target: mean 0, E[x1²] = 4 + σ², E[x2²] = σ², half the mass per mode
    assert x.mean(0).abs().max() < 0.15
    assert x[:, 0].pow(2).mean() == pytest.approx(4 + SIGMA**2, rel=0.05)
    assert x[:, 1].pow(2).mean() == pytest.approx(SIGMA**2, rel=0.08)
    assert (x[:, 0] > 0).float().mean() == pytest.approx(0.5, abs=0.04)
    near = (x - MU[(x[:, 0] > 0).long()]).pow(2).sum(1)
    # within a mode: ‖x − μ‖² / σ² ~ χ²₂, mean 2
    assert (near / SIGMA**2).mean() == pytest.approx(2.0, rel=0.08)


def test_sgld_step_and_clamp():
    s = SGLDSampler(num_steps=1, step_size=2.0, noise=0.5)
    x = torch.full((1, 2), 0.5)
    out = s.step(x, torch.tensor([[0.1, -0.1]]), torch.tensor([[0.2, 0.0]]))
    assert torch.allclose(out, torch.tensor([[0.4, 0.7]]))
    assert s.step(x, torch.tensor([[1.0, -1.0]]),
                  torch.zeros(1, 2)).tolist() == [[0.0, 1.0]]


def test_item_noise_independent_of_batch():
    s = SGLDSampler(num_steps=3, step_size=0.1, noise=0.1)
    ids = torch.arange(10)
    x0 = item_uniform(7, ids, -1, (2, ))
    full = s(mixture_energy, x0.float(), item_ids=ids, seed=7)
    parts = torch.cat([s(mixture_energy, x0[i:i + 3].float(),
                         item_ids=ids[i:i + 3], seed=7)
                       for i in range(0, 10, 3)])
    assert torch.equal(full, parts)
    other = s(mixture_energy, x0.float(), item_ids=ids, seed=8)
    assert not torch.equal(full, other)


def test_item_normal_moments():
    z = item_normal(0, torch.arange(200), 5, (500, ))
    assert abs(z.mean()) < 0.02 and abs(z.std() - 1) < 0.02
    assert abs((z[:, 1:] * z[:, :-1]).mean()) < 0.02  # no correlation
    u = item_uniform(0, torch.arange(100), 0, (100, ))
    assert 0 < u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01


@pytest.mark.parametrize('value', [0.0, -1.0])
def test_step_size_must_be_positive(value):
    with pytest.raises(ConfigError, match='step_size'):
        SAMPLERS.build(dict(type='SGLDSampler', step_size=value))
