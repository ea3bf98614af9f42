"""FID, sFID, Inception Score and improved precision/recall, defined as in
the ADM evaluator (Dhariwal & Nichol, 2021, guided-diffusion
``evaluations/evaluator.py``).

- FID: Fréchet distance of ``pool_3`` statistics (2048-d).
- sFID: Fréchet distance of the 2023-d ``mixed_6/conv`` spatial features.
- IS: exp(E_x KL(p(y|x) ‖ p(y))) over the 1008-way softmax, averaged over
  splits of 5,000 samples (10 splits for 50K samples).
- Precision / recall (Kynkäänniemi et al., 2019): a sample counts for
  precision when it lies inside the k-NN ball (k = 3) of some reference
  feature, a reference counts for recall when it lies inside the ball of
  some sample; balls are computed within each set (ADM: the 10K-image
  reference batch and the samples).
"""
import numpy as np
import torch

from .frechet import feature_statistics, frechet_distance


def inception_score(softmax, split_size=5000):
    """IS of class probabilities ``softmax`` (N, K), as ADM: the mean over
    consecutive splits of ``split_size`` of exp(mean_x KL(p(y|x)‖p(y)))."""
    softmax = np.asarray(softmax, dtype=np.float64)
    scores = []
    for i in range(0, len(softmax), split_size):
        part = softmax[i:i + split_size]
        marginal = part.mean(axis=0, keepdims=True)
        kl = part * (np.log(part) - np.log(marginal))
        scores.append(np.exp(kl.sum(axis=1).mean()))
    return float(np.mean(scores))


def _sq_dists(a, b):
    """Squared Euclidean distances (|a|² + |b|² − 2ab), float32 blocks."""
    d = (a * a).sum(1, keepdim=True) - 2 * a @ b.T + (b * b).sum(1)[None]
    return d.clamp_(min=0)


def manifold_radii(feats, k=3, batch_size=10000):
    """Squared distance of each feature to its k-th nearest neighbour in
    ``feats`` (itself excluded)."""
    x = torch.as_tensor(np.asarray(feats), dtype=torch.float32)
    radii = []
    for i in range(0, len(x), batch_size):
        d = _sq_dists(x[i:i + batch_size], x)
        # the (k+1)-th smallest: index 0 is the point itself (distance 0)
        radii.append(d.kthvalue(k + 1, dim=1).values)
    return torch.cat(radii)


def precision_recall(ref_feats, sample_feats, k=3, batch_size=10000):
    """Improved precision and recall of samples against references."""
    ref = torch.as_tensor(np.asarray(ref_feats), dtype=torch.float32)
    smp = torch.as_tensor(np.asarray(sample_feats), dtype=torch.float32)
    r_ref, r_smp = manifold_radii(ref, k, batch_size), manifold_radii(
        smp, k, batch_size)
    smp_in = torch.zeros(len(smp), dtype=torch.bool)
    ref_in = torch.zeros(len(ref), dtype=torch.bool)
    for i in range(0, len(ref), batch_size):
        for j in range(0, len(smp), batch_size):
            d = _sq_dists(ref[i:i + batch_size], smp[j:j + batch_size])
            smp_in[j:j + batch_size] |= (
                d <= r_ref[i:i + batch_size, None]).any(0)
            ref_in[i:i + batch_size] |= (
                d <= r_smp[None, j:j + batch_size]).any(1)
    return float(smp_in.double().mean()), float(ref_in.double().mean())


def generation_metrics(ref, sample, k=3, frechet_method='sqrtm'):
    """All ADM metrics from features.

    Args:
        ref (dict): reference ``pool``/``spatial`` features, and/or
            precomputed ``mu``, ``sigma`` (and ``mu_s``, ``sigma_s``), which
            take precedence for FID/sFID as in ADM.
        sample (dict): sample ``pool``, ``spatial``, ``softmax``.
        frechet_method (str): ``'sqrtm'`` (ADM) or ``'eigh'`` (faster).

    Returns:
        dict: ``fid``, ``sfid``, ``inception_score``, and ``precision``,
        ``recall`` when reference features are available.
    """
    def stats(d, feat, mu, sigma):
        if mu in d and sigma in d:
            return d[mu], d[sigma]
        return feature_statistics(d[feat])

    out = {}
    out['fid'] = frechet_distance(*stats(ref, 'pool', 'mu', 'sigma'),
                                  *stats(sample, 'pool', 'mu', 'sigma'),
                                  method=frechet_method)
    if ('spatial' in ref or 'mu_s' in ref) and 'spatial' in sample:
        out['sfid'] = frechet_distance(
            *stats(ref, 'spatial', 'mu_s', 'sigma_s'),
            *stats(sample, 'spatial', 'mu_s', 'sigma_s'),
            method=frechet_method)
    if 'softmax' in sample:
        out['inception_score'] = inception_score(sample['softmax'])
    if 'pool' in ref and 'pool' in sample:
        out['precision'], out['recall'] = precision_recall(
            ref['pool'], sample['pool'], k=k)
    return out
