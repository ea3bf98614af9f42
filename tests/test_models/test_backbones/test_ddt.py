import pytest
import torch

from rgl.models.aligners import REPAAligner
from rgl.models.backbones import DDT
from rgl.models.utils import FeatureTap
from rgl.utils.checkpoint import load_model_weights
from rgl.utils.errors import ConfigError

TINY = dict(depth=4, hidden_size=32, num_heads=2, patch_size=2)


def tiny_ddt(**kwargs):
    kwargs.setdefault('num_encoder_blocks', 3)
    return DDT(arch=TINY, input_size=8, in_channels=3, num_classes=10,
               **kwargs)


def randomize(model, seed=0):
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    return model


def test_forward_backward_and_zero_start():
    model = tiny_ddt()
    x, t, y = torch.randn(2, 3, 8, 8), torch.rand(2), torch.tensor([1, 10])
    assert torch.count_nonzero(model(x, t, y)) == 0
    randomize(model)
    out = model(x, t, y)
    assert out.shape == x.shape
    out.square().mean().backward()
    for name in ('s_embedder.proj.weight', 'x_embedder.proj.weight',
                 'blocks.0.attn.qkv.weight', 'blocks.3.mlp.w12.weight'):
        assert model.get_parameter(name).grad.abs().sum() > 0, name


def test_encoder_conditions_the_decoder_per_token():
    model = randomize(tiny_ddt())
    x, t, y = torch.randn(2, 3, 8, 8), torch.rand(2), torch.tensor([1, 2])
    taps = {i: FeatureTap(model, f'blocks.{i}') for i in range(4)}
    t_emb = model.t_embedder(t)
    model(x, t, y)
    enc_out = taps[2].pop()
    # the decoder's first block sees e(t) + z per token, the encoder's c
    # is per sample: recompute block 3 from block 2's output by hand
    h = model.x_embedder(x) + model.pos_embed
    ref = model.blocks[3](h, enc_out + t_emb[:, None])
    torch.testing.assert_close(taps[3].pop(), ref)
    # and the per-sample c would give something else
    c = t_emb + model.y_embedder(y)
    assert not torch.allclose(model.blocks[3](h, c), ref)


def test_repa_tap_is_in_the_encoder():
    model = randomize(tiny_ddt())
    aligner = REPAAligner(encoder_dims=[16], depth=2, projector_dim=8)
    aligner.bind(model)
    assert aligner.tap.name == 'blocks.1'
    assert 2 <= model.num_encoder_blocks
    model(torch.randn(2, 3, 8, 8), torch.rand(2), torch.tensor([1, 2]))
    loss = aligner.loss(features=[torch.randn(2, 16, 16)])
    loss['loss_repa'].backward()
    # the alignment reaches the encoder and not the decoder
    assert model.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    assert model.blocks[3].attn.qkv.weight.grad is None


def test_repa_tap_in_the_decoder_warns():
    model = tiny_ddt()  # encoder: blocks 1..3
    with pytest.warns(UserWarning, match='taps the decoder'):
        REPAAligner(encoder_dims=[16], depth=4, projector_dim=8).bind(model)


def test_defaults_and_errors():
    with torch.device('meta'):
        xl = DDT(arch='XL/2')
    assert xl.num_encoder_blocks == 22 and len(xl.blocks) == 28
    blk = xl.blocks[0]
    assert blk.attn.qkv.bias is None and blk.mlp.w12.bias is None
    assert isinstance(blk.attn.q_norm, torch.nn.RMSNorm)
    for bad in (0, 4, 7):
        with pytest.raises(ConfigError, match='num_encoder_blocks'):
            tiny_ddt(num_encoder_blocks=bad)


def test_strict_save_and_load(tmp_path):
    model = randomize(tiny_ddt(class_token_dim=6))
    path = str(tmp_path / 'ddt.pth')
    torch.save(model.state_dict(), path)
    other = tiny_ddt(class_token_dim=6)
    load_model_weights(other, path)
    x, t, y = torch.randn(2, 3, 8, 8), torch.rand(2), torch.tensor([1, 2])
    cls = torch.randn(2, 6)
    for a, b in zip(other(x, t, y, cls_token=cls),
                    model(x, t, y, cls_token=cls)):
        torch.testing.assert_close(a, b)
