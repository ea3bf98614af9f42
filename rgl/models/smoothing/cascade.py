"""Cascaded multi-scale certification (Jeong & Shin, "Multi-scale
Diffusion Denoised Smoothing", NeurIPS 2023).

One smoothed classifier is queried at several noise levels
``σ_1 > σ_2 > ... > σ_S`` (σ ∈ {1.0, 0.5, 0.25} in the paper), largest
first. With the threshold ``p₀`` (``skip_p``) and stage ``s``'s level
``α_s = α / s`` (1-based ``s``):

- Clopper-Pearson bounds ``p_A_lower, p_A_upper`` of the top class ``ĉ_A``
  (selected from ``n0`` draws, estimated from ``n`` fresh ones);
- ``p_A_lower ≥ p₀``: certify ``ĉ_A`` with
  ``R = σ_s (Φ⁻¹(p_A_lower) − Φ⁻¹(p₀))``;
- else ``p_A_upper ≥ p₀``: the stage cannot decide, abstain
  (:data:`CASCADE_ABSTAIN`) and stop;
- else fall through to the next, smaller σ.

A certificate at stage ``s`` must also exclude that an *earlier* (larger)
σ would have certified another class nearby: every earlier stage ``j``
gives ``R_neg_j = σ_j (Φ⁻¹(p_B_upper) − Φ⁻¹(p₀))``, with ``p_B_upper``
the largest simultaneous (Goodman) upper bound of a class other than
``ĉ_A`` among stage ``j``'s votes (classes with fewer than 5 votes pooled),
or ``1 − p_A_lower`` of stage ``j``'s own top class when at most two pooled
bins remain. The final radius is ``min(R, −max_j R_neg_j)``; a negative
one is no certificate (:data:`ABSTAIN`, radius 0).

All σ and radii are in the [0, 1] pixel space of rgl's images; the
reference works in [−1, 1] with ``σ' = 2σ`` and halves the radius, which
gives the same numbers.
"""
import numpy as np
import torch
from torch import nn

from rgl.registry import MODELS
from rgl.utils.errors import ConfigError
from .smoothed_classifier import ABSTAIN, check_sampling_args, check_sigma
from .statistics import (clopper_pearson_lower, clopper_pearson_upper,
                         goodman_multinomial_bounds, threshold_radius)

#: A stage whose bounds straddle ``p₀``: the cascade stops undecided.
CASCADE_ABSTAIN = -2
#: ``r_neg`` when no earlier stage constrains the certificate (the
#: reference's sentinel).
NO_R_NEG = -100.0
#: Classes with fewer votes than this are pooled before the multinomial
#: bound (as in the reference).
MIN_BIN_COUNT = 5


def check_cascade_args(sigmas, skip_p):
    """Raise :class:`ConfigError` naming ``sigmas`` or ``skip_p``."""
    if not isinstance(sigmas, (list, tuple)) or len(sigmas) == 0:
        raise ConfigError('sigmas must be a non-empty list of noise levels '
                          f'(largest first), got {sigmas!r}')
    for s in sigmas:
        check_sigma(s, 'sigmas')
    if any(a <= b for a, b in zip(sigmas, sigmas[1:])):
        raise ConfigError('sigmas must be strictly decreasing (the cascade '
                          f'tries the largest σ first), got {list(sigmas)}')
    if not isinstance(skip_p, (int, float)) or not 0 < skip_p < 1:
        raise ConfigError(f'skip_p (the threshold p0) must lie in (0, 1), '
                          f'got {skip_p!r}')


def stage_alpha(alpha, stage):
    """``α_s = α / (s + 1)`` for the 0-based stage ``s``."""
    return alpha / (stage + 1)


def stage_status(n_a, n, alpha, skip_p):
    """Per image: ``1`` certify, ``CASCADE_ABSTAIN`` stop, ``0`` fall
    through; plus ``p_A_lower``. Vectorised over images."""
    lower = clopper_pearson_lower(n_a, n, alpha)
    upper = clopper_pearson_upper(n_a, n, alpha)
    status = np.where(lower >= skip_p, 1,
                      np.where(upper >= skip_p, CASCADE_ABSTAIN, 0))
    return status, lower


