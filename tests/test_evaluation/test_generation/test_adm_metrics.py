"""ADM evaluator metrics against brute-force / scipy computations."""
import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from scipy.special import rel_entr

from rgl.evaluation.generation import (FIDInceptionV3, generation_metrics,
                                       inception_score, manifold_radii,
                                       precision_recall)
from rgl.utils.errors import CheckpointError


def test_inception_score_extremes_and_scipy():
    assert inception_score(np.full((20, 5), 0.2)) == pytest.approx(1.0)
    onehot = np.eye(4)[np.arange(40) % 4] * (1 - 4e-9) + 1e-9
    assert inception_score(onehot) == pytest.approx(4.0, rel=1e-6)
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6), size=30)
    # two splits of 15, as ADM's split_size
    expected = np.mean([
        np.exp(rel_entr(q, q.mean(0, keepdims=True)).sum(1).mean())
        for q in (p[:15], p[15:])
    ])
    assert inception_score(p, split_size=15) == pytest.approx(expected)


def test_radii_and_precision_recall_brute_force():
    rng = np.random.default_rng(1)
    ref = rng.normal(size=(40, 3))
    smp = rng.normal(loc=0.7, size=(30, 3))
    d_rr = np.sort(cdist(ref, ref, 'sqeuclidean'), axis=1)
    np.testing.assert_allclose(manifold_radii(ref, k=3).numpy(), d_rr[:, 3],
                               rtol=1e-4, atol=1e-5)
    r_ref, r_smp = d_rr[:, 3], np.sort(cdist(smp, smp, 'sqeuclidean'),
                                       1)[:, 3]
    d = cdist(ref, smp, 'sqeuclidean')
    precision = (d <= r_ref[:, None]).any(0).mean()
    recall = (d <= r_smp[None]).any(1).mean()
    # small batches exercise the blockwise path
    got = precision_recall(ref, smp, k=3, batch_size=7)
    assert got == pytest.approx((precision, recall))
    assert 0 < precision < 1 and 0 < recall < 1
    assert precision_recall(ref, ref) == (1.0, 1.0)


def test_generation_metrics_prefers_precomputed_stats():
    rng = np.random.default_rng(2)
    feats = dict(pool=rng.normal(size=(50, 4)),
                 spatial=rng.normal(size=(50, 3)),
                 softmax=rng.dirichlet(np.ones(5), size=50))
    same = generation_metrics(feats, feats)
    assert same['fid'] == pytest.approx(0, abs=1e-6)
    assert same['sfid'] == pytest.approx(0, abs=1e-6)
    assert same['precision'] == same['recall'] == 1.0
    stats = dict(mu=np.ones(4), sigma=np.eye(4))
    only_stats = generation_metrics(stats, feats)
    assert 'precision' not in only_stats and 'sfid' not in only_stats
    mu = feats['pool'].mean(0)
    sigma = np.cov(feats['pool'], rowvar=False)
    from rgl.evaluation.generation import frechet_distance
    assert only_stats['fid'] == pytest.approx(
        frechet_distance(np.ones(4), np.eye(4), mu, sigma))


@pytest.fixture(scope='module')
def inception_file(tmp_path_factory):
    torch.manual_seed(0)
    net = FIDInceptionV3()
    path = tmp_path_factory.mktemp('inc') / 'pt_inception-random.pth'
    torch.save(net.net.state_dict(), path)
    return net, path


def test_fid_inception_layout_and_outputs(inception_file):
    net, path = inception_file
    sd = net.net.state_dict()
    # pytorch-fid's pt_inception-2015-12-05 layout: 1008 logits, no aux head
    assert sd['fc.weight'].shape == (1008, 2048)
    assert 'Mixed_7c.branch_pool.conv.weight' in sd
    assert not any(k.startswith('AuxLogits') for k in sd)
    loaded = FIDInceptionV3(str(path))
    x = torch.rand(2, 3, 64, 64)
    out = loaded(x)
    assert out['pool'].shape == (2, 2048)
    assert out['spatial'].shape == (2, 2023)  # 7 x 17 x 17
    assert out['logits'].shape == (2, 1008)
    torch.testing.assert_close(out['pool'], net(x)['pool'])
    # the spatial features are Mixed_6d's 1x1 branch (7 channels, NHWC)
    seen = {}
    h = loaded.net.Mixed_6d.branch1x1.register_forward_hook(
        lambda m, i, o: seen.setdefault('o', o))
    out = loaded(x)
    h.remove()
    torch.testing.assert_close(
        out['spatial'], seen['o'][:, :7].permute(0, 2, 3, 1).flatten(1))


def test_fid_inception_wrong_file(tmp_path):
    path = tmp_path / 'not_inception.pth'
    torch.save({'fc.weight': torch.zeros(10, 2048)}, path)
    with pytest.raises(CheckpointError, match='not_inception.pth'):
        FIDInceptionV3(str(path))


def test_tf_legacy_bilinear_resize_by_hand():
    from rgl.evaluation.generation.inception import tf_legacy_resize_bilinear
    x = torch.tensor([[1., 3.], [5., 9.]]).view(1, 1, 2, 2)
    out = tf_legacy_resize_bilinear(x, (4, 4))[0, 0]
    # source coordinates 0, 0.5, 1, 1.5 -> the last two clamp to row/col 1
    row0 = [1., 2., 3., 3.]
    row_half = [3., 4.5, 6., 6.]
    row1 = [5., 7., 9., 9.]
    assert out.tolist() == [row0, row_half, row1, row1]
    # downsampling 4 -> 2 reads coordinates 0 and 2 exactly
    y = torch.arange(16.).view(1, 1, 4, 4)
    assert tf_legacy_resize_bilinear(y, (2, 2))[0, 0].tolist() == [
        [0., 2.], [8., 10.]]


def test_inception_logits_have_no_bias(inception_file):
    net, _ = inception_file
    x = torch.rand(1, 3, 32, 32)
    out = net(x)
    torch.testing.assert_close(out['logits'],
                               out['pool'] @ net.net.fc.weight.T)
