"""CLEL end to end through tools/: train a few iterations with
tools/train.py, sample with tools/clel/sample.py (batch-size independent,
resumable only as the same run), score OOD with tools/clel/ood.py."""
import json
import os.path as osp

import numpy as np
import pytest

CONFIG = 'configs/clel/clel_tiny_digits.py'
TINY = ['train_cfg.max_iters=2', 'default_hooks.checkpoint.interval=2',
        'model.sampler.num_steps=2', 'model.buffer.size=64',
        'train_dataloader.batch_size=16']


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    from conftest import run_tool
    work = tmp_path_factory.mktemp('clel_train')
    res = run_tool(['tools/train.py', CONFIG, '--work-dir', str(work),
                    '--cfg-options', *TINY])
    assert res.returncode == 0, res.stderr[-3000:]
    path = osp.join(work, 'iter_2.pth')
    assert osp.isfile(path)
    return path


def argv(ckpt, out, *extra):
    # the checkpoint's replay buffer has the trained size (strict loading)
    return [CONFIG, ckpt, '--out', str(out), '--num-samples', '10',
            '--num-steps', '2', *extra, '--cfg-options',
            'model.buffer.size=64']


def sample(tool, ckpt, out, *extra):
    """Through the command line (a subprocess)."""
    return tool(['tools/clel/sample.py', *argv(ckpt, out, *extra)])


def sample_here(ckpt, out, *extra):
    """The same tool's main() in this process (cheaper than a start)."""
    import importlib.util

    from conftest import REPO_ROOT
    spec = importlib.util.spec_from_file_location(
        'clel_sample_tool', f'{REPO_ROOT}/tools/clel/sample.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    mod.main(argv(ckpt, out, *extra))


def test_sample_is_batch_independent_and_resumes_only_same_run(
        tool, checkpoint, tmp_path):
    a = sample(tool, checkpoint, tmp_path / 'a', '--batch-size', '10')
    assert a.returncode == 0, a.stderr[-3000:]
    sample_here(checkpoint, tmp_path / 'b', '--batch-size', '3')
    xa = np.load(tmp_path / 'a' / 'samples.npz')
    xb = np.load(tmp_path / 'b' / 'samples.npz')
    assert xa['arr_0'].shape == (10, 8, 8, 3)
    assert xa['arr_0'].dtype == np.uint8
    assert np.array_equal(xa['arr_0'], xb['arr_0'])
    assert osp.isfile(tmp_path / 'a' / 'grid.png')
    from rgl.utils.errors import ConfigError
    with pytest.raises(ConfigError, match='overwrite'):  # another run
        sample_here(checkpoint, tmp_path / 'a', '--batch-size', '10',
                    '--seed', '1')
    sample_here(checkpoint, tmp_path / 'a', '--batch-size', '10')  # resume
    assert np.array_equal(
        np.load(tmp_path / 'a' / 'samples.npz')['arr_0'], xa['arr_0'])


def test_conditional_sampling_labels(checkpoint, tmp_path):
    sample_here(checkpoint, tmp_path / 'c', '--classes', '3', '7',
                '--guidance-scale', '2')
    labels = np.load(tmp_path / 'c' / 'samples.npz')['arr_1']
    assert labels.tolist() == [3, 7] * 5


def test_bad_step_size_is_one_error(checkpoint, tmp_path):
    from rgl.utils.errors import ConfigError
    with pytest.raises(ConfigError, match='step_size'):
        sample_here(checkpoint, tmp_path / 'd', '--step-size', '0')
    assert not osp.exists(tmp_path / 'd')


def test_ood_auroc(tool, checkpoint, tmp_path):
    out = tmp_path / 'ood.json'
    res = tool(['tools/clel/ood.py', CONFIG, checkpoint, '--out', str(out),
                '--cfg-options', 'model.buffer.size=64'])
    assert res.returncode == 0, res.stderr[-3000:]
    scores = json.loads(out.read_text())
    assert set(scores) == {'inverted', 'uniform'}
    assert all(0 <= v <= 1 for v in scores.values())
