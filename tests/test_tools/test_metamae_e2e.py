"""MetaMAE end to end through tools/: pre-train the tiny digits config with
tools/train.py, then probe the frozen encoder with
tools/metamae/linear_probe.py; bad inputs exit 2 with one line."""
import json
import os.path as osp

import pytest

CONFIG = 'configs/metamae/metamae-tiny_1xb64-300it_digits.py'
FAST = [
    'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=4',
    'default_hooks.logger.interval=1', 'train_dataloader.batch_size=8',
    'model.arch.depth=1', 'model.arch.decoder_depth=1',
]


@pytest.mark.slow
def test_train_then_linear_probe(tool, tmp_path):
    work = str(tmp_path / 'work')
    res = tool(['tools/train.py', CONFIG, '--work-dir', work,
                '--cfg-options'] + FAST)
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr
    for key in ('loss_rec', 'loss_con', 'inner_rec'):
        assert key in log
    ckpt = osp.join(work, 'iter_4.pth')
    assert osp.exists(ckpt)

    out = str(tmp_path / 'probe.json')
    res = tool(['tools/metamae/linear_probe.py', CONFIG, ckpt, '--probe',
                'adam', '--epochs', '2', '--out', out, '--cfg-options',
                'model.arch.depth=1', 'model.arch.decoder_depth=1'])
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.load(open(out))
    assert result['num_train'] == 1437 and result['num_test'] == 360
    assert result['feature_dim'] == 64 and 0 <= result['accuracy'] <= 100
    assert 'linear probe (adam) top-1' in res.stdout

    # the checkpoint of another model: one line naming the file
    res = tool(['tools/metamae/linear_probe.py', CONFIG, ckpt, '--probe',
                'logreg'])
    assert res.returncode == 2
    assert res.stderr.startswith('error:') and 'iter_4.pth' in res.stderr
    assert 'blocks.1' in res.stderr


@pytest.mark.slow
def test_bad_s_ratio_is_one_line(tool, tmp_path):
    res = tool(['tools/train.py', CONFIG, '--work-dir', str(tmp_path),
                '--cfg-options', 'model.s_ratio=1.0'])
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stderr.strip().splitlines()[-1].startswith('error:')
    assert 'model.s_ratio' in res.stderr
