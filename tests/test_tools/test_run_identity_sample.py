"""tools/sample.py resumes only its own run: another run's --out is refused
in one line, the same run resumes, and --overwrite starts afresh."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import torch

CONFIG = 'configs/repa/sit-tiny_baseline_digits.py'
SMALL = ['model.backbone.arch.depth=1', 'model.backbone.arch.hidden_size=16',
         'model.backbone.arch.num_heads=2']


@pytest.fixture
def checkpoint(tmp_path):
    from mmengine.config import Config

    from rgl.apis import init_model
    from conftest import REPO_ROOT
    cfg = Config.fromfile(osp.join(REPO_ROOT, CONFIG))
    cfg.merge_from_dict({o.split('=')[0]: int(o.split('=')[1])
                         for o in SMALL})
    torch.manual_seed(0)
    model = init_model(cfg)
    path = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


def _tool_module():
    import importlib.util

    from conftest import REPO_ROOT
    spec = importlib.util.spec_from_file_location(
        'sample_tool', f'{REPO_ROOT}/tools/sample.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _args(ckpt, out, *extra):
    return [CONFIG, ckpt, '--out', out, '--batch-size', '2', '--sampler',
            'ode', '--num-steps', '1', *extra, '--cfg-options', *SMALL]


def test_sample_run_identity(tool, tmp_path, checkpoint, capsys,
                             monkeypatch):
    from conftest import REPO_ROOT

    from rgl.utils.errors import ConfigError
    monkeypatch.chdir(REPO_ROOT)
    sample = _tool_module()
    out = str(tmp_path / 'samples')
    sample.main(_args(checkpoint, out, '--num-samples', '4'))
    side = json.load(open(osp.join(out, 'run_identity.json')))
    assert side['tool'] == 'sample' and side['run']['num_samples'] == 4
    assert len(side['run']['checkpoint_sha256']) == 64
    with np.load(osp.join(out, 'samples.npz')) as d:
        first = d['arr_0']

    # the same run resumes its chunks
    os.remove(osp.join(out, 'chunks', '000001.npz'))
    capsys.readouterr()
    sample.main(_args(checkpoint, out, '--num-samples', '4'))
    assert '1 already done' in capsys.readouterr().out
    with np.load(osp.join(out, 'samples.npz')) as d:
        assert np.array_equal(d['arr_0'], first)

    # another run (other --num-samples) is refused in one line; nothing
    # of the old run is touched
    before = sorted(os.listdir(osp.join(out, 'chunks')))
    res = tool(['tools/sample.py'] + _args(checkpoint, out, '--num-samples',
                                           '2'))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: ')
    assert out in lines[0] and 'num_samples: 4 (output) vs 2 (now)' in \
        lines[0] and '--overwrite' in lines[0]
    assert sorted(os.listdir(osp.join(out, 'chunks'))) == before

    # another checkpoint, or another config value: refused too
    other = str(tmp_path / 'other.pth')
    sd = torch.load(checkpoint, weights_only=True)
    sd['state_dict'] = {k: v + 1 for k, v in sd['state_dict'].items()}
    torch.save(sd, other)
    with pytest.raises(ConfigError, match='checkpoint_sha256'):
        sample.main(_args(other, out, '--num-samples', '4'))
    with pytest.raises(ConfigError, match='config_sha256'):
        sample.main(_args(checkpoint, out, '--num-samples', '4') +
                    ['model.label_dropout=0.2'])

    # --overwrite removes the old run and writes the new one
    capsys.readouterr()
    sample.main(_args(checkpoint, out, '--num-samples', '2', '--overwrite'))
    assert '0 already done' in capsys.readouterr().out
    assert sorted(os.listdir(osp.join(out, 'chunks'))) == ['000000.npz']
    with np.load(osp.join(out, 'samples.npz')) as d:
        assert len(d['arr_0']) == 2
        assert np.array_equal(d['arr_0'], first[:2])  # same seeds per chunk


def test_sample_refuses_a_folder_without_run_identity(tmp_path):
    """An --out written before run identities existed (or by hand) is not
    reused: the refusal comes before the model is sampled."""
    from rgl.utils.errors import ConfigError
    mod = _tool_module()
    out = tmp_path / 'old'
    (out / 'chunks').mkdir(parents=True)
    (out / 'chunks' / '000000.npz').write_bytes(b'old')
    (out / 'notes.txt').write_text('not ours: kept by --overwrite')
    ckpt = tmp_path / 'c.pth'
    torch.save({}, ckpt)
    args = mod.parse_args(['cfg.py', str(ckpt), '--out', str(out),
                           '--num-samples', '2'])
    with pytest.raises(ConfigError, match='no run header'):
        mod.claim_out_dir(args, dict(model=dict(type='X')), 0, 1)
    args.overwrite = True
    mod.claim_out_dir(args, dict(model=dict(type='X')), 0, 1)
    assert sorted(os.listdir(out)) == ['notes.txt', 'run_identity.json']
