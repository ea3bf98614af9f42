"""tools/certify_cascade.py end to end on digits: certify, resume after a
cut, per-image seeds, the cascade TSV read by tools/analyze_certify.py,
threshold prediction, and errors naming the key."""
import importlib.util
import json
import os.path as osp

import pytest
import torch

from conftest import REPO_ROOT
from rgl.utils.errors import ConfigError

CFG = 'configs/smoothing/gaussian_smallconvnet_1xb64-20e_digits-sigma0.5.py'
HEADER = 'idx\tlabel\tpredict\tradius\tr_neg\tcorrect\tpred_uc\tcorr_uc\t' \
    'stage\ttime'


def _checkpoint(path):
    from mmengine.config import Config

    from rgl.registry import MODELS
    cfg = Config.fromfile(CFG)
    torch.manual_seed(0)
    model = MODELS.build({k: v for k, v in cfg.model.items()
                          if k != 'train_loss'})
    # a weak model: a spread of votes makes some images fall through
    with torch.no_grad():
        model.head.weight.mul_(0.05)
    torch.save({'state_dict': model.state_dict()}, path)


def _rows(path):
    lines = open(path).read().splitlines()
    assert lines[0] == HEADER
    return [ln.split('\t')[:-1] for ln in lines[1:]]  # drop the time


def _tool_main():
    spec = importlib.util.spec_from_file_location(
        'certify_cascade', f'{REPO_ROOT}/tools/certify_cascade.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main


@pytest.mark.slow
def test_certify_cascade_resume_seeds_and_errors(tool, tmp_path):
    ckpt = str(tmp_path / 'model.pth')
    _checkpoint(ckpt)
    tsv = str(tmp_path / 'mdds.tsv')
    cmd = ['tools/certify_cascade.py', CFG, ckpt, '--N', '300', '--N0',
           '20', '--skip', '40', '--max', '360', '--batch', '250',
           '--out', tsv]
    out = tool(cmd)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'ACR' in out.stdout
    rows = _rows(tsv)
    assert [int(r[0]) for r in rows] == list(range(0, 360, 40))
    for r in rows:
        pred, radius, uc = int(r[2]), float(r[3]), int(r[6])
        assert int(r[5]) == int(r[1] == r[2])
        assert radius >= 0 and (pred >= 0 or radius == 0)
        assert (uc == pred) if pred >= 0 else uc >= 0
        assert int(r[7]) == int(uc == int(r[1]))
        assert 0 <= int(r[8]) <= 2

    # cut after two rows and half a line: the rerun restores the rest,
    # identical, since every image draws its noise from (seed, idx)
    lines = open(tsv).read().splitlines(keepends=True)
    with open(tsv, 'w') as f:
        f.writelines(lines[:3] + [lines[3][:7]])
    out = tool(cmd[:-2] + ['--images-per-step', '1', '--out', tsv])
    assert out.returncode == 0, out.stderr[-3000:]
    assert _rows(tsv) == rows

    # tools/analyze_certify.py reads the cascade's own TSV (no second file)
    assert not osp.exists(tsv + '.cohen.tsv')
    md = tmp_path / 't.md'
    out = tool(['tools/analyze_certify.py', tsv, '--names', 'MDDS',
                '--radii', '0', '0.5', '--markdown', str(md),
                '--json', str(tmp_path / 't.json')])
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'MDDS' in md.read_text()
    summary = json.load(open(tmp_path / 't.json'))['MDDS']
    # by hand from the rows: a -2 abstention is no certificate
    for r, acc in zip((0.0, 0.5), summary['certified_accuracy']):
        want = sum(int(v[2]) == int(v[1]) and float(v[3]) >= r
                   for v in rows) / len(rows)
        assert acc == pytest.approx(want)
    assert summary['abstain_rate'] == pytest.approx(
        sum(int(v[2]) < 0 for v in rows) / len(rows))

    # another run's file is refused; bad cascades name their key (in
    # process: the exit status 2 of a ConfigError is run_cli's, tested once)
    main = _tool_main()
    with pytest.raises(ConfigError, match='different run.*alpha'):
        main(cmd[1:-2] + ['--alpha', '0.01', '--out', tsv])
    for flags, key in ((['--sigmas', '0.25', '0.5'], 'sigmas'),
                       (['--skip-p', '1.5'], 'skip_p')):
        with pytest.raises(ConfigError, match=key):
            main(cmd[1:-2] + flags + ['--out', str(tmp_path / 'x.tsv')])

    # threshold prediction mode
    pred = str(tmp_path / 'pred.tsv')
    out = tool(['tools/certify_cascade.py', CFG, ckpt, '--predict', '--N',
                '100', '--skip', '90', '--max', '360', '--out', pred])
    assert out.returncode == 0, out.stderr[-3000:]
    lines = open(pred).read().splitlines()
    assert lines[0].split('\t') == ['idx', 'label', 'pred0', 'predict',
                                    'correct', 'time', 'stage', 'c_max']
    assert len(lines) == 5
