import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer

import rgl  # noqa: F401  (registers the allow-list)
from rgl.utils import (CheckpointError, load_checkpoint_file,
                       load_state_dict_file)


class _RunsCode:
    """An object whose unpickling would run a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_refuses_a_pickle_that_would_execute_code(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'payload': _RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match='evil.pth: refused to '
                       'unpickle') as err:
        load_checkpoint_file(path)
    assert 'system' in str(err.value)
    assert not marker.exists()


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = tmp_path / 'getattr.pth'

    class _GetsAttr:

        def __reduce__(self):
            # an allowed class, but not one of its four statistics
            return (getattr, (HistoryBuffer, '__init__'))

    torch.save({'x': _GetsAttr()}, path)
    with pytest.raises(CheckpointError, match='getattr.pth'):
        load_checkpoint_file(path)


def test_mmengine_runtime_objects_round_trip(tmp_path):
    buffer = HistoryBuffer()
    for v in (1.0, 2.0, 4.0):
        buffer.update(v)
    ckpt = dict(
        state_dict={'w': torch.ones(2)},
        message_hub=dict(log_scalars={'train/loss': buffer},
                         runtime_info={'eta': np.float64(3.5)}),
        meta=dict(seed=0, arr=np.arange(3)))
    path = tmp_path / 'ok.pth'
    torch.save(ckpt, path)
    loaded = load_checkpoint_file(path)
    assert loaded['message_hub']['log_scalars']['train/loss'].mean() == \
        pytest.approx(7 / 3)
    assert loaded['message_hub']['runtime_info']['eta'] == 3.5
    assert loaded['meta']['arr'].tolist() == [0, 1, 2]
    assert torch.equal(load_state_dict_file(path)['w'], torch.ones(2))


def test_truncated_checkpoint_names_the_file(tmp_path):
    path = tmp_path / 'cut.pth'
    torch.save({'state_dict': {'w': torch.randn(1000)}}, path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(CheckpointError, match='cut.pth.*truncated or '
                       'corrupted'):
        load_checkpoint_file(path)


def test_garbage_and_missing_files(tmp_path):
    path = tmp_path / 'garbage.pth'
    path.write_bytes(b'not a checkpoint at all')
    with pytest.raises(CheckpointError, match='garbage.pth'):
        load_checkpoint_file(path)
    with pytest.raises(CheckpointError, match='not found: .*nope.pth'):
        load_checkpoint_file(tmp_path / 'nope.pth')


def test_plain_pickle_is_not_a_checkpoint(tmp_path):
    path = tmp_path / 'plain.pkl'
    path.write_bytes(pickle.dumps({'a': 1}))
    with pytest.raises(CheckpointError, match='plain.pkl'):
        load_checkpoint_file(path)


def test_mmengine_loader_is_routed_through_the_safe_loader(tmp_path):
    from mmengine.runner.checkpoint import CheckpointLoader
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'payload': _RunsCode(marker)}, path)
    with pytest.raises(CheckpointError, match='evil.pth'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


def test_state_dict_key_selection(tmp_path):
    path = tmp_path / 'model.pth'
    torch.save({'model': {'a': torch.zeros(1)}, 'ema': {'a': torch.ones(1)}},
               path)
    assert load_state_dict_file(path)['a'].item() == 0
    assert load_state_dict_file(path, key='ema')['a'].item() == 1
    with pytest.raises(CheckpointError, match="no entry `opt`"):
        load_state_dict_file(path, key='opt')


def test_random_bytes_are_not_a_torch_checkpoint(tmp_path):
    """Random bytes used to get the message meant for unsafe pickles."""
    path = tmp_path / 'noise.pth'
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(CheckpointError, match='noise.pth: not a torch '
                       'checkpoint') as err:
        load_checkpoint_file(path)
    assert 'refused' not in str(err.value)
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    with pytest.raises(CheckpointError, match='empty.pth: not a torch '
                       r'checkpoint \(the file is empty\)'):
        load_checkpoint_file(empty)


def test_legacy_torch_format_still_loads(tmp_path):
    path = tmp_path / 'legacy.pth'
    torch.save({'state_dict': {'w': torch.ones(3)}}, path,
               _use_new_zipfile_serialization=False)
    assert torch.equal(load_state_dict_file(path)['w'], torch.ones(3))


def test_safetensors_files_load_through_the_same_loader(tmp_path):
    """timm/transformers releases ship .safetensors: they load (no pickle)
    and a damaged one is one CheckpointError naming the file."""
    import pytest
    import torch
    from safetensors.torch import save_file

    from rgl.utils.checkpoint import load_state_dict_file
    from rgl.utils.errors import CheckpointError
    state = {'fc.weight': torch.randn(3, 4), 'fc.bias': torch.zeros(3)}
    good = tmp_path / 'model.safetensors'
    save_file(state, str(good))
    loaded = load_state_dict_file(str(good))
    assert set(loaded) == set(state)
    assert torch.equal(loaded['fc.weight'], state['fc.weight'])
    bad = tmp_path / 'broken.safetensors'
    bad.write_bytes(b'\x07' * 64)
    with pytest.raises(CheckpointError, match='broken.safetensors'):
        load_state_dict_file(str(bad))
