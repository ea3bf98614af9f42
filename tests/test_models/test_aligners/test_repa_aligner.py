import numpy as np
import pytest
import torch
from torch import nn

from rgl.models.aligners import REPAAligner
from rgl.models.backbones import SiT, SmallConvNet
from rgl.utils.errors import ConfigError

TINY = dict(depth=4, hidden_size=32, num_heads=4, patch_size=2)


class PatchEncoder(nn.Module):
    """A stand-in encoder: x in [0, 1] -> (N, g*g, D) patch tokens."""

    def __init__(self, dim=12, patch=4, channels=3):
        super().__init__()
        self.embed_dim = dim
        self.proj = nn.Conv2d(channels, dim, patch, patch)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)


def sit():
    return SiT(arch=TINY, input_size=16, in_channels=3, num_classes=10)


def hand_loss(preds, targets, weight):
    """−λ · mean_k mean_n mean_t cos, in numpy."""
    terms = []
    for p, z in zip(preds, targets):
        p, z = p.detach().double().numpy(), z.detach().double().numpy()
        cos = (p * z).sum(-1) / (np.linalg.norm(p, axis=-1) *
                                 np.linalg.norm(z, axis=-1))
        terms.append(-cos.mean())
    return weight * np.mean(terms)


def test_loss_equals_hand_computation_with_two_encoders():
    torch.manual_seed(0)
    backbone = sit()
    encoders = [PatchEncoder(12, patch=2), PatchEncoder(20, patch=2)]
    aligner = REPAAligner(encoders=encoders, depth=2, projector_dim=24,
                          loss_weight=0.5).bind(backbone)
    assert aligner.tap.name == 'blocks.1'
    x = torch.rand(3, 3, 16, 16)
    backbone(x, torch.rand(3), torch.tensor([0, 1, 10]))
    hidden = aligner.tap.output
    out = aligner.loss(images=x)
    preds = [proj(hidden) for proj in aligner.projectors]
    targets = [enc(x) for enc in encoders]
    assert np.isclose(out['loss_repa'].item(), hand_loss(preds, targets, 0.5),
                      atol=1e-6)
    assert -1 <= out['repa_cos'].item() <= 1
    out['loss_repa'].backward()
    assert aligner.projectors[1][0].weight.grad is not None
    assert backbone.blocks[0].attn.qkv.weight.grad is not None
    assert encoders[0].proj.weight.grad is None  # frozen


def test_projector_layout_and_loss_bounds():
    backbone = SiT(arch=dict(depth=8, hidden_size=32, num_heads=4,
                             patch_size=2), input_size=8, in_channels=3)
    aligner = REPAAligner(encoders=[], encoder_dims=[768], depth=8)
    aligner.bind(backbone)
    mlp = aligner.projectors[0]
    assert [type(m) for m in mlp] == [nn.Linear, nn.SiLU, nn.Linear, nn.SiLU,
                                      nn.Linear]
    assert (mlp[0].in_features, mlp[0].out_features, mlp[2].out_features,
            mlp[4].out_features) == (32, 2048, 2048, 768)
    # identical features give cos = 1 -> loss = −λ
    z = torch.randn(2, 16, 768)
    assert np.isclose(REPAAligner.negative_cosine(z, 3 * z).item(), -1,
                      atol=1e-6)


def test_not_in_state_dict_and_moves_with_module():
    enc = PatchEncoder()
    aligner = REPAAligner(encoders=[enc], depth=1).bind(sit())
    assert not any('proj.weight' == k.split('projectors')[-1]
                   for k in aligner.state_dict())
    assert all(k.startswith('projectors.') for k in aligner.state_dict())
    aligner.double()
    assert enc.proj.weight.dtype == torch.float64


def test_cnn_backbone_feature_map_tokens():
    torch.manual_seed(0)
    cnn = SmallConvNet(in_channels=3, widths=(8, 16))
    enc = PatchEncoder(10, patch=4)  # 16x16 -> 4x4 tokens = stages.1 grid
    aligner = REPAAligner(encoders=[enc], layer='stages.1',
                          projector_dim=16).bind(cnn)
    x = torch.rand(2, 3, 16, 16)
    fmap = cnn(x)
    out = aligner.loss(images=x)
    tokens = fmap.flatten(2).transpose(1, 2)
    ref = hand_loss([aligner.projectors[0](tokens)], [enc(x)], 0.5)
    assert np.isclose(out['loss_repa'].item(), ref, atol=1e-6)


