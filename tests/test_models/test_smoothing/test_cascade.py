"""MDDS cascaded certification on hand-built vote tables, each decision
recomputed here from scipy's distributions."""
import numpy as np
import pytest
import torch
from scipy.stats import beta, chi2, norm
from torch import nn

from rgl.models.smoothing import ABSTAIN, SmoothedClassifier
from rgl.models.smoothing.cascade import (CASCADE_ABSTAIN, NO_R_NEG,
                                          CascadedSmoothedClassifier,
                                          cascade_decide, pool_counts,
                                          threshold_prior_logits)
from rgl.models.smoothing.statistics import goodman_multinomial_bounds
from rgl.utils.errors import ConfigError

SIGMAS = (1.0, 0.5, 0.25)
ALPHA = 0.001


def cp_lower(k, n, a):
    return beta.ppf(a, k, n - k + 1)


def cp_upper(k, n, a):
    return beta.ppf(1 - a, k + 1, n - k)


def goodman_upper(counts, a):
    counts = np.asarray(counts, float)
    n, k = counts.sum(), len(counts)
    c2 = chi2.ppf(1 - a / k, 1)
    p = counts / n
    return (2 * n * p + c2 + np.sqrt(c2 ** 2 + 4 * n * p * (1 - p) * c2)) \
        / (2 * (c2 + n))


def test_certifies_at_stage_one():
    r = cascade_decide([(0, np.array([95, 5, 0]))], SIGMAS, ALPHA)
    expected = 1.0 * (norm.ppf(cp_lower(95, 100, ALPHA)) - norm.ppf(0.5))
    assert r['predict'] == 0 and r['stage'] == 0
    assert r['radius'] == pytest.approx(expected, rel=1e-9)
    assert r['r_neg'] == NO_R_NEG


def test_threshold_p0_shifts_the_radius():
    r = cascade_decide([(1, np.array([2, 98]))], SIGMAS, ALPHA, skip_p=0.6)
    pl = cp_lower(98, 100, ALPHA)
    assert r['radius'] == pytest.approx(norm.ppf(pl) - norm.ppf(0.6))
    # at p0 = 0.97 the bounds straddle p0: the cascade stops
    r = cascade_decide([(1, np.array([2, 98]))], SIGMAS, ALPHA, skip_p=0.97)
    assert cp_lower(98, 100, ALPHA) < 0.97 <= cp_upper(98, 100, ALPHA)
    assert r['predict'] == CASCADE_ABSTAIN and r['radius'] == 0


def test_abstains_when_the_bounds_straddle_p0():
    counts = np.array([50, 50, 0])
    assert cp_lower(50, 100, ALPHA) < 0.5 <= cp_upper(50, 100, ALPHA)
    # a certifiable second stage is never reached
    r = cascade_decide([(0, counts), (0, np.array([100, 0, 0]))], SIGMAS,
                       ALPHA)
    assert r == dict(predict=CASCADE_ABSTAIN, radius=0.0, r_neg=NO_R_NEG,
                     stage=0)


def test_falls_through_and_is_capped_by_the_multinomial_r_neg():
    stage1 = np.array([20, 20, 20, 20, 20])  # no class near p0 at σ=1
    assert cp_upper(20, 100, ALPHA) < 0.5
    stage2 = np.array([90, 10, 0, 0, 0])
    r = cascade_decide([(0, stage1), (0, stage2)], SIGMAS, ALPHA)
    a2 = ALPHA / 2  # the second stage's level
    radius = 0.5 * norm.ppf(cp_lower(90, 100, a2))
    # stage 1 against class 0: bins [20 | 20 20 20 20], Goodman at 2·α_2
    p_b = goodman_upper([20, 20, 20, 20, 20], 2 * a2)[1:].max()
    r_neg = 1.0 * norm.ppf(p_b)
    assert r_neg < 0 and -r_neg < radius  # the cap binds
    assert r['predict'] == 0 and r['stage'] == 1
    assert r['r_neg'] == pytest.approx(r_neg, rel=1e-9)
    assert r['radius'] == pytest.approx(-r_neg, rel=1e-9)


