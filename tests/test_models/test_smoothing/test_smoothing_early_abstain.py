"""CERTIFY stops an image's estimation draws once its abstention is
certain: the same decisions and radii as drawing all n, fewer forwards."""
import pytest
import torch
from torch import nn

from rgl.models.smoothing import SmoothedClassifier
from rgl.models.smoothing.statistics import (clopper_pearson_lower,
                                             min_votes_to_certify)
from rgl.utils.errors import ConfigError


@pytest.mark.parametrize('n', [1, 7, 100, 1000])
@pytest.mark.parametrize('alpha', [0.001, 0.05])
def test_min_votes_to_certify_matches_a_scan(n, alpha):
    scan = next((a for a in range(n + 1)
                 if clopper_pearson_lower(a, n, alpha) >= 0.5), n + 1)
    assert min_votes_to_certify(n, alpha) == scan


class CountingNet(nn.Module):
    """Linear votes over 4 classes on the image mean: near-ties, so some
    images abstain and others certify; counts the rows it sees."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(3, 4)
        self.rows = 0

    def forward(self, x):
        self.rows += x.shape[0]
        return self.fc(x.mean((2, 3)) * 8)


def _certify(early, x, seeds):
    net = CountingNet().eval()
    smooth = SmoothedClassifier(net, sigma=1.0, num_classes=4, amp=False,
                                fold_bn=False, fold_normalize=False,
                                channels_last=False, micro_batch=None,
                                early_abstain=early)
    pred, radius = smooth.certify(x, 20, 600, 0.001, 50, seeds=seeds)
    return pred, radius, net.rows


def test_same_decisions_with_fewer_draws():
    x = torch.rand(8, 3, 2, 2, generator=torch.Generator().manual_seed(3))
    seeds = [(0, i) for i in range(8)]
    p_full, r_full, rows_full = _certify(False, x, seeds)
    p_fast, r_fast, rows_fast = _certify(True, x, seeds)
    abstained = int((p_full == -1).sum())
    assert 0 < abstained < 8  # both kinds of outcome occur
    assert torch.equal(p_full, p_fast) and torch.equal(r_full, r_fast)
    assert rows_full == 8 * (20 + 600)
    # the three abstentions stopped early; the certified images did not
    assert rows_full - rows_fast >= abstained * 50


def test_a_stopped_image_keeps_its_partial_counts():
    net = CountingNet().eval()
    smooth = SmoothedClassifier(net, sigma=0.5, num_classes=4, amp=False,
                                fold_bn=False, fold_normalize=False,
                                channels_last=False, micro_batch=None)
    x = torch.rand(2, 3, 4, 4)
    seen = []

    def until(image, drawn, votes):
        seen.append((image, drawn, int(votes.sum())))
        return image == 0 and drawn >= 100

    counts = smooth.sample_counts(x, 300, 50, seeds=[(1, 0), (1, 1)],
                                  until=until)
    assert counts[0].sum() == 100 and counts[1].sum() == 300
    # asked about the image in progress, with its votes so far
    assert all(d == v for _, d, v in seen)
    full = smooth.sample_counts(x, 300, 50, seeds=[(1, 0), (1, 1)])
    assert torch.equal(counts[1], full[1])  # the next image is unchanged


def test_until_needs_seeds():
    smooth = SmoothedClassifier(CountingNet(), sigma=0.5, num_classes=4)
    with pytest.raises(ConfigError, match='seeds'):
        smooth.sample_counts(torch.rand(1, 3, 4, 4), 10, 5,
                             until=lambda *a: True)