def pool_counts(counts, c, min_count=MIN_BIN_COUNT):
    """Votes with class ``c`` first and the other classes, largest first;
    classes below ``min_count`` are pooled in that order into bins of at
    least ``min_count``, and a last incomplete pool joins the last bin."""
    counts = np.asarray(counts, dtype=np.int64).copy()
    bins = [int(counts[c])]
    counts[c] = 0
    pool = 0
    # stable sort, largest first; zero counts add nothing to a pool
    for value in np.sort(counts)[::-1]:
        if value >= min_count:
            bins.append(int(value))
        else:
            pool += int(value)
            if pool >= min_count:
                bins.append(pool)
                pool = 0
    if pool > 0:
        bins[-1] += pool
    return np.array(bins, dtype=np.int64)


def off_class_upper(counts, c, own_top, alpha):
    """``p_B_upper``: an upper bound on the probability of any class but
    ``c`` at an earlier stage with votes ``counts`` and top class
    ``own_top`` (see the module docstring)."""
    counts = np.asarray(counts)
    bins = pool_counts(counts, c)
    if len(bins) <= 2:
        n = counts.sum()
        return float(1.0 - clopper_pearson_lower(counts[own_top], n, alpha))
    _, upper = goodman_multinomial_bounds(bins, 2 * alpha)
    return float(upper[1:].max())


def cascade_decide(tables, sigmas, alpha, skip_p=0.5):
    """The cascade's decision for one image from its per-stage votes.

    Args:
        tables (list[tuple[int, array]]): for each stage tried so far, in
            cascade order, ``(ĉ_A, counts)``: the selected class and the
            ``(K,)`` votes of the estimation draws. Stages after the
            deciding one are ignored.
        sigmas (Sequence[float]): the σ of each stage, decreasing.
        alpha (float): overall failure probability α.
        skip_p (float): the threshold ``p₀``.

    Returns:
        dict: ``predict`` (a class, :data:`ABSTAIN` or
        :data:`CASCADE_ABSTAIN`), ``radius`` (L2, [0, 1] pixel units),
        ``r_neg`` (``max_j R_neg_j`` or :data:`NO_R_NEG`) and ``stage``
        (0-based index of the stage that decided, or the last one tried).
    """
    check_cascade_args(list(sigmas), skip_p)
    if not tables:
        raise ConfigError('cascade_decide needs the votes of stage 1')
    stage = 0
    for stage, (c_hat, counts) in enumerate(tables[:len(sigmas)]):
        counts = np.asarray(counts)
        n = int(counts.sum())
        a_s = stage_alpha(alpha, stage)
        status, lower = stage_status(counts[c_hat], n, a_s, skip_p)
        if status == CASCADE_ABSTAIN:
            return dict(predict=CASCADE_ABSTAIN, radius=0.0, r_neg=NO_R_NEG,
                        stage=stage)
        if status == 1:
            radius = float(threshold_radius(lower, sigmas[stage], skip_p))
            r_negs = [
                float(threshold_radius(
                    off_class_upper(cnt, int(c_hat), int(top), a_s),
                    sigmas[j], skip_p))
                for j, (top, cnt) in enumerate(tables[:stage])
            ]
            r_neg = max([NO_R_NEG] + r_negs)
            radius = min(radius, -r_neg)
            if radius < 0:
                return dict(predict=ABSTAIN, radius=0.0, r_neg=r_neg,
                            stage=stage)
            return dict(predict=int(c_hat), radius=radius, r_neg=r_neg,
                        stage=stage)
    return dict(predict=ABSTAIN, radius=0.0, r_neg=NO_R_NEG, stage=stage)


