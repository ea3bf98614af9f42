import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rgl.models.backbones import SiT
from rgl.models.backbones.diffusion_transformer import ARCH_ZOO
from rgl.models.backbones.dit_blocks import Attention, sincos_2d
from rgl.models.utils import FeatureTap
from rgl.utils.errors import ConfigError

TINY = dict(depth=3, hidden_size=32, num_heads=4, patch_size=2)


def tiny_sit(**kwargs):
    kwargs.setdefault('input_size', 8)
    kwargs.setdefault('in_channels', 3)
    kwargs.setdefault('num_classes', 10)
    return SiT(arch=TINY, **kwargs)


def randomize(model, seed=0):
    """Give the zero-initialised adaLN/output layers random values."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    return model


@pytest.mark.parametrize('name', sorted(ARCH_ZOO))
def test_every_arch_shapes_on_meta(name):
    with torch.device('meta'):
        model = SiT(arch=name, input_size=32)
        x = torch.empty(2, 4, 32, 32)
        out = model(x, torch.empty(2), torch.zeros(2, dtype=torch.long))
    cfg = ARCH_ZOO[name]
    assert out.shape == (2, 4, 32, 32)
    assert len(model.blocks) == cfg['depth']
    assert model.num_patches == (32 // cfg['patch_size'])**2


def test_xl2_parameter_count():
    # DiT reports 675,129,632 parameters for DiT-XL/2 (pos_embed included);
    # REPA's SiT-XL/2 predicts 4 instead of 8 channels: 1152*2*2*4 + 2*2*4
    # fewer in the output layer.
    with torch.device('meta'):
        model = SiT(arch='XL/2')
    total = sum(p.numel() for p in model.parameters())
    assert total == 675129632 - (1152 * 16 + 16)


def test_adaln_zero_output_is_zero_and_blocks_are_identity():
    model = tiny_sit()
    x = torch.randn(2, 3, 8, 8)
    t, y = torch.rand(2), torch.tensor([1, 10])
    taps = [FeatureTap(model, f'blocks.{i}') for i in range(3)]
    out = model(x, t, y)
    assert torch.count_nonzero(out) == 0
    tokens = model.x_embedder(x) + model.pos_embed
    for tap in taps:  # gates α start at zero: every block is the identity
        torch.testing.assert_close(tap.pop(), tokens)


def test_tap_is_hidden_state_after_block():
    model = randomize(tiny_sit())
    x, t, y = torch.randn(2, 3, 8, 8), torch.rand(2), torch.tensor([0, 3])
    tap = FeatureTap(model, 'blocks.1')
    model(x, t, y)
    h = model.x_embedder(x) + model.pos_embed
    c = model.t_embedder(t) + model.y_embedder(y)
    for block in model.blocks[:2]:
        h = block(h, c)
    torch.testing.assert_close(tap.pop(), h)


def reference_sincos(dim, grid):
    """The MAE/DiT numpy construction, written out from its definition."""
    def one_d(d, pos):
        omega = 1.0 / 10000**(np.arange(d // 2, dtype=np.float64) / (d / 2))
        out = np.outer(pos.reshape(-1), omega)
        return np.concatenate([np.sin(out), np.cos(out)], axis=1)
    gw, gh = np.meshgrid(np.arange(grid, dtype=np.float32),
                         np.arange(grid, dtype=np.float32))
    return np.concatenate([one_d(dim // 2, gw), one_d(dim // 2, gh)], axis=1)


def test_sincos_matches_reference():
    ours = sincos_2d(64, 5).numpy()
    np.testing.assert_allclose(ours, reference_sincos(64, 5), atol=1e-6)
    model = tiny_sit()
    assert not model.pos_embed.requires_grad


def test_fused_attention_equals_softmax_attention():
    torch.manual_seed(0)
    attn = Attention(32, 4, qk_norm=True)
    x = torch.randn(2, 6, 32)
    q, k, v = attn.qkv(x).reshape(2, 6, 3, 4, 8).permute(2, 0, 3, 1, 4)
    q, k = attn.q_norm(q), attn.k_norm(k)
    w = (q @ k.transpose(-1, -2) / 8**0.5).softmax(-1)
    ref = attn.proj((w @ v).transpose(1, 2).reshape(2, 6, 32))
    torch.testing.assert_close(attn(x), ref)
    assert 'q_norm.weight' in dict(attn.named_parameters())


def test_learn_sigma_sit_keeps_first_half():
    model = randomize(tiny_sit(learn_sigma=True))
    x, t, y = torch.randn(2, 3, 8, 8), torch.rand(2), torch.tensor([0, 3])
    full = super(SiT, model).forward(x, t, y)
    assert full.shape[1] == 6
    torch.testing.assert_close(model(x, t, y), full[:, :3])


def test_unpatchify_inverts_patchify_layout():
    model = tiny_sit()
    img = torch.randn(2, 3, 8, 8)
    p = 2
    tokens = img.reshape(2, 3, 4, p, 4, p).permute(0, 2, 4, 3, 5, 1)
    torch.testing.assert_close(model.unpatchify(tokens.reshape(2, 16, -1)),
                               img)


def test_bad_arch_and_input_size():
    with pytest.raises(ConfigError, match='XXL/2'):
        SiT(arch='XXL/2')
    with pytest.raises(ConfigError, match='patch size'):
        SiT(arch=TINY, input_size=7)
    with pytest.raises(ConfigError, match='missing'):
        SiT(arch=dict(depth=2))


def test_gradients_reach_every_trainable_parameter():
    model = randomize(tiny_sit())
    out = model(torch.randn(2, 3, 8, 8), torch.rand(2), torch.tensor([1, 2]))
    out.square().sum().backward()
    missing = [n for n, p in model.named_parameters()
               if p.requires_grad and p.grad is None]
    assert missing == []
    assert F.mse_loss(out, torch.zeros_like(out)) > 0
