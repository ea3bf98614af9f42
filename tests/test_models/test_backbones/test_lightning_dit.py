import math

import pytest
import torch

from rgl.models.backbones import LightningDiT, SiT
from rgl.models.backbones.dit_blocks import AdaLNZeroBlock
from rgl.models.backbones.lightning_blocks import (AdaLNFinalLayer,
                                                   LightningDiTBlock, RoPE2D,
                                                   SwiGLU)
from rgl.utils.checkpoint import load_model_weights
from rgl.utils.errors import CheckpointError, ConfigError

TINY = dict(depth=2, hidden_size=32, num_heads=2, patch_size=2)


def randomize(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    return model


def test_all_options_off_is_the_dit_block():
    torch.manual_seed(0)
    ref = randomize(AdaLNZeroBlock(32, 4, 4.0, qk_norm=False))
    block = LightningDiTBlock(32, 4, 4.0, qk_norm=False)
    block.load_state_dict(ref.state_dict(), strict=True)
    x, c = torch.randn(2, 5, 32), torch.randn(2, 32)
    torch.testing.assert_close(block(x, c), ref(x, c))


def test_per_token_condition_equals_a_broadcast_one():
    block = randomize(LightningDiTBlock(32, 4, swiglu=True, norm='rmsnorm',
                                        rope_grid=2, qk_norm=True))
    x, c = torch.randn(2, 4, 32), torch.randn(2, 32)
    torch.testing.assert_close(block(x, c[:, None].expand(-1, 4, -1)),
                               block(x, c))


def test_swiglu_by_hand():
    mlp = randomize(SwiGLU(4, 6))
    x = torch.randn(3, 4)
    a = x @ mlp.w12.weight[:6].T + mlp.w12.bias[:6]
    b = x @ mlp.w12.weight[6:].T + mlp.w12.bias[6:]
    h = a * torch.sigmoid(a) * b
    torch.testing.assert_close(mlp(x), h @ mlp.w3.weight.T + mlp.w3.bias)
    # 2/3 of the 4x hidden width: a SwiGLU block has the MLP's parameters
    blk = LightningDiTBlock(24, 2, 4.0, swiglu=True)
    assert blk.mlp.w3.in_features == 64


def test_rope_relative_positions_and_prefix():
    rope = RoPE2D(8, grid_size=3)
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(1, 1, 1, 8, generator=gen).expand(1, 1, 9, 8)
    k = torch.randn(1, 1, 1, 8, generator=gen).expand(1, 1, 9, 8)
    rq, rk = rope(q)[0, 0], rope(k)[0, 0]
    # same vectors at every position: q_i·k_j depends on (Δrow, Δcol) only
    dots = rq @ rk.T
    idx = lambda r, c: 3 * r + c  # noqa: E731
    torch.testing.assert_close(dots[idx(0, 0), idx(1, 2)],
                               dots[idx(1, 0), idx(2, 2)])
    torch.testing.assert_close(dots[idx(0, 1), idx(2, 1)],
                               dots[idx(0, 2), idx(2, 2)])
    assert not torch.allclose(dots[idx(0, 0), idx(0, 1)],
                              dots[idx(0, 0), idx(1, 0)])
    torch.testing.assert_close(rq.norm(dim=-1), q[0, 0].norm(dim=-1))
    # position (0, 0) is not rotated; a prefix (class) token is untouched
    torch.testing.assert_close(rq[0], q[0, 0, 0])
    x = torch.randn(2, 1, 10, 8)
    out = rope(x)
    torch.testing.assert_close(out[:, :, 0], x[:, :, 0])
    torch.testing.assert_close(out[:, :, 1:], rope(x[:, :, 1:]))
    # channel pair 1 of the column half turns by col · θ^(-1/2)
    ang = 1 * 10000**(-1 / 2)
    v = torch.zeros(1, 1, 9, 8)
    v[..., 6] = 1
    torch.testing.assert_close(rope(v)[0, 0, idx(0, 1), 6:8],
                               torch.tensor([math.cos(ang), math.sin(ang)]))
    with pytest.raises(ConfigError):
        RoPE2D(6, 2)


@pytest.mark.parametrize('opts', [
    dict(),
    dict(swiglu=False, rope=False, norm='layernorm'),
    dict(qk_norm=True),
    dict(rope=False, qk_norm=True, norm='layernorm'),
])
def test_lightning_dit_forward_backward(opts):
    model = LightningDiT(arch=TINY, input_size=8, in_channels=3,
                         num_classes=10, **opts)
    x = torch.randn(2, 3, 8, 8)
    out = model(x, torch.rand(2), torch.tensor([1, 10]))
    assert out.shape == x.shape
    assert torch.count_nonzero(out) == 0  # adaLN-Zero start
    randomize(model)
    out = model(x, torch.rand(2), torch.tensor([1, 10]))
    out.square().mean().backward()
    grads = {n: p.grad for n, p in model.named_parameters()
             if p.requires_grad}
    assert all(g is not None and torch.isfinite(g).all()
               for g in grads.values())
    assert grads['blocks.0.attn.qkv.weight'].abs().sum() > 0
    if opts.get('qk_norm'):
        assert 'blocks.0.attn.q_norm.weight' in grads


def test_lightning_dit_paper_options():
    model = LightningDiT(arch=TINY, input_size=8, in_channels=3,
                         num_classes=10)
    blk = model.blocks[0]
    assert isinstance(blk.norm1, torch.nn.RMSNorm)
    assert isinstance(blk.mlp, SwiGLU)
    assert blk.attn.rope is not None
    assert isinstance(blk.attn.q_norm, torch.nn.Identity)
    assert isinstance(model.final_layer, AdaLNFinalLayer)
    assert isinstance(model.final_layer.norm_final, torch.nn.RMSNorm)
    # rope tables are not weights: checkpoints stay free of them
    assert not any('rope' in k for k in model.state_dict())
    with pytest.raises(ConfigError, match='norm'):
        LightningDiT(arch=TINY, input_size=8, norm='batchnorm')


def test_lightning_dit_xl1_on_meta():
    with torch.device('meta'):
        model = LightningDiT(arch='XL/1', input_size=16, in_channels=32)
        out = model(torch.empty(2, 32, 16, 16), torch.empty(2),
                    torch.zeros(2, dtype=torch.long))
    assert out.shape == (2, 32, 16, 16)
    assert model.num_patches == 256 and len(model.blocks) == 28


def test_strict_save_and_load(tmp_path):
    model = randomize(LightningDiT(arch=TINY, input_size=8, in_channels=3,
                                   num_classes=10, qk_norm=True))
    path = str(tmp_path / 'lightning.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    other = LightningDiT(arch=TINY, input_size=8, in_channels=3,
                         num_classes=10, qk_norm=True)
    load_model_weights(other, path)
    x, t, y = torch.randn(2, 3, 8, 8), torch.rand(2), torch.tensor([0, 3])
    torch.testing.assert_close(other(x, t, y), model(x, t, y))
    # another block layout is a named error, not a silent partial load
    plain = SiT(arch=TINY, input_size=8, in_channels=3, num_classes=10)
    with pytest.raises(CheckpointError, match='lightning.pth'):
        load_model_weights(plain, path)


def test_recorded_attention_matches_sdpa():
    block = randomize(LightningDiTBlock(32, 4, qk_norm=True, swiglu=True,
                                        norm='rmsnorm', rope_grid=2))
    x, c = torch.randn(2, 5, 32), torch.randn(2, 32)  # 1 prefix + 2x2 grid
    fused = block(x, c)
    block.attn.record_attention = True
    recorded = block(x, c)
    torch.testing.assert_close(recorded, fused)
    logits = block.attn.pop_attention()
    assert logits.shape == (2, 4, 5, 5) and logits.requires_grad
    with pytest.raises(RuntimeError):
        block.attn.pop_attention()