def test_uncapped_when_the_earlier_stage_is_far_below_p0():
    stage1 = np.array([10] * 10)
    stage2 = np.array([0, 0, 80] + [5] * 4)
    r = cascade_decide([(0, stage1), (2, stage2)], SIGMAS, ALPHA)
    radius = 0.5 * norm.ppf(cp_lower(80, 100, ALPHA / 2))
    p_b = goodman_upper(pool_counts(stage1, 2), ALPHA)[1:].max()
    assert -norm.ppf(p_b) > radius
    assert r['radius'] == pytest.approx(radius) and r['predict'] == 2


def test_earlier_top_class_bounds_r_neg_with_two_bins():
    # stage 1 selected class 1 (34 votes) and falls through; stage 2
    # certifies class 0. Two pooled bins: p_B = 1 - p_A_lower of stage
    # 1's own top class, which leaves R_neg > 0: no certificate.
    stage1 = np.array([66, 34, 0])
    assert cp_upper(34, 100, ALPHA) < 0.5
    stage2 = np.array([97, 3, 0])
    r = cascade_decide([(1, stage1), (0, stage2)], SIGMAS, ALPHA)
    r_neg = norm.ppf(1 - cp_lower(34, 100, ALPHA / 2))
    assert r_neg > 0
    assert r['predict'] == ABSTAIN and r['radius'] == 0.0
    assert r['r_neg'] == pytest.approx(r_neg) and r['stage'] == 1


def test_every_stage_falls_through():
    spread = np.array([25, 25, 25, 25])
    r = cascade_decide([(0, spread)] * 3, SIGMAS, ALPHA)
    assert r == dict(predict=ABSTAIN, radius=0.0, r_neg=NO_R_NEG, stage=2)


def test_pooling_of_small_classes():
    assert pool_counts([50, 7, 3, 3, 2, 1, 0], 0).tolist() == [50, 7, 9]
    assert pool_counts([3, 90, 4, 3], 1).tolist() == [90, 10]
    assert pool_counts([96, 2, 2], 0).tolist() == [100]


def test_goodman_bounds_match_the_formula_and_cover():
    counts = np.array([[30, 50, 20], [1, 1, 98]])
    lo, up = goodman_multinomial_bounds(counts, 0.05)
    for row, u in zip(counts, up):
        np.testing.assert_allclose(u, goodman_upper(row, 0.05), rtol=1e-12)
    assert (lo < counts / 100).all() and (up > counts / 100).all()
    # simultaneous coverage of a known multinomial, 2000 tables
    rng = np.random.default_rng(0)
    p = np.array([0.5, 0.3, 0.2])
    tables = rng.multinomial(200, p, size=2000)
    lo, up = goodman_multinomial_bounds(tables, 0.1)
    miss = ((lo > p) | (up < p)).any(1).mean()
    assert miss <= 0.1


@pytest.mark.parametrize('sigmas,skip_p,key', [
    ((0.25, 0.5, 1.0), 0.5, 'sigmas'),
    ((1.0, 1.0), 0.5, 'sigmas'),
    ((1.0, -0.5), 0.5, 'sigmas'),
    ((1.0, 0.5), 0.0, 'skip_p'),
    ((1.0, 0.5), 1.0, 'skip_p'),
])
def test_bad_cascades_name_the_key(sigmas, skip_p, key):
    with pytest.raises(ConfigError, match=key):
        cascade_decide([(0, np.array([5, 5]))], sigmas, ALPHA, skip_p)
    with pytest.raises(ConfigError, match=key):
        CascadedSmoothedClassifier(
            SmoothedClassifier(Threshold(), 0.5, num_classes=2), sigmas,
            skip_p)


def test_prior_logits_by_hand():
    logits = np.array([2.0, 1.0, 0.0])
    counts = np.array([10.0, 90.0, 0.0])
    out = threshold_prior_logits(logits, counts, 0.1)
    prior = np.array([0.9 * 0.1 + 0.1 / 3, 0.9 * 0.9 + 0.1 / 3, 0.1 / 3])
    np.testing.assert_allclose(out, logits + np.log(prior))
    assert out.argmax() == 1


