"""Anomaly detection metrics: image- and pixel-level AUROC, AUPR, F1-max and
the per-region overlap (PRO) integrated up to 30 % false-positive rate.

Every curve is computed exactly from one sort of the scores (ties grouped
into one threshold), so there is no loop over thresholds and no binning.
"""
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from scipy import ndimage

from rgl.registry import METRICS
from rgl.utils.errors import ConfigError, DataError


def _ranked_counts(scores, labels, weights=None):
    """Cumulative true/false positives at every distinct threshold.

    Scores are sorted in decreasing order; a threshold ``t`` predicts
    "anomalous" for ``s >= t``. Returns ``(tp, fp)`` (and the cumulative
    ``weights`` of positives when given) at the last index of each group of
    tied scores, so tied samples always switch together.
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    order = np.argsort(-scores, kind='stable')
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s) != 0), len(s) - 1]
    tp = np.cumsum(y)[last]
    fp = np.cumsum(~y)[last]
    if weights is None:
        return tp, fp
    w = np.asarray(weights, dtype=np.float64).ravel()[order]
    return tp, fp, np.cumsum(w)[last]


def _check_binary(labels, what):
    labels = np.asarray(labels).ravel().astype(bool)
    if labels.all() or not labels.any():
        raise DataError(f'{what} needs both normal and anomalous samples; '
                        f'got only {"anomalous" if labels.any() else "normal"}'
                        ' ones')
    return labels


def auroc(scores, labels):
    """Area under the ROC curve (trapezoidal; ties count one half)."""
    labels = _check_binary(labels, 'AUROC')
    tp, fp = _ranked_counts(scores, labels)
    tpr = np.r_[0.0, tp / labels.sum()]
    fpr = np.r_[0.0, fp / (~labels).sum()]
    return float(np.trapezoid(tpr, fpr))


def average_precision(scores, labels):
    """Area under the precision-recall curve as the step sum
    ``AP = Σ_n (R_n - R_{n-1}) P_n`` (scikit-learn's definition)."""
    labels = _check_binary(labels, 'AUPR')
    tp, fp = _ranked_counts(scores, labels)
    precision = tp / (tp + fp)
    recall = np.r_[0.0, tp / labels.sum()]
    return float(np.sum(np.diff(recall) * precision))


def f1_max(scores, labels):
    """Best F1 score over all thresholds."""
    labels = _check_binary(labels, 'F1-max')
    tp, fp = _ranked_counts(scores, labels)
    fn = labels.sum() - tp
    f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    return float(f1.max())


def connected_regions(mask, connectivity=8):
    """Label the connected defect regions of one binary mask ``(H, W)``."""
    structure = np.ones((3, 3)) if connectivity == 8 else None
    labelled, num = ndimage.label(np.asarray(mask, dtype=bool), structure)
    return labelled, num


def aupro(maps, masks, max_fpr=0.3, connectivity=8):
    """Normalised area under the PRO curve for FPR in ``[0, max_fpr]``.

    PRO at a threshold is the mean, over all connected ground-truth regions
    ``C_k`` of all images, of the fraction of ``C_k`` predicted anomalous;
    FPR is the fraction of normal pixels predicted anomalous. Each pixel of
    region ``C_k`` carries weight ``1 / (K |C_k|)``, so the PRO curve is the
    cumulative weight of the pixels above the threshold: exact, one sort.
    The area up to ``max_fpr`` (the curve interpolated linearly at
    ``max_fpr``) is divided by ``max_fpr``, so a perfect map scores 1.

    Args:
        maps (Sequence[array (H_i, W_i)]): anomaly maps (sizes may differ).
        masks (Sequence[array (H_i, W_i)]): binary ground-truth masks.
    """
    flat_maps, flat_masks, weights = [], [], []
    num_regions = 0
    for amap, mask in zip(maps, masks):  # regions are per image
        mask = np.asarray(mask).astype(bool)
        labelled, num = connected_regions(mask, connectivity)
        size = np.bincount(labelled.ravel())  # size[0]: background
        weights.append(np.where(labelled > 0, 1.0 / size[labelled],
                                0.0).ravel())
        flat_maps.append(np.asarray(amap, dtype=np.float64).ravel())
        flat_masks.append(mask.ravel())
        num_regions += num
    flat_masks = np.concatenate(flat_masks)
    if num_regions == 0 or flat_masks.all():
        raise DataError('AUPRO needs at least one defect region and some '
                        'normal pixels')
    _, fp, pro = _ranked_counts(np.concatenate(flat_maps), flat_masks,
                                np.concatenate(weights) / num_regions)
    fpr = np.r_[0.0, fp / (~flat_masks).sum()]
    pro = np.r_[0.0, pro]
    # The curve is linear between thresholds; cut it at max_fpr.
    # FPR repeats where only defect pixels pass a threshold (vertical
    # steps), so interpolate explicitly between the last point inside and
    # the first point beyond max_fpr.
    inside = int(np.searchsorted(fpr, max_fpr, side='right'))
    x, y = fpr[:inside], pro[:inside]
    if x[-1] < max_fpr:
        x0, y0, x1, y1 = x[-1], y[-1], fpr[inside], pro[inside]
        y_end = y0 + (y1 - y0) * (max_fpr - x0) / (x1 - x0)
        x, y = np.r_[x, max_fpr], np.r_[y, y_end]
    return float(np.trapezoid(y, x) / max_fpr)


@METRICS.register_module()
class AnomalyMetric(BaseMetric):
    """Image- and pixel-level anomaly detection metrics.

    Reads ``anomaly_score`` (image score ``s(x)``) and ``anomaly_map``
    (``M(x)`` at the original resolution) from the predictions and
    ``gt_label`` (1 = anomalous) and ``gt_mask`` from the samples.

    Reports (in %) ``image_AUROC``, ``image_AUPR``, ``image_F1max`` and,
    when masks are present, ``pixel_AUROC``, ``pixel_AUPR``,
    ``pixel_F1max`` and ``pixel_AUPRO`` (PRO per connected region, area up
    to ``max_fpr``, normalised).

    Args:
        pixel_size (int | tuple, optional): resize maps (bilinear) and masks
            (nearest) to this size before the pixel metrics, to bound the
            memory of full-resolution datasets (MVTec AD images are up to
            1024²). ``None`` evaluates at the original resolution.
        max_fpr (float): the FPR limit of AUPRO (0.3 in the MVTec AD
            protocol).
        pixel_metrics (bool): also compute the pixel-level metrics.
    """

    default_prefix = 'anomaly'

    def __init__(self, pixel_size=None, max_fpr=0.3, pixel_metrics=True,
                 collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0 < max_fpr <= 1:
            raise ConfigError(f'AnomalyMetric.max_fpr must be in (0, 1], '
                              f'got {max_fpr}')
        if isinstance(pixel_size, int):
            pixel_size = (pixel_size, pixel_size)
        self.pixel_size = pixel_size
        self.max_fpr = max_fpr
        self.pixel_metrics = pixel_metrics

    def _resize(self, amap, mask):
        if self.pixel_size is None:
            return amap, mask
        amap = F.interpolate(amap[None, None].float(), self.pixel_size,
                             mode='bilinear', align_corners=False)[0, 0]
        mask = F.interpolate(mask[None, None].float(), self.pixel_size,
                             mode='nearest')[0, 0]
        return amap, mask

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            if 'anomaly_score' not in sample:
                raise ConfigError('AnomalyMetric needs `anomaly_score` in the '
                                  'predictions; is the model an anomaly '
                                  'detector (e.g. WinCLIP)?')
            result = dict(
                score=float(sample['anomaly_score']),
                label=int(torch.as_tensor(sample['gt_label']).reshape(-1)[0]))
            if self.pixel_metrics and 'gt_mask' in sample:
                amap, mask = self._resize(
                    torch.as_tensor(sample['anomaly_map']).cpu(),
                    torch.as_tensor(sample['gt_mask']).cpu())
                if amap.shape != mask.shape:
                    raise DataError(
                        f'anomaly map {tuple(amap.shape)} and mask '
                        f'{tuple(mask.shape)} differ in size for '
                        f'{sample.get("img_path", "a sample")}')
                result['map'] = amap.float().numpy()
                result['mask'] = (mask > 0).numpy()
            self.results.append(result)

    def compute_metrics(self, results):
        scores = np.array([r['score'] for r in results])
        labels = np.array([r['label'] for r in results])
        out = dict(
            image_AUROC=auroc(scores, labels) * 100,
            image_AUPR=average_precision(scores, labels) * 100,
            image_F1max=f1_max(scores, labels) * 100)
        with_map = [r for r in results if 'map' in r]
        if with_map and self.pixel_metrics:
            maps = [r['map'] for r in with_map]
            masks = [r['mask'] for r in with_map]
            flat_maps = np.concatenate([m.ravel() for m in maps])
            flat_masks = np.concatenate([m.ravel() for m in masks])
            out.update(
                pixel_AUROC=auroc(flat_maps, flat_masks) * 100,
                pixel_AUPR=average_precision(flat_maps, flat_masks) * 100,
                pixel_F1max=f1_max(flat_maps, flat_masks) * 100)
            out['pixel_AUPRO'] = aupro(maps, masks, self.max_fpr) * 100
        return out
