"""NIB end to end through tools/: train the digits config with
tools/train.py, evaluate the reliability measures with
tools/nib/evaluate_reliability.py (checked against an independent AUROC),
certify with tools/certify.py; bad inputs exit 2 with one line."""
import json
import os.path as osp

import pytest
import torch

CONFIG = 'configs/nib/nib_smallconvnet_1xb64-20e_digits-holdout9.py'
FAST = [
    'train_cfg.max_epochs=1', 'default_hooks.logger.interval=5',
]


@pytest.mark.slow
def test_train_evaluate_certify(tool, tmp_path):
    work = str(tmp_path / 'work')
    res = tool(['tools/train.py', CONFIG, '--work-dir', work,
                '--cfg-options'] + FAST)
    assert res.returncode == 0, res.stderr[-3000:]
    log = res.stdout + res.stderr
    for key in ('loss_cls', 'loss_kl', 'loss_rec', 'loss_adv', 'adv_acc'):
        assert key in log
    ckpt = osp.join(work, 'epoch_1.pth')
    assert osp.exists(ckpt)

    out = str(tmp_path / 'rel.json')
    res = tool(['tools/nib/evaluate_reliability.py', CONFIG, ckpt, '--out',
                out, '--corruptions', 'gaussian_noise', 'contrast',
                '--severities', '1', '5'])
    assert res.returncode == 0, res.stderr[-3000:]
    result = json.load(open(out))
    assert result['num_known'] == 324 and result['num_novel'] == 36
    table = result['corruption_accuracy']
    assert set(table) == {'gaussian_noise', 'contrast'}
    assert set(table['contrast']) == {'1', '5'}

    # the novelty AUROC against scikit-learn's, from the checkpoint itself
    from sklearn.metrics import roc_auc_score
    from mmengine.config import Config

    import rgl.models.ib  # noqa: F401
    from rgl.datasets import DigitsDataset
    from rgl.registry import MODELS
    from rgl.utils.checkpoint import load_model_weights
    cfg = Config.fromfile(CONFIG)
    model = MODELS.build(cfg.model).eval()
    load_model_weights(model, ckpt)
    ds = DigitsDataset(split='test', img_size=16)
    x = torch.stack([ds[i]['inputs'] for i in range(len(ds))])
    with torch.no_grad():
        msp = model.logits(x).softmax(1).amax(1).numpy()
    novel = (ds.labels == 9).numpy()
    expected = 100 * roc_auc_score(novel, 1 - msp)
    assert result['novelty_auroc'] == pytest.approx(expected, abs=1e-6)
    known_acc = (model.logits(x[~novel]).argmax(1) ==
                 ds.labels[~novel]).float().mean().item() * 100
    assert result['clean_accuracy'] == pytest.approx(known_acc, abs=1e-4)

    # NIB as the base classifier of randomized smoothing
    tsv = str(tmp_path / 'cert.tsv')
    res = tool(['tools/certify.py', CONFIG, ckpt, '--out', tsv, '--n0', '8',
                '--n', '32', '--batch', '64', '--max-idx', '6'])
    assert res.returncode == 0, res.stderr[-3000:]
    rows = open(tsv).read().strip().splitlines()
    assert rows[0].split('\t')[:3] == ['idx', 'label', 'predict']
    assert len(rows) == 1 + 6


@pytest.mark.slow
def test_nuisance_split_wider_than_the_features_is_one_line(tool, tmp_path):
    res = tool(['tools/train.py', CONFIG, '--work-dir', str(tmp_path),
                '--cfg-options', 'model.split.nuisance_channels=64'])
    assert res.returncode == 2, res.stderr[-2000:]
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith('error:') and 'nuisance_channels=64' in last
