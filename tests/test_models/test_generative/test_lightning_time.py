"""Timestep shift and lognormal time sampling (SD3, LightningDiT, DDT)."""
import math

import pytest
import torch

from rgl.models.generative import FlowMatching
from rgl.models.generative.interpolants import sample_time, time_shift
from rgl.samplers import ODESampler, SDESampler
from rgl.utils.errors import ConfigError

GRID = torch.linspace(0, 1, 101, dtype=torch.float64)


def test_shift_one_is_the_identity():
    assert time_shift(0.37, 1.0) == 0.37
    assert torch.equal(time_shift(GRID, 1), GRID)


@pytest.mark.parametrize('s', [0.3, 0.5, 2.0, 3.0, 1 / 0.3])
def test_shift_endpoints_monotone_and_inverse(s):
    out = time_shift(GRID, s)
    assert out[0] == 0 and out[-1] == 1
    assert torch.all(out[1:] > out[:-1])
    # s > 1 moves every interior time towards noise (t = 1), s < 1 to data
    inner = slice(1, -1)
    assert torch.all((out[inner] > GRID[inner]) == (s > 1))
    torch.testing.assert_close(time_shift(out, 1 / s), GRID)
    # the formula by hand at t = 1/2: s/(1 + s)
    assert math.isclose(time_shift(0.5, s), s / (1 + s))


def test_shift_matches_the_data_at_one_codebases():
    t = GRID[1:-1]
    # LightningDiT (t_L = 1 − t): t_L' = s·t_L / (1 + (s − 1)·t_L), s = 0.3
    s_l = 0.3
    t_l = 1 - t
    lightning = 1 - s_l * t_l / (1 + (s_l - 1) * t_l)
    torch.testing.assert_close(time_shift(t, 1 / s_l), lightning)
    # DDT: shift_respace_fn(t_D, s) = t_D / (t_D + (1 − t_D)·s)
    s_d = 3.0
    ddt = 1 - t_l / (t_l + (1 - t_l) * s_d)
    torch.testing.assert_close(time_shift(t, s_d), ddt)
    with pytest.raises(ConfigError):
        time_shift(t, 0.0)


class Recorder:
    """A velocity model that records its times and returns zeros."""

    def __init__(self):
        self.times = []

    def __call__(self, x, t, y):
        self.times.append(float(t[0]))
        return torch.zeros_like(x)


def test_samplers_walk_the_shifted_grid():
    rec = Recorder()
    ODESampler(num_steps=4, time_shift=3.0)(
        rec, torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), 10)
    expect = [time_shift(t, 3.0) for t in (1.0, 0.75, 0.5, 0.25)]
    assert rec.times == pytest.approx(expect)
    rec = Recorder()
    process = FlowMatching(backbone=dict(
        type='SiT', arch=dict(depth=1, hidden_size=8, num_heads=2,
                              patch_size=2),
        input_size=4, in_channels=1, num_classes=2)).process
    SDESampler(num_steps=3, t_last=0.04, time_shift=2.0)(
        rec, torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), 2,
        process=process)
    grid = [1.0, 0.52, 0.04]
    assert rec.times == pytest.approx([time_shift(t, 2.0) for t in grid])
    rec = Recorder()
    ODESampler(num_steps=4)(rec, torch.zeros(1, 2),
                            torch.zeros(1, dtype=torch.long), 10)
    assert rec.times == pytest.approx([1.0, 0.75, 0.5, 0.25])
    with pytest.raises(ConfigError, match='time_shift'):
        ODESampler(time_shift=-1)


def test_lognormal_statistics():
    gen = torch.Generator().manual_seed(0)
    n = 200000
    t = sample_time(n, 'lognormal', generator=gen)
    logit = torch.log(t / (1 - t))
    assert abs(logit.mean()) < 0.01 and abs(logit.std() - 1) < 0.01
    t = sample_time(n, 'lognormal', generator=gen, mean=-0.5, std=0.7)
    logit = torch.log(t / (1 - t))
    assert abs(logit.mean() + 0.5) < 0.01 and abs(logit.std() - 0.7) < 0.01
    # shift after sampling: the median moves to shift(sigmoid(mean))
    t = sample_time(n, 'lognormal', generator=gen, shift=3.0)
    assert abs(t.median() - 0.75) < 0.01
    u = sample_time(n, 'uniform', generator=gen)
    assert abs(u.mean() - 0.5) < 0.005 and 0 <= u.min() and u.max() < 1
    with pytest.raises(ConfigError, match='std'):
        sample_time(2, 'lognormal', std=0)
    with pytest.raises(ConfigError, match='weighting'):
        sample_time(2, 'logit')


def test_lognormal_default_draws_are_unchanged():
    # the extra options do not change REPA's lognormal times bit for bit
    gen = torch.Generator().manual_seed(3)
    sigma = torch.randn(1000, generator=gen).exp()
    gen = torch.Generator().manual_seed(3)
    assert torch.equal(sample_time(1000, 'lognormal', generator=gen),
                       sigma / (1 + sigma))


def test_flow_matching_trains_on_shifted_times():
    model = FlowMatching(
        backbone=dict(type='SiT', arch=dict(depth=1, hidden_size=8,
                                            num_heads=2, patch_size=2),
                      input_size=4, in_channels=1, num_classes=2),
        weighting='lognormal', lognormal_mean=0.2, time_shift=2.0)
    assert model.time_cfg == dict(weighting='lognormal', mean=0.2, std=1.0,
                                  shift=2.0)
    with pytest.raises(ConfigError, match='time shift'):
        FlowMatching(backbone=dict(
            type='SiT', arch=dict(depth=1, hidden_size=8, num_heads=2,
                                  patch_size=2),
            input_size=4, in_channels=1, num_classes=2), time_shift=0)
