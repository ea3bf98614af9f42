"""REG (Wu et al., 2025): the class token in the input sequence, its loss
and its joint sampling."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import BaseDataElement

from rgl.models.aligners import REPAAligner
from rgl.models.backbones import SiT
from rgl.models.backbones.dit_blocks import sincos_2d
from rgl.models.generative import FlowMatching
from rgl.models.generative.class_token import (encode_with_class_token,
                                               pack, unpack)
from rgl.models.utils import FeatureTap
from rgl.utils.errors import ConfigError, DataError

TINY = dict(depth=2, hidden_size=32, num_heads=2, patch_size=4)
ENC_DIM = 16


def mae_encoder():
    return dict(type='MAEEncoder',
                arch=dict(embed_dims=ENC_DIM, num_layers=1, num_heads=2,
                          feedforward_channels=32),
                patch_size=4, grid_size=4, mean=None, std=None)


def reg_model(class_token=dict(loss_weight=0.03), align_prefix=False,
              **backbone):
    backbone = dict(type='SiT', arch=TINY, input_size=16, in_channels=1,
                    num_classes=10, class_token_dim=ENC_DIM, **backbone)
    with pytest.warns(UserWarning, match='RANDOM'):
        return FlowMatching(
            backbone=backbone, class_token=class_token,
            aligners=[dict(type='REPAAligner', encoders=[mae_encoder()],
                           depth=1, projector_dim=8,
                           align_prefix=align_prefix)])


def randomize(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    return model


def samples(n):
    out = []
    for i in range(n):
        ds = BaseDataElement()
        ds.gt_label = torch.tensor([i % 10])
        out.append(ds)
    return out


def test_token_count_positions_and_keys():
    sit = SiT(arch=TINY, input_size=16, in_channels=1, num_classes=10,
              class_token_dim=ENC_DIM)
    plain = SiT(arch=TINY, input_size=16, in_channels=1, num_classes=10)
    assert sit.num_prefix_tokens == 1 and plain.num_prefix_tokens == 0
    # REG's layout: a zero position row for the class token, then sin-cos
    assert sit.pos_embed.shape == (1, 1 + 16, 32)
    assert torch.count_nonzero(sit.pos_embed[0, 0]) == 0
    torch.testing.assert_close(sit.pos_embed[0, 1:], sincos_2d(32, 4))
    tap = FeatureTap(sit, 'blocks.0')
    out, cls_out = sit(torch.randn(3, 1, 16, 16), torch.rand(3),
                       torch.tensor([0, 1, 10]),
                       cls_token=torch.randn(3, ENC_DIM))
    assert tap.pop().shape == (3, 16 + 1, 32)
    assert out.shape == (3, 1, 16, 16) and cls_out.shape == (3, ENC_DIM)
    extra = set(sit.state_dict()) - set(plain.state_dict())
    assert extra == {
        'cls_projectors2.weight', 'cls_projectors2.bias', 'wg_norm.weight',
        'wg_norm.bias', 'final_layer.linear_cls.weight',
        'final_layer.linear_cls.bias'
    }
    assert plain.pos_embed.shape == (1, 16, 32)
    with pytest.raises(ConfigError, match='cls_token'):
        sit(torch.randn(1, 1, 16, 16), torch.rand(1), torch.tensor([0]))


def test_aligner_skips_the_class_token():
    model = reg_model()
    assert model.aligners[0].num_prefix_tokens == 1
    losses = model(torch.rand(4, 1, 16, 16), samples(4))
    assert set(losses) == {'loss_denoise', 'loss_cls', 'loss_repa',
                           'repa_cos'}
    assert all(torch.isfinite(v) for v in losses.values())


def test_aligned_class_position_by_hand():
    """align_prefix (REG's release): the projected hidden state at the
    class position is aligned with the encoder's class token, and the
    cosine is averaged over all T + 1 positions."""
    model = randomize(reg_model(align_prefix=True))
    aligner, enc = model.aligners[0], model.aligners[0].encoders[0]
    images = torch.rand(2, 1, 16, 16)
    tokens, cls = encode_with_class_token(enc, images)
    features, extra = model.encode_targets(images, None)
    torch.testing.assert_close(features[0][:, 0], cls)
    torch.testing.assert_close(features[0][:, 1:], tokens)
    tap = FeatureTap(model.backbone, 'blocks.0')
    y = torch.tensor([1, 2])
    model.backbone(images * 2 - 1, torch.rand(2), y,
                   cls_token=extra['cls_token'])
    hidden = tap.pop()
    repa = aligner.loss(features=features)
    pred = F.normalize(aligner.project(hidden)[0], dim=-1)
    target = F.normalize(torch.cat([cls[:, None], tokens], dim=1), dim=-1)
    torch.testing.assert_close(repa['repa_cos'],
                               (pred * target).sum(-1).mean())
    assert hidden.shape[1] == 17
    with pytest.raises(ConfigError, match='align_prefix'):
        REPAAligner(encoder_dims=[8, 8], depth=1, align_prefix=True)


def test_class_token_is_the_encoders_normalised_cls():
    model = reg_model()
    enc = model.aligners[0].encoders[0]
    images = torch.rand(2, 1, 16, 16)
    tokens, cls = encode_with_class_token(enc, images)
    seq = enc.vit(enc.preprocess(images), mask=None)[-1]
    torch.testing.assert_close(cls, seq[:, 0])
    torch.testing.assert_close(tokens, enc(images))
    assert tokens.shape == (2, 16, ENC_DIM)


def test_loss_terms_by_hand():
    model = reg_model(dict(loss_weight=0.25))
    x = torch.randn(3, 1, 16, 16)
    z = torch.randn(3, ENC_DIM)
    y = torch.tensor([1, 2, 10])
    # at initialisation both outputs are 0 (adaLN-Zero, zero linear_cls):
    # the losses are those of a zero prediction of v = ε − x and ε' − z
    torch.manual_seed(0)
    losses = model.denoising_loss(x, y, cls_token=z)
    torch.manual_seed(0)
    torch.rand(3)
    eps, eps_c = torch.randn_like(x), torch.randn_like(z)
    torch.testing.assert_close(losses['loss_denoise'],
                               (eps - x).square().mean())
    torch.testing.assert_close(losses['loss_cls'],
                               0.25 * (eps_c - z).square().mean())
    # trained weights: the same terms from the network's outputs
    randomize(model.backbone)
    torch.manual_seed(1)
    losses = model.denoising_loss(x, y, cls_token=z)
    torch.manual_seed(1)
    t = torch.rand(3)
    eps, eps_c = torch.randn_like(x), torch.randn_like(z)
    tb = t[:, None, None, None]
    v, v_cls = model.backbone((1 - tb) * x + tb * eps, t, y,
                              cls_token=(1 - t[:, None]) * z +
                              t[:, None] * eps_c)
    torch.testing.assert_close(
        losses['loss_denoise'],
        (v - (eps - x)).square().mean(dim=(1, 2, 3)).mean())
    torch.testing.assert_close(
        losses['loss_cls'],
        0.25 * (v_cls - (eps_c - z)).square().mean(dim=1).mean())


def test_sampling_integrates_latents_and_token_jointly():
    model = randomize(reg_model())
    labels = torch.tensor([3, 7])
    gen = torch.Generator().manual_seed(5)
    out = model.sample(labels, sampler=dict(type='ODESampler', num_steps=2),
                       generator=gen, return_latents=True)

    def euler(x, z):
        for t_cur, t_next in ((1.0, 0.5), (0.5, 0.0)):
            with torch.no_grad():
                v, v_cls = model.backbone(x.float(), torch.full(
                    (2, ), t_cur), labels, cls_token=z.float())
            x = x + (t_next - t_cur) * v.double()
            z = z + (t_next - t_cur) * v_cls.double()
        return x

    gen = torch.Generator().manual_seed(5)
    x = torch.randn(2, 1, 16, 16, generator=gen).double()
    z = torch.randn(2, ENC_DIM, generator=gen).double()
    torch.testing.assert_close(out, euler(x, z))
    # the token matters: the same latent noise with another token start
    assert not torch.allclose(out, euler(x, torch.zeros_like(z)))
    state = pack(torch.zeros(1, 1, 16, 16), torch.ones(1, ENC_DIM))
    xs, zs = unpack(state, (1, 16, 16))
    assert xs.shape == (1, 1, 16, 16) and torch.all(zs == 1)
    images = model.sample(labels, sampler=dict(
        type='SDESampler', num_steps=3, cfg_scale=2.0,
        guidance_interval=(0, 0.7)), generator=torch.Generator())
    assert images.shape == (2, 1, 16, 16)
    assert 0 <= images.min() and images.max() <= 1


def test_configuration_errors():
    with pytest.raises(ConfigError, match='class_token_dim'):
        FlowMatching(backbone=dict(type='SiT', arch=TINY, input_size=16,
                                   in_channels=1, num_classes=10),
                     class_token=dict(loss_weight=0.03))
    # without aligners the model samples (tools/sample.py drops them) but
    # cannot train
    bare = FlowMatching(backbone=dict(type='SiT', arch=TINY, input_size=16,
                                      in_channels=1, num_classes=10,
                                      class_token_dim=ENC_DIM),
                        class_token=dict(loss_weight=0.03))
    assert bare.sample(torch.tensor([1]), sampler=dict(
        type='ODESampler', num_steps=1)).shape == (1, 1, 16, 16)
    with pytest.raises(ConfigError, match='aligners'):
        bare(torch.rand(2, 1, 16, 16), samples(2))
    with pytest.raises(ConfigError, match='unknown keys'):
        reg_model(dict(weight=0.03))
    with pytest.raises(ConfigError, match='class_token_dim=8'):
        FlowMatching(
            backbone=dict(type='SiT', arch=TINY, input_size=16,
                          in_channels=1, num_classes=10, class_token_dim=8),
            class_token=dict(),
            aligners=[dict(type='REPAAligner', encoder_dims=[ENC_DIM],
                           depth=1, projector_dim=8)])
    model = reg_model()
    with pytest.raises(DataError, match='images'):
        model(torch.randn(2, 1, 16, 16), samples(2), input_space='latent')
