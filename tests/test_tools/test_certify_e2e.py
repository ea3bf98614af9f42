"""End to end on digits through tools/: train, certify (killed and
resumed, distributed), then analyse."""
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO_ROOT

CFG = 'configs/smoothing/gaussian_smallconvnet_1xb64-20e_digits-sigma0.5.py'


def _rows(path):
    lines = open(path).read().splitlines()
    assert lines[0] == 'idx\tlabel\tpredict\tradius\tcorrect\ttime'
    return [ln.split('\t') for ln in lines[1:]]


def _key(rows):
    """idx, label, predict, radius, correct: all but the time."""
    return [r[:5] for r in rows]


def _seconds(row):
    h, m, s = row[5].split(':')
    return 3600 * int(h) + 60 * int(m) + float(s)


@pytest.mark.slow
def test_train_certify_resume_dist_analyze(tool, tmp_path):
    work = tmp_path / 'work'
    out = tool(['tools/train.py', CFG, '--work-dir', str(work),
                '--cfg-options', 'train_cfg.max_epochs=2',
                'train_cfg.val_interval=2'])
    assert out.returncode == 0, out.stderr[-3000:]
    ckpt = str(work / 'epoch_2.pth')

    # -- a run killed after a few rows, then resumed with the same command
    tsv = str(tmp_path / 'gauss.tsv')
    cmd = ['tools/certify.py', CFG, ckpt, '--n', '2000', '--skip', '30',
           '--out', tsv, '--images-per-step', '1', '--batch', '1000']
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.Popen([sys.executable] + cmd, cwd=REPO_ROOT, env=env,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(tsv) and len(open(tsv).read().splitlines()) >= 4:
            break
        time.sleep(0.1)
    assert proc.poll() is None, 'certification finished before the kill'
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed = len(_rows(tsv))
    assert 3 <= killed < 12
    out = tool(cmd)
    assert out.returncode == 0, out.stderr[-3000:]
    rows = _rows(tsv)
    assert [int(r[0]) for r in rows] == list(range(0, 360, 30))  # 12 images
    for r in rows:
        assert int(r[4]) == int(r[1] == r[2])
        assert float(r[3]) >= 0 and (r[2] != '-1' or float(r[3]) == 0)
    assert sum(int(r[4]) for r in rows) >= 6  # a working smoothed model
    assert 'ACR' in out.stdout

    # -- another run's file is never appended to; bad arguments
    bad = tool(cmd[:-6] + ['--sigma', '0.25', '--out', tsv])
    assert bad.returncode == 2 and 'different run' in bad.stderr
    assert 'sigma' in bad.stderr and len(_rows(tsv)) == 12

    # -- a row is a function of the image alone (per-image noise streams):
    # other --batch and --images-per-step, locuslab's --N0/--N spelling
    same = tmp_path / 'same.tsv'
    cmd_b = ['tools/certify.py', CFG, ckpt, '--N0', '100', '--N', '2000',
             '--skip', '30', '--max-idx', '180', '--images-per-step', '4',
             '--batch', '700', '--out', str(same)]
    out = tool(cmd_b)
    assert out.returncode == 0, out.stderr[-3000:]
    assert _key(_rows(same)) == _key(rows[:6])
    assert all(_seconds(r) > 0 for r in _rows(same))
    # a kill between two rows of one group (groups of 4: 0-90, 120-150),
    # then a resume that certifies idx 150 in a group of its own
    lines = same.read_text().splitlines(keepends=True)
    same.write_text(''.join(lines[:6]))
    out = tool(cmd_b)
    assert out.returncode == 0, out.stderr[-3000:]
    assert _key(_rows(same)) == _key(rows[:6])

    # -- two CPU ranks split the images; rank 0 merges in idx order; the
    # rows are those of one process
    dist_tsv = str(tmp_path / 'dist.tsv')
    out = tool(['bash', 'tools/dist_certify.sh', CFG, ckpt, '2', '--N',
                '2000', '--skip', '30', '--max-idx', '180', '--batch', '300',
                '--out', dist_tsv], env={'PORT': '29737'})
    assert out.returncode == 0, out.stderr[-3000:]
    assert _key(_rows(dist_tsv)) == _key(rows[:6])
    assert not [p for p in os.listdir(tmp_path) if '.part' in p]

    # -- analysis: tables and plot
    md, png = tmp_path / 't.md', tmp_path / 'c.png'
    out = tool(['tools/analyze_certify.py', tsv, dist_tsv, '--names',
                'n2000', 'dist', '--radii', '0', '0.5', '--markdown',
                str(md), '--plot', str(png), '--latex',
                str(tmp_path / 't.tex')])
    assert out.returncode == 0, out.stderr[-3000:]
    table = md.read_text().splitlines()
    assert table[0] == '| run | ACR | r=0 | r=0.5 |'
    assert table[2].startswith('| n2000 |')
    assert png.read_bytes()[:4] == b'\x89PNG'


def _load_certify_tool():
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'rgl_tool_certify', os.path.join(REPO_ROOT, 'tools', 'certify.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize('flags,key', [
    (['--alpha', '1.5'], 'alpha'), (['--sigma', '0'], 'sigma'),
    (['--n0', '0'], 'n0'), (['--N0', '0'], 'n0'), (['--n', '-5'], 'n'),
    (['--skip', '0'], 'skip')])
def test_certify_rejects_bad_arguments(tmp_path, flags, key):
    from rgl.utils.errors import ConfigError
    ckpt = tmp_path / 'x.pth'
    ckpt.write_bytes(b'')
    with pytest.raises(ConfigError, match=key):
        _load_certify_tool().main([os.path.join(REPO_ROOT, CFG), str(ckpt),
                                   '--out', str(tmp_path / 'o.tsv')] + flags)


def test_certify_rejects_mismatched_num_classes(tmp_path):
    import torch

    from rgl.registry import MODELS
    from rgl.utils.errors import ConfigError
    cfg = tmp_path / 'five.py'
    cfg.write_text(f"_base_ = [{os.path.join(REPO_ROOT, CFG)!r}]\n"
                   "model = dict(num_classes=5)\n")
    from mmengine.config import Config
    model = MODELS.build(Config.fromfile(str(cfg)).model)
    ckpt = tmp_path / 'five.pth'
    torch.save(dict(state_dict=model.state_dict()), ckpt)
    with pytest.raises(ConfigError, match='num_classes'):
        _load_certify_tool().main([str(cfg), str(ckpt), '--out',
                                   str(tmp_path / 'o.tsv')])


def test_out_in_a_folder_that_cannot_be_written(tool, tmp_path):
    """Refused before the model is built: one line naming --out."""
    blocker = tmp_path / 'a_file'
    blocker.write_text('not a folder')
    ckpt = tmp_path / 'never_read.pth'
    ckpt.write_bytes(b'')
    out = tool(['tools/certify.py', CFG, str(ckpt), '--sigma', '0.5',
                '--out', str(blocker / 'sub' / 'certify.tsv')])
    assert out.returncode == 2, out.stderr[-2000:]
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('error: --out '), lines
    assert 'cannot write' in lines[0]
