"""HASTE: attention cross-entropy by hand, the recorded maps, and the SDPA
path that stays untouched when no map is requested."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rgl.models.aligners import HASTEAligner, attention_cross_entropy
from rgl.models.backbones import SiT
from rgl.models.backbones.dit_blocks import Attention
from rgl.models.encoders import CLIPEncoder, DINOv2Encoder, MAEEncoder
from rgl.models.encoders.attention import attention_logits
from rgl.utils.errors import ConfigError

TINY = dict(depth=3, hidden_size=32, num_heads=2, patch_size=2)


def np_softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def hand_ce(student, teacher):
    """mean over (n, h, q) of −Σ_k P_t log softmax(S), in float64 numpy."""
    s = student.detach().double().numpy()
    t = teacher.detach().double().numpy()
    return -(np_softmax(t) * np.log(np_softmax(s))).sum(-1).mean()


def test_cross_entropy_two_head_toy_by_hand():
    # 1 image, 2 heads, 3 tokens: logits written out
    s = torch.tensor([[[[0., 1., 2.], [1., 0., 0.], [0., 0., 3.]],
                       [[2., 2., 0.], [0., 1., 0.], [1., 2., 3.]]]])
    t = torch.tensor([[[[1., 0., 0.], [0., 0., 0.], [0., 2., 1.]],
                       [[0., 0., 4.], [3., 0., 1.], [1., 1., 0.]]]])
    ce = attention_cross_entropy(s, t)
    assert np.isclose(ce.item(), hand_ce(s, t), atol=1e-6)
    # the mean mode compares head-averaged maps
    pm = np_softmax(t.double().numpy()).mean(1)
    qm = np_softmax(s.double().numpy()).mean(1)
    assert np.isclose(attention_cross_entropy(s, t, 'mean').item(),
                      -(pm * np.log(qm)).sum(-1).mean(), atol=1e-6)
    # per-head pairs the teacher's heads with the student's first ones
    s3 = torch.cat([s, torch.randn(1, 1, 3, 3)], 1)
    assert np.isclose(attention_cross_entropy(s3, t).item(), ce.item(),
                      atol=1e-7)
    with pytest.raises(ConfigError, match="head_mode='mean'"):
        attention_cross_entropy(s[:, :1], t)
    # CE >= entropy of the teacher, with equality when the maps agree
    ent = -(np_softmax(t.numpy()) * np.log(np_softmax(t.numpy()))).sum(-1)
    assert ce.item() >= ent.mean() - 1e-6
    assert np.isclose(attention_cross_entropy(t, t).item(), ent.mean(),
                      atol=1e-6)


def test_cross_entropy_row_by_hand():
    s = torch.tensor([[[[0., 1., 2.]]]])
    t = torch.tensor([[[[1., 0., 0.]]]])
    p = np.exp([1., 0., 0.]) / np.exp([1., 0., 0.]).sum()
    logq = np.array([0., 1., 2.]) - np.log(np.exp([0., 1., 2.]).sum())
    assert np.isclose(attention_cross_entropy(s, t).item(),
                      -(p * logq).sum(), atol=1e-7)


def tiny_mae(heads=2):
    return MAEEncoder(arch=dict(embed_dims=16, num_layers=3, num_heads=heads,
                                feedforward_channels=32),
                      patch_size=4, grid_size=8, mean=None, std=None)


def capture_inputs(modules):
    store = {}
    handles = [
        m.register_forward_hook(
            lambda mod, args, out, i=i: store.__setitem__(i, args[0]))
        for i, m in enumerate(modules)
    ]
    return store, handles


@pytest.mark.filterwarnings('ignore:.*RANDOM')
def test_haste_loss_matches_hand_computation():
    torch.manual_seed(0)
    backbone = SiT(arch=TINY, input_size=16, in_channels=3, num_classes=10)
    enc = tiny_mae()
    aligner = HASTEAligner(encoders=[enc], depth=2, projector_dim=16,
                           attn_blocks=[0, 1], encoder_attn_blocks=[1, 2],
                           attn_loss_weight=0.5).bind(backbone)
    x = torch.rand(2, 3, 16, 16)
    s_in, h1 = capture_inputs([backbone.blocks[i].attn for i in (0, 1)])
    t_in, h2 = capture_inputs([enc.vit.layers[i].attn for i in (1, 2)])
    backbone.train()
    backbone(x, torch.rand(2), torch.tensor([0, 3]))
    out = aligner.loss(images=x)
    for h in h1 + h2:
        h.remove()
    terms = []
    for i in range(2):
        s = attention_logits(backbone.blocks[i].attn, s_in[i])
        t = attention_logits(enc.vit.layers[i + 1].attn, t_in[i])[:, :, 1:,
                                                                  1:]
        assert s.shape == t.shape == (2, 2, 64, 64)
        terms.append(hand_ce(s, t))
    assert np.isclose(out['loss_attn'].item(), 0.5 * np.mean(terms),
                      atol=1e-5)
    assert set(out) == {'loss_repa', 'repa_cos', 'loss_attn'}
    # the attention loss trains the attention of the chosen blocks only
    backbone.zero_grad()
    out['loss_attn'].backward()
    assert backbone.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    assert backbone.blocks[2].attn.qkv.weight.grad is None
    # nothing is kept for the next iteration
    assert all(b.attn.attention_logits is None for b in backbone.blocks)


def old_attention_forward(attn, x):
    """dit_blocks.Attention.forward before attention maps existed."""
    n, t, d = x.shape
    qkv = attn.qkv(x).reshape(n, t, 3, attn.num_heads, attn.head_dim)
    q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)
    q, k = attn.q_norm(q), attn.k_norm(k)
    x = F.scaled_dot_product_attention(q, k, v)
    return attn.proj(x.transpose(1, 2).reshape(n, t, d))


@pytest.mark.filterwarnings('ignore:.*RANDOM')
def test_sdpa_path_unchanged_without_maps():
    torch.manual_seed(1)
    attn = Attention(32, 4, qk_norm=True)
    x = torch.randn(2, 9, 32)
    assert torch.equal(attn(x), old_attention_forward(attn, x))
    assert attn.attention_logits is None
    attn.record_attention = True
    rec = attn(x)
    torch.testing.assert_close(rec, old_attention_forward(attn, x))
    assert attn.pop_attention().shape == (2, 4, 9, 9)
    # a bound HASTE aligner changes nothing in eval or no_grad passes
    backbone = SiT(arch=TINY, input_size=16, in_channels=3, num_classes=10)
    args = (torch.randn(2, 3, 16, 16), torch.rand(2), torch.tensor([1, 10]))
    backbone.eval()
    before = backbone(*args)
    HASTEAligner(encoders=[tiny_mae()], depth=2, attn_blocks=[0, 1],
                 encoder_attn_blocks=[1, 2]).bind(backbone)
    assert torch.equal(backbone(*args), before)
    assert all(not b.attn.record_attention for b in backbone.blocks)
    backbone.train()
    with torch.no_grad():
        assert torch.equal(backbone(*args), before)
    assert all(b.attn.attention_logits is None for b in backbone.blocks)
    # a training pass records the chosen blocks, and only them
    backbone(*args)
    assert [b.attn.attention_logits is not None
            for b in backbone.blocks] == [True, True, False]


def tiny_encoder(kind):
    if kind == 'dinov2_reg4':
        return DINOv2Encoder('vit_b', registers=True, grid_size=4,
                             model_kwargs=dict(embed_dim=32, depth=3,
                                               num_heads=2))
    if kind == 'mae':
        return MAEEncoder(arch=dict(embed_dims=32, num_layers=3,
                                    num_heads=2, feedforward_channels=32),
                          patch_size=4, grid_size=4, mean=None, std=None)
    return CLIPEncoder('ViT-B-32', grid_size=4,
                       vision_cfg=dict(width=32, layers=3, head_width=16))


@pytest.mark.filterwarnings('ignore:.*RANDOM')
@pytest.mark.parametrize('kind,prefix', [('dinov2_reg4', 5), ('mae', 1),
                                         ('clip', 1)])
def test_encoder_attention_maps_reproduce_the_attention(kind, prefix):
    """softmax(S)·v through the module's output projection gives the
    module's own output: the logits are the ones the encoder attends
    with (timm, mmpretrain and nn.MultiheadAttention layouts)."""
    torch.manual_seed(2)
    enc = tiny_encoder(kind)
    assert enc.num_prefix_tokens == prefix
    x = torch.rand(2, 3, 30, 30)
    tokens, maps = enc.forward_with_attention(x, [2, 0])
    assert torch.equal(tokens, enc(x))
    assert [m.shape for m in maps] == [(2, 2, 16, 16)] * 2
    attn = enc.attention_modules()[2]
    seen = {}
    handle = attn.register_forward_hook(
        lambda m, args, kwargs, out: seen.update(
            x=args[0] if args else kwargs['query'],
            out=out[0] if isinstance(out, tuple) else out),
        with_kwargs=True)
    enc(x)
    handle.remove()
    xin = seen['x']
    s = attention_logits(attn, xin)
    if isinstance(attn, torch.nn.MultiheadAttention):
        qkv = F.linear(xin, attn.in_proj_weight, attn.in_proj_bias)
        out_proj = attn.out_proj
    else:
        qkv, out_proj = attn.qkv(xin), attn.proj
    t = 16 + prefix
    v = qkv.reshape(2, t, 3, 2, -1).permute(2, 0, 3, 1, 4)[2]
    rebuilt = out_proj((s.softmax(-1) @ v).transpose(1, 2).reshape(2, t, -1))
    torch.testing.assert_close(rebuilt, seen['out'], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(maps[0], s[:, :, prefix:, prefix:])
    with pytest.raises(ConfigError, match='0..2'):
        enc.forward_with_attention(x, [3])


@pytest.mark.filterwarnings('ignore:.*RANDOM')
def test_haste_config_errors():
    backbone = SiT(arch=TINY, input_size=16, in_channels=3, num_classes=10)
    with pytest.raises(ConfigError, match='equal length'):
        HASTEAligner(encoders=[tiny_mae()], depth=1, attn_blocks=[0, 1],
                     encoder_attn_blocks=[1])
    with pytest.raises(ConfigError, match='do not exist'):
        HASTEAligner(encoders=[tiny_mae()], depth=1, attn_blocks=[5],
                     encoder_attn_blocks=[1]).bind(backbone)
    with pytest.raises(ConfigError, match='encoders'):
        HASTEAligner(encoders=[], encoder_dims=[16], depth=1)
