"""issue 8, section 4: dist runs pick a free port; a copied work_dir
resumes its own checkpoint."""
import os
import os.path as osp
import shutil
import socket
import subprocess

import pytest

from conftest import REPO_ROOT

CFG = 'configs/digits/smallconvnet_1xb64-20e_digits.py'

PRINT_PORT = '''import os
print('MASTER_PORT=' + os.environ['MASTER_PORT'])
'''


def test_dist_run_picks_a_free_port_when_port_is_unset(tmp_path):
    script = tmp_path / 'print_port.py'
    script.write_text(PRINT_PORT)
    busy = socket.socket()
    try:  # a run already holds the default port (or someone else does)
        busy.bind(('127.0.0.1', 29500))
        busy.listen(1)
    except OSError:
        pass
    env = {k: v for k, v in os.environ.items()
           if k not in ('PORT', 'NNODES', 'RGL_DEBUG')}
    env.setdefault('OMP_NUM_THREADS', '1')
    relative = osp.relpath(script, osp.join(REPO_ROOT, 'tools'))
    try:
        out = subprocess.run(['bash', 'tools/dist_run.sh', relative, '1'],
                             cwd=REPO_ROOT, env=env, capture_output=True,
                             text=True, timeout=300)
    finally:
        busy.close()
    assert out.returncode == 0, out.stderr[-3000:]
    announced = [ln for ln in out.stderr.splitlines() if 'master port' in ln]
    assert len(announced) == 1, out.stderr
    port = announced[0].split('master port ')[1].split()[0]
    assert port != '29500'
    assert f'MASTER_PORT={port}' in out.stdout


@pytest.mark.slow
def test_copied_work_dir_resumes_its_own_checkpoint(tool, tmp_path):
    original, copy = tmp_path / 'original', tmp_path / 'copy'
    common = ['--no-validate', '--cfg-options']
    out = tool(['tools/train.py', CFG, '--work-dir', str(original)] +
               common + ['train_cfg.max_epochs=1'])
    assert out.returncode == 0, out.stderr[-3000:]
    assert (original / 'last_checkpoint').read_text().strip() == \
        str(original / 'epoch_1.pth')  # mmengine stores it absolute
    shutil.copytree(original, copy)
    shutil.rmtree(original)  # the original folder is gone (or elsewhere)

    out = tool(['tools/train.py', CFG, '--work-dir', str(copy),
                '--resume'] + common + ['train_cfg.max_epochs=2'])
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout + out.stderr
    assert f'Load checkpoint from {copy / "epoch_1.pth"}' in text
    assert 'resumed epoch: 1' in text
    assert (copy / 'epoch_2.pth').is_file()

    # the curve tool reads this real run's scalars (the latest of the two)
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'rgl_analyze_logs',
        osp.join(REPO_ROOT, 'tools/analysis_tools/analyze_logs.py'))
    analyze = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(analyze)
    train, _ = analyze.load_log(str(copy))
    iters, losses = analyze.curve(train, [], 'loss')
    assert iters == sorted(iters) and all(e == 2 for e in
                                          [r['epoch'] for r in train])
    analyze.main(['plot_curve', str(copy), '--keys', 'loss', 'lr',
                  '--out', str(tmp_path / 'curve.png')])
    assert (tmp_path / 'curve.png').stat().st_size > 1000
