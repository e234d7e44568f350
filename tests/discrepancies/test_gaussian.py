"""Closed forms for Gaussians: the kernel expectation against quadrature, population MMD² against
U- and V-statistics, W₂ and KL against large samples and exact assignments; bad covariances."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.stats import multivariate_normal

import flows

K = flows.kernels.GaussianKernel(1.0)


def _random_spd(key, d):
    a = jax.random.normal(key, (d, d))
    return np.asarray(a @ a.T / d + 0.3 * jnp.eye(d))


class TestPopulationMMD:
    """Population MMD^2 of Gaussians vs U- and V-statistics: the closed form
    E exp(-|Z|^2/(2 s^2)) = det(I + S/s^2)^(-1/2) exp(-m^T (S + s^2 I)^(-1) m / 2), Z ~ N(m, S), with
    X - X' ~ N(0, 2 S1) and X - Y ~ N(m1 - m2, S1 + S2)."""

    m1, m2 = np.array([0.0, 0.0]), np.array([1.0, -0.5])
    s1 = np.array([[1.0, 0.3], [0.3, 0.5]])
    s2 = np.array([[2.0, 0.0], [0.0, 0.0]])  # singular: a low-rank Gaussian
    kernel = flows.kernels.GaussianKernel(1.5)

    def draw(self, key, n):
        kx, ky = jax.random.split(key)
        x = jax.random.multivariate_normal(kx, self.m1, self.s1, (n,))
        y = self.m2 + jax.random.normal(ky, (n, 2)) * np.sqrt(np.diag(self.s2))
        return x, y

    def test_closed_form_expectation_matches_quadrature(self):
        """E exp(-|Z|^2/(2 s^2)) by the closed form vs Gauss-Hermite quadrature, full and rank-1 S."""
        g, w = np.polynomial.hermite_e.hermegauss(80)
        w = w / w.sum()
        sigma = 1.5
        # rank-1 covariance S = v v^T: Z = m + v g, g ~ N(0, 1)
        m, v = np.array([0.4, -1.0]), np.array([1.2, 0.5])
        z = m[None] + g[:, None] * v[None]
        quad = np.sum(w * np.exp(-(z**2).sum(1) / (2 * sigma**2)))
        got = flows.discrepancies.gaussian_kernel_expectation(m, np.outer(v, v), sigma)
        np.testing.assert_allclose(got, quad, rtol=1e-12)
        # full covariance via its Cholesky factor and a tensor grid
        L = np.linalg.cholesky(self.s1)
        g1, g2 = np.meshgrid(g, g, indexing="ij")
        pts = m[None] + np.stack([g1.ravel(), g2.ravel()], 1) @ L.T
        quad = np.sum(np.outer(w, w).ravel() * np.exp(-(pts**2).sum(1) / (2 * sigma**2)))
        np.testing.assert_allclose(flows.discrepancies.gaussian_kernel_expectation(m, self.s1, sigma), quad, rtol=1e-12)

    def test_u_and_v_statistics_converge_to_closed_form(self):
        exact = float(flows.discrepancies.gaussian_mmd2(self.m1, self.s1, self.m2, self.s2, self.kernel))
        n, reps = 1500, 8
        u, v = [], []
        for key in jax.random.split(jax.random.PRNGKey(11), reps):
            x, y = self.draw(key, n)
            u.append(float(flows.discrepancies.mmd2(x, y, self.kernel, unbiased=True)))
            v.append(float(flows.discrepancies.mmd2(x, y, self.kernel)))
        u, v = np.array(u), np.array(v)
        se = u.std(ddof=1) / np.sqrt(reps)  # standard error of the mean of the replicates
        # U is unbiased: its mean is within 4 standard errors of the population value
        assert abs(u.mean() - exact) < 4 * se
        # V has a known bias: (1/n)(k(0) - E k(X,X')) + (1/n)(k(0) - E k(Y,Y'))
        zero = np.zeros(2)
        bias = (
            2.0
            - float(flows.discrepancies.gaussian_kernel_expectation(zero, 2 * self.s1, 1.5))
            - float(flows.discrepancies.gaussian_kernel_expectation(zero, 2 * self.s2, 1.5))
        ) / n
        assert abs(v.mean() - (exact + bias)) < 4 * se
        # and the standard error is small enough for this to mean something
        assert se < 0.05 * exact

    def test_sum_of_gaussians_closed_form_adds_up(self):
        k = flows.kernels.SumKernel.gaussians([0.5, 2.0])
        parts = [flows.discrepancies.gaussian_mmd2(self.m1, self.s1, self.m2, self.s2, flows.kernels.GaussianKernel(b)) for b in (0.5, 2.0)]
        np.testing.assert_allclose(flows.discrepancies.gaussian_mmd2(self.m1, self.s1, self.m2, self.s2, k), sum(parts), rtol=1e-14)


