"""REPA end to end through tools/: train the tiny digits recipe, sample an
ADM-style .npz (resumably), and read the encoder-space score."""
import json
import os
import os.path as osp

import numpy as np
import pytest

CONFIG = 'configs/repa/sit-tiny_repa_digits.py'
# tiny budget; the encoder keeps random weights so the test needs no asset
FAST = [
    'train_cfg.max_iters=4', 'default_hooks.checkpoint.interval=4',
    'default_hooks.logger.interval=1',
    'model.backbone.arch.depth=2', 'model.aligners.0.depth=1',
    'model.aligners.0.encoders.0.checkpoint=None',
    'custom_hooks.2.encoder.checkpoint=None',
    'custom_hooks.2.num_samples=20', 'custom_hooks.2.grid_rows=1',
    'custom_hooks.2.sampler.num_steps=2', 'train_dataloader.batch_size=8'
]


@pytest.mark.slow
def test_train_sample_score(tool, tmp_path):
    work = str(tmp_path / 'work')
    res = tool(['tools/train.py', CONFIG, '--work-dir', work,
                '--cfg-options'] + FAST)
    assert res.returncode == 0, res.stderr[-3000:]
    assert 'loss_repa' in res.stdout + res.stderr
    ckpt = osp.join(work, 'iter_4.pth')
    assert osp.exists(ckpt)
    assert osp.exists(osp.join(work, 'samples', 'iter_4.png'))
    scores = json.load(open(osp.join(work, 'scores.json')))
    assert np.isfinite(scores['4']['fd_enc'])

    out = str(tmp_path / 'samples')
    args = ['tools/sample.py', CONFIG, ckpt, '--out', out, '--num-samples',
            '10', '--batch-size', '4', '--sampler', 'ode', '--num-steps', '2',
            '--cfg-scale', '1.5', '--cfg-options'] + FAST
    res = tool(args)
    assert res.returncode == 0, res.stderr[-3000:]
    with np.load(osp.join(out, 'samples.npz')) as d:
        imgs, labels = d['arr_0'], d['arr_1']
    assert imgs.shape == (10, 16, 16, 3) and imgs.dtype == np.uint8
    assert labels.shape == (10, ) and labels.max() < 10
    # grid.png: the shared class-column grid, titled with the digits
    from PIL import Image

    from rgl.visualization import draw_sample_grid, grid_selection
    idx, grid_labels = grid_selection(labels, 64, 10)
    assert sorted(set(grid_labels)) == sorted(set(labels.tolist()))
    ref = draw_sample_grid(imgs[idx], grid_labels,
                           [str(i) for i in range(10)])
    grid = Image.open(osp.join(out, 'grid.png')).convert('RGB')
    assert np.array_equal(np.asarray(grid), np.asarray(ref))
    # an interrupted run resumes: a missing chunk is redone identically
    os.remove(osp.join(out, 'chunks', '000001.npz'))
    res = tool(args)
    assert res.returncode == 0, res.stderr[-3000:]
    assert '2 already done' in res.stdout
    with np.load(osp.join(out, 'samples.npz')) as d:
        assert np.array_equal(d['arr_0'], imgs)
    # a wrong checkpoint gets one clear line
    res = tool(args[:2] + [osp.join(work, 'nope.pth')] + args[3:])
    assert res.returncode == 2 and 'nope.pth' in res.stderr
