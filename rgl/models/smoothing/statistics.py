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


def goodman_multinomial_bounds(counts, alpha):
    """Goodman's (1965) simultaneous ``(1 - alpha)`` confidence intervals
    of the ``k`` cell probabilities of a multinomial with ``counts``.

    With ``N = Σ n_i``, ``p̂_i = n_i / N`` and ``χ² = χ²_1.ppf(1 - alpha /
    k)`` (Bonferroni over the cells)::

        bounds_i = (2 N p̂_i + χ² ∓ sqrt(χ⁴ + 4 N p̂_i (1 - p̂_i) χ²))
                   / (2 (χ² + N))

    the same as ``statsmodels``' ``multinomial_proportions_confint(counts,
    alpha, method='goodman')``, which the MDDS reference calls.

    Args:
        counts (array-like): ``(k,)`` cell counts (or ``(B, k)``, one row
            per image; Bonferroni over the last axis).
        alpha (float): the simultaneous (two-sided) failure probability.

    Returns:
        (ndarray, ndarray): lower and upper bounds, shaped like ``counts``.
    """
    from scipy.stats import chi2 as chi2_dist
    counts = _as_numpy(counts)
    k = counts.shape[-1]
    n = counts.sum(axis=-1, keepdims=True)
    chi2 = chi2_dist.ppf(1 - alpha / k, 1)
    p = counts / n
    half = np.sqrt(chi2 ** 2 + 4 * n * p * (1 - p) * chi2)
    denom = 2 * (chi2 + n)
    return (2 * n * p + chi2 - half) / denom, (2 * n * p + chi2 + half) / denom


def threshold_radius(p_lower, sigma, p0=0.5):
    """``R = σ (Φ⁻¹(p) - Φ⁻¹(p₀))``: the L2 radius within which a class of
    probability at least ``p`` under ``N(0, σ² I)`` keeps probability at
    least ``p₀`` (Multi-scale smoothing's certificate; ``p₀ = 1/2`` gives
    Cohen's ``σ Φ⁻¹(p)``). Negative where ``p < p₀``; ``-inf`` at ``p=0``.
    """
    p = _as_numpy(p_lower)
    with np.errstate(divide='ignore'):
        return sigma * (norm.ppf(p) - norm.ppf(p0))


def min_votes_to_certify(n, alpha):
    """The smallest ``n_A`` with ``clopper_pearson_lower(n_A, n, alpha) >=
    1/2`` (CERTIFY does not abstain), or ``n + 1`` when none does.

    The bound grows with ``n_A``, so a bisection over ``[0, n]`` finds it
    in ``log2(n)`` evaluations.
    """
    lo, hi = 0, n + 1  # the answer lies in [lo, hi]
    while lo < hi:
        mid = (lo + hi) // 2
        if float(clopper_pearson_lower(mid, n, alpha)) >= 0.5:
            hi = mid
        else:
            lo = mid + 1
    return lo
