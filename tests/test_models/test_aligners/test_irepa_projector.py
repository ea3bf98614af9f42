"""iREPA: the spatial normalisation identities and the conv projector."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rgl.models.aligners import (ConvProjector, REPAAligner, build_projector,
                                 spatial_normalize)
from rgl.models.backbones import SiT
from rgl.utils.errors import ConfigError


def test_spatial_norm_identities():
    torch.manual_seed(0)
    z = torch.randn(3, 16, 5) * torch.rand(1, 1, 5) * 4 + 2
    mu, sd = z.mean(1, keepdim=True), z.std(1, keepdim=True)
    eps = 1e-6
    # γ = 1: a z-score over tokens, zero mean and unit std per channel
    y = spatial_normalize(z, gamma=1.0, eps=eps)
    torch.testing.assert_close(y.mean(1), torch.zeros(3, 5), atol=1e-6,
                               rtol=0)
    torch.testing.assert_close(y.std(1), torch.ones(3, 5), atol=1e-5,
                               rtol=0)
    torch.testing.assert_close(y, (z - mu) / sd, atol=1e-5, rtol=1e-5)
    # γ = 0: no centring, only the division by the std over tokens
    y0 = spatial_normalize(z, gamma=0.0, eps=eps)
    torch.testing.assert_close(y0, z / (sd + eps))
    # any γ: unit std, and the mean keeps (1 − γ) of the shared component
    for gamma in (0.0, 0.6, 1.0):
        y = spatial_normalize(z, gamma=gamma, eps=eps)
        torch.testing.assert_close(y.std(1), (sd / (sd + eps))[:, 0])
        torch.testing.assert_close(y.mean(1, keepdim=True),
                                   (1 - gamma) * mu / (sd + eps), atol=1e-5,
                                   rtol=1e-5)
    # per image: a second image does not change the first one's result
    torch.testing.assert_close(spatial_normalize(z[:1], 0.6),
                               spatial_normalize(z, 0.6)[:1])
    with pytest.raises(ConfigError):
        spatial_normalize(z[:, :1], 0.6)


def test_conv_projector_shapes_and_row_major_grid():
    torch.manual_seed(1)
    proj = build_projector(8, 2048, 12, kind='conv', kernel_size=3)
    assert isinstance(proj, ConvProjector)
    assert proj.conv.kernel_size == (3, 3) and proj.conv.padding == (1, 1)
    tokens = torch.randn(2, 16, 8)
    out = proj(tokens)
    assert out.shape == (2, 16, 12)
    grid = tokens.reshape(2, 4, 4, 8).permute(0, 3, 1, 2)  # row-major
    ref = F.conv2d(grid, proj.conv.weight, proj.conv.bias, padding=1)
    torch.testing.assert_close(out, ref.flatten(2).transpose(1, 2))
    # a feature map is convolved as it is
    torch.testing.assert_close(proj(grid), out)
    # a neighbour's change reaches a token (3x3), a far token's does not
    moved = tokens.clone()
    moved[:, 1] += 1  # token (0, 1)
    diff = (proj(moved) - out).abs().sum(-1)[0]
    assert diff[0] > 0 and diff[5] > 0 and diff[15] == 0
    with pytest.raises(ConfigError, match='square'):
        proj(torch.randn(1, 15, 8))
    with pytest.raises(ConfigError, match='odd'):
        ConvProjector(8, 12, kernel_size=2)
    # the MLP stays REPA's (official key layout projectors.k.{0,2,4})
    mlp = build_projector(8, 32, 12)
    assert [k for k in mlp.state_dict() if k.endswith('weight')] == [
        '0.weight', '2.weight', '4.weight'
    ]


class PatchEncoder(nn.Module):

    def __init__(self, dim=12, patch=2):
        super().__init__()
        self.embed_dim = dim
        self.proj = nn.Conv2d(3, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


def test_irepa_aligner_loss_by_hand():
    torch.manual_seed(2)
    backbone = SiT(arch=dict(depth=2, hidden_size=32, num_heads=2,
                             patch_size=2),
                   input_size=16, in_channels=3, num_classes=10)
    enc = PatchEncoder()
    aligner = REPAAligner(encoders=[enc], depth=1, projector='conv',
                          spatial_norm=dict(gamma=0.6), loss_weight=1.0)
    aligner.bind(backbone)
    x = torch.rand(2, 3, 16, 16)
    backbone(x, torch.rand(2), torch.tensor([0, 1]))
    hidden = aligner.tap.output
    out = aligner.loss(images=x)
    pred = aligner.projectors[0](hidden).detach().double().numpy()
    z = enc(x).detach().double()
    z = ((z - 0.6 * z.mean(1, keepdim=True)) /
         (z.std(1, keepdim=True) + 1e-6)).numpy()
    cos = (pred * z).sum(-1) / (np.linalg.norm(pred, axis=-1) *
                                np.linalg.norm(z, axis=-1))
    assert np.isclose(out['loss_repa'].item(), -cos.mean(), atol=1e-5)
    assert isinstance(aligner.projectors[0], ConvProjector)
    with pytest.raises(ConfigError, match='projector'):
        REPAAligner(encoders=[enc], depth=1, projector='linear')
    with pytest.raises(ConfigError, match='spatial_norm'):
        REPAAligner(encoders=[enc], depth=1, spatial_norm=dict(alpha=1))
