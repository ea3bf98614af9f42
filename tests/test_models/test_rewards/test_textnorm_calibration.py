import math

import pytest
import torch

from rgl.models.rewards import (BaseRewardModel, CountingPrompts,
                                TextNormReward, calibrate, ensemble)
from rgl.utils.errors import ConfigError, DataError


def test_calibrate_matches_hand_computation():
    r = torch.tensor([[2.0, 1.0, 0.0], [0.0, 3.0, 3.0]])
    tau = 0.5
    # row 0: e^4 / (e^4 + e^2 + 1); row 1: 1 / (1 + 2 e^6)
    want = torch.tensor([
        math.exp(4) / (math.exp(4) + math.exp(2) + 1),
        1 / (1 + 2 * math.exp(6))])
    torch.testing.assert_close(calibrate(r, tau), want)
    # adding a constant to all of an image's rewards changes nothing
    shifted = r + torch.tensor([[7.5], [-3.0]])
    torch.testing.assert_close(calibrate(shifted, tau), want)
    # large rewards do not overflow
    torch.testing.assert_close(calibrate(r * 1e3 + 1e4, 1000.0),
                               calibrate(r, 1.0))


@pytest.mark.parametrize('tau', [0, -1.0, 'x', None])
def test_calibrate_rejects_bad_temperature(tau):
    with pytest.raises(ConfigError, match='tau'):
        calibrate(torch.zeros(2, 3), tau)


def test_calibrate_needs_contrastive_prompts():
    with pytest.raises(DataError, match='contrastive'):
        calibrate(torch.zeros(4, 1), 1.0)


def test_ensembles():
    v = torch.tensor([[0.2, 0.9], [0.4, 0.5], [0.6, 0.1]])
    torch.testing.assert_close(ensemble(v, 'mean'), torch.tensor([0.4, 0.5]))
    std = torch.tensor([math.sqrt(((0.2 - .4)**2 + 0 + (0.6 - .4)**2) / 3),
                        math.sqrt(((0.9 - .5)**2 + 0 + (0.1 - .5)**2) / 3)])
    torch.testing.assert_close(ensemble(v, 'ur', lam=0.5),
                               torch.tensor([0.4, 0.5]) - 0.5 * std)
    # one model: UR is its own reward; λ = 0 is the mean
    torch.testing.assert_close(ensemble(v[:1], 'ur', 2.0), v[0])
    torch.testing.assert_close(ensemble(v, 'ur', 0.0), ensemble(v, 'mean'))
    with pytest.raises(ConfigError, match='mode'):
        ensemble(v, 'median')


class TableReward(BaseRewardModel):
    """r(x, p) = x's value at the index of the count in p (a stand-in
    reward whose table is known in closed form)."""

    WORDS = ('an', 'two', 'three', 'four', 'five')

    def __init__(self, offset=0.0):
        super().__init__(batch_size=2)
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.offset = offset

    def score_batch(self, images, prompts):
        idx = [next(i for i, w in enumerate(self.WORDS)
                    if f' {w} ' in f' {p} ') for p in prompts]
        return images[torch.arange(len(idx)), torch.tensor(idx)] + \
            self.offset


def test_textnorm_reward_end_to_end():
    images = torch.tensor([[3.0, 1.0, 0.0, 0, 0], [0.0, 2.0, 0.0, 0, 0]])
    prompts = ['a photo of an apple', 'a photo of an apple']
    tn = TextNormReward([TableReward(), TableReward(offset=5.0)],
                        CountingPrompts(), tau=[1.0, 2.0], ensemble='ur',
                        lam=1.0)
    out = tn.score_all(images, prompts)
    # C("an apple") = two apples, three apples: columns 0, 1, 2
    c1 = torch.softmax(images[:, :3].double(), 1)[:, 0]
    c2 = torch.softmax(images[:, :3].double() / 2, 1)[:, 0]
    torch.testing.assert_close(out['calibrated'][0], c1)
    torch.testing.assert_close(out['calibrated'][1], c2)
    torch.testing.assert_close(out['raw'][1], images[:, 0].double() + 5)
    cal = torch.stack([c1, c2])
    torch.testing.assert_close(out['textnorm'],
                               cal.mean(0) - cal.std(0, correction=0))
    torch.testing.assert_close(tn.score(images, prompts),
                               out['textnorm'].float())


def test_textnorm_errors():
    with pytest.raises(ConfigError, match='tau'):
        TextNormReward([TableReward()], CountingPrompts(), tau=0.0)
    tn = TextNormReward([TableReward()], lambda p: [p])
    with pytest.raises(DataError, match='no contrastive prompts'):
        tn.score(torch.zeros(1, 5), ['a photo of an apple'])
