"""Per-image noise streams: the draws of an image depend on the image alone.

Certification adds ``δ_i ~ N(0, σ² I)``, ``i = 0 … num-1``, to each image.
Drawn from one generator shared by a group of images, the ``δ_i`` of an
image would depend on which images share its group, on the batch size (a
generator split into chunks of another size does not give the same
numbers) and on where a resumed run starts. Here every image has its own
*stream*:

- the stream of an image is named by a key (e.g. ``(seed, dataset_index)``)
  and a stream name (e.g. ``'select'`` for the ``n0`` selection draws and
  ``'estimate'`` for the ``n`` estimation draws, which must be independent);
- the stream is cut into blocks of :data:`NOISE_BLOCK` draws; block ``j``
  is one ``normal_`` call of fixed shape ``(NOISE_BLOCK, C, H, W)`` on a
  generator freshly seeded from ``(key, stream, j)``.

A block is always generated whole, with the same shape, so draw ``i`` of an
image has the same value whatever batches the draws are cut into, whichever
images share those batches, and however many processes split the images.
Draw ``i`` does not depend on ``num`` either: a run with ``n = 2000`` uses
the first 2000 draws of a run with ``n = 10000``.

The numbers are a function of (key, stream, draw) *for a given kind of
machine and torch version*: CPU generators (mt19937) and CUDA generators
(Philox) give different numbers for the same seed, and torch's kernels may
differ between CPU instruction sets or GPU models.

Seeds: ``blake2b(key, stream)`` gives a 64-bit base and block ``j`` uses
``base + j``. Block seeds of one stream are therefore distinct (torch's CPU
generator keeps only the low 32 bits of a seed, and consecutive seeds stay
distinct there too).
"""
import hashlib
import time

import torch

from rgl.utils.errors import DataError

#: Draws per noise block (fixed: changing it changes every draw).
NOISE_BLOCK = 100

_MASK64 = (1 << 64) - 1


def stream_base(key, stream):
    """64-bit base seed of the stream ``stream`` of the image ``key``.

    Args:
        key (int | tuple[int, ...]): the image's key, e.g. ``(seed, idx)``.
        stream (str | int): the use of the draws (``'select'``,
            ``'estimate'``, ``'predict'``, ...).
    """
    key = tuple(key) if isinstance(key, (tuple, list)) else (key, )
    if not all(isinstance(k, int) or hasattr(k, '__index__') for k in key):
        raise DataError(f'a noise key must be an int or a tuple of ints, '
                        f'got {key!r}')
    text = repr((tuple(int(k) for k in key), str(stream)))
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, 'little')


class NoiseStreams:
    """Writes ``x_b + δ_{b,i}`` for a range of draws of several images.

    The draws of ``B`` images form one flat image-major sequence of
    ``B · num`` positions: position ``p`` is draw ``p mod num`` of image
    ``p // num``. :meth:`fill` writes any contiguous range of positions,
    so a caller can cut the sequence into batches of any size.

    Args:
        keys (Sequence): one key per image (see :func:`stream_base`).
        stream (str | int): the stream name shared by these draws.
        sigma (float): σ.
        shape (tuple): ``(C, H, W)`` of one image.
        device (torch.device): where the noise is drawn.
    """

    def __init__(self, keys, stream, sigma, shape, device):
        self.bases = [stream_base(k, stream) for k in keys]
        self.sigma = float(sigma)
        self.device = torch.device(device)
        self._gen = torch.Generator(self.device)
        self._block = torch.empty((NOISE_BLOCK, ) + tuple(shape),
                                  device=self.device)
        self._cached = None  # (image, block index) held in self._block

    def block(self, image, j):
        """Draws ``j·NOISE_BLOCK … (j+1)·NOISE_BLOCK - 1`` of ``image``
        (σ-scaled), regenerated only when another block is asked for."""
        if self._cached != (image, j):
            self._gen.manual_seed((self.bases[image] + j) & _MASK64)
            self._block.normal_(0.0, self.sigma, generator=self._gen)
            self._cached = (image, j)
        return self._block

    def fill(self, out, x, start, num):
        """``out[q] = x[b] + δ_{b,i}`` for positions ``p = start + q``,
        ``b, i = divmod(p, num)``, ``q < len(out)``."""
        pos, stop = start, start + out.shape[0]
        while pos < stop:
            image, draw = divmod(pos, num)
            j, offset = divmod(draw, NOISE_BLOCK)
            take = min(NOISE_BLOCK - offset, num - draw, stop - pos)
            noise = self.block(image, j)[offset:offset + take]
            # one correctly rounded add (no fused multiply-add): a value
            # does not depend on where it falls in a vectorised loop
            torch.add(noise, x[image], out=out[pos - start:pos - start + take])
            pos += take


def apportion_seconds(spans, seconds, num, num_images):
    """Share each batch's time among the images whose draws it held.

    Args:
        spans (list[tuple[int, int]]): ``[start, stop)`` positions of each
            batch in the flat image-major sequence of draws.
        seconds (Sequence[float]): time of each batch.
        num (int): draws per image.
        num_images (int): B.

    Returns:
        list[float]: per image, the sum over batches of the batch's time
        times the fraction of the batch's draws that belong to the image.
    """
    out = [0.0] * num_images
    for (start, stop), sec in zip(spans, seconds):
        for image in range(start // num, (stop - 1) // num + 1):
            lo, hi = max(start, image * num), min(stop, (image + 1) * num)
            out[image] += sec * (hi - lo) / (stop - start)
    return out


class BatchClock:
    """Seconds of each batch of a sampling loop.

    On CUDA it records events on the stream instead of synchronising after
    every batch (which would stall the queue of kernels): :meth:`seconds`
    synchronises once, at the end. On the CPU, batches run synchronously and
    ``time.perf_counter`` is exact.
    """

    def __init__(self, device):
        self.cuda = torch.device(device).type == 'cuda'
        if self.cuda:
            self._marks = [torch.cuda.Event(enable_timing=True)]
            self._marks[0].record()
        else:
            self._marks = [time.perf_counter()]

    def lap(self):
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self._marks.append(event)
        else:
            self._marks.append(time.perf_counter())

    def seconds(self):
        if self.cuda:
            self._marks[-1].synchronize()
            return [a.elapsed_time(b) / 1000.0
                    for a, b in zip(self._marks, self._marks[1:])]
        return [b - a for a, b in zip(self._marks, self._marks[1:])]
