"""Compositions end to end through tools/ (docs/compose.md):

- a REPA-trained DDPM (tools/train.py) as the one-shot denoiser of a
  smoothed classifier (tools/certify.py);
- WinCLIP+'s thresholded anomaly score under randomized smoothing
  (tools/certify.py), on the synthetic data and tiny CLIP of the WinCLIP
  tests.
"""
import math
import os.path as osp
import sys

import pytest
import torch
from scipy.stats import beta, norm

from conftest import REPO_ROOT

sys.path.insert(0, osp.join(REPO_ROOT, 'tests/test_models/test_anomaly'))
from winclip_helpers import make_mvtec, save_tiny_clip  # noqa: E402

CFG = osp.join(REPO_ROOT, 'configs/compose')


def _rows(path):
    lines = open(path).read().strip().splitlines()
    assert lines[0].split('\t')[:5] == ['idx', 'label', 'predict', 'radius',
                                        'correct']
    return [line.split('\t') for line in lines[1:]]


def _save_model(cfg_path, out, **options):
    from mmengine.config import Config

    from rgl.registry import MODELS
    cfg = Config.fromfile(cfg_path)
    cfg.merge_from_dict(options)
    torch.manual_seed(0)
    model = MODELS.build(
        {k: v for k, v in cfg.model.items() if k != 'train_loss'})
    torch.save(model.state_dict(), out)


@pytest.mark.slow
def test_repa_trained_denoiser_certifies_through_tools(tool, tmp_path):
    work = tmp_path / 'den'
    out = tool(['tools/train.py',
                osp.join(CFG, 'repa-ddpm_dit-tiny_400it_digits-denoiser.py'),
                '--work-dir', str(work), '--cfg-options',
                'train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2',
                'train_dataloader.batch_size=8', 'custom_hooks.1.momentum=0.5',
                'default_hooks.logger.interval=1'])
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'loss_repa' in out.stdout + out.stderr  # the aligner trained
    den = work / 'iter_2.pth'
    # REPA's projector is in the training checkpoint, not in the denoiser
    assert any(k.startswith('aligners.') for k in
               torch.load(den, weights_only=False)['state_dict'])

    cert_cfg = osp.join(
        CFG, 'dds-repa-ddpm-dit-tiny-400it_smallconvnet_digits-sigma0.5.py')
    clf = tmp_path / 'clf.pth'
    _save_model(cert_cfg, clf)
    tsv = tmp_path / 'cert.tsv'
    out = tool(['tools/certify.py', cert_cfg, str(clf), '--out', str(tsv),
                '--max', '2', '--n0', '4', '--n', '16', '--batch', '32',
                '--cfg-options', f'smoothing.denoiser.checkpoint={den}'])
    assert out.returncode == 0, out.stderr[-3000:]
    rows = _rows(tsv)
    assert [r[0] for r in rows] == ['0', '1']
    bound = 0.5 * norm.ppf(beta.ppf(0.001, 16, 1))  # all 16 votes agree
    assert all(float(r[3]) <= bound * 1.01 + 1e-4 for r in rows)


@pytest.mark.slow
def test_winclip_anomaly_decision_certified_through_tools(tool, tmp_path):
    root = make_mvtec(str(tmp_path / 'mvtec'), 'widget', n_train=1,
                      n_good=2, n_defect=2)
    clip = tmp_path / 'tiny_clip.pt'
    save_tiny_clip(clip)
    base = osp.join(
        CFG, 'winclip-plus-smoothed_tiny-clip_1-shot_synthetic-sigma0.1.py')
    cfg = tmp_path / 'winclip_smoothed.py'
    cfg.write_text(
        f'_base_ = [{base!r}]\n'
        f'model = dict(scorer=dict(clip=dict(checkpoint={str(clip)!r}), '
        f'reference=dict(dataset=dict(data_root={root!r}))))\n'
        f'test_dataloader = dict(dataset=dict(data_root={root!r}))\n')
    weights = tmp_path / 'thresholded.pth'
    _save_model(str(cfg), weights)
    tsv = tmp_path / 'cert.tsv'
    n, sigma = 24, 0.1
    out = tool(['tools/certify.py', str(cfg), str(weights), '--out',
                str(tsv), '--n0', '8', '--n', str(n), '--batch', '32'])
    assert out.returncode == 0, out.stderr[-3000:]
    rows = _rows(tsv)
    # 2 good (label 0) then 2 defective (label 1) test images
    assert [int(r[1]) for r in rows] == [0, 0, 1, 1]
    assert all(int(r[2]) in (-1, 0, 1) for r in rows)
    bound = sigma * norm.ppf(beta.ppf(0.001, n, 1))
    for r in rows:
        radius = float(r[3])
        assert 0 <= radius <= bound * 1.01 + 1e-4
        assert (radius > 0) == (int(r[2]) != -1)
    assert not math.isnan(sum(float(r[3]) for r in rows))