def test_timm_vit_drops_prefix_tokens():
    import timm
    vit = timm.create_model('vit_tiny_patch16_224', pretrained=False,
                            img_size=16, patch_size=4, depth=2,
                            num_classes=0)
    enc = PatchEncoder(10, patch=4)
    aligner = REPAAligner(encoders=[enc], depth=2,
                          projector_dim=16).bind(vit)
    assert aligner.num_prefix_tokens == 1 and aligner.in_dim == 192
    x = torch.rand(2, 3, 16, 16)
    vit(x)
    assert torch.isfinite(aligner.loss(images=x)['loss_repa'])


def test_token_grid_resampled_by_area_only_when_allowed():
    import warnings
    enc = PatchEncoder(6, patch=1)  # 16x16 = 256 tokens vs the SiT's 8x8
    backbone = sit()
    x = torch.rand(2, 3, 16, 16)
    # by default a mismatch is an error naming both grids and the option
    aligner = REPAAligner(encoders=[enc], depth=1, projector_dim=8)
    aligner.bind(backbone)
    backbone(x, torch.rand(2), torch.tensor([0, 1]))
    with pytest.raises(ConfigError, match=r'16x16 tokens.*blocks\.0 gives '
                       r'8x8 tokens.*resample_tokens=True'):
        aligner.loss(images=x)
    aligner = REPAAligner(encoders=[enc], depth=1, projector_dim=8,
                          resample_tokens=True)
    aligner.bind(backbone)
    for step in range(2):
        backbone(x, torch.rand(2), torch.tensor([0, 1]))
        hidden = aligner.tap.output
        target = torch.nn.functional.avg_pool2d(enc.proj(x), 2)
        target = target.flatten(2).transpose(1, 2)
        ref = hand_loss([aligner.projectors[0](hidden)], [target], 0.5)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            loss = aligner.loss(images=x)['loss_repa'].item()
        assert np.isclose(loss, ref, atol=1e-6)
        # announced once, not at every step
        msgs = [str(w.message) for w in caught if 'resampling' in
                str(w.message)]
        assert len(msgs) == (1 if step == 0 else 0), msgs
        if step == 0:
            assert '16x16' in msgs[0] and '8x8' in msgs[0]


def test_errors_name_the_problem():
    backbone = sit()
    with pytest.raises(ConfigError, match='depth=5 is beyond'):
        REPAAligner(encoders=[PatchEncoder()], depth=5).bind(backbone)
    with pytest.raises(ConfigError, match='exactly one'):
        REPAAligner(encoders=[PatchEncoder()])
    aligner = REPAAligner(encoders=[], encoder_dims=[4], depth=1)
    aligner.bind(backbone)
    backbone(torch.rand(1, 3, 16, 16), torch.rand(1), torch.tensor([0]))
    with pytest.raises(ConfigError, match='15 tokens .not a square'):
        aligner.loss(features=[torch.randn(1, 15, 4)])
    aligner = REPAAligner(encoders=[], encoder_dims=[4], depth=1,
                          resample_tokens=True)
    aligner.bind(backbone)
    backbone(torch.rand(1, 3, 16, 16), torch.rand(1), torch.tensor([0]))
    with pytest.raises(ConfigError, match='cannot be matched'):
        aligner.loss(features=[torch.randn(1, 15, 4)])


def test_copies_share_the_frozen_encoders():
    import copy

    from rgl.models.backbones import SmallConvNet
    from rgl.models.aligners import REPAAligner
    from rgl.registry import MODELS
    encoder = MODELS.build(
        dict(type='TimmViTEncoder', model_name='vit_tiny_patch16_224',
             model_kwargs=dict(patch_size=8, depth=1), input_size=16))
    backbone = SmallConvNet(widths=(8, ))
    aligner = REPAAligner(encoders=encoder, layer='stages.0', in_dim=8,
                          projector_dim=16).bind(backbone)
    clone = copy.deepcopy(aligner)
    assert clone.encoders[0] is aligner.encoders[0]
    assert clone.projectors[0][0].weight is not \
        aligner.projectors[0][0].weight
    torch.testing.assert_close(clone.projectors[0][0].weight,
                               aligner.projectors[0][0].weight)
