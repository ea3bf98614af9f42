"""on_rank0: an error on rank 0 reaches every rank at once (no rank left
waiting in a barrier), as the same rgl error class; a result stays on
rank 0. Two real gloo processes."""
import socket

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

from rgl.utils.dist import _rebuild_error, on_rank0
from rgl.utils.errors import CheckpointError, ConfigError


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _refuse():
    raise ConfigError('out.tsv belongs to another run')


def _worker(rank, world, port, results):
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=world)
    try:
        results[f'ok{rank}'] = on_rank0(lambda: 'claimed', rank, world)
        try:
            on_rank0(_refuse, rank, world)
            results[f'err{rank}'] = None
        except Exception as err:
            results[f'err{rank}'] = (type(err).__name__, str(err))
        # both ranks got here: nobody is left in a collective
        dist.barrier()
    finally:
        dist.destroy_process_group()


def test_an_error_on_rank0_reaches_every_rank():
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_worker, args=(2, _free_port(), results), nprocs=2,
                 join=True)
        results = dict(results)
    assert results['ok0'] == 'claimed' and results['ok1'] is None
    assert results['err0'] == ('ConfigError',
                               'out.tsv belongs to another run')
    assert results['err1'] == ('ConfigError', '(on rank 0) out.tsv '
                               'belongs to another run')


def test_single_process_runs_and_raises_in_place():
    assert on_rank0(lambda: 3, 0, 1) == 3
    with pytest.raises(ConfigError, match='another run'):
        on_rank0(_refuse, 0, 1)


def test_rebuilt_errors():
    err = _rebuild_error('rgl.utils.errors', 'CheckpointError', 'bad file')
    assert isinstance(err, CheckpointError) and 'bad file' in str(err)
    err = _rebuild_error('builtins', 'OSError', 'disk full')
    assert isinstance(err, RuntimeError) and 'builtins.OSError' in str(err)
