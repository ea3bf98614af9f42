import numpy as np
import pytest
import torch

from rgl.evaluation.generation import feature_statistics, frechet_distance
from rgl.utils.errors import DataError


def test_statistics_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))
    mu, sigma = feature_statistics(torch.from_numpy(x).float())
    np.testing.assert_allclose(mu, x.mean(0), atol=1e-6)
    np.testing.assert_allclose(sigma, np.cov(x, rowvar=False), atol=1e-5)


def test_hand_computed_diagonal():
    # Diagonal covariances commute: sqrt(S1 S2) = diag(sqrt(a b)).
    mu1, mu2 = np.array([0., 1.]), np.array([3., -1.])
    a, b = np.array([4., 9.]), np.array([1., 16.])
    expected = (9 + 4) + (4 + 9) + (1 + 16) - 2 * (2 + 12)
    d = frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert d == pytest.approx(expected, abs=1e-9)  # 15


def test_1d_closed_form_and_identity():
    # 1-D: (m1-m2)^2 + (s1 - s2)^2
    d = frechet_distance([1.0], [[4.0]], [-2.0], [[1.0]])
    assert d == pytest.approx(9 + 1, abs=1e-9)
    rng = np.random.default_rng(1)
    mu, sigma = feature_statistics(rng.normal(size=(100, 8)))
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0, abs=1e-6)


def test_full_covariance_against_eigendecomposition():
    rng = np.random.default_rng(2)
    mu1, s1 = feature_statistics(rng.normal(size=(200, 5)))
    mu2, s2 = feature_statistics(rng.normal(size=(200, 5)) @ rng.normal(
        size=(5, 5)) + 1)
    # Tr((S1 S2)^1/2) = sum sqrt(eig(S1 S2)) (real, non-negative eigenvalues)
    tr = np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)).sum()
    expected = ((mu1 - mu2)**2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(
        expected, rel=1e-6)


def test_bad_shapes():
    with pytest.raises(DataError, match='mean shapes'):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3))
    with pytest.raises(DataError, match=r'\(N, D\)'):
        feature_statistics(np.zeros(5))


def test_eigh_method_matches_sqrtm():
    rng = np.random.default_rng(3)
    mu1, s1 = feature_statistics(rng.normal(size=(300, 20)))
    mu2, s2 = feature_statistics(rng.normal(size=(300, 20)) @ rng.normal(
        size=(20, 20)))
    assert frechet_distance(mu1, s1, mu2, s2, method='eigh') == \
        pytest.approx(frechet_distance(mu1, s1, mu2, s2), rel=1e-8)
    with pytest.raises(ValueError, match='method'):
        frechet_distance(mu1, s1, mu2, s2, method='svd')


def test_encoder_frechet_distance():
    from rgl.evaluation.generation import (encoder_features,
                                           encoder_frechet_distance)

    class MeanTokens(torch.nn.Module):  # tokens = 4 pixel quadrants
        def forward(self, x):
            n = x.shape[0]
            return x.reshape(n, x.shape[1], 2, 4, 2, 4).permute(
                0, 2, 4, 1, 3, 5).reshape(n, 4, -1)

    torch.manual_seed(0)
    real = torch.rand(64, 1, 8, 8)
    enc = MeanTokens()
    feats = encoder_features(enc, real, batch_size=10)
    torch.testing.assert_close(feats.float(), enc(real).mean(1))
    assert encoder_frechet_distance(enc, real, real) == pytest.approx(
        0, abs=1e-6)
    shifted = (real + 0.5).clamp(0, 1)
    mu1, s1 = feature_statistics(feats)
    mu2, s2 = feature_statistics(encoder_features(enc, shifted))
    assert encoder_frechet_distance(enc, real, shifted) == pytest.approx(
        frechet_distance(mu1, s1, mu2, s2)) and \
        encoder_frechet_distance(enc, real, shifted) > 0.1
    as_uint8 = (real * 255).round().to(torch.uint8)
    assert encoder_frechet_distance(enc, real, as_uint8) < 1e-3
