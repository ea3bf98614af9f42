import contextlib
import math

import numpy as np
import torch
from torch import nn

from rgl.registry import MODELS
from rgl.utils.checkpoint import check_state_dict, load_state_dict_file
from rgl.utils.errors import ConfigError, DataError
from .chunk_threads import ChunkThreads, resolve_workers
from .inference import InferenceCache
from .noise import BatchClock, NoiseStreams, apportion_seconds
from .statistics import (binomial_two_sided_pvalue, certified_radius,
                         clopper_pearson_lower, min_votes_to_certify)

#: Label returned when the smoothed classifier abstains (Cohen's ABSTAIN).
ABSTAIN = -1


def _build(cfg):
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


def check_sampling_args(n=None, n0=None, alpha=None, batch_size=None):
    """Raise :class:`ConfigError` naming the first argument out of range."""
    for name, value in (('n', n), ('n0', n0), ('batch_size', batch_size)):
        if value is not None and (not isinstance(value, (int, np.integer))
                                  or value < 1):
            raise ConfigError(f'{name} must be a positive integer, '
                              f'got {value!r}')
    if alpha is not None and not 0 < alpha < 1:
        raise ConfigError(f'alpha must lie in (0, 1), got {alpha!r}')


def check_sigma(sigma, key='sigma'):
    if not isinstance(sigma, (int, float)) or not sigma > 0 or \
            not math.isfinite(sigma):
        raise ConfigError(f'{key} (the noise level σ) must be a positive '
                          f'number, got {sigma!r}')


def _abstention_is_certain(c_hat, n, n_min):
    """CERTIFY's stopping rule for ``sample_counts(until=...)``: image
    ``b`` abstains whatever its remaining draws once its votes for
    ``c_hat[b]`` plus every draw left stay below ``n_min``."""
    def until(image, drawn, votes):
        return int(votes[c_hat[image]]) + (n - drawn) < n_min
    return until


def strip_prefixes(state_dict, prefixes=('module.', )):
    out = {}
    for key, value in state_dict.items():
        for prefix in prefixes:
            if key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out


