"""REPA with EMA and an aligner: killed-and-resumed training matches an
uninterrupted run bit for bit (weights, EMA weights, score)."""
import json

import pytest
import torch

CFG = 'configs/repa/sit-tiny_repa_digits.py'
OPTS = [
    '--cfg-options', 'train_cfg.max_iters=20',
    'default_hooks.checkpoint.interval=10',
    'default_hooks.checkpoint.max_keep_ckpts=3',
    'custom_hooks.2.num_samples=20'
]


@pytest.mark.slow
def test_resume_matches_uninterrupted(tool, tmp_path):
    from rgl.utils import load_checkpoint_file
    full, resumed = tmp_path / 'full', tmp_path / 'resumed'
    out = tool(['tools/train.py', CFG, '--work-dir', str(full)] + OPTS)
    assert out.returncode == 0, out.stderr[-3000:]
    out = tool(['tools/train.py', CFG, '--work-dir', str(resumed),
                '--resume', str(full / 'iter_10.pth')] + OPTS)
    assert out.returncode == 0, out.stderr[-3000:]
    a = load_checkpoint_file(full / 'iter_20.pth')
    b = load_checkpoint_file(resumed / 'iter_20.pth')
    for key in ('state_dict', 'ema_state_dict'):
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            torch.testing.assert_close(a[key][name], b[key][name], rtol=0,
                                       atol=0, msg=f'{key}.{name}')
    assert json.loads((full / 'scores.json').read_text()) == \
        json.loads((resumed / 'scores.json').read_text())
