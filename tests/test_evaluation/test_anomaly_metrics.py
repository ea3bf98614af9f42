import numpy as np
import pytest
import torch
from mmpretrain.structures import DataSample

from rgl.evaluation.metrics.anomaly import (AnomalyMetric, aupro, auroc,
                                            average_precision, f1_max)
from rgl.utils.errors import DataError


def test_image_metrics_by_hand():
    # scores 0.9(+) 0.8(-) 0.7(+) 0.1(-)
    s, y = [0.9, 0.8, 0.7, 0.1], [1, 0, 1, 0]
    # pairs (+,-): (0.9,0.8) (0.9,0.1) (0.7,0.8)x (0.7,0.1) -> 3/4
    assert auroc(s, y) == pytest.approx(0.75)
    # AP = 1/2 * 1 + 1/2 * 2/3
    assert average_precision(s, y) == pytest.approx(0.5 + 1 / 3)
    # best threshold 0.7: P = 2/3, R = 1 -> F1 = 0.8
    assert f1_max(s, y) == pytest.approx(0.8)
    # ties count one half in AUROC
    assert auroc([0.5, 0.5], [1, 0]) == pytest.approx(0.5)


def test_match_scikit_learn_with_ties():
    from sklearn.metrics import (average_precision_score,
                                 precision_recall_curve, roc_auc_score)
    rng = np.random.default_rng(0)
    s = rng.integers(0, 7, 500) / 6
    y = rng.random(500) < 0.3
    assert auroc(s, y) == pytest.approx(roc_auc_score(y, s))
    assert average_precision(s, y) == pytest.approx(
        average_precision_score(y, s))
    p, r, _ = precision_recall_curve(y, s)
    assert f1_max(s, y) == pytest.approx(
        np.max(2 * p * r / np.maximum(p + r, 1e-12)))


def test_one_class_only_is_an_error():
    with pytest.raises(DataError, match='both normal and anomalous'):
        auroc([0.1, 0.2], [0, 0])


def test_pro_by_hand():
    # one 2x4 image: region A = two pixels (top-left), region B = one pixel
    # (bottom-right, not 8-connected to A); five normal pixels.
    mask = np.array([[1, 1, 0, 0],
                     [0, 0, 0, 1]])
    amap = np.array([[0.9, 0.4, 0.8, 0.3],
                     [0.1, 0.2, 0.05, 0.7]])
    # thresholds, descending (PRO = mean over regions of found fraction):
    #   0.9: A 1/2 -> PRO 1/4, FPR 0      0.8: FPR 1/5, PRO 1/4
    #   0.7: B 1   -> PRO 3/4, FPR 1/5    0.4: A 1 -> PRO 1, FPR 1/5
    #   0.3 / 0.2 / 0.1 / 0.05: FPR 2/5 .. 1, PRO 1
    # area up to FPR 0.3: 0.2 * 1/4 + 0.1 * 1 = 0.15, normalised 0.5
    assert aupro([amap], [mask], max_fpr=0.3) == pytest.approx(0.5)
    # area up to FPR 1: 0.2 * 1/4 + 0.8 * 1
    assert aupro([amap], [mask], max_fpr=1.0) == pytest.approx(0.85)
    # a region inside the first FPR segment: interpolation at max_fpr
    assert aupro([amap], [mask], max_fpr=0.1) == pytest.approx(0.25)
    # regions weigh equally, not by size: a perfect map gives 1
    assert aupro([mask * 0.5 + 0.1], [mask]) == pytest.approx(1.0)
    # 8-connected (default): the diagonal defect is one region of 3 pixels;
    # 4-connected it is regions of 1 and 2 pixels. Only (0, 0) is found
    # before every normal pixel (score 0.5) is a false positive.
    diag = np.array([[1, 0, 0], [0, 1, 1]])
    score = np.array([[0.9, 0.5, 0.5], [0.5, 0.1, 0.1]])
    assert aupro([score], [diag], max_fpr=1.0) == pytest.approx(1 / 3)
    assert aupro([score], [diag], max_fpr=1.0, connectivity=4) == \
        pytest.approx(1 / 2)


def test_pro_regions_are_per_image_and_sizes_may_differ():
    m1 = np.zeros((4, 4), int)
    m1[0, 0] = 1
    m2 = np.zeros((3, 5), int)
    m2[:, 4] = 1  # one region of three pixels in another image
    a1 = np.where(m1, 0.9, 0.0)
    a2 = np.where(m2, 0.0, 0.0)
    a2[0, 4] = 0.8  # one of three pixels found at the second threshold
    # thresholds 0.9 (PRO 1/2), 0.8 (PRO 1/2 + 1/6), 0.0 (all, FPR 1)
    # FPR is 0 until the last threshold, so the area up to 0.3 is the
    # segment from (0, 2/3) to (1, 1) evaluated on [0, 0.3]
    expected = (2 / 3 + (2 / 3 + 0.3 / 3)) / 2
    assert aupro([a1, a2], [m1, m2]) == pytest.approx(expected)


def _sample(score, label, amap, mask, path='x.png'):
    s = DataSample(metainfo=dict(img_path=path))
    s.set_gt_label(label)
    s.gt_mask = torch.as_tensor(mask)
    s.anomaly_map = torch.as_tensor(amap, dtype=torch.float32)
    s.anomaly_score = torch.tensor(score)
    return s.to_dict()


def test_metric_end_to_end_and_resize():
    rng = np.random.default_rng(0)
    samples = []
    for i in range(6):
        mask = np.zeros((8, 8), np.uint8)
        if i % 2:
            mask[2:5, 2:6] = 1
        amap = rng.random((8, 8)) * 0.5 + mask * 0.5
        samples.append(_sample(float(amap.max()), i % 2, amap, mask))
    metric = AnomalyMetric()
    metric.process({}, samples)
    out = metric.compute_metrics(metric.results)
    assert out['image_AUROC'] == pytest.approx(100.0)
    assert out['pixel_AUROC'] == pytest.approx(100.0)
    assert out['pixel_AUPRO'] == pytest.approx(100.0)
    assert out['pixel_F1max'] == pytest.approx(100.0)
    resized = AnomalyMetric(pixel_size=16)
    resized.process({}, samples)
    assert resized.results[0]['map'].shape == (16, 16)
    # bilinear blurs the borders of the region a little
    assert resized.compute_metrics(resized.results)['pixel_AUROC'] > 99


def test_metric_size_mismatch_names_the_file():
    metric = AnomalyMetric()
    with pytest.raises(DataError, match='bad.png'):
        metric.process({}, [_sample(0.1, 0, np.zeros((4, 4)),
                                    np.zeros((5, 4)), 'bad.png')])