def threshold_prior_logits(clean_logits, counts, unif_w):
    """``logits + log((1 − w) counts / n + w / K)``: the clean logits
    tilted towards the votes of the stage that fired (the reference's
    prediction mode)."""
    freq = counts / counts.sum(-1, keepdims=True)
    prior = (1 - unif_w) * freq + unif_w / counts.shape[-1]
    return clean_logits + np.log(np.clip(prior, 1e-20, None))


@MODELS.register_module()
class CascadedSmoothedClassifier(nn.Module):
    """Multi-scale cascaded smoothing over one (denoised) smoothed
    classifier.

    Args:
        smoothed (dict | nn.Module): a :class:`SmoothedClassifier` (usually
            with a ``denoiser``); its ``sample_counts(..., sigma=σ_s)``
            draws each stage's votes, so the denoiser sees each stage's σ.
        sigmas (Sequence[float]): the stages' σ, strictly decreasing
            (paper: ``(1.0, 0.5, 0.25)``).
        skip_p (float): the threshold ``p₀`` in (0, 1) (paper: 0.5).
        unif_w (float): weight of the uniform part of the prior in
            :meth:`predict_threshold` (reference: 0.1).
    """

    def __init__(self, smoothed, sigmas=(1.0, 0.5, 0.25), skip_p=0.5,
                 unif_w=0.1):
        super().__init__()
        sigmas = [float(s) if isinstance(s, int) else s for s in sigmas]
        check_cascade_args(sigmas, skip_p)
        if not 0 <= unif_w <= 1:
            raise ConfigError(f'unif_w must lie in [0, 1], got {unif_w!r}')
        self.smoothed = smoothed if isinstance(smoothed, nn.Module) else \
            MODELS.build(smoothed)
        self.sigmas, self.skip_p, self.unif_w = list(sigmas), skip_p, unif_w
        self.eval()

    @property
    def num_classes(self):
        return self.smoothed.num_classes

    # ------------------------------------------------------------------
    def _counts(self, x, num, batch_size, sigma, seeds, stream):
        """Votes of ``num`` draws per image at ``sigma`` and each image's
        seconds. With ``seeds`` (one key per image, e.g. ``(seed, idx)``)
        image ``b`` draws from its own stream ``(seeds[b], stream/σ)``, so
        its votes do not depend on the batch, the other images or a
        resume; every stage and use has its own stream."""
        counts, seconds = self.smoothed.sample_counts(
            x, num, batch_size, sigma=sigma, seeds=seeds,
            stream=f'{stream}/sigma{sigma:g}', return_seconds=True)
        return counts.cpu().numpy(), seconds.cpu().numpy()

    @torch.inference_mode()
    def clean_logits(self, x):
        """The base classifier on the clean image (no noise, no denoiser):
        the reference's fallback ``pred_uc``."""
        classifier = self.smoothed.classifier
        fn = getattr(classifier, 'logits', classifier)
        return fn(x.to(self.smoothed.device, torch.float32)).float()

    def certify(self, x, n0, n, alpha, batch_size, seeds=None):
        """Cascaded CERTIFY of a batch of images.

        Stage ``s`` samples only the images that fell through every
        earlier stage.

        Args:
            x (Tensor): ``(B, C, H, W)`` images in [0, 1].
            n0, n (int): selection and estimation draws per stage.
            alpha (float): overall failure probability α.
            batch_size (int): noisy copies per forward pass.
            seeds (Sequence, optional): one noise key per image, e.g.
                ``(seed, dataset_index)``.

        Returns:
            list[dict]: per image, :func:`cascade_decide`'s result plus
            ``pred_uc`` (the certified class, else the clean classifier's)
            and ``seconds`` (its share of the sampling time).
        """
        check_sampling_args(n=n, n0=n0, alpha=alpha, batch_size=batch_size)
        b = x.shape[0]
        tables = [[] for _ in range(b)]
        seconds = np.zeros(b)
        active = np.arange(b)
        for s, sigma in enumerate(self.sigmas):
            if len(active) == 0:
                break
            xs = x[torch.as_tensor(active)]
            sub = None if seeds is None else [seeds[i] for i in active]
            counts0, t0 = self._counts(xs, n0, batch_size, sigma, sub,
                                       'select')
            c_hat = counts0.argmax(1)
            counts, t1 = self._counts(xs, n, batch_size, sigma, sub,
                                      'estimate')
            seconds[active] += t0 + t1
            for j, i in enumerate(active):
                tables[i].append((int(c_hat[j]), counts[j]))
            n_a = counts[np.arange(len(active)), c_hat]
            status, _ = stage_status(n_a, n, stage_alpha(alpha, s),
                                     self.skip_p)
            active = active[status == 0]
        results = [cascade_decide(t, self.sigmas, alpha, self.skip_p)
                   for t in tables]
        undecided = [i for i, r in enumerate(results) if r['predict'] < 0]
        for r, t in zip(results, seconds):
            r['pred_uc'], r['seconds'] = r['predict'], float(t)
        if undecided:
            clean = self.clean_logits(x[torch.as_tensor(undecided)])
            for i, c in zip(undecided, clean.argmax(1).tolist()):
                results[i]['pred_uc'] = int(c)
        return results

    def predict_threshold(self, x, n, batch_size, alpha=0.001,
                          check_earlier=False, seeds=None):
        """The reference's prediction mode (no hypothesis test).

        Stage by stage, the top class ``ĉ`` of ``n`` draws *fires* when it
        holds at least ``p₀ n`` votes. The prediction is then ``argmax`` of
        :func:`threshold_prior_logits` (clean logits plus the log of the
        firing stage's vote prior); when no stage fires it falls back to the
        clean classifier's logits.

        ``check_earlier=True`` also refuses a firing stage whose class an
        earlier stage's ``R_neg`` (at ``alpha``) does not exclude, which
        the method describes; the released script never fills its list of
        earlier stages, so the default reproduces it without the check.

        Returns:
            list[dict]: per image ``pred0`` (the class that fired or
            :data:`ABSTAIN`), ``predict``, ``stage``, ``c_max`` (the
            clean classifier's top softmax probability) and ``seconds``.
        """
        check_sampling_args(n=n, alpha=alpha, batch_size=batch_size)
        b = x.shape[0]
        clean = self.clean_logits(x).cpu().double().numpy()
        probs = torch.from_numpy(clean).softmax(1).numpy()
        out = [dict(pred0=ABSTAIN, predict=int(clean[i].argmax()),
                    stage=len(self.sigmas) - 1,
                    c_max=float(probs[i].max())) for i in range(b)]
        earlier = [[] for _ in range(b)]
        seconds = np.zeros(b)
        active = np.arange(b)
        for s, sigma in enumerate(self.sigmas):
            if len(active) == 0:
                break
            sub = None if seeds is None else [seeds[i] for i in active]
            counts, t = self._counts(x[torch.as_tensor(active)], n,
                                     batch_size, sigma, sub, 'predict')
            seconds[active] += t
            still = []
            for j, i in enumerate(active):
                c = int(counts[j].argmax())
                if counts[j, c] < self.skip_p * n:
                    earlier[i].append((c, counts[j]))
                    still.append(i)
                    continue
                out[i]['stage'] = s
                if check_earlier and max([NO_R_NEG] + [
                        float(threshold_radius(
                            off_class_upper(cnt, c, top, alpha),
                            self.sigmas[k], self.skip_p))
                        for k, (top, cnt) in enumerate(earlier[i])]) >= 0:
                    continue  # fall back to the clean logits
                out[i]['pred0'] = c
                out[i]['predict'] = int(threshold_prior_logits(
                    clean[i], counts[j].astype(np.float64),
                    self.unif_w).argmax())
            active = np.array(still, dtype=np.int64)
        for r, t in zip(out, seconds):
            r['seconds'] = float(t)
        return out

    def forward(self, x):
        """Class predictions (threshold mode, n=200 as the reference)."""
        return torch.tensor([r['predict'] for r in self.predict_threshold(
            x, 200, 200 * x.shape[0])])
