"""Kernels and kernel sums against the float64 NumPy reference and autodiff; bad kernel
parameters."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows.kernels.distances import squared_distances

import numpy_reference as ref
from cases import KERNELS, rel_err, samples


@pytest.mark.parametrize("case", KERNELS)
def test_kernel_matrix_matches_numpy(case):
    kernel, name, params = KERNELS[case]
    x, y, _ = samples(0, 17, 11, 1)
    expected = ref.kernel_values(name, params, ref.pairwise_differences(x, y))
    np.testing.assert_allclose(flows.kernels.kernel_matrix(kernel, x, y), expected, rtol=1e-10, atol=1e-12)
    # the pointwise definition agrees with the matrix form
    np.testing.assert_allclose(kernel(x[3], y[5]), expected[3, 5], rtol=1e-12)


def test_non_radial_kernel_falls_back_to_autodiff():
    """A user kernel that only defines __call__ gets Gram and gradient sums from vmap/grad."""

    class Polynomial(flows.kernels.AbstractKernel):
        def __call__(self, a, b):
            return (a @ b + 1.0) ** 2

    x, y, z = samples(4, 8, 6, 5)
    k = Polynomial()
    gram = (np.asarray(z) @ np.asarray(x).T + 1) ** 2
    np.testing.assert_allclose(flows.kernels.kernel_matrix(k, z, x), gram, rtol=1e-12)
    # grad_z (z.x + 1)^2 = 2 (z.x + 1) x
    expected = (2 * (np.asarray(z) @ np.asarray(x).T + 1)) @ np.asarray(x) / 8 - (
        2 * (np.asarray(z) @ np.asarray(y).T + 1)
    ) @ np.asarray(y) / 6
    assert rel_err(flows.discrepancies.witness_grad(z, x, y, k), expected) < 1e-12
    # grad_a grad_b (a.b + 1)^2 v = 2 b (a.v) + 2 (a.b + 1) v
    v = np.asarray(jax.random.normal(jax.random.PRNGKey(3), y.shape))
    zn, yn = np.asarray(z), np.asarray(y)
    hess = sum(
        2 * np.outer(zn @ v[j], yn[j]) + 2 * (zn @ yn[j] + 1)[:, None] * v[j][None] for j in range(len(yn))
    )
    assert rel_err(flows.kernels.kernel_hessian_sum(k, z, y, v), hess) < 1e-12


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
    assert flows.kernels.median_bandwidth(x, y) == pytest.approx(np.median(d), rel=1e-10)
    assert flows.kernels.median_bandwidth(x) == pytest.approx(
        np.median(np.sqrt(((np.asarray(x)[:, None] - np.asarray(x)[None]) ** 2).sum(-1))[np.triu_indices(60, k=1)]),
        rel=1e-10,
    )


def test_bandwidth_is_a_traced_leaf():
    """Kernels are pytrees: d MMD^2 / d sigma by autodiff matches a central finite difference."""
    x, y, _ = samples(8, 30, 30, 1)
    f = lambda s: flows.discrepancies.mmd2(x, y, flows.kernels.GaussianKernel(s))
    h = 1e-5
    fd = (f(1.2 + h) - f(1.2 - h)) / (2 * h)
    np.testing.assert_allclose(jax.grad(f)(1.2), fd, rtol=1e-6)
    np.testing.assert_allclose(jax.vmap(f)(jnp.array([0.5, 1.2])), [f(0.5), f(1.2)], rtol=1e-12)


@pytest.mark.parametrize("case", KERNELS)
def test_kernel_hessian_sum_matches_autodiff(case):
    """sum_j grad_x grad_y k(x_i, y_j) v_j against jax.jacfwd(jax.grad) of the pointwise kernel."""
    kernel, _, _ = KERNELS[case]
    x, y, _ = samples(9, 7, 6, 1)
    v = jax.random.normal(jax.random.PRNGKey(10), y.shape)
    mixed = jax.jacfwd(jax.grad(lambda a, b: kernel(a, b), argnums=0), argnums=1)
    expected = np.array([sum(np.asarray(mixed(x[i], y[j])) @ np.asarray(v[j]) for j in range(6)) for i in range(7)])
    assert rel_err(flows.kernels.kernel_hessian_sum(kernel, x, y, v), expected) < 1e-10
    # the profile's second derivative agrees with autodiff of its first
    s = jnp.array([0.3, 1.7, 4.0])
    np.testing.assert_allclose(kernel.profile_second_derivative(s), jax.vmap(jax.grad(kernel.profile_grad))(s), rtol=1e-10)


K = flows.kernels.GaussianKernel(1.0)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: flows.kernels.GaussianKernel(0.0), "`bandwidth` must be a finite positive number"),
        (lambda: flows.kernels.GaussianKernel(-1.0), "`bandwidth` must be a finite positive number"),
        (lambda: flows.kernels.GaussianKernel(float("nan")), "`bandwidth` must be a finite positive number"),
        (lambda: flows.kernels.GaussianKernel(True), r"`bandwidth` must be a finite positive number, got True \(a bool\)"),
        (lambda: flows.kernels.LaplaceKernel(0.0), "`bandwidth`"),
        (lambda: flows.kernels.IMQKernel(scale=0.0), "`scale`"),
        (lambda: flows.kernels.IMQKernel(exponent=0.5), "`exponent` must be negative"),
        (lambda: flows.kernels.EnergyKernel(2.0), r"`exponent` must lie in \(0.0, 2.0\)"),
        (lambda: flows.kernels.EnergyKernel(0.0), "`exponent`"),
        (lambda: flows.kernels.SumKernel([]), "`kernels`"),
        (lambda: flows.kernels.SumKernel([K], weights=[1.0, 2.0]), "`weights` must have one entry per kernel"),
        (lambda: flows.kernels.SumKernel([K], weights=[-1.0]), r"`weights\[0\]`"),
    ],
)
def test_bad_kernel_parameters(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_median_bandwidth_of_coincident_points_is_refused():
    with pytest.raises(ValueError, match="all points coincide"):
        flows.kernels.median_bandwidth(jnp.ones((4, 2)))
