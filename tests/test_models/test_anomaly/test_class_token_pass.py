"""The window pass computes the last block for the class token alone and
gives the full pass's class token; the tower's state dict is unchanged."""
import copy

import pytest
import torch

from rgl.models.anomaly import WindowEmbedder
from rgl.models.anomaly.class_token_pass import (ClassTokenPass,
                                                 supports_class_token_pass)
from rgl.models.anomaly.clip_loader import build_open_clip
from winclip_helpers import TINY_CLIP_CFG


def _clip(seed=0):
    torch.manual_seed(seed)
    return build_open_clip('tiny', model_cfg=TINY_CLIP_CFG)


def test_class_token_equals_the_full_pass():
    visual = _clip().visual.eval()
    assert supports_class_token_pass(visual)
    x = torch.randn(7, 10, visual.transformer.width)
    with torch.no_grad():
        full = visual.transformer(x)[:, :1]
        got = ClassTokenPass(visual.transformer)(x)
    assert got.shape == (7, 1, visual.transformer.width)
    torch.testing.assert_close(got, full, atol=1e-5, rtol=1e-5)
    # the rows of the window tokens do matter (keys and values)
    y = x.clone()
    y[:, 5:] += torch.randn_like(y[:, 5:])  # not a constant: LN drops it
    with torch.no_grad():
        assert not torch.allclose(ClassTokenPass(visual.transformer)(y), got)


def test_embedder_uses_it_and_keeps_the_state_dict():
    clip = _clip()
    keys = set(WindowEmbedder(clip.visual).state_dict())
    emb = WindowEmbedder(clip.visual, scales=(2, 3))
    assert emb.class_pass is not None
    assert set(emb.state_dict()) == keys
    assert not list(emb.class_pass.parameters())  # shares, not copies


def test_mean_pooled_towers_fall_back_to_the_full_pass():
    visual = copy.deepcopy(_clip().visual)
    visual.pool_type = 'avg'  # the class token is not what is pooled
    assert not supports_class_token_pass(visual)
    emb = WindowEmbedder(visual, scales=(2, ))
    assert emb.class_pass is None
    x = torch.randn(1, 3, 64, 64)
    loop = emb.forward_window_loop(x)[2]
    torch.testing.assert_close(emb(x)['windows'][2], loop, atol=1e-5,
                               rtol=1e-5)


def test_under_bf16_autocast_it_stays_close_to_the_full_pass():
    visual = _clip().visual.eval()
    x = torch.randn(5, 10, visual.transformer.width)
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        full = visual.transformer(x)[:, :1].float()
        got = ClassTokenPass(visual.transformer)(x).float()
    assert (got - full).abs().max() < 0.1 * full.abs().max()


def test_attention_it_cannot_replay_falls_back():
    visual = copy.deepcopy(_clip().visual)
    visual.transformer.resblocks[0].attn.add_zero_attn = True
    assert not supports_class_token_pass(visual)


@pytest.mark.slow  # inductor compiles the full and the window passes
def test_compiled_winclip_gives_the_eager_scores(tmp_path):
    pytest.importorskip('torch._inductor')
    from rgl.registry import MODELS
    from winclip_helpers import save_tiny_clip
    ckpt = tmp_path / 'tiny_clip.pt'
    save_tiny_clip(ckpt)

    def build(**kw):
        return MODELS.build(dict(
            type='WinCLIP', class_name='bottle', text_cache_dir=None,
            clip=dict(model_name='tiny-test', model_cfg=TINY_CLIP_CFG,
                      checkpoint=str(ckpt)),
            prompt=dict(type='CompositionalPromptEnsemble',
                        templates=('a photo of a {}.', )), **kw)).eval()

    eager, compiled = build(), build(compile=True)
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        s1, m1 = eager(x, mode='tensor')
        s2, m2 = compiled(x, mode='tensor')
    torch.testing.assert_close(s2, s1, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(m2, m1, atol=1e-5, rtol=1e-5)
    # the window pass itself went through torch.compile
    assert hasattr(compiled.embedder.class_pass, '_compiled_call_impl') and \
        compiled.embedder.class_pass._compiled_call_impl is not None
