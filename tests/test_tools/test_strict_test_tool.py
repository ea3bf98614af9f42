"""tools/test.py loads its checkpoint strictly: a checkpoint of another
architecture is one error line (exit 2), not a silently wrong accuracy;
--non-strict is the explicit way round and lists what it skipped."""
import json

import torch

from rgl.apis import init_model

CFG = 'configs/digits/smallconvnet_1xb64-20e_digits.py'


def test_test_tool_refuses_a_mismatched_checkpoint(tool, tmp_path):
    from conftest import REPO_ROOT
    narrow = init_model(f'{REPO_ROOT}/{CFG}',
                        cfg_options={'model.backbone.widths': (16, 64)})
    ckpt = str(tmp_path / 'other_arch.pth')
    torch.save({'state_dict': narrow.state_dict(), 'meta': {}}, ckpt)

    res = tool(['tools/test.py', CFG, ckpt, '--work-dir',
                str(tmp_path / 'w')])
    assert res.returncode == 2, res.stderr[-3000:]
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith('error')]
    assert len(errors) == 1 and 'Traceback' not in res.stderr
    assert ckpt in errors[0] and 'backbone.stages.0.0.weight' in errors[0]
    assert '[16, 1, 3, 3]' in errors[0] and '--non-strict' in errors[0]
    assert 'accuracy' not in res.stdout

    metrics = tmp_path / 'm.json'
    res = tool(['tools/test.py', CFG, ckpt, '--non-strict', '--work-dir',
                str(tmp_path / 'w'), '--out', str(metrics)])
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'loading non-strictly, skipped' in res.stderr
    assert 'backbone.stages.0.0.weight' in res.stderr
    assert 'accuracy/top1' in json.loads(metrics.read_text())


def test_sample_tool_names_a_shape_mismatch(tmp_path):
    """sample.py's loader (aligners dropped) reports shapes in one line
    instead of torch's multi-line RuntimeError."""
    import importlib.util

    import pytest
    from mmengine.config import Config

    from conftest import REPO_ROOT
    from rgl.utils.errors import CheckpointError
    spec = importlib.util.spec_from_file_location(
        'sample_tool', f'{REPO_ROOT}/tools/sample.py')
    sample = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(sample)
    cfg = Config.fromfile(
        f'{REPO_ROOT}/configs/repa/sit-tiny_baseline_digits.py')
    cfg.merge_from_dict({'model.backbone.arch.depth': 1,
                         'model.backbone.arch.hidden_size': 16,
                         'model.backbone.arch.num_heads': 2})
    ckpt = str(tmp_path / 'sit.pth')
    torch.save({'state_dict': init_model(cfg).state_dict()}, ckpt)
    assert sample.build_model(cfg, ckpt, 'state_dict') is not None
    cfg.merge_from_dict({'model.backbone.arch.hidden_size': 32})
    with pytest.raises(CheckpointError, match=r'sit.pth does not match the '
                       r'model \(\d+ with another shape: .*\[16'):
        sample.build_model(cfg, ckpt, 'state_dict')


def test_train_tool_refuses_a_mismatched_load_from(tool, tmp_path):
    """Fine-tuning from `load_from` is strict too (mmengine's default is
    not): one error line naming the file and a key, before any step."""
    from conftest import REPO_ROOT
    narrow = init_model(f'{REPO_ROOT}/{CFG}',
                        cfg_options={'model.backbone.widths': (16, 64)})
    ckpt = str(tmp_path / 'other_arch.pth')
    torch.save({'state_dict': narrow.state_dict(), 'meta': {}}, ckpt)
    res = tool(['tools/train.py', CFG, '--work-dir', str(tmp_path / 'w'),
                '--cfg-options', f'load_from={ckpt}',
                'train_cfg.max_epochs=1'])
    assert res.returncode == 2, res.stderr[-3000:]
    errors = [ln for ln in res.stderr.splitlines() if ln.startswith('error')]
    assert len(errors) == 1 and ckpt in errors[0]
    assert 'backbone.stages.0.0.weight' in errors[0]
    assert not (tmp_path / 'w' / 'epoch_1.pth').exists()
