"""rgl as a downstream user gets it: a wheel installed into a fresh venv,
and examples/rgl_example_project trained and certified with the ``rgl``
command from its own folder.

The venv reuses the installed dependencies (``--system-site-packages``;
nothing is downloaded) and gets rgl and the example without ``-e``.
"""
import os
import os.path as osp
import shutil
import site
import subprocess
import sys
import zipfile

import pytest

from conftest import REPO_ROOT

EXAMPLE = osp.join(REPO_ROOT, 'examples', 'rgl_example_project')
CFG = 'configs/repa-lsgauss_exampleresnet_1xb64-20e_digits-sigma0.5.py'
SOURCES = ('setup.py', 'setup.cfg', 'MANIFEST.in', 'README.md',
           'requirements.txt', 'requirements', 'rgl', 'configs', 'tools',
           'assets')


def _run(cmd, cwd, env, timeout=600):
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, (f'{cmd} failed:\n{out.stdout[-2000:]}\n'
                                 f'{out.stderr[-3000:]}')
    return out


def _clean_env():
    env = dict(os.environ, OMP_NUM_THREADS='1', PIP_NO_INDEX='1',
               PIP_DISABLE_PIP_VERSION_CHECK='1')
    for key in ('PYTHONPATH', 'RGL_DEBUG', 'VIRTUAL_ENV',
                'PIP_REQUIRE_VIRTUALENV'):
        env.pop(key, None)
    return env


def build_wheel(tmp_path, env):
    """A wheel of rgl built from a copy of the checkout (nothing is written
    into the checkout)."""
    src = tmp_path / 'rgl_src'
    src.mkdir()
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc', 'work_dirs')
    for name in SOURCES:
        path = osp.join(REPO_ROOT, name)
        if osp.isdir(path):
            shutil.copytree(path, src / name, symlinks=True, ignore=ignore)
        elif osp.exists(path):
            shutil.copy2(path, src / name)
    _run([sys.executable, '-m', 'pip', 'wheel', '--no-deps',
          '--no-build-isolation', '--no-index', '-w',
          str(tmp_path / 'dist'), str(src)], tmp_path, env)
    wheels = list((tmp_path / 'dist').glob('rgl-*.whl'))
    assert len(wheels) == 1
    return wheels[0]


def make_venv(tmp_path, env):
    """A venv that sees this interpreter's packages but not the checkout."""
    venv = tmp_path / 'venv'
    _run([sys.executable, '-m', 'venv', '--system-site-packages',
          '--without-pip', str(venv)], tmp_path, env)
    bindir = venv / ('Scripts' if os.name == 'nt' else 'bin')
    python = bindir / ('python.exe' if os.name == 'nt' else 'python')
    if sys.prefix != sys.base_prefix:
        # run from a venv: --system-site-packages reaches the base Python
        # only, so add this venv's site-packages behind the new one's
        purelib = _run([str(python), '-c',
                        'import sysconfig; print(sysconfig.get_path('
                        '"purelib"))'], tmp_path, env).stdout.strip()
        with open(osp.join(purelib, 'zz_outer_site.pth'), 'w') as f:
            f.write('import site; ' + '; '.join(
                f'site.addsitedir({p!r})' for p in site.getsitepackages()) +
                '\n')
    return python, bindir


@pytest.mark.slow
def test_wheel_and_example_project_from_its_own_folder(tmp_path):
    env = _clean_env()
    wheel = build_wheel(tmp_path, env)
    names = set(zipfile.ZipFile(wheel).namelist())
    for shipped in ('rgl/.mim/model-index.yml',
                    'rgl/.mim/configs/repa/sit_b.py',
                    'rgl/.mim/configs/_base_/default_runtime.py',
                    'rgl/.mim/tools/train.py', 'rgl/.mim/tools/dist_train.sh',
                    'rgl/.mim/assets/encoders/mae_vit-tiny-p4_digits.pth'):
        assert shipped in names, shipped
    assert not any('__pycache__' in n for n in names)

    python, bindir = make_venv(tmp_path, env)
    pip = [str(python), '-m', 'pip', 'install', '--no-deps',
           '--no-build-isolation', '--no-index']
    _run(pip + ['--ignore-installed', str(wheel)], tmp_path, env)
    example = tmp_path / 'example'
    shutil.copytree(EXAMPLE, example,
                    ignore=shutil.ignore_patterns('__pycache__', 'build',
                                                  '*.egg-info', 'work_dirs'))
    _run(pip + [str(example)], tmp_path, env)
    shutil.rmtree(example / 'build', ignore_errors=True)

    # both come from the venv, not from the checkout
    out = _run([str(python), '-c',
                'import rgl, rgl_example; print(rgl.__file__); '
                'print(rgl_example.__file__)'], tmp_path, env)
    venv_files = out.stdout.split()
    assert all(f.startswith(str(tmp_path / 'venv')) for f in venv_files), \
        venv_files

    rgl_cmd = str(bindir / 'rgl')
    work = example / 'work'
    # rgl:: base, the example's backbone and loss (custom_imports), the
    # shipped REPA encoder: all from the example's folder
    out = _run([rgl_cmd, 'train', CFG, '--work-dir', str(work),
                '--cfg-options', 'train_cfg.max_epochs=1'], example, env)
    log = out.stdout + out.stderr
    assert 'loss_repa' in log
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()

    tsv = example / 'certify.tsv'
    out = _run([rgl_cmd, 'certify', CFG, str(ckpt), '--out', str(tsv),
                '--n0', '20', '--n', '200', '--batch', '200', '--skip', '40'],
               example, env)
    lines = tsv.read_text().splitlines()
    assert lines[0].split('\t')[:5] == ['idx', 'label', 'predict', 'radius',
                                        'correct']
    rows = [ln.split('\t') for ln in lines[1:]]
    assert [int(r[0]) for r in rows] == list(range(0, 360, 40))
    for r in rows:
        assert int(r[4]) == int(r[1] == r[2])
