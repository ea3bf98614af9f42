from types import SimpleNamespace

import pytest
from torch import nn

from rgl.engine.hooks import LossParamHook
from rgl.utils import ConfigError


class _Objective(nn.Module):

    def __init__(self):
        super().__init__()
        self.lbd, self.epsilon = 12.0, 1.0


def _runner(epoch):
    model = nn.Module()
    model.train_loss = _Objective()
    return SimpleNamespace(model=model, epoch=epoch)


@pytest.mark.parametrize('epoch, lbd, eps', [(0, 0.0, 1.0), (9, 0.0, 1.0),
                                             (10, 12.0, 1.0),
                                             (80, 12.0, 2.0),
                                             (89, 12.0, 2.0)])
def test_value_of_the_latest_milestone(epoch, lbd, eps):
    hook = LossParamHook(dict(lbd={0: 0.0, 10: 12.0}, epsilon={80: 2.0}))
    runner = _runner(epoch)
    hook.before_train_epoch(runner)
    assert runner.model.train_loss.lbd == lbd
    assert runner.model.train_loss.epsilon == eps


def test_unknown_attribute_or_module():
    with pytest.raises(ConfigError, match='no attribute `gamma`'):
        LossParamHook(dict(gamma={0: 1})).before_train_epoch(_runner(0))
    with pytest.raises(ConfigError, match='no `loss`'):
        LossParamHook(dict(lbd={0: 1}), module='loss').before_train_epoch(
            _runner(0))
