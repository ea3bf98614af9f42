"""The REPA converter reads the alignment depth from every layout REPA
writes (args as a Namespace or a dict, args.json, the legacy block split,
the released last.pt) and never falls back to a guess."""
import argparse
import importlib.util
import json
import os.path as osp

import pytest
import torch

from rgl.utils.errors import CheckpointError, ConfigError

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, osp.join(ROOT, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


converter = _load('converter_depth',
                  'tools/model_converters/dit_sit_repa_to_rgl.py')
official = _load('official_stand_in', 'tests/test_tools/'
                 'test_model_converters.py')


def net(depth=3, encoder_depth=2):
    return official.randomized(official.OfficialNet(
        depth=depth, z_dims=(16, ), encoder_depth=encoder_depth))


def tap(ckpt_path, **kwargs):
    ckpt, model = converter.convert(str(ckpt_path), **kwargs)
    return model.aligners[0].tap.name, ckpt['meta']['model']


def check_projection(model, ref_net):
    x, t, y = official.inputs()
    with torch.no_grad():
        _, zs = ref_net(x, t, y)
        model.eval().backbone(x, t, y)
        aligner = model.aligners[0]
        pred = aligner.project(aligner.tap.pop())[0]
    torch.testing.assert_close(pred, zs[0], atol=1e-5, rtol=0)


def test_args_as_dict_and_namespace(tmp_path):
    ref = net(encoder_depth=1)
    for args in (dict(model='SiT-B/2', encoder_depth=1),
                 argparse.Namespace(model='SiT-B/2', encoder_depth=1)):
        src = tmp_path / 'ckpt.pt'
        torch.save(dict(ema=ref.state_dict(), args=args, steps=1), src)
        ckpt, model = converter.convert(str(src))
        # 1, not the old silent fallback 8 (which here is beyond the model)
        assert model.aligners[0].tap.name == 'blocks.0'
        assert ckpt['meta']['model']['aligners'][0]['depth'] == 1
        check_projection(model, ref)


def test_bare_state_dict_needs_the_depth(tmp_path):
    ref = net(encoder_depth=2)
    src = tmp_path / 'ema.pt'
    torch.save(ref.state_dict(), src)
    with pytest.raises(ConfigError, match='--encoder-depth'):
        converter.convert(str(src))
    name, cfg = tap(src, depth=2)
    assert name == 'blocks.1' and cfg['aligners'][0]['depth'] == 2
    with pytest.raises(ConfigError, match='outside'):
        converter.convert(str(src), depth=9)
    # REPA's args.json of the run
    args_json = tmp_path / 'args.json'
    args_json.write_text(json.dumps(dict(model='SiT-B/2', encoder_depth=2)))
    assert tap(src, args_json=str(args_json))[0] == 'blocks.1'
    with pytest.raises(ConfigError, match='contradicts'):
        converter.convert(str(src), depth=3, args_json=str(args_json))
    # the json and the checkpoint's own args must agree
    torch.save(dict(ema=ref.state_dict(), args=dict(encoder_depth=3)), src)
    with pytest.raises(ConfigError, match='disagrees'):
        converter.convert(str(src), args_json=str(args_json))


def test_legacy_layout_gives_the_depth(tmp_path):
    ref = net(depth=3, encoder_depth=2)
    legacy = {}
    for k, v in ref.state_dict().items():
        if k.startswith('blocks.2.'):
            k = 'decoder_blocks.0.' + k[len('blocks.2.'):]
        legacy[k] = v
    src = tmp_path / 'legacy.pt'
    torch.save(legacy, src)
    ckpt, model = converter.convert(str(src))
    assert model.aligners[0].tap.name == 'blocks.1'
    assert 'backbone.blocks.2.attn.qkv.weight' in ckpt['state_dict']
    check_projection(model, ref)
    x, t, y = official.inputs()
    with torch.no_grad():
        torch.testing.assert_close(model.network(x, t, y), ref(x, t, y)[0],
                                   atol=1e-5, rtol=0)


def test_released_last_pt_is_recognised_by_its_shapes():
    # shapes only (meta tensors): SiT-XL/2 with one 768-d projector
    def meta(*shape):
        return torch.empty(shape, device='meta')

    state = {
        'x_embedder.proj.weight': meta(1152, 4, 2, 2),
        'pos_embed': meta(1, 256, 1152),
        'y_embedder.embedding_table.weight': meta(1001, 1152),
        'projectors.0.0.weight': meta(2048, 1152),
        'projectors.0.4.weight': meta(768, 2048),
    }
    state.update({f'blocks.{i}.mlp.fc1.weight': meta(4608, 1152)
                  for i in range(28)})
    assert converter.alignment_depth({}, state, 'last.pt') == 8
    state['projectors.1.4.weight'] = meta(1024, 2048)  # two encoders
    with pytest.raises(ConfigError, match='--encoder-depth'):
        converter.alignment_depth({}, state, 'last.pt')


def test_cli_error_line(tmp_path, tool):
    src = tmp_path / 'ema.pt'
    torch.save(net().state_dict(), src)
    res = tool(['tools/model_converters/dit_sit_repa_to_rgl.py', str(src),
                str(tmp_path / 'out.pth')])
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith('error:') and '--encoder-depth' in lines[-1]
    assert not (tmp_path / 'out.pth').exists()


def test_bad_args_entry(tmp_path):
    src = tmp_path / 'ckpt.pt'
    torch.save(dict(ema=net().state_dict(), args=[1, 2]), src)
    with pytest.raises(CheckpointError, match='args'):
        converter.convert(str(src))
