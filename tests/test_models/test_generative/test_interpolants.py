import math

import numpy as np
import pytest
import torch

from rgl.models.generative import (CosineInterpolant, LinearInterpolant,
                                   build_interpolant, sample_time)
from rgl.utils.errors import ConfigError

PATHS = [LinearInterpolant(), CosineInterpolant()]


@pytest.mark.parametrize('path', PATHS)
def test_endpoints_and_velocity_is_time_derivative(path):
    torch.manual_seed(0)
    x, eps = torch.randn(4, 2, 3, 3, dtype=torch.float64), torch.randn(
        4, 2, 3, 3, dtype=torch.float64)
    x0, _ = path.interpolate(x, eps, torch.zeros(4, dtype=torch.float64))
    x1, _ = path.interpolate(x, eps, torch.ones(4, dtype=torch.float64))
    torch.testing.assert_close(x0, x)
    torch.testing.assert_close(x1, eps, atol=1e-12, rtol=0)
    t = torch.tensor([0.1, 0.3, 0.6, 0.9], dtype=torch.float64)
    h = 1e-6
    xp, _ = path.interpolate(x, eps, t + h)
    xm, _ = path.interpolate(x, eps, t - h)
    _, v = path.interpolate(x, eps, t)
    torch.testing.assert_close(v, (xp - xm) / (2 * h), atol=1e-6, rtol=0)


@pytest.mark.parametrize('path', PATHS)
def test_score_and_data_recovered_from_true_velocity(path):
    torch.manual_seed(1)
    x, eps = torch.randn(5, 8, dtype=torch.float64), torch.randn(
        5, 8, dtype=torch.float64)
    t = torch.tensor([0.05, 0.2, 0.5, 0.8, 0.99], dtype=torch.float64)
    x_t, v = path.interpolate(x, eps, t)
    _, sigma, _, _ = path.alpha_sigma(t[:, None])
    torch.testing.assert_close(path.score_from_velocity(v, x_t, t),
                               -eps / sigma)
    torch.testing.assert_close(path.data_from_velocity(v, x_t, t), x)


def test_linear_velocity_is_noise_minus_data():
    x, eps = torch.randn(3, 4), torch.randn(3, 4)
    _, v = LinearInterpolant().interpolate(x, eps, torch.rand(3))
    torch.testing.assert_close(v, eps - x)
    a, s, da, ds = CosineInterpolant().alpha_sigma(torch.tensor(0.5))
    assert math.isclose(a.item(), math.cos(math.pi / 4), rel_tol=1e-6)
    assert math.isclose(ds.item(), math.pi / 2 * math.cos(math.pi / 4),
                        rel_tol=1e-6)


def test_time_sampling_distributions():
    gen = torch.Generator().manual_seed(0)
    u = sample_time(20000, 'uniform', generator=gen)
    ln = sample_time(20000, 'lognormal', generator=gen)
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    # t = σ/(1+σ), log σ ~ N(0,1): logit(t) is standard normal
    logit = torch.log(ln / (1 - ln)).numpy()
    assert abs(logit.mean()) < 0.03 and abs(logit.std() - 1) < 0.03
    assert abs(np.median(ln.numpy()) - 0.5) < 0.01
    with pytest.raises(ConfigError, match='weighting'):
        sample_time(2, 'beta')
    with pytest.raises(ConfigError, match='path'):
        build_interpolant('edm')
