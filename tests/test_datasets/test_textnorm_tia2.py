import json
import os.path as osp

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

from rgl.datasets.tia2 import (check_images, load_alignment_scores,
                               load_human_labels)
from rgl.evaluation.metrics.ranking import (alignment_scores, ap_at_k,
                                            prompt_average, prompt_metrics)
from rgl.utils.errors import DataError

DATA = osp.join(osp.dirname(osp.dirname(__file__)), 'data', 'tia2')


def test_metrics_against_sklearn_and_scipy():
    rng = np.random.default_rng(0)
    votes = rng.integers(0, 2, size=(50, 3))
    scores = rng.normal(size=50).round(1)  # ties on purpose
    m = prompt_metrics(scores, votes)
    labels = votes.sum(1) >= 2
    assert m['auroc'] == pytest.approx(roc_auc_score(labels, scores))
    assert m['auprc'] == pytest.approx(
        average_precision_score(labels, scores))
    graded = votes.mean(1)
    assert m['spearman'] == pytest.approx(
        stats.spearmanr(scores, graded).statistic)
    assert m['kendall'] == pytest.approx(
        stats.kendalltau(scores, graded).statistic)
    # Spearman by hand: Pearson correlation of the mid-ranks
    ra, rb = stats.rankdata(scores), stats.rankdata(graded)
    assert m['spearman'] == pytest.approx(np.corrcoef(ra, rb)[0, 1])
    # all-positive prompts have no AUROC and are skipped
    assert prompt_metrics(scores, np.ones((50, 3))) is None


def test_ap_at_k_by_hand():
    # ranks 1..5 hold labels 0 1 1 1 0: precisions 1/2, 2/3, 3/4
    scores = [5, 4, 3, 2, 1, 0]
    labels = [0, 1, 1, 1, 0, 1]
    assert ap_at_k(scores, labels, 5) == pytest.approx((1/2 + 2/3 + 3/4) / 3)
    assert ap_at_k(scores, labels, 1) == 0.0
    assert ap_at_k(scores, labels, 10) == pytest.approx(
        (1/2 + 2/3 + 3/4 + 4/6) / 4)


def test_excerpt_labels_match_released_scores():
    groups = load_human_labels(osp.join(DATA, 'human_labels_counting.json'))
    released = load_alignment_scores(
        osp.join(DATA, 'alignment_scores_counting.json'))
    assert all(len(items) == 50 for items in groups.values())
    rng = np.random.default_rng(0)
    mine = alignment_scores(groups, {'r': {
        p: rng.normal(size=len(items)) for p, items in groups.items()}})
    # the same prompts are kept (the all-positive bird prompt is not),
    # and the released `human` is the mean majority label
    assert set(mine) == set(released)
    for p in released:
        assert mine[p]['human'] == pytest.approx(released[p]['human'])
    avg = prompt_average(released)
    assert set(avg) == {'clip', 'blip2', 'imagereward', 'pickscore',
                        'textnorm_ur'}
    assert avg['textnorm_ur']['auroc'] == pytest.approx(np.mean(
        [released[p]['textnorm_ur']['auroc'] for p in released]))


def test_missing_image_is_named(tmp_path):
    groups = load_human_labels(osp.join(DATA, 'human_labels_counting.json'))
    with pytest.raises(DataError, match='image_0_0_0.jpg'):
        check_images(groups, str(tmp_path), 'human_labels_counting.json')
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps({'x.jpg': {'caption': 'a cat'}}))
    with pytest.raises(DataError, match="'x.jpg'"):
        load_human_labels(str(bad))
