"""MetaMAE masks: random masking and the support mask on hand-drawn grids."""
import pytest
import torch

from rgl.models.meta import nearby_mask, random_masking, support_mask
from rgl.utils import ConfigError


def test_random_masking_keeps_the_smallest_noise():
    noise = torch.tensor([[0.9, 0.1, 0.5, 0.3], [0.2, 0.8, 0.4, 0.6]])
    ids_keep, ids_restore, mask = random_masking(2, 4, 0.5, noise=noise)
    assert ids_keep.tolist() == [[1, 3], [0, 2]]
    assert mask.tolist() == [[1, 0, 1, 0], [0, 1, 0, 1]]
    # ids_restore undoes the shuffle: shuffled[ids_restore] is grid order
    shuffled = noise.argsort(dim=1)
    assert torch.equal(shuffled.gather(1, ids_restore),
                       torch.arange(4).expand(2, 4))
    with pytest.raises(ConfigError, match='mask_ratio'):
        random_masking(1, 3, 0.9)


def test_nearby_1d_hand_drawn():
    # visible = . ; masked = x      . x x x . x x .
    mask = torch.tensor([[0., 1, 1, 1, 0, 1, 1, 0]])
    want = [[0., 1, 0, 1, 0, 1, 1, 0]]  # token 2 has no visible neighbour
    assert nearby_mask(mask, (8, )).tolist() == want


def test_nearby_2d_hand_drawn_is_plus_shaped():
    # 4 x 4 grid, one visible token at (1, 1) and one at (3, 3)
    vis = torch.zeros(4, 4)
    vis[1, 1] = vis[3, 3] = 1
    mask = (1 - vis).reshape(1, 16)
    want = torch.zeros(4, 4)
    for r, c in [(0, 1), (2, 1), (1, 0), (1, 2), (2, 3), (3, 2)]:
        want[r, c] = 1  # up/down/left/right only: (0, 0) and (2, 2) are not
    assert torch.equal(nearby_mask(mask, (4, 4)), want.reshape(1, 16))
    # a non-square 2 x 3 grid: rows are not wrapped into each other
    mask = torch.tensor([[1., 1, 0, 1, 1, 1]])  # visible at (0, 2)
    assert nearby_mask(mask, (2, 3)).tolist() == [[0., 1, 0, 0, 0, 1]]


def test_support_mask_formula_and_sampling():
    mask = torch.tensor([[0., 1, 1, 1, 0, 1, 1, 0]])
    rand = torch.tensor([[0.0, 0.05, 0.0, 0.5, 0.0, 0.09, 0.2, 0.9]])
    sup = support_mask(mask, (8, ), 0.1, rand=rand)
    # visible tokens always; nearby masked ones (1, 3, 5, 6) with u < 0.1
    assert sup.tolist() == [[1., 1, 0, 0, 1, 1, 0, 1]]
    assert support_mask(mask, (8, ), 0.0).tolist() == [(1 - mask)[0].tolist()]
    # the keep rate of nearby tokens is s_ratio
    torch.manual_seed(0)
    mask = (torch.rand(4000, 64) < 0.7).float()
    near = nearby_mask(mask, (8, 8))
    sup = support_mask(mask, (8, 8), 0.3)
    assert torch.equal(sup * (1 - mask), 1 - mask)
    assert not (sup * mask * (1 - near)).any()
    rate = (sup * mask).sum() / near.sum()
    assert abs(rate.item() - 0.3) < 0.01
