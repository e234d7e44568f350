"""Kernels, kernel sums, MMD, witness and its gradient against the float64 NumPy reference and
autodiff (MATH.md sections 1-2)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows.distances import squared_distances

import numpy_reference as ref

KERNELS = {
    "gaussian": (flows.GaussianKernel(1.3), "gaussian", {"bandwidth": 1.3}),
    "imq": (flows.IMQKernel(scale=0.7, exponent=-0.5), "imq", {"scale": 0.7, "exponent": -0.5}),
    "imq_beta": (flows.IMQKernel(scale=1.5, exponent=-1.5), "imq", {"scale": 1.5, "exponent": -1.5}),
    "laplace": (flows.LaplaceKernel(0.8), "laplace", {"bandwidth": 0.8}),
    "energy": (flows.EnergyKernel(1.0), "energy", {"exponent": 1.0}),
    "riesz_1.5": (flows.EnergyKernel(1.5), "energy", {"exponent": 1.5}),
    "sum": (
        flows.SumKernel([flows.GaussianKernel(0.5), flows.IMQKernel()], weights=[2.0, 0.5]),
        "sum",
        {"weights": [2.0, 0.5], "parts": [("gaussian", {"bandwidth": 0.5}), ("imq", {"scale": 1.0, "exponent": -0.5})]},
    ),
}


def samples(seed, n, m, k, d=3):
    kx, ky, kz = jax.random.split(jax.random.PRNGKey(seed), 3)
    x = jax.random.normal(kx, (n, d))
    y = 0.7 * jax.random.normal(ky, (m, d)) + 0.5
    z = 1.5 * jax.random.normal(kz, (k, d))
    return x, y, z


def rel_err(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


@pytest.mark.parametrize("case", KERNELS)
def test_kernel_matrix_matches_numpy(case):
    kernel, name, params = KERNELS[case]
    x, y, _ = samples(0, 17, 11, 1)
    expected = ref.kernel_values(name, params, ref.pairwise_differences(x, y))
    np.testing.assert_allclose(flows.kernel_matrix(kernel, x, y), expected, rtol=1e-10, atol=1e-12)
    # the pointwise definition agrees with the matrix form
    np.testing.assert_allclose(kernel(x[3], y[5]), expected[3, 5], rtol=1e-12)


@pytest.mark.parametrize("case", KERNELS)
def test_mmd2_matches_numpy(case):
    kernel, name, params = KERNELS[case]
    x, y, _ = samples(1, 40, 30, 1)
    for unbiased in (False, True):
        expected = ref.mmd2(name, params, np.asarray(x), np.asarray(y), unbiased=unbiased)
        np.testing.assert_allclose(flows.mmd2(x, y, kernel, unbiased=unbiased), expected, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", KERNELS)
def test_witness_and_gradient_match_numpy(case):
    kernel, name, params = KERNELS[case]
    x, y, z = samples(2, 25, 35, 9)
    np.testing.assert_allclose(flows.witness(z, x, y, kernel), ref.witness(name, params, z, x, y), rtol=1e-9, atol=1e-12)
    assert rel_err(flows.witness_grad(z, x, y, kernel), ref.witness_grad(name, params, z, x, y)) < 1e-9


@pytest.mark.parametrize("case", KERNELS)
def test_witness_grad_is_n_times_gradient_of_half_mmd2(case):
    """d/dx_i of (1/2) MMD^2 (V-statistic) = (1/N) grad f(x_i)  (MATH.md section 2)."""
    kernel, _, _ = KERNELS[case]
    x, y, _ = samples(3, 20, 15, 1)
    autodiff = x.shape[0] * jax.grad(lambda p: 0.5 * flows.mmd2(p, y, kernel))(x)
    assert rel_err(flows.witness_grad(x, x, y, kernel), autodiff) < 1e-5


def test_non_radial_kernel_falls_back_to_autodiff():
    """A user kernel that only defines __call__ gets Gram and gradient sums from vmap/grad."""

    class Polynomial(flows.AbstractKernel):
        def __call__(self, a, b):
            return (a @ b + 1.0) ** 2

    x, y, z = samples(4, 8, 6, 5)
    k = Polynomial()
    gram = (np.asarray(z) @ np.asarray(x).T + 1) ** 2
    np.testing.assert_allclose(flows.kernel_matrix(k, z, x), gram, rtol=1e-12)
    # grad_z (z.x + 1)^2 = 2 (z.x + 1) x
    expected = (2 * (np.asarray(z) @ np.asarray(x).T + 1)) @ np.asarray(x) / 8 - (
        2 * (np.asarray(z) @ np.asarray(y).T + 1)
    ) @ np.asarray(y) / 6
    assert rel_err(flows.witness_grad(z, x, y, k), expected) < 1e-12
    # grad_a grad_b (a.b + 1)^2 v = 2 b (a.v) + 2 (a.b + 1) v
    v = np.asarray(jax.random.normal(jax.random.PRNGKey(3), y.shape))
    zn, yn = np.asarray(z), np.asarray(y)
    hess = sum(
        2 * np.outer(zn @ v[j], yn[j]) + 2 * (zn @ yn[j] + 1)[:, None] * v[j][None] for j in range(len(yn))
    )
    assert rel_err(flows.kernel_hessian_sum(k, z, y, v), hess) < 1e-12


def test_energy_distance_is_the_textbook_formula():
    x, y, _ = samples(5, 30, 20, 1)
    d = lambda a, b: np.sqrt(((np.asarray(a)[:, None] - np.asarray(b)[None]) ** 2).sum(-1))
    expected = 2 * d(x, y).mean() - d(x, x).mean() - d(y, y).mean()
    np.testing.assert_allclose(flows.energy_distance(x, y), expected, rtol=1e-10)


def test_squared_distances_are_accurate_in_float32_far_from_origin():
    """Centring keeps the matrix expansion accurate for clouds far from 0 (e.g. N(10, 0.5))."""
    x, y, _ = samples(6, 50, 40, 1, d=2)
    x32 = (x * 0.5 + 1000.0).astype(jnp.float32)
    y32 = (y + 1000.0).astype(jnp.float32)
    exact = (ref.pairwise_differences(np.asarray(x32, np.float64), np.asarray(y32, np.float64)) ** 2).sum(-1)
    got = np.asarray(squared_distances(x32, y32), np.float64)
    assert np.max(np.abs(got - exact)) < 1e-3 * exact.max()
    # coincident points give exactly 0, so singular kernels see x = y
    assert np.all(np.diag(np.asarray(squared_distances(x32, x32))) == 0)


def test_median_bandwidth_matches_numpy():
    x, y, _ = samples(7, 60, 50, 1)
    pooled = np.concatenate([np.asarray(x), np.asarray(y)])
    d = np.sqrt(((pooled[:, None] - pooled[None]) ** 2).sum(-1))[np.triu_indices(110, k=1)]
    assert flows.median_bandwidth(x, y) == pytest.approx(np.median(d), rel=1e-10)
    assert flows.median_bandwidth(x) == pytest.approx(
        np.median(np.sqrt(((np.asarray(x)[:, None] - np.asarray(x)[None]) ** 2).sum(-1))[np.triu_indices(60, k=1)]),
        rel=1e-10,
    )


def test_bandwidth_is_a_traced_leaf():
    """Kernels are pytrees: d MMD^2 / d sigma by autodiff matches a central finite difference."""
    x, y, _ = samples(8, 30, 30, 1)
    f = lambda s: flows.mmd2(x, y, flows.GaussianKernel(s))
    h = 1e-5
    fd = (f(1.2 + h) - f(1.2 - h)) / (2 * h)
    np.testing.assert_allclose(jax.grad(f)(1.2), fd, rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(f)(jnp.array([0.5, 1.2])), [f(0.5), f(1.2)], rtol=1e-12)


class TestPopulationMMD:
    """Population MMD^2 of Gaussians (closed form, MATH.md section 2) vs U- and V-statistics."""

    m1, m2 = np.array([0.0, 0.0]), np.array([1.0, -0.5])
    s1 = np.array([[1.0, 0.3], [0.3, 0.5]])
    s2 = np.array([[2.0, 0.0], [0.0, 0.0]])  # singular: a low-rank Gaussian
    kernel = flows.GaussianKernel(1.5)

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
        got = flows.gaussian_kernel_expectation(m, np.outer(v, v), sigma)
        np.testing.assert_allclose(got, quad, rtol=1e-12)
        # full covariance via its Cholesky factor and a tensor grid
        L = np.linalg.cholesky(self.s1)
        g1, g2 = np.meshgrid(g, g, indexing="ij")
        pts = m[None] + np.stack([g1.ravel(), g2.ravel()], 1) @ L.T
        quad = np.sum(np.outer(w, w).ravel() * np.exp(-(pts**2).sum(1) / (2 * sigma**2)))
        np.testing.assert_allclose(flows.gaussian_kernel_expectation(m, self.s1, sigma), quad, rtol=1e-12)

    def test_u_and_v_statistics_converge_to_closed_form(self):
        exact = float(flows.gaussian_mmd2(self.m1, self.s1, self.m2, self.s2, self.kernel))
        n, reps = 1500, 8
        u, v = [], []
        for key in jax.random.split(jax.random.PRNGKey(11), reps):
            x, y = self.draw(key, n)
            u.append(float(flows.mmd2(x, y, self.kernel, unbiased=True)))
            v.append(float(flows.mmd2(x, y, self.kernel)))
        u, v = np.array(u), np.array(v)
        se = u.std(ddof=1) / np.sqrt(reps)  # standard error of the mean of the replicates
        # U is unbiased: its mean is within 4 standard errors of the population value
        assert abs(u.mean() - exact) < 4 * se
        # V has a known bias: (1/n)(k(0) - E k(X,X')) + (1/n)(k(0) - E k(Y,Y'))
        zero = np.zeros(2)
        bias = (
            2.0
            - float(flows.gaussian_kernel_expectation(zero, 2 * self.s1, 1.5))
            - float(flows.gaussian_kernel_expectation(zero, 2 * self.s2, 1.5))
        ) / n
        assert abs(v.mean() - (exact + bias)) < 4 * se
        # and the standard error is small enough for this to mean something
        assert se < 0.05 * exact

    def test_sum_of_gaussians_closed_form_adds_up(self):
        k = flows.SumKernel.gaussians([0.5, 2.0])
        parts = [flows.gaussian_mmd2(self.m1, self.s1, self.m2, self.s2, flows.GaussianKernel(b)) for b in (0.5, 2.0)]
        np.testing.assert_allclose(flows.gaussian_mmd2(self.m1, self.s1, self.m2, self.s2, k), sum(parts), rtol=1e-14)


@pytest.mark.parametrize("case", KERNELS)
def test_kernel_hessian_sum_matches_autodiff(case):
    """sum_j grad_x grad_y k(x_i, y_j) v_j against jax.jacfwd(jax.grad) of the pointwise kernel."""
    kernel, _, _ = KERNELS[case]
    x, y, _ = samples(9, 7, 6, 1)
    v = jax.random.normal(jax.random.PRNGKey(10), y.shape)
    mixed = jax.jacfwd(jax.grad(lambda a, b: kernel(a, b), argnums=0), argnums=1)
    expected = np.array([sum(np.asarray(mixed(x[i], y[j])) @ np.asarray(v[j]) for j in range(6)) for i in range(7)])
    assert rel_err(flows.kernel_hessian_sum(kernel, x, y, v), expected) < 1e-10
    # the profile's second derivative agrees with autodiff of its first
    s = jnp.array([0.3, 1.7, 4.0])
    np.testing.assert_allclose(kernel.profile_second_derivative(s), jax.vmap(jax.grad(kernel.profile_grad))(s), rtol=1e-10)
