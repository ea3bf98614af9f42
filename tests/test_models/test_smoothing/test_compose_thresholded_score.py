"""ThresholdedScore: a real-valued score as a 2-class base classifier that
SmoothedClassifier certifies (the anomaly decision of WinCLIP, an EBM's OOD
score, ...)."""
import pytest
import torch
from scipy.stats import beta, norm
from torch import nn

from rgl.models.smoothing import SmoothedClassifier
from rgl.models.smoothing.thresholded_score import ThresholdedScore
from rgl.registry import MODELS
from rgl.utils.errors import ConfigError, DataError


class MeanPixel(nn.Module):
    """s(x) = mean pixel value; ``mode='tensor'`` returns (score, extra)."""

    def forward(self, x, mode='tensor'):
        s = x.flatten(1).mean(1)
        return (s, x) if mode == 'tensor' else s


def test_logits_argmax_is_the_thresholded_score():
    f = ThresholdedScore(MeanPixel(), threshold=0.5)
    x = torch.stack([torch.full((1, 4, 4), v) for v in (0.2, 0.5, 0.7)])
    logits = f(x)
    assert logits.shape == (3, 2)
    # s <= τ -> class 0 (a tie included), s > τ -> class 1
    assert logits.argmax(1).tolist() == [0, 0, 1]
    # the margins: (τ − s, s − τ)
    torch.testing.assert_close(logits[:, 1], torch.tensor([-0.3, 0., 0.2]))
    torch.testing.assert_close(logits[:, 0], -logits[:, 1])


def test_registered_and_frozen():
    f = MODELS.build(dict(type='ThresholdedScore', scorer=MeanPixel(),
                          threshold=0.1, mode='predict'))
    assert isinstance(f, ThresholdedScore) and f.num_classes == 2
    f.train()
    assert not f.scorer.training


def test_certified_radius_of_a_sure_decision_matches_clopper_pearson():
    """Every noisy copy lands on one side of τ: p_lower = α^(1/n) (the
    one-sided Clopper-Pearson bound with n of n votes) and the radius is
    σ Φ⁻¹(p_lower)."""
    n, alpha, sigma = 200, 0.001, 0.25
    smooth = SmoothedClassifier(ThresholdedScore(MeanPixel(), 0.5), sigma,
                                fold_bn=False, channels_last=False)
    # mean of 256 pixels under σ = 0.25: std 0.0156, so 0.9 and 0.1 are
    # more than 25 standard deviations from τ
    x = torch.stack([torch.full((1, 16, 16), 0.9),
                     torch.full((1, 16, 16), 0.1)])
    pred, radius = smooth.certify(x, 10, n, alpha, 64, seeds=[(0, 0), (0, 1)])
    assert pred.tolist() == [1, 0]
    p_lower = beta.ppf(alpha, n, 1)
    expected = sigma * norm.ppf(p_lower)
    torch.testing.assert_close(radius, torch.full((2, ), expected,
                                                  dtype=radius.dtype),
                               rtol=1e-4, atol=1e-6)


def test_a_decision_on_the_threshold_abstains():
    smooth = SmoothedClassifier(ThresholdedScore(MeanPixel(), 0.5), 0.5,
                                fold_bn=False, channels_last=False)
    x = torch.full((1, 1, 8, 8), 0.5)  # P(s(x + δ) > τ) = 1/2
    pred, radius = smooth.certify(x, 50, 400, 0.001, 100, seeds=[(0, 0)])
    assert pred.item() == -1 and radius.item() == 0


def test_errors_name_the_problem():
    with pytest.raises(ConfigError, match='threshold'):
        ThresholdedScore(MeanPixel(), threshold='high')
    with pytest.raises(ConfigError, match='2 classes'):
        ThresholdedScore(MeanPixel(), 0.5, classes=('a', 'b', 'c'))
    f = ThresholdedScore(MeanPixel(), 0.5, output_index=1)  # the maps
    with pytest.raises(DataError, match='one score per image'):
        f(torch.zeros(2, 1, 4, 4))
