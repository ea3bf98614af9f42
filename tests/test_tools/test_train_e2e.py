"""End to end through tools/: train, checkpoint, resume, test, dist."""
import glob
import json
import os.path as osp

import pytest
import torch

from conftest import REPO_ROOT

CFG = 'configs/digits/smallconvnet_1xb64-20e_digits.py'
SHORT = ['--cfg-options', 'train_cfg.max_epochs=4']


def _flip_config(tmp_path):
    """The digits config plus a random flip, so that resuming must also
    restore the RNG to match the uninterrupted run."""
    path = tmp_path / 'digits_flip.py'
    path.write_text(
        f"_base_ = [{osp.join(REPO_ROOT, CFG)!r}]\n"
        "train_dataloader = dict(dataset=dict(transforms=[\n"
        "    dict(type='torchvision/RandomHorizontalFlip', p=0.5)]))\n")
    return str(path)


def _weights(path):
    from rgl.utils import load_state_dict_file
    return load_state_dict_file(path)


@pytest.mark.slow
def test_train_resume_matches_uninterrupted_then_test(tool, tmp_path):
    full, resumed = tmp_path / 'full', tmp_path / 'resumed'
    cfg = _flip_config(tmp_path)
    out = tool(['tools/train.py', cfg, '--work-dir', str(full),
                '--no-validate'] + SHORT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert sorted(osp.basename(p) for p in glob.glob(f'{full}/epoch_*.pth')
                  ) == ['epoch_2.pth', 'epoch_3.pth', 'epoch_4.pth']
    logs = glob.glob(f'{full}/*/*.log')
    assert logs and 'Epoch(train)' in open(logs[0]).read()

    # "interrupted" after epoch 2: resume that checkpoint in a fresh dir
    out = tool(['tools/train.py', cfg, '--work-dir', str(resumed),
                '--no-validate', '--resume', str(full / 'epoch_2.pth')] +
               SHORT)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'resumed epoch: 2' in out.stdout + out.stderr
    a, b = _weights(full / 'epoch_4.pth'), _weights(resumed / 'epoch_4.pth')
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6,
                                   msg=key)

    metrics = tmp_path / 'metrics.json'
    out = tool(['tools/test.py', CFG, str(full / 'epoch_4.pth'),
                '--work-dir', str(tmp_path / 'test'), '--out',
                str(metrics)])
    assert out.returncode == 0, out.stderr[-3000:]
    acc = json.loads(metrics.read_text())['accuracy/top1']
    assert acc > 80  # 4 epochs of a small CNN on digits


@pytest.mark.slow
@pytest.mark.parametrize('cfg, port', [
    (CFG, '29731'),
    # mmengine's FlexibleRunner with DDPStrategy
    ('configs/digits/smallconvnet_1xb64-20e_digits_flexible-ddp.py', '29733'),
])
def test_dist_train_two_cpu_processes(tool, tmp_path, cfg, port):
    out = tool(['bash', 'tools/dist_train.sh', cfg, '2', '--work-dir',
                str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=2',
                'train_cfg.val_interval=2'],
               env={'PORT': port})
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert 'Epoch(val) [2]' in text
    assert osp.isfile(tmp_path / 'epoch_2.pth')
    # both ranks ran: the distributed world size is logged by mmengine
    assert 'Distributed launcher: pytorch' in text

    if cfg == CFG:  # and evaluate it with two processes too
        out = tool(['bash', 'tools/dist_test.sh', cfg,
                    str(tmp_path / 'epoch_2.pth'), '2', '--work-dir',
                    str(tmp_path / 'test'), '--out',
                    str(tmp_path / 'metrics.json')],
                   env={'PORT': str(int(port) + 1)})
        assert out.returncode == 0, out.stderr[-3000:]
        metrics = json.loads((tmp_path / 'metrics.json').read_text())
        assert 0 <= metrics['accuracy/top1'] <= 100
