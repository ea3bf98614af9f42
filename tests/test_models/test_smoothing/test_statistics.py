import numpy as np
import pytest
from scipy.stats import beta, binomtest, norm

from rgl.models.smoothing import (binomial_two_sided_pvalue,
                                  certified_radius, clopper_pearson_lower,
                                  clopper_pearson_upper)


@pytest.mark.parametrize('n_a,n,alpha', [(0, 100, 0.001), (1, 100, 0.001),
                                         (50, 100, 0.05), (99, 100, 0.001),
                                         (100, 100, 0.001),
                                         (99_000, 100_000, 0.001)])
def test_clopper_pearson_matches_beta_quantiles(n_a, n, alpha):
    lower = clopper_pearson_lower(n_a, n, alpha)
    upper = clopper_pearson_upper(n_a, n, alpha)
    want_lo = 0.0 if n_a == 0 else beta.ppf(alpha, n_a, n - n_a + 1)
    want_up = 1.0 if n_a == n else beta.ppf(1 - alpha, n_a + 1, n - n_a)
    assert lower == pytest.approx(want_lo, rel=1e-12, abs=1e-15)
    assert upper == pytest.approx(want_up, rel=1e-12, abs=1e-15)
    assert lower <= n_a / n <= upper


def test_clopper_pearson_all_successes_closed_form():
    # n_A = n: the lower bound solves p^n = alpha
    assert clopper_pearson_lower(100, 100, 0.001) == pytest.approx(
        0.001**(1 / 100))


def test_clopper_pearson_vectorised():
    n_a = np.array([10, 60, 95])
    got = clopper_pearson_lower(n_a, 100, 0.01)
    want = [clopper_pearson_lower(int(a), 100, 0.01) for a in n_a]
    np.testing.assert_allclose(got, want)


def test_radius_formula():
    p = np.array([0.3, 0.5, 0.8413447460685429, 0.99])
    r = certified_radius(p, 0.5)
    np.testing.assert_allclose(r, [0, 0, 0.5, 0.5 * norm.ppf(0.99)],
                               atol=1e-9)
    # σ/2 (Φ⁻¹(p_A) − Φ⁻¹(1 − p_A)) is the same number
    np.testing.assert_allclose(
        r[3], 0.25 * (norm.ppf(0.99) - norm.ppf(0.01)), rtol=1e-12)


def test_binomial_pvalue_matches_scipy():
    got = binomial_two_sided_pvalue([60, 7, 0], [40, 3, 0])
    assert got[0] == pytest.approx(binomtest(60, 100, 0.5).pvalue)
    assert got[1] == pytest.approx(binomtest(7, 10, 0.5).pvalue)
    assert got[2] == 1.0
