"""WinCLIP's opt-in autocast (bf16 on CPU) and the anomalib 2.7 loop of
tools/benchmarks/benchmark_winclip.py, against rgl's float32 maps."""
import importlib.util
import os.path as osp

import pytest
import torch
import torch.nn.functional as F

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from winclip_helpers import TINY_CLIP_CFG, save_tiny_clip

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(
    osp.abspath(__file__)))))
TEMPLATES = ('a photo of a {}.', 'a close-up photo of the {}.')


@pytest.fixture(scope='module')
def ckpt(tmp_path_factory):
    path = tmp_path_factory.mktemp('clip') / 'tiny_clip.pt'
    save_tiny_clip(path)
    return path


def build(ckpt, kind='WinCLIP', **kw):
    return MODELS.build(dict(
        type=kind, class_name='bottle', text_cache_dir=None,
        clip=dict(model_name='tiny-test', model_cfg=TINY_CLIP_CFG,
                  checkpoint=str(ckpt)),
        prompt=dict(type='CompositionalPromptEnsemble', templates=TEMPLATES),
        **kw)).eval()


def images(n=3, seed=0):
    return torch.rand(n, 3, 64, 64, generator=torch.Generator()
                      .manual_seed(seed))


def test_bad_autocast_value(ckpt):
    with pytest.raises(ConfigError, match='autocast'):
        build(ckpt, autocast='bf16')


@pytest.mark.parametrize('kind', ['WinCLIP', 'WinCLIPPlus'])
def test_bf16_maps_close_to_fp32(ckpt, kind):
    kw = dict(k_shot=1) if kind == 'WinCLIPPlus' else {}
    fp32 = build(ckpt, kind, **kw)
    bf16 = build(ckpt, kind, autocast='bfloat16', **kw)
    if kw:
        ref = images(1, seed=5)
        fp32.set_reference_images(ref)
        bf16.set_reference_images(ref)
    seen = []
    bf16.clip.visual.transformer.register_forward_hook(
        lambda m, a, out: seen.append(out.dtype))
    x = images()
    s32, m32 = fp32(x, mode='tensor')
    s16, m16 = bf16(x, mode='tensor')
    assert seen and set(seen) == {torch.bfloat16}  # the tower ran in bf16
    assert m16.dtype == s16.dtype == torch.float32
    # bf16 keeps ~3 significant digits; the maps are softmax scores in [0, 1]
    assert (m16 - m32).abs().max() < 2e-2
    assert (s16 - s32).abs().max() < 2e-2
    assert not torch.equal(m16, m32)
    # 'auto' is bf16 on CPU
    auto = build(ckpt, kind, autocast='auto', **kw)
    if kw:
        auto.set_reference_images(ref)
    torch.testing.assert_close(auto(x, mode='tensor')[1], m16)


def load_benchmark():
    spec = importlib.util.spec_from_file_location(
        'benchmark_winclip',
        osp.join(ROOT, 'tools', 'benchmarks', 'benchmark_winclip.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('k_shot', [0, 1])
def test_anomalib_reference_loop_matches_rgl(ckpt, k_shot):
    """The benchmark's re-implementation of anomalib 2.7's loop, with the
    window fix, gives rgl's maps and scores; with anomalib's permutes kept
    (open_clip >= 2.26 is batch-first) all window embeddings are equal."""
    bench = load_benchmark()
    kind = 'WinCLIPPlus' if k_shot else 'WinCLIP'
    model = build(ckpt, kind, **(dict(k_shot=k_shot) if k_shot else {}))
    x, ref = images(2), images(1, seed=7)
    protos = model.text_prototypes('bottle')
    loop = bench.AnomalibWinClip(model.clip, protos,
                                 scales=model.embedder.scales)
    if k_shot:
        model.set_reference_images(ref)
        loop.setup_reference(model.normalize(ref))
    scores, grid = model(x, mode='tensor')
    maps = F.interpolate(grid[:, None], size=x.shape[-2:], mode='bilinear',
                         align_corners=False)[:, 0]
    a_scores, a_maps = loop.forward(model.normalize(x))
    torch.testing.assert_close(a_scores, scores, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(a_maps, maps, atol=1e-5, rtol=1e-5)

    buggy = bench.AnomalibWinClip(model.clip, protos, patched=False)
    _, windows, _ = buggy.encode_image(model.normalize(x))
    w2 = windows[0]
    assert torch.allclose(w2, w2[:, :1].expand_as(w2), atol=1e-5)