class Threshold(nn.Module):
    """Class 1 iff the first pixel exceeds 0.5: ``P(f(x+δ) = 1) =
    Φ((x₀ − 0.5)/σ)``."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        v = x.flatten(1)[:, 0] - 0.5
        return torch.stack([-v, v], 1)


def _images(values):
    x = torch.zeros(len(values), 1, 4, 4)
    x[:, 0, 0, 0] = torch.tensor(values)
    return x


def test_module_samples_lazily_and_per_image_seeds():
    cascade = CascadedSmoothedClassifier(
        SmoothedClassifier(Threshold(), 0.5, num_classes=2), SIGMAS)
    calls = []
    orig = cascade.smoothed.sample_counts

    def spy(x, num, batch_size, **kw):
        calls.append((x.shape[0], kw['sigma']))
        return orig(x, num, batch_size, **kw)

    cascade.smoothed.sample_counts = spy
    # x0 = 4: certified at σ=1; x0 = 0.5: the bounds straddle p0 at σ=1
    x = _images([4.0, 0.5, 0.5001])
    res = cascade.certify(x, 10, 200, ALPHA, 64, seeds=[0, 1, 2])
    assert [r['stage'] for r in res] == [0, 0, 0]
    assert res[0]['predict'] == 1 and res[0]['radius'] > 0
    assert res[1]['predict'] == CASCADE_ABSTAIN
    # the undecided image gets the clean classifier's class
    assert res[1]['pred_uc'] == 0 and res[2]['pred_uc'] == 1
    assert {s for _, s in calls} == {1.0}
    # per-image seeds: an image's result does not depend on its batch
    alone = cascade.certify(x[:1], 10, 200, ALPHA, 7, seeds=[0])
    assert alone[0]['radius'] == res[0]['radius']


def test_module_falls_through_to_a_smaller_sigma():
    """x₀ = 1.3 with p₀ = 0.9: P(class 1) = Φ(0.8/σ) is 0.79 at σ=1 (falls
    through) and 0.945 at σ=0.5 (certifies); σ=0.25 is never sampled."""
    cascade = CascadedSmoothedClassifier(
        SmoothedClassifier(Threshold(), 0.5, num_classes=2), SIGMAS,
        skip_p=0.9)
    sigmas = []
    orig = cascade.smoothed.sample_counts
    cascade.smoothed.sample_counts = lambda *a, **kw: (
        sigmas.append(kw['sigma']), orig(*a, **kw))[1]
    r = cascade.certify(_images([1.3]), 10, 2000, ALPHA, 500, seeds=[3])[0]
    assert r['stage'] == 1 and r['predict'] == 1
    assert set(sigmas) == {1.0, 0.5}
    # below the radius of the true p = Φ(1.6) at σ = 0.5
    assert 0 < r['radius'] < 0.5 * (1.6 - norm.ppf(0.9))
    # capped by nothing: stage 1's R_neg is far below zero
    assert r['r_neg'] < -1


def test_threshold_prediction_falls_back_to_clean_logits():
    cascade = CascadedSmoothedClassifier(
        SmoothedClassifier(Threshold(), 0.5, num_classes=2), SIGMAS,
        skip_p=0.99)
    out = cascade.predict_threshold(_images([0.6, 5.0]), 200, 400,
                                    seeds=[0, 1])
    # x0 = 0.6: no σ gives p ≥ 0.99 -> clean logits (class 1, margin .1)
    assert out[0]['pred0'] == ABSTAIN and out[0]['predict'] == 1
    assert out[0]['stage'] == 2
    assert out[0]['c_max'] == pytest.approx(
        torch.tensor([-0.1, 0.1]).softmax(0).max().item(), rel=1e-6)
    # x0 = 5: fires at σ = 1 with class 1
    assert out[1]['pred0'] == 1 and out[1]['stage'] == 0
    assert out[1]['predict'] == 1
