"""Micro-batches on parallel CPU threads (``SmoothedClassifier(workers=)``)
give the one-thread counts, run on the worker threads with one intra-op
thread each, and leave the caller's thread count as it was."""
import threading

import pytest
import torch
from torch import nn

from rgl.models.smoothing import SmoothedClassifier
from rgl.models.smoothing.chunk_threads import ChunkThreads, resolve_workers
from rgl.registry import MODELS
from rgl.utils.errors import ConfigError


class ThreadRecorder(nn.Module):
    """A tiny conv classifier that records the thread, its intra-op
    thread count and the grad/autocast state of every forward."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.fc = nn.Linear(6, 5)
        self.calls = []
        self.num_classes = 5

    def forward(self, x):
        self.calls.append((threading.current_thread().name,
                           torch.get_num_threads(),
                           torch.is_inference_mode_enabled(),
                           torch.is_autocast_enabled('cpu'), x.shape[0]))
        return self.fc(self.conv(x).relu().mean((2, 3)) * 4)


def _smooth(clf, workers, **kw):
    return SmoothedClassifier(clf, sigma=0.5, amp=False, fold_bn=False,
                              fold_normalize=False, channels_last=True,
                              micro_batch=kw.pop('micro_batch', 32),
                              workers=workers, **kw)


def test_chunks_are_a_multiple_of_the_workers():
    smooth = _smooth(nn.Linear(1, 5), 2, micro_batch=128, num_classes=5)
    cpu = torch.device('cpu')
    assert smooth._chunk(cpu, 400, 2) == 100  # 4 pieces
    assert smooth._chunk(cpu, 100, 2) == 50  # 2 pieces, not 1
    assert smooth._chunk(cpu, 300, 2) == 75  # 3 → 4 pieces
    assert smooth._chunk(cpu, 1, 2) == 1
    assert smooth._chunk(cpu, 100, 1) == 100
    assert smooth._chunk(torch.device('meta'), 400, 2) == 400


def test_worker_threads_give_the_one_thread_counts():
    clf = ThreadRecorder().eval()
    x = torch.rand(3, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    seeds = [(0, i) for i in range(3)]
    before = torch.get_num_threads()
    one = _smooth(clf, 1).sample_counts(x, 200, 128, seeds=seeds)
    assert (one > 0).sum() > 3  # votes spread: a non-trivial check
    clf.calls.clear()
    two = _smooth(clf, 2).sample_counts(x, 200, 128, seeds=seeds)
    assert torch.equal(one, two)
    names = {c[0] for c in clf.calls}
    assert all(n.startswith('rgl-chunk') for n in names) and len(names) == 2
    # one intra-op thread per worker, inference mode inside each
    assert all(c[1] == 1 and c[2] for c in clf.calls)
    # 600 draws in batches of 128: each batch in 4 pieces of 32
    assert sum(c[4] for c in clf.calls) == 600
    assert torch.get_num_threads() == before
    # certify through the threads: the same decisions
    p1, r1 = _smooth(clf, 1).certify(x, 40, 200, 0.1, 64, seeds=seeds)
    p2, r2 = _smooth(clf, 3).certify(x, 40, 200, 0.1, 64, seeds=seeds)
    assert torch.equal(p1, p2) and torch.equal(r1, r2)


def test_worker_threads_keep_the_callers_autocast():
    clf = ThreadRecorder().eval()
    x = torch.rand(2, 3, 8, 8)
    seeds = [(0, 0), (0, 1)]
    ref = _smooth(clf, 1, cpu_bf16=True).sample_counts(x, 100, 64,
                                                       seeds=seeds)
    clf.calls.clear()
    got = _smooth(clf, 2, cpu_bf16=True).sample_counts(x, 100, 64,
                                                       seeds=seeds)
    assert all(c[3] for c in clf.calls)  # bf16 autocast in every worker
    assert torch.equal(ref, got)


def test_a_real_classifier_through_threads():
    torch.manual_seed(0)
    clf = MODELS.build(dict(
        type='ImageClassifier', num_classes=4,
        backbone=dict(type='CifarResNet', depth=8, in_channels=3,
                      base_width=4),
        mean=[0.49, 0.48, 0.45], std=[0.20, 0.19, 0.21])).eval()
    x = torch.rand(2, 3, 8, 8)
    seeds = [(1, 0), (1, 1)]
    kw = dict(fold_bn=True, fold_normalize=True)
    one = SmoothedClassifier(clf, sigma=0.25, amp=False, workers=1,
                             micro_batch=16, **kw)
    two = SmoothedClassifier(clf, sigma=0.25, amp=False, workers=2,
                             micro_batch=16, **kw)
    assert torch.equal(one.sample_counts(x, 100, 50, seeds=seeds),
                       two.sample_counts(x, 100, 50, seeds=seeds))


@pytest.mark.parametrize('bad', [0, -1, 1.5, '2'])
def test_bad_workers_name_the_key(bad):
    with pytest.raises(ConfigError, match='workers'):
        _smooth(nn.Linear(1, 5), bad, num_classes=5)


def test_resolve_workers_defaults():
    assert resolve_workers(None, torch.device('cpu')) == \
        torch.get_num_threads()
    assert resolve_workers(4, torch.device('cuda')) == 1


def test_chunk_threads_map_keeps_order_and_restores_threads():
    before = torch.get_num_threads()
    with ChunkThreads(3) as threads:
        out = threads.map(lambda i: (i, torch.get_num_threads()), range(7))
    assert [o[0] for o in out] == list(range(7))
    assert all(o[1] == 1 for o in out)
    assert torch.get_num_threads() == before
    with ChunkThreads(1) as threads:  # no pool: the calling thread
        assert threads.map(lambda i: threading.current_thread().name,
                           [0, 1]) == [threading.current_thread().name] * 2
