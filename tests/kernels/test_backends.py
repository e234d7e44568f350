"""Every kernel-sum backend against the dense float64 NumPy reference, within its stated error
(issue 3): exact backends to rounding, approximate ones as exact sums of their own kernel
(k_P, k_D) plus a measured Monte-Carlo rate 1/sqrt(P), 1/sqrt(D) toward the true kernel."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows.kernels.backends import (
    BlockedSums,
    RandomFeatureApproximation,
    SlicedRieszApproximation,
)

import numpy_reference as ref

KERNELS = {
    "gaussian": (flows.kernels.GaussianKernel(1.3), "gaussian", {"bandwidth": 1.3}),
    "imq": (flows.kernels.IMQKernel(scale=0.7, exponent=-1.5), "imq", {"scale": 0.7, "exponent": -1.5}),
    "laplace": (flows.kernels.LaplaceKernel(0.8), "laplace", {"bandwidth": 0.8}),
    "energy": (flows.kernels.EnergyKernel(1.0), "energy", {"exponent": 1.0}),
}
# odd tile sizes, so the padded last row and column blocks are exercised
EXACT = {"dense": "dense", "blocked": "blocked", "auto": "auto", "blocked_7x13": BlockedSums(row_block=7, col_block=13)}


def clouds(seed, n=37, m=29, d=3):
    kx, ky, kw = jax.random.split(jax.random.PRNGKey(seed), 3)
    x = jax.random.normal(kx, (n, d))
    y = 0.8 * jax.random.normal(ky, (m, d)) + 0.4
    # some targets coincide with particles: the singular kernels' defined value at x = y is used
    y = y.at[:3].set(x[:3])
    return x, y, jax.random.normal(kw, (m, 2))


EXACT_CASES = [("blocked_7x13", case) for case in KERNELS] + [(b, "gaussian") for b in ("dense", "blocked", "auto")]


@pytest.mark.parametrize("backend, case", EXACT_CASES)
def test_exact_backends_match_numpy(backend, case):
    """dense, blocked (padded tiles) and auto: sums, weighted sums (1-D and 2-D weights), gradient
    sums and the one-pass values-and-gradients (each with its own weights) equal the float64 NumPy
    reference to 1e-10 relative."""
    kernel, name, params = KERNELS[case]
    b = EXACT[backend]
    x, y, w = clouds(0)
    gram = ref.kernel_values(name, params, ref.pairwise_differences(x, y))
    grads = ref.kernel_gradients(name, params, ref.pairwise_differences(x, y))
    np.testing.assert_allclose(flows.kernels.kernel_sum(kernel, x, y, backend=b), gram.sum(1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(flows.kernels.kernel_sum(kernel, x, y, w, backend=b), gram @ np.asarray(w), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        flows.kernels.kernel_grad_sum(kernel, x, y, w[:, 0], backend=b), np.einsum("nmd,m->nd", grads, w[:, 0]), rtol=1e-10, atol=1e-12
    )
    values, value_grads = flows.kernels.kernel_value_grad_sum(kernel, x, y, w[:, 0], w[:, 1], backend=b)
    np.testing.assert_allclose(values, gram @ np.asarray(w[:, 0]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(value_grads, np.einsum("nmd,m->nd", grads, w[:, 1]), rtol=1e-10, atol=1e-12)
    if case != "energy":  # the Riesz Hessian is singular at x = y
        vectors = jnp.stack([w[:, 0], w[:, 1], w[:, 0] * w[:, 1]], axis=1)
        np.testing.assert_allclose(
            flows.kernels.kernel_hessian_sum(kernel, x, y, vectors, backend=b),
            flows.kernels.kernel_hessian_sum(kernel, x, y, vectors, backend="dense"),
            rtol=1e-10, atol=1e-12,
        )


def test_blocked_gradients_equal_dense_gradients():
    """Reverse-mode through the blocked sum (checkpointed tiles) equals reverse-mode through the
    dense one, for the particles and for a traced bandwidth."""
    x, y, w = clouds(1, n=50, m=45)

    def loss(x, bandwidth, backend):
        k = flows.kernels.GaussianKernel(bandwidth)
        return jnp.sum(flows.kernels.kernel_grad_sum(k, x, y, w[:, 0], backend=backend) ** 2) + jnp.sum(
            flows.kernels.kernel_sum(k, x, y, backend=backend) ** 2
        )

    dense = jax.grad(loss, argnums=(0, 1))(x, 1.1, "dense")
    blocked = jax.grad(loss, argnums=(0, 1))(x, 1.1, BlockedSums(row_block=16, col_block=8))
    for a, b in zip(blocked, dense):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def _temp_bytes(fn, *args) -> int:
    return jax.jit(fn).lower(*args).compile().memory_analysis().temp_size_in_bytes


def test_blocked_memory_is_linear_forward_and_backward():
    """XLA's own memory analysis of the compiled programs: the blocked witness gradient, and the
    gradient of a loss through it (checkpointed tiles), need scratch that grows ~linearly in N
    (x 4 points: < x 6; an N x M matrix would grow x 16) and stays < 1/16 of one N x M float64
    matrix at N = M = 8192 (512 MiB); the dense step needs more than that matrix."""
    kernel = flows.kernels.GaussianKernel(1.0)

    def scratch(n, backend, backward):
        x, y, _ = clouds(2, n=n, m=n, d=2)
        step = lambda x: flows.discrepancies.witness_grad(x, x, y, kernel, backend=backend)
        fn = jax.grad(lambda x: jnp.sum(step(x) ** 2)) if backward else step
        return _temp_bytes(fn, x)

    for backward in (False, True):
        small, large = scratch(2048, "blocked", backward), scratch(8192, "blocked", backward)
        assert large < 6 * small, (backward, small, large)
        assert large < 8192 * 8192 * 8 / 16, (backward, large)
    assert scratch(2048, "dense", False) > 2048 * 2048 * 8


def test_blocked_float32_stays_float32():
    x, y, w = clouds(3)
    out = flows.kernels.kernel_grad_sum(flows.kernels.GaussianKernel(1.0), x.astype(jnp.float32), y.astype(jnp.float32), backend="blocked")
    assert out.dtype == jnp.float32


@pytest.mark.parametrize("shift, tol", [(0.0, 2e-6), (1e3, 3e-4)])
def test_gaussian_tiles_in_float32(shift, tol):
    """The Gaussian tiles take their exponent from one augmented product (`GaussianKernel.exponent_tile`):
    in float32, with coinciding points, values, gradient and Hessian sums match the float64
    NumPy reference (on the same float32 inputs) to `tol` of their scale, and k(x, x) = 1 exactly.
    Near the origin the exponent is good to a few float32 ulps (tol 2e-6); clouds 1e3 away from
    it are centred first, which rounds each coordinate by up to half an ulp of 1e3 (3e-5), so
    unit-scale distances move by ~1e-4 (tol 3e-4)."""
    sigma = 0.9
    kernel = flows.kernels.GaussianKernel(sigma)
    x, y, w = clouds(4)
    x, y = x + shift, y + shift
    x32, y32, w32 = (a.astype(jnp.float32) for a in (x, y, w))
    diff = ref.pairwise_differences(np.asarray(x32, float), np.asarray(y32, float))
    gram = ref.kernel_values("gaussian", {"bandwidth": sigma}, diff)
    grads = ref.kernel_gradients("gaussian", {"bandwidth": sigma}, diff)
    # grad_x grad_y k = -2 phi'(s) I - 4 phi''(s) (x - y)(x - y)^T, phi' = -phi / (2 s^2), phi'' = phi / (4 s^4)
    vectors = np.asarray(w32, float)[:, :1] * np.ones((1, 3))
    hess = np.einsum("nm,md->nd", gram / sigma**2, vectors) - np.einsum(
        "nm,nmd,nme,me->nd", gram / sigma**4, diff, diff, vectors)
    for backend in ("dense", BlockedSums(row_block=7, col_block=13)):
        values = flows.kernels.kernel_sum(kernel, x32, y32, backend=backend)
        assert values.dtype == jnp.float32
        np.testing.assert_allclose(values, gram.sum(1), rtol=0, atol=tol * np.abs(gram.sum(1)).max())
        g = flows.kernels.kernel_grad_sum(kernel, x32, y32, w32[:, 0], backend=backend)
        expected = np.einsum("nmd,m->nd", grads, np.asarray(w32[:, 0], float))
        np.testing.assert_allclose(g, expected, rtol=0, atol=tol * np.abs(expected).max())
        h = flows.kernels.kernel_hessian_sum(kernel, x32, y32, jnp.asarray(vectors, jnp.float32), backend=backend)
        np.testing.assert_allclose(h, hess, rtol=0, atol=tol * np.abs(hess).max())
    diagonal = flows.kernels.kernel_sum(kernel, x32[:3], x32[:3][:1], backend="dense")
    assert diagonal[0] == 1.0 and bool(jnp.all(diagonal <= 1.0))


# --- sliced sums for the Riesz kernel --------------------------------------------------------


def sliced_reference(directions, x, y, weights):
    """Dense NumPy evaluation of k_P(x, y) = -(1/(c_d P)) sum_p |<xi_p, x - y>| and its gradient."""
    directions, x, y, weights = (np.asarray(a, float) for a in (directions, x, y, weights))
    d, p = x.shape[1], directions.shape[0]
    c_d = math.gamma(d / 2) / (math.sqrt(math.pi) * math.gamma((d + 1) / 2))
    proj = np.einsum("nmd,pd->nmp", ref.pairwise_differences(x, y), directions)  # <xi_p, x_i - y_j>
    values = -np.abs(proj).sum(-1) / (c_d * p) @ weights
    grads = -np.einsum("nmp,pd,m->nd", np.sign(proj), directions, weights) / (c_d * p)
    return values, grads


@pytest.mark.parametrize("weighted", [False, True])
def test_sliced_sums_are_exact_sums_of_the_sliced_kernel(weighted):
    """With the backend's own directions, the sort-and-count sums equal a dense evaluation of
    k_P to 1e-10 (ties at coincident points included: sign(0) = 0)."""
    x, y, w = clouds(4, d=5)
    backend = SlicedRieszApproximation(jax.random.PRNGKey(7), projections=33)
    weights = w[:, 0] if weighted else None
    values, grads = sliced_reference(backend.directions(5, x.dtype), x, y, np.ones(y.shape[0]) if weights is None else weights)
    kernel = flows.kernels.EnergyKernel(1.0)
    np.testing.assert_allclose(flows.kernels.kernel_sum(kernel, x, y, weights, backend=backend), values, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(flows.kernels.kernel_grad_sum(kernel, x, y, weights, backend=backend), grads, rtol=1e-10, atol=1e-12)


def test_sliced_gradient_converges_like_one_over_sqrt_p():
    """Relative error of the sliced witness gradient against the exact Riesz gradient, averaged over
    4 keys, for P = 16 .. 4096: log-log slope -0.5 +- 0.1, and below 0.1 at P = 1024 (d = 3)."""
    x, y, _ = clouds(5, n=200, m=150, d=3)
    kernel = flows.kernels.EnergyKernel(1.0)
    exact = np.asarray(flows.discrepancies.witness_grad(x, x, y, kernel))
    ps = np.array([16, 64, 256, 1024, 4096])
    errors = []
    for p in ps:
        errs = [
            np.linalg.norm(flows.discrepancies.witness_grad(x, x, y, kernel, backend=SlicedRieszApproximation(jax.random.PRNGKey(s), int(p))) - exact)
            / np.linalg.norm(exact)
            for s in range(4)
        ]
        errors.append(np.mean(errs))
    slope = np.polyfit(np.log(ps), np.log(errors), 1)[0]
    assert abs(slope + 0.5) < 0.1, (slope, errors)
    assert errors[3] < 0.1, errors


def test_sliced_witness_gradient_float64_and_float32():
    """witness_grad with the sliced backend equals (1/N) sum grad k_P(x_l, .) - (1/M) sum grad k_P(y_j, .)
    from the dense reference: to 1e-10 in float64, and to 1e-3 relative in float32 (int32 keys of
    float32 projections; near-ties may flip)."""
    x, y, _ = clouds(6, n=300, m=200, d=4)
    backend = SlicedRieszApproximation(jax.random.PRNGKey(0), projections=64)
    kernel = flows.kernels.EnergyKernel(1.0)
    for dtype, rtol in ((jnp.float64, 1e-10), (jnp.float32, 1e-3)):
        xs, ys = x.astype(dtype), y.astype(dtype)
        got = flows.discrepancies.witness_grad(xs, xs, ys, kernel, backend=backend)
        assert got.dtype == dtype
        dirs = backend.directions(4, dtype)
        expected = sliced_reference(dirs, xs, xs, np.ones(300))[1] / 300 - sliced_reference(dirs, xs, ys, np.ones(200))[1] / 200
        assert np.linalg.norm(np.asarray(got, float) - expected) < rtol * np.linalg.norm(expected)


# --- random Fourier features -----------------------------------------------------------------


def features_reference(omegas, amplitudes, x, y, weights):
    """Dense NumPy evaluation of k_D(x, y) = sum_l a_l cos<omega_l, x - y> and its gradient."""
    omegas, amplitudes, weights = (np.asarray(a, float) for a in (omegas, amplitudes, weights))
    angles = np.einsum("nmd,ld->nml", ref.pairwise_differences(x, y), omegas)
    values = (np.cos(angles) @ amplitudes) @ weights
    grads = -np.einsum("nml,l,ld,m->nd", np.sin(angles), amplitudes, omegas, weights)
    return values, grads


FEATURE_KERNELS = {
    "gaussian": flows.kernels.GaussianKernel(1.3),
    "imq": flows.kernels.IMQKernel(scale=0.7, exponent=-1.5),
    "sum": flows.kernels.SumKernel([flows.kernels.GaussianKernel(0.5), flows.kernels.IMQKernel()], weights=[2.0, 0.5]),
}


@pytest.mark.parametrize("case", ["gaussian", "sum"])  # the sum holds an IMQ part
def test_feature_sums_are_exact_sums_of_the_feature_kernel(case):
    kernel = FEATURE_KERNELS[case]
    x, y, w = clouds(7)
    backend = RandomFeatureApproximation(jax.random.PRNGKey(3), features=40)
    omegas, amplitudes = backend.spectrum(kernel, 3, x.dtype)
    values, grads = features_reference(omegas, amplitudes, x, y, w[:, 0])
    np.testing.assert_allclose(flows.kernels.kernel_sum(kernel, x, y, w[:, 0], backend=backend), values, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(flows.kernels.kernel_grad_sum(kernel, x, y, w[:, 0], backend=backend), grads, rtol=1e-10, atol=1e-12)
    # the mixed Hessian sum equals autodiff of the feature kernel's gradient sum in y
    v = jnp.stack([w[:, 0], w[:, 1], -w[:, 0]], axis=1)
    hess = flows.kernels.kernel_hessian_sum(kernel, x, y, v, backend=backend)
    auto = jax.jvp(lambda yy: flows.kernels.kernel_grad_sum(kernel, x, yy, backend=backend), (y,), (v,))[1]
    # d/dy of sum_j grad_x k(x, y_j) along v_j is sum_j grad_x grad_y k v_j, up to the centring
    np.testing.assert_allclose(hess, auto, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("case, bound", [("gaussian", 0.1), pytest.param("imq", 0.2, marks=pytest.mark.slow)])
def test_feature_gradient_converges_like_one_over_sqrt_d(case, bound):
    """Relative error of the feature witness gradient against the exact one, mean over 4 keys,
    D = 16 .. 4096: slope -0.5 +- 0.1, and at D = 4096 below 0.1 (Gaussian) or 0.2 (IMQ with
    c = 0.7, beta = -1.5: a heavier-tailed spectrum, a larger constant)."""
    kernel = FEATURE_KERNELS[case]
    x, y, _ = clouds(8, n=120, m=100)
    exact = np.asarray(flows.discrepancies.witness_grad(x, x, y, kernel))
    ds = np.array([16, 64, 256, 1024, 4096])
    errors = [
        np.mean([
            np.linalg.norm(flows.discrepancies.witness_grad(x, x, y, kernel, backend=RandomFeatureApproximation(jax.random.PRNGKey(s), int(D))) - exact)
            / np.linalg.norm(exact)
            for s in range(4)
        ])
        for D in ds
    ]
    slope = np.polyfit(np.log(ds), np.log(errors), 1)[0]
    assert abs(slope + 0.5) < 0.1, (slope, errors)
    assert errors[-1] < bound, errors


def test_laplace_features_give_values_not_gradients():
    """Laplace (Cauchy spectrum): MMD^2 from 4096 features within 5% of exact; gradients refused."""
    kernel = flows.kernels.LaplaceKernel(1.0)
    x, y, _ = clouds(9, n=120, m=100)
    backend = RandomFeatureApproximation(jax.random.PRNGKey(0), features=4096)
    exact = flows.discrepancies.mmd2(x, y, kernel)
    assert abs(flows.discrepancies.mmd2(x, y, kernel, backend=backend) - exact) < 0.05 * exact
    with pytest.raises(ValueError, match="kernel"):
        flows.discrepancies.witness_grad(x, x, y, kernel, backend=backend)


# --- flows on every backend, and bad input ---------------------------------------------------


def test_mmd_flow_blocked_equals_dense_trajectory():
    x0, target, _ = clouds(10, n=60, m=50, d=2)
    kernel = flows.kernels.GaussianKernel(1.0)
    ts = jnp.linspace(0.0, 2.0, 5)
    runs = [
        flows.simulate(flows.particle.MMDFlow(target, kernel, backend=b), x0, t1=2.0, ts=ts, solver=flows.GradientDescent(step=0.1))
        for b in ("dense", BlockedSums(row_block=16, col_block=24))
    ]
    np.testing.assert_allclose(runs[1].ys, runs[0].ys, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(runs[1].diagnostics["mmd2"], runs[0].diagnostics["mmd2"], rtol=1e-10)


@pytest.mark.parametrize("backend", ["sliced", "features"])
def test_approximate_flows_are_exact_gradient_flows_of_their_kernel(backend):
    """With an approximate backend the flow is the MMD flow of k_P / k_D: the autodiff dissipation
    residual vanishes to rounding, and the energy falls along the flow."""
    x0, target, _ = clouds(11, n=80, m=60, d=2)
    target = target[3:]  # no target on a particle: k_P has a kink at x = y, where dF/dt is one-sided
    kernel = flows.kernels.EnergyKernel(1.0) if backend == "sliced" else flows.kernels.GaussianKernel(1.0)
    flow = flows.particle.MMDFlow(target, kernel, backend=backend)
    traj = flows.simulate(flow, x0, t1=2.0, ts=jnp.linspace(0, 2, 5), solver=flows.GradientDescent(step=0.05),
                          diagnostics={**flow.diagnostics(), "dissipation_residual": flow.dissipation_residual})
    d = traj.diagnostics
    assert np.all(np.abs(d["dissipation_residual"]) < 1e-9 * d["dissipation"].max())
    assert d["energy"][-1] < 0.7 * d["energy"][0]


def test_backend_bad_input():
    x, y, _ = clouds(12)
    with pytest.raises(ValueError, match="backend"):
        flows.kernels.kernel_sum(flows.kernels.GaussianKernel(1.0), x, y, backend="fast")
    with pytest.raises(ValueError, match="kernel"):
        flows.particle.MMDFlow(y, flows.kernels.GaussianKernel(1.0), backend="sliced").drift(0.0, x, None)
    with pytest.raises(ValueError, match="kernel"):
        flows.discrepancies.witness_grad(x, x, y, flows.kernels.EnergyKernel(1.5), backend="sliced")
    with pytest.raises(ValueError, match="projections"):
        SlicedRieszApproximation(jax.random.PRNGKey(0), projections=0)
    with pytest.raises(ValueError, match="features"):
        RandomFeatureApproximation(jax.random.PRNGKey(0), features=2.5)
    with pytest.raises(ValueError, match="row_block"):
        BlockedSums(row_block=-1)
    with pytest.raises(ValueError, match="kernel"):
        flows.kernels.kernel_sum(flows.kernels.EnergyKernel(1.0), x, y, backend="features")
