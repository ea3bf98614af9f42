import pytest
import torch

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError


def _params(m):
    return sum(p.numel() for p in m.parameters())


def test_resnet110_matches_cohen_architecture():
    model = MODELS.build(dict(type='ImageClassifier', num_classes=10,
                              backbone=dict(type='CifarResNet', depth=110)))
    # 54 basic blocks of 16/32/64 channels with projection shortcuts:
    # the 1.73M parameters of cifar_resnet110
    assert _params(model) == 1_730_714
    assert len(model.backbone.layer1) == 18
    feats = model.backbone(torch.rand(2, 3, 32, 32))
    assert feats.shape == (2, 64, 8, 8)


def test_wrn_28_10_parameter_count():
    model = MODELS.build(dict(type='ImageClassifier', num_classes=10,
                              backbone=dict(type='WideResNet', depth=28,
                                            widen_factor=10)))
    assert _params(model) == 36_479_194  # the published WRN-28-10 size


def test_small_variants_forward_backward_and_checkpoint(tmp_path):
    for backbone in (dict(type='CifarResNet', depth=20, in_channels=1),
                     dict(type='CifarResNet', depth=29, block='bottleneck',
                          in_channels=1),
                     dict(type='WideResNet', depth=10, widen_factor=1,
                          drop_rate=0.3, in_channels=1)):
        cfg = dict(type='ImageClassifier', num_classes=10, backbone=backbone,
                   mean=[0.5], std=[0.5])
        model = MODELS.build(cfg)
        logits = model.logits(torch.rand(4, 1, 16, 16))
        assert logits.shape == (4, 10)
        logits.sum().backward()
        assert model.backbone.conv1.weight.grad.abs().sum() > 0
        path = tmp_path / 'model.pth'
        torch.save(dict(state_dict=model.state_dict()), path)
        smooth = MODELS.build(dict(type='SmoothedClassifier', classifier=cfg,
                                   sigma=0.5, checkpoint=str(path)))
        model.eval()
        x = torch.rand(3, 1, 16, 16)
        torch.testing.assert_close(smooth(x), model.logits(x))


@pytest.mark.parametrize('cfg', [dict(type='CifarResNet', depth=21),
                                 dict(type='CifarResNet', block='wide'),
                                 dict(type='WideResNet', depth=27)])
def test_bad_depth(cfg):
    with pytest.raises(ConfigError, match='CifarResNet|WideResNet'):
        MODELS.build(cfg)