@MODELS.register_module()
class SmoothedClassifier(nn.Module):
    """Gaussian randomized smoothing of a base classifier (Cohen et al. 2019).

    ``g(x) = argmax_c P(f(x + δ) = c)`` with ``δ ~ N(0, σ² I)`` added in
    [0, 1] pixel space, before the classifier's own normalisation.

    Noise draws of several images share one forward batch: the draws of all
    images form one flat stream cut into batches of ``batch_size``, so a
    batch may hold the tail of one image and the head of the next, and the
    votes are counted with one ``bincount`` per batch. With per-image
    ``seeds`` each image draws from its own noise stream (:mod:`.noise`), so
    its result does not depend on that batching.

    Args:
        classifier (dict | nn.Module): the base classifier ``f``. Its
            ``logits(x)`` is used when present (rgl ``ImageClassifier``),
            otherwise ``forward(x)`` must return logits ``(N, K)``.
        sigma (float): noise level σ.
        num_classes (int, optional): K. Read from ``classifier.num_classes``
            when omitted; a conflicting value is an error.
        checkpoint (str, optional): a local checkpoint whose ``state_dict``
            (rgl/mmengine) is loaded into the classifier.
        denoiser (dict | nn.Module, optional): anything with
            ``denoise(x_noisy, sigma) -> x_hat``, applied between the noise
            and the classifier (denoised smoothing).
        amp (bool): autocast to float16 on CUDA.
        channels_last (bool): channels-last memory format (CPU and CUDA).
        fold_bn (bool): fold eval-mode BatchNorm into the convolutions of
            an inference copy (see :mod:`rgl.models.smoothing.inference`).
        fold_normalize (bool): fold an ``ImageClassifier``'s input
            normalisation into its first convolution (exact up to float
            rounding, border included; see :class:`.NormalizedInputConv`).
        compile (bool): ``torch.compile`` the inference copy (inductor,
            weights frozen; CPU and CUDA). Opt-in: compiling takes tens of
            seconds, which long runs amortise; the function is unchanged
            (fp32 stays fp32).
        micro_batch (int, optional): on CPU, the noisy copies of a batch go
            through the classifier ``micro_batch`` at a time (split evenly:
            400 → 4 × 100), so activations stay in cache and no forward
            allocates fresh pages; with ``compile`` every forward has this
            one shape (the last one is padded). None: one forward per
            batch. Not applied with a denoiser. Results do not depend on
            it.
        cpu_bf16 (bool): autocast to bfloat16 on CPU (opt-in: a faster but
            lower-precision base classifier on CPUs with bf16 support).
        early_abstain (bool): in :meth:`certify` with per-image seeds,
            stop an image's estimation draws once its abstention is
            certain (same decisions, less work on images that abstain;
            the cost is one host read of a count per batch).
        workers (int, optional): on CPU, the micro-batches of a batch run
            on this many threads at once, one intra-op thread each (see
            :mod:`.chunk_threads`); a batch is cut into a multiple of
            ``workers`` micro-batches. None: ``torch.get_num_threads()``;
            1: one forward at a time on all intra-op threads. Results do
            not depend on it.
    """

    def __init__(self, classifier, sigma, num_classes=None, checkpoint=None,
                 denoiser=None, amp=True, channels_last=True, fold_bn=True,
                 fold_normalize=True, compile=False, micro_batch=32,
                 cpu_bf16=False, workers=None, early_abstain=True):
        super().__init__()
        check_sigma(sigma)
        self.classifier = _build(classifier)
        if checkpoint is not None:
            self.load_classifier_weights(checkpoint)
        own = getattr(self.classifier, 'num_classes', None)
        if num_classes is None:
            num_classes = own
        elif isinstance(own, int) and own != num_classes:
            raise ConfigError(
                f'num_classes={num_classes} does not match the classifier, '
                f'which has num_classes={own}')
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ConfigError('num_classes must be an int >= 2 (set it when '
                              f'the classifier has none), got {num_classes!r}')
        self.num_classes = num_classes
        self.sigma = float(sigma)
        self.denoiser = None if denoiser is None else _build(denoiser)
        if self.denoiser is not None:  # value range and resolution agree
            from rgl.models.classifiers.off_the_shelf import \
                check_denoiser_classifier
            check_denoiser_classifier(self.denoiser, self.classifier)
        self.amp = amp
        self.channels_last = channels_last
        self.fold_bn = fold_bn
        self.fold_normalize = fold_normalize
        self.compile = compile
        if micro_batch is not None:
            check_sampling_args(batch_size=micro_batch)
        self.micro_batch = micro_batch
        self.cpu_bf16 = cpu_bf16
        if workers is not None:
            resolve_workers(workers, torch.device('cpu'))  # checks it
        self.workers = workers
        self.early_abstain = bool(early_abstain)
        self._fast = InferenceCache()
        self.eval()

    # ------------------------------------------------------------------
    def load_classifier_weights(self, path):
        state = strip_prefixes(load_state_dict_file(path))
        if getattr(self.classifier, 'train_loss', None) is None:
            # training-only state (e.g. a loss's warm-up counter)
            state = {k: v for k, v in state.items()
                     if not k.startswith('train_loss.')}
        check_state_dict(self.classifier, state, path)
        self.classifier.load_state_dict(state, strict=False)  # checked

    @property
    def device(self):
        for p in self.classifier.parameters():
            return p.device
        return torch.device('cpu')

    def base_logits(self, x, sigma=None, classifier=None):
        """``f(x)`` (or ``f(D(x, σ))`` with a denoiser) with a shape check."""
        if self.denoiser is not None:
            x = self.denoiser.denoise(x, self.sigma if sigma is None else
                                      sigma)
        classifier = self.classifier if classifier is None else classifier
        fn = getattr(classifier, 'logits', classifier)
        logits = fn(x)
        if logits.dim() != 2 or logits.shape != (x.shape[0],
                                                 self.num_classes):
            raise DataError(
                f'the classifier must return logits of shape (N, '
                f'num_classes) = ({x.shape[0]}, {self.num_classes}), got '
                f'{tuple(logits.shape)}')
        return logits

    def forward(self, x):
        return self.base_logits(x)

    def _autocast(self, device):
        if device.type == 'cuda' and self.amp:
            return torch.autocast('cuda', dtype=torch.float16)
        if device.type == 'cpu' and self.cpu_bf16:
            return torch.autocast('cpu', dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ------------------------------------------------------------------
    @torch.inference_mode()
    def sample_counts(self, x, num, batch_size, sigma=None, generator=None,
                      *, seeds=None, stream='estimate',
                      return_seconds=False, until=None):
        """Class votes of ``num`` noisy copies of each image.

        The copies of all ``B`` images form one flat, image-major sequence
        of ``B · num`` draws cut into batches of ``batch_size``: a batch may
        hold the tail of one image and the head of the next, and the votes
        are counted with one ``bincount`` per batch.

        Args:
            x (Tensor): ``(B, C, H, W)`` images in [0, 1].
            num (int): draws per image.
            batch_size (int): copies per forward pass (across images).
            sigma (float, optional): override σ (multi-scale smoothing; a
                denoiser receives this σ too).
            generator (torch.Generator, optional): the noise RNG when
                ``seeds`` is None. The draws of an image then depend on the
                other images of the call and on ``batch_size``: use it for
                training-time estimates, not for results to reproduce.
            seeds (Sequence, optional): one key per image, e.g.
                ``(seed, dataset_index)``. Image ``b`` then draws from its
                own stream ``(seeds[b], stream)`` (see :mod:`.noise`): its
                votes are a function of the image, its key, ``stream``,
                ``num`` and σ alone, whatever ``batch_size``, the other
                images of the call, the process count or a resume.
            stream (str | int): the stream name. Each call starts its
                streams at draw 0, so draws meant to be independent need
                distinct names: CERTIFY uses ``'select'`` (n0) and
                ``'estimate'`` (n), PREDICT ``'predict'``. A multi-scale
                cascade would name one per stage, e.g. ``f'estimate/σ{s}'``.
            return_seconds (bool): also return each image's own time: the
                time of every batch, shared among the images whose draws it
                held in proportion to their draws (CUDA: event timing, no
                per-batch synchronisation).
            until (callable, optional): ``until(b, drawn, counts_b) ->
                bool``, asked after every batch about the image ``b`` whose
                draws continue past it (``drawn`` of them done, its votes
                so far); True skips the rest of that image's draws (its
                counts then sum to ``drawn``). Only with ``seeds``: each
                image's draws are its own, so skipping some leaves the
                others' unchanged.

        Returns:
            LongTensor ``(B, K)``: ``counts[b, c] = #{i : f(x_b + δ_i) = c}``
            (and a float64 Tensor ``(B,)`` of seconds with
            ``return_seconds=True``).
        """
        check_sampling_args(n=num, batch_size=batch_size)
        sigma = self.sigma if sigma is None else sigma
        check_sigma(sigma)
        device = self.device
        x = x.to(device, torch.float32)
        if x.dim() == 3:
            x = x[None]
        b, k = x.shape[0], self.num_classes
        if until is not None and seeds is None:
            raise ConfigError('sample_counts(until=...) needs per-image '
                              'seeds')
        streams = None
        if seeds is not None:
            if len(seeds) != b:
                raise DataError(f'seeds: one key per image expected, got '
                                f'{len(seeds)} keys for {b} images')
            streams = NoiseStreams(seeds, stream, sigma, x.shape[1:],
                                   device)
        memory_format = (torch.channels_last if self.channels_last
                         and x.dim() == 4 else torch.contiguous_format)
        classifier = self.inference_copy(memory_format is
                                         torch.channels_last)
        counts = torch.zeros(b * k, dtype=torch.long, device=device)
        total = b * num
        rows = min(batch_size, total)
        workers = resolve_workers(self.workers, device)
        padded = bool(self.compile)
        # compiled: the chunk of a full batch for every call (the n0 and
        # the n draws alike), so that one shape is compiled, not two
        chunk = self._chunk(device, batch_size if padded else rows, workers)
        # One noise buffer reused for every batch: no per-batch allocation.
        # Compiled: a whole number of chunks, so every forward has the one
        # compiled shape (rows past the batch are zeros, their votes
        # dropped).
        buf = torch.zeros(
            (-(-rows // chunk) * chunk if padded else rows, ) +
            x.shape[1:], device=device).contiguous(
                memory_format=memory_format)
        clock = BatchClock(device) if return_seconds else None
        spans = []
        threads = ChunkThreads(workers if chunk < rows else 1,
                               lambda: self._autocast(device))
        with self._autocast(device), threads:
            start = 0
            while start < total:
                stop = min(start + batch_size, total)
                owner = torch.arange(start, stop, device=device) // num
                noisy = buf[:stop - start]
                if streams is None:
                    noisy.normal_(0.0, sigma, generator=generator)
                    noisy.add_(x[owner])
                else:
                    streams.fill(noisy, x, start, num)
                pred = self._votes(buf, stop - start, chunk, padded, sigma,
                                   classifier, threads)
                counts += torch.bincount(owner * k + pred, minlength=b * k)
                if clock is not None:
                    clock.lap()
                    spans.append((start, stop))
                start = stop
                if until is not None and start % num:
                    # the image whose draws go on past this batch: skip
                    # the rest of them once they cannot change its result
                    image = start // num
                    if until(image, start - image * num,
                             counts[image * k:(image + 1) * k]):
                        start = (image + 1) * num
        counts = counts.view(b, k)
        if not return_seconds:
            return counts
        seconds = apportion_seconds(spans, clock.seconds(), num, b)
        return counts, torch.tensor(seconds, dtype=torch.float64)

    def inference_copy(self, channels_last=None):
        """The classifier as certification runs it: BN and normalisation
        folded, channels-last and compiled as configured (cached while
        the weights are unchanged)."""
        if channels_last is None:
            channels_last = self.channels_last
        return self._fast.get(self.classifier, self.fold_bn, channels_last,
                              self.fold_normalize, self.compile)

    def _chunk(self, device, rows, workers=1):
        """Copies per forward pass: ``rows`` split evenly into pieces of
        at most ``micro_batch``, their number a multiple of ``workers``
        (CPU only)."""
        # a denoiser sees the batch it was given (it may draw its own
        # noise per call)
        if self.micro_batch is None or device.type != 'cpu' or \
                self.denoiser is not None:
            return rows
        pieces = -(-rows // self.micro_batch)
        pieces = min(-(-pieces // workers) * workers, rows)
        return -(-rows // pieces)

    def _votes(self, buf, rows, chunk, padded, sigma, classifier,
               threads=None):
        """``argmax f(buf[q])`` for the first ``rows`` copies, the
        micro-batches on ``threads`` (a :class:`.ChunkThreads`)."""
        spans = [(s, s + chunk if padded else min(s + chunk, rows))
                 for s in range(0, rows, chunk)]

        def votes(span):
            return self.base_logits(buf[span[0]:span[1]], sigma,
                                    classifier).argmax(dim=1)

        preds = []
        if not getattr(classifier, 'ready', True):
            # compiles on its first call: in this thread, once
            preds.append(votes(spans.pop(0)))
        if threads is None:
            preds += [votes(span) for span in spans]
        else:
            preds += threads.map(votes, spans)
        preds = torch.cat(preds) if len(preds) > 1 else preds[0]
        return preds[:rows]

    def predict(self, x, n, alpha, batch_size, generator=None, *,
                seeds=None, return_seconds=False):
        """Cohen's PREDICT: the top class, or :data:`ABSTAIN` unless the
        two-sided binomial test of top-1 against top-2 counts rejects
        equality at level ``alpha``.

        ``seeds`` (one key per image, e.g. ``(seed, dataset_index)``) draws
        each image's ``n`` copies from its own ``'predict'`` stream (see
        :meth:`sample_counts`); ``generator`` is used without them.

        Returns a LongTensor ``(B,)`` (a 0-d tensor for one ``(C, H, W)``
        image), plus per-image seconds with ``return_seconds=True``.
        """
        check_sampling_args(n=n, alpha=alpha, batch_size=batch_size)
        single = x.dim() == 3
        counts, seconds = self.sample_counts(
            x, n, batch_size, generator=generator, seeds=seeds,
            stream='predict', return_seconds=True)
        top2 = counts.topk(2, dim=1)
        pvalue = binomial_two_sided_pvalue(top2.values[:, 0],
                                           top2.values[:, 1])
        pred = top2.indices[:, 0].clone().cpu()
        pred[torch.from_numpy(pvalue > alpha)] = ABSTAIN
        out = (pred[0], seconds[0]) if single else (pred, seconds)
        return out if return_seconds else out[0]

    def certify(self, x, n0, n, alpha, batch_size, generator=None, *,
                seeds=None, return_seconds=False):
        """Cohen's CERTIFY.

        Selection: ``ĉ_A = argmax`` of the votes of ``n0`` draws. Estimation:
        ``n_A`` = votes for ``ĉ_A`` among ``n`` fresh draws. The one-sided
        Clopper-Pearson bound ``p_A_lower`` at level ``alpha`` gives the
        radius ``σ Φ⁻¹(p_A_lower)``; ``p_A_lower < 1/2`` abstains with
        radius 0.

        ``seeds`` (one key per image, e.g. ``(seed, dataset_index)``) draws
        the selection and estimation copies of each image from its own
        independent ``'select'`` and ``'estimate'`` streams, so a result
        depends on the image alone (see :meth:`sample_counts`);
        ``generator`` is used without them. With ``seeds`` and
        ``early_abstain``, an image stops drawing once ``n_A`` can no
        longer reach the least count that certifies (the abstention is
        then certain): the result is the same, sooner.

        Returns:
            (LongTensor (B,), Tensor (B,)): class or :data:`ABSTAIN`, and the
            L2 radius (0-d tensors for one ``(C, H, W)`` image); with
            ``return_seconds=True`` also each image's seconds (both stages,
            see :meth:`sample_counts`).
        """
        check_sampling_args(n=n, n0=n0, alpha=alpha, batch_size=batch_size)
        single = x.dim() == 3
        counts0, sec0 = self.sample_counts(
            x, n0, batch_size, generator=generator, seeds=seeds,
            stream='select', return_seconds=True)
        c_hat = counts0.argmax(dim=1)
        until = None
        if self.early_abstain and seeds is not None:
            until = _abstention_is_certain(c_hat.tolist(), n,
                                           min_votes_to_certify(n, alpha))
        counts, sec = self.sample_counts(
            x, n, batch_size, generator=generator, seeds=seeds,
            stream='estimate', return_seconds=True, until=until)
        n_a = counts.gather(1, c_hat[:, None])[:, 0]
        p_lower = clopper_pearson_lower(n_a.cpu(), n, alpha)
        radius = torch.from_numpy(certified_radius(p_lower, self.sigma))
        pred = c_hat.cpu().clone()
        abstain = torch.from_numpy(p_lower < 0.5)
        pred[abstain] = ABSTAIN
        radius[abstain] = 0.0
        seconds = sec0 + sec
        out = (pred, radius, seconds)
        if single:
            out = tuple(t[0] for t in out)
        return out if return_seconds else out[:2]
