"""Targets (flows.targets): samples, densities and scores against SciPy / NumPy references."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from flows import targets as T

KEY = jax.random.PRNGKey(0)


def test_gaussian_samples_log_prob_and_score():
    mean, cov = np.array([1.0, -2.0]), np.array([[2.0, 0.6], [0.6, 0.5]])
    target = T.Gaussian(mean, cov)
    n = 20_000
    x = np.asarray(target.sample(KEY, n))
    # sample mean within 5 standard errors; covariance entries within 5 standard errors
    assert np.all(np.abs(x.mean(0) - mean) < 5 * np.sqrt(np.diag(cov) / n))
    se_cov = np.sqrt((np.outer(np.diag(cov), np.diag(cov)) + cov**2) / n)
    assert np.all(np.abs(np.cov(x.T) - cov) < 5 * se_cov)
    z = x[:50]
    np.testing.assert_allclose(target.log_prob(z), stats.multivariate_normal(mean, cov).logpdf(z), rtol=1e-12)
    np.testing.assert_allclose(target.score(z), -(z - mean) @ np.linalg.inv(cov), rtol=1e-10, atol=1e-12)
    # the closed-form score equals autodiff of the log-density (the base-class route)
    autodiff = T.AbstractTarget.score(target, jnp.asarray(z))
    np.testing.assert_allclose(target.score(z), autodiff, rtol=1e-10, atol=1e-12)


def test_low_rank_gaussian_lives_on_its_subspace():
    """Factor form m + Az, z ~ N(0, I_1): samples on the line through m along A (to rounding), the
    variance along it |A|^2 (5 standard errors), covariance AA^T, no density (rank 1 < 3)."""
    factor = np.array([[1.0], [2.0], [-1.0]])
    target = T.Gaussian([1.0, 0.0, 0.0], factor=factor)
    x = np.asarray(target.sample(KEY, 5000)) - np.array([1.0, 0.0, 0.0])
    # every sample is a multiple of the factor's column: the component orthogonal to it is 0
    direction = factor[:, 0] / np.linalg.norm(factor)
    residual = x - np.outer(x @ direction, direction)
    assert np.abs(residual).max() < 1e-12
    assert abs(np.var(x @ direction) / np.linalg.norm(factor) ** 2 - 1) < 5 * np.sqrt(2 / 5000)
    np.testing.assert_allclose(target.covariance, factor @ factor.T)
    assert not target.has_density and target.rank == 1
    with pytest.raises(ValueError, match="no density"):
        target.log_prob(jnp.zeros((1, 3)))
    with pytest.raises(ValueError, match="singular"):
        target.score(jnp.zeros((1, 3)))


def test_gaussian_sampling_factor_is_fixed_by_the_construction():
    """sample(key, n) is exactly m + z L^T with z = jax.random.normal(key, (n, k)): L the Cholesky
    factor of a positive definite covariance, the spectral root V Lambda^(1/2) of a singular one
    (LL^T = S to rounding), the given factor in factor form (k = its columns)."""
    key, n = jax.random.PRNGKey(3), 7
    mean = np.array([1.0, -1.0])
    pd = T.Gaussian(mean, [[2.0, 0.6], [0.6, 0.5]])
    np.testing.assert_array_equal(pd.factor, np.linalg.cholesky(np.array([[2.0, 0.6], [0.6, 0.5]])))
    direction = np.array([1.0, 0.5]) / np.sqrt(1.25)
    singular = T.Gaussian(mean, 2.0 * np.outer(direction, direction))
    values, vectors = np.linalg.eigh(2.0 * np.outer(direction, direction))
    assert not singular.has_density and singular.rank == 1
    np.testing.assert_allclose(singular.factor @ singular.factor.T, singular.covariance, atol=1e-15)
    np.testing.assert_allclose(np.abs(singular.factor), np.abs(vectors * np.sqrt(np.clip(values, 0, None))), atol=1e-15)
    factor = T.Gaussian(mean, factor=[[1.0, 0.0, 2.0], [0.5, 1.0, 0.0]])
    assert factor.has_density and factor.rank == 2  # AA^T is positive definite: a density
    for target in (pd, singular, factor):
        z = jax.random.normal(key, (n, target.factor.shape[1]))
        np.testing.assert_array_equal(target.sample(key, n), target.mean + z @ target.factor.T)
    x = jnp.array([[0.3, 0.2]])
    np.testing.assert_allclose(factor.log_prob(x), stats.multivariate_normal(mean, factor.covariance).logpdf(x), rtol=1e-12)


def mixture_reference(z, means, stds, weights):
    dens = [w * stats.multivariate_normal(m, s**2 * np.eye(len(m))).pdf(z) for m, s, w in zip(means, stds, weights)]
    total = np.sum(dens, axis=0)
    score = sum(d[:, None] * (-(z - m) / s**2) for d, m, s in zip(dens, means, stds)) / total[:, None]
    return np.log(total), score


def test_mixture_log_prob_and_score_against_scipy():
    means, stds, weights = np.array([[0.0, 0.0], [3.0, 1.0], [-2.0, 2.0]]), np.array([1.0, 0.5, 2.0]), np.array([1.0, 2.0, 1.0])
    target = T.GaussianMixture(means, stds, weights)
    z = np.asarray(jax.random.normal(KEY, (40, 2))) * 3
    log_p, score = mixture_reference(z, means, stds, weights / weights.sum())
    np.testing.assert_allclose(target.log_prob(z), log_p, rtol=1e-10)
    np.testing.assert_allclose(target.score(z), score, rtol=1e-8, atol=1e-10)
    # component frequencies follow the weights (5 standard errors)
    x = np.asarray(target.sample(KEY, 20_000))
    nearest = np.argmin(((x[:, None] - means[None]) ** 2).sum(-1) / stds**2, axis=1)
    assert abs(np.mean(nearest == 1) - 0.5) < 0.05  # component 1 is narrow and well separated


def test_ring_and_symmetric_mixtures():
    ring = T.GaussianMixture.ring(modes=8, radius=4.0, std=0.1)
    np.testing.assert_allclose(np.linalg.norm(ring.means, axis=1), 4.0, rtol=1e-12)
    x = np.asarray(ring.sample(KEY, 8000))
    angles = np.round(np.arctan2(x[:, 1], x[:, 0]) / (2 * np.pi / 8)) % 8
    counts = np.bincount(angles.astype(int), minlength=8)
    assert np.all(np.abs(counts / 8000 - 1 / 8) < 5 * np.sqrt(1 / 8 * 7 / 8 / 8000))
    sym = T.GaussianMixture.symmetric([2.0, 0.0], std=1.0)
    np.testing.assert_allclose(sym.means, [[2.0, 0.0], [-2.0, 0.0]])
    z = jnp.array([[0.3, -0.2]])
    np.testing.assert_allclose(sym.log_prob(z), sym.log_prob(-z), rtol=1e-14)  # symmetric density


@pytest.mark.parametrize("target", [T.TwoMoons(0.01), T.Rings((1.0, 2.0), 0.01), T.Checkerboard(4), T.Spiral(2.0, 3.0, 0.01)])
def test_sample_only_targets_are_reproducible_and_have_their_shape(target):
    x = np.asarray(target.sample(KEY, 2000))
    assert x.shape == (2000, 2)
    np.testing.assert_array_equal(x, target.sample(KEY, 2000))
    assert not np.allclose(x, target.sample(jax.random.PRNGKey(1), 2000))
    assert not target.has_density
    if isinstance(target, T.TwoMoons):
        d_top = np.abs(np.linalg.norm(x, axis=1) - 1)
        d_bottom = np.abs(np.linalg.norm(x - [1.0, 0.5], axis=1) - 1)
        assert np.minimum(d_top, d_bottom).max() < 0.06  # 6 noise standard deviations
    elif isinstance(target, T.Rings):
        r = np.linalg.norm(x, axis=1)
        assert np.minimum(np.abs(r - 1), np.abs(r - 2)).max() < 0.06
        assert abs(np.mean(r < 1.5) - 0.5) < 0.06
    elif isinstance(target, T.Checkerboard):
        cells = np.floor(x + 2)
        assert np.all((cells >= 0) & (cells <= 3))
        assert np.all((cells[:, 0] + cells[:, 1]) % 2 == 0)
    else:
        assert np.linalg.norm(x, axis=1).max() < 3.0 + 0.06


def test_bad_target_arguments():
    with pytest.raises(ValueError, match="covariance must be symmetric positive semi-definite"):
        T.Gaussian([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="`covariance` must have shape"):
        T.Gaussian([0.0, 0.0], np.eye(3))
    with pytest.raises(ValueError, match="not both"):
        T.Gaussian([0.0, 0.0], np.eye(2), factor=np.eye(2))
    with pytest.raises(ValueError, match="`factor` must have shape"):
        T.Gaussian([0.0, 0.0], factor=np.ones((3, 1)))
    with pytest.raises(ValueError, match="concrete"):
        jax.jit(lambda m: T.Gaussian(m).dim)(jnp.zeros(2))
    with pytest.raises(ValueError, match="`n`"):
        T.Gaussian([0.0]).sample(KEY, 0)
    with pytest.raises(ValueError, match="`key`"):
        T.TwoMoons().sample(None, 10)
    with pytest.raises(ValueError, match="stds"):
        T.GaussianMixture([[0.0], [1.0]], [1.0, -1.0])
    with pytest.raises(ValueError, match="size"):
        T.Checkerboard(3)
