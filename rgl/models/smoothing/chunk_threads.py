"""Forward passes of one batch's micro-batches on parallel CPU threads.

A certification batch is cut into micro-batches (``SmoothedClassifier``'s
``micro_batch``). On a CPU with ``T`` intra-op threads, one forward at a time
splits every convolution ``T`` ways; the small convolutions of a CIFAR
ResNet (16–64 channels on 32² to 8² maps) scale poorly that way. Running
``T`` micro-batches at once, each on one thread, keeps every core on whole
convolutions instead. The work and its order per micro-batch are unchanged,
so the votes are the same as with one thread.
"""
import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import torch


def resolve_workers(workers, device):
    """``workers`` as an int: ``None`` is the intra-op thread count on a
    CPU, 1 on other devices."""
    if device.type != 'cpu':
        return 1
    if workers is None:
        return max(1, torch.get_num_threads())
    if not isinstance(workers, int) or workers < 1:
        from rgl.utils.errors import ConfigError
        raise ConfigError(f'workers must be a positive integer or None, '
                          f'got {workers!r}')
    return workers


class ChunkThreads:
    """A pool of ``workers`` threads, each with one intra-op thread, for
    the duration of a ``with`` block.

    Inference mode and autocast are thread-local in torch: each task runs
    under a fresh ``torch.inference_mode()`` and ``context()`` (e.g. the
    caller's autocast). The intra-op thread count of the calling thread
    is restored on exit.

    Args:
        workers (int): threads; 1 runs everything in the calling thread.
        context (callable, optional): returns a context manager entered
            around each task.
    """

    def __init__(self, workers, context=None):
        self.workers = workers
        self.context = context or contextlib.nullcontext
        self._pool = None
        self._threads = None

    def __enter__(self):
        if self.workers > 1:
            self._threads = torch.get_num_threads()
            # set in each worker: OpenMP's thread count is per thread, and
            # a fresh thread would otherwise start a full team of its own
            self._pool = ThreadPoolExecutor(
                self.workers, thread_name_prefix='rgl-chunk',
                initializer=torch.set_num_threads, initargs=(1, ))
        return self

    def __exit__(self, *exc):
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
            # the workers' set_num_threads(1) also lowered torch's global
            # count; put back the caller's
            torch.set_num_threads(self._threads)
        return False

    def _task(self, fn):
        def run(item):
            with torch.inference_mode(), self.context():
                return fn(item)
        return run

    def map(self, fn, items):
        """``[fn(item) for item in items]``, in order; in parallel when the
        pool is open and there is more than one item."""
        items = list(items)
        if self._pool is None or len(items) < 2 or \
                threading.current_thread().name.startswith('rgl-chunk'):
            return [fn(item) for item in items]
        return list(self._pool.map(self._task(fn), items))