def test_gaussian_w2_in_1d_matches_the_quantile_coupling_of_large_samples():
    # in 1-D the optimal coupling is monotone: W2^2 = E (F^-1(U) - G^-1(U))^2 on sorted samples
    n = 200_000
    x = np.sort(1.0 + 0.5 * np.asarray(jax.random.normal(jax.random.PRNGKey(1), (n,))))
    y = np.sort(-2.0 + 2.0 * np.asarray(jax.random.normal(jax.random.PRNGKey(2), (n,))))
    sample = np.sqrt(np.mean((x - y) ** 2))
    exact = float(flows.discrepancies.gaussian_w2([1.0], [[0.25]], [-2.0], [[4.0]]))
    assert exact == pytest.approx(np.sqrt(9.0 + 1.5**2), rel=1e-12)  # |m1 - m2|^2 + (s1 - s2)^2 in 1-D
    assert sample == pytest.approx(exact, rel=5e-3)



def test_gaussian_w2_in_3d_matches_the_exact_assignment_of_samples():
    d, n = 3, 1200
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(3), 4)
    s1, s2 = _random_spd(k1, d), _random_spd(k2, d)
    m1, m2 = np.zeros(d), np.array([2.0, -1.0, 0.5])
    x = np.random.default_rng(0).multivariate_normal(m1, s1, n)
    y = np.random.default_rng(1).multivariate_normal(m2, s2, n)
    cost = ((x[:, None] - y[None]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    sample = np.sqrt(cost[rows, cols].mean())
    exact = float(flows.discrepancies.gaussian_w2(m1, s1, m2, s2))
    assert sample == pytest.approx(exact, rel=3e-2)  # sampling error of W2 with n = 1200 in 3-D
    # identities: W2(mu, mu) = 0; a pure shift costs |m1 - m2|
    assert float(flows.discrepancies.gaussian_w2(m1, s1, m1, s1)) == pytest.approx(0.0, abs=1e-6)
    assert float(flows.discrepancies.gaussian_w2(m1, s1, m2, s1)) == pytest.approx(np.linalg.norm(m2 - m1), rel=1e-10)



def test_gaussian_kl_matches_a_monte_carlo_estimate():
    d, n = 3, 400_000
    k1, k2 = jax.random.split(jax.random.PRNGKey(4))
    s1, s2 = _random_spd(k1, d), _random_spd(k2, d)
    m1, m2 = np.array([0.5, 0.0, -0.5]), np.array([1.0, 1.0, 0.0])
    x = np.random.default_rng(2).multivariate_normal(m1, s1, n)
    log_ratio = multivariate_normal(m1, s1).logpdf(x) - multivariate_normal(m2, s2).logpdf(x)
    standard_error = log_ratio.std() / np.sqrt(n)
    exact = float(flows.discrepancies.gaussian_kl(m1, s1, m2, s2))
    assert abs(log_ratio.mean() - exact) < 4 * standard_error
    assert float(flows.discrepancies.gaussian_kl(m1, s1, m1, s1)) == pytest.approx(0.0, abs=1e-10)


def test_closed_form_rejects_a_bad_covariance():
    with pytest.raises(ValueError, match="positive semi-definite"):
        flows.discrepancies.gaussian_mmd2(np.zeros(2), -np.eye(2), np.zeros(2), np.eye(2), K)
    with pytest.raises(ValueError, match="share a dimension"):
        flows.discrepancies.gaussian_mmd2(np.zeros(2), np.eye(2), np.zeros(3), np.eye(3), K)
    with pytest.raises(ValueError, match="GaussianKernel or a SumKernel"):
        flows.discrepancies.gaussian_mmd2(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2), flows.kernels.IMQKernel())
