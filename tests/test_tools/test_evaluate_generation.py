"""tools/evaluate_generation.py end to end (random Inception weights)."""
import json

import numpy as np
import pytest
import torch


@pytest.mark.slow
def test_evaluate_generation_tool(tool, tmp_path):
    from rgl.evaluation.generation import FIDInceptionV3
    torch.manual_seed(0)
    weights = tmp_path / 'pt_inception.pth'
    torch.save(FIDInceptionV3().net.state_dict(), weights)
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / 'ref.npz', arr_0=ref)
    np.savez(tmp_path / 'same.npz', arr_0=ref)
    out = tool(['tools/evaluate_generation.py', str(tmp_path / 'ref.npz'),
                str(tmp_path / 'same.npz'), '--inception', str(weights),
                '--out', str(tmp_path / 'scores.json'), '--batch-size', '4',
                '--frechet-method', 'eigh', '--save-ref-stats',
                str(tmp_path / 'ref_stats.npz')])
    assert out.returncode == 0, out.stderr[-2000:]
    stats = np.load(tmp_path / 'ref_stats.npz')
    assert stats['mu'].shape == (2048, ) and stats['sigma_s'].shape == (
        2023, 2023)
    np.testing.assert_array_equal(stats['arr_0'], ref)
    assert '| FID | sFID | IS | Precision | Recall |' in out.stdout
    scores = json.loads((tmp_path / 'scores.json').read_text())
    # identical batches: zero distances, full precision and recall
    assert abs(scores['fid']) < 1e-3 and abs(scores['sfid']) < 1e-3
    assert scores['precision'] == scores['recall'] == 1.0
    assert scores['num_samples'] == 4


def test_evaluate_generation_bad_input(tmp_path):
    import importlib.util

    from conftest import REPO_ROOT
    from rgl.utils.errors import DataError
    spec = importlib.util.spec_from_file_location(
        'evaluate_generation', f'{REPO_ROOT}/tools/evaluate_generation.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    np.savez(tmp_path / 'stats.npz', mu=np.zeros(3))
    with pytest.raises(DataError, match='missing.npz'):
        tool.main([str(tmp_path / 'stats.npz'),
                   str(tmp_path / 'missing.npz'), '--inception', 'x'])
    np.savez(tmp_path / 'smp.npz', arr_0=np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(DataError, match='stats.npz.*mu`/`sigma'):
        tool.main([str(tmp_path / 'stats.npz'), str(tmp_path / 'smp.npz'),
                   '--inception', 'x'])


def test_evaluate_generation_inception_loads_strictly(tmp_path):
    """A weights file that does not fit FID's Inception is one error naming
    the file and the key, never a partly random network."""
    import importlib.util

    from conftest import REPO_ROOT
    from rgl.evaluation.generation import FIDInceptionV3
    from rgl.utils.errors import CheckpointError
    spec = importlib.util.spec_from_file_location(
        'evaluate_generation', f'{REPO_ROOT}/tools/evaluate_generation.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    state = FIDInceptionV3().net.state_dict()
    state.pop('fc.bias')
    weights = tmp_path / 'other_inception.pth'
    torch.save(state, weights)
    imgs = np.zeros((2, 8, 8, 3), np.uint8)
    np.savez(tmp_path / 'a.npz', arr_0=imgs)
    with pytest.raises(CheckpointError, match='other_inception.pth.*fc.bias'):
        tool.main([str(tmp_path / 'a.npz'), str(tmp_path / 'a.npz'),
                   '--inception', str(weights)])
