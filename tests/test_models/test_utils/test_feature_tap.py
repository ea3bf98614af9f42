import pytest
import timm
import torch

from rgl.models.backbones import SmallConvNet
from rgl.models.utils import FeatureTap
from rgl.utils import ConfigError


def test_tap_records_the_named_layer_with_its_graph():
    net = SmallConvNet(in_channels=1, widths=(4, 8))
    tap = FeatureTap(net, 'stages.0')
    x = torch.rand(2, 1, 8, 8)
    out = net(x)
    hidden = tap.pop()
    with torch.no_grad():
        expected = net.stages[0](x)  # the hook records this call too
    tap.pop()
    torch.testing.assert_close(hidden, expected)
    assert hidden.requires_grad
    hidden.sum().backward()
    assert net.stages[0][0].weight.grad is not None
    assert out.shape == (2, 8, 2, 2)
    with pytest.raises(RuntimeError, match='recorded nothing'):
        tap.pop()
    tap.remove()
    net(x)
    assert tap.output is None


def test_tap_on_a_timm_vit_block():
    vit = timm.create_model('vit_tiny_patch16_224', pretrained=False,
                            img_size=32, patch_size=8, depth=2)
    tap = FeatureTap(vit, 'blocks.0')
    vit.forward_features(torch.rand(1, 3, 32, 32))
    assert tap.pop().shape == (1, 1 + 16, 192)


def test_unknown_layer_lists_children():
    with pytest.raises(ConfigError, match="blocks.7.*'stages'"):
        FeatureTap(SmallConvNet(), 'blocks.7')
