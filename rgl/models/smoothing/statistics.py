"""Confidence bounds and radii of Cohen et al. (2019), vectorised over images.

Symbols: ``n_A`` successes out of ``n`` draws, one-sided level ``alpha``,
``p_A`` the probability of the top class under noise, ``σ`` the noise level.
"""
import numpy as np
import torch
from scipy.stats import beta, binomtest, norm


def _as_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def clopper_pearson_lower(n_a, n, alpha):
    """One-sided (1 - alpha) Clopper-Pearson lower bound of ``p_A``.

    Equals ``statsmodels.proportion_confint(n_a, n, alpha=2*alpha,
    method='beta')[0]``, which is what Cohen's CERTIFY uses:
    ``Beta.ppf(alpha, n_a, n - n_a + 1)``, and 0 when ``n_a == 0``.
    """
    n_a, n = _as_numpy(n_a), _as_numpy(n)
    with np.errstate(invalid='ignore'):
        bound = beta.ppf(alpha, n_a, n - n_a + 1)
    return np.where(n_a <= 0, 0.0, bound)


def clopper_pearson_upper(n_a, n, alpha):
    """One-sided (1 - alpha) Clopper-Pearson upper bound
    ``Beta.ppf(1 - alpha, n_a + 1, n - n_a)`` (1 when ``n_a == n``)."""
    n_a, n = _as_numpy(n_a), _as_numpy(n)
    with np.errstate(invalid='ignore'):
        bound = beta.ppf(1 - alpha, n_a + 1, n - n_a)
    return np.where(n_a >= n, 1.0, bound)


def certified_radius(p_a_lower, sigma):
    """``R = σ Φ⁻¹(p_A)``: the L2 radius when ``p_B = 1 - p_A`` bounds the
    runner-up, i.e. ``σ/2 (Φ⁻¹(p_A) - Φ⁻¹(p_B))``. Zero where
    ``p_A <= 1/2`` (an abstention)."""
    p = _as_numpy(p_a_lower)
    return np.where(p > 0.5, sigma * norm.ppf(np.clip(p, 0.5, 1.0)), 0.0)


def binomial_two_sided_pvalue(c1, c2):
    """Two-sided exact binomial test of ``c1`` successes in ``c1 + c2`` at
    p = 1/2, as in Cohen's PREDICT (one p-value per image)."""
    c1, c2 = np.atleast_1d(_as_numpy(c1)), np.atleast_1d(_as_numpy(c2))
    out = np.ones(len(c1))
    for i, (a, b) in enumerate(zip(c1.astype(int), c2.astype(int))):
        # one scipy call per *image*, not per noise draw
        if a + b > 0:
            out[i] = binomtest(a, a + b, 0.5).pvalue
    return out
