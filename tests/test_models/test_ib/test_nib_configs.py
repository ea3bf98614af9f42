"""The NIB configs build (random weights) and run one loss step."""
import pytest
import torch
from mmengine.config import Config

import rgl.models.ib  # noqa: F401
from rgl.registry import MODELS


@pytest.mark.parametrize('config, loss_keys', [
    ('configs/nib/nib_resnet18_1xb128-200e_cifar10.py',
     {'loss_cls', 'loss_kl', 'loss_rec', 'loss_adv'}),
    ('configs/nib/nib_vit-tiny-p4_1xb128-200e_cifar10.py',
     {'loss_cls', 'loss_kl', 'loss_rec', 'loss_adv'}),
    ('configs/nib/ce_resnet18_1xb128-200e_cifar10.py', {'loss_cls'}),
])
def test_cifar10_configs_build_and_step(config, loss_keys):
    from mmpretrain.structures import DataSample
    cfg = Config.fromfile(config)
    assert cfg.train_cfg.max_epochs == 200
    assert cfg.reliability.severities == [1, 2, 3, 4, 5]
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    x = torch.rand(2, 3, 32, 32)
    samples = [DataSample().set_gt_label(i) for i in (1, 7)]
    losses = model(x, samples, mode='loss')
    assert loss_keys <= set(losses)
    assert model.logits(x).shape == (2, 10)
