"""The Fourier backend (non-uniform FFT sums, d <= 3) against an independent float64 NumPy
reference, within its requested `rtol` in the documented sense:

    max_i |S~_i - S_i| <= error_bound <= rtol * M_j * sum_j |w_j|

(M_0 = k(0), M_1 >= sup |grad k|, M_2 >= sup |grad grad k|; for Hessian sums sum_j |v_j|), or a
clear refusal naming the limit. The points include the corners of their bounding box (the
largest differences the period must hold) and coinciding pairs. Also: autodiff of the Fourier
sums against autodiff of the exact sums, the exact-kernel identity (the sums are the exact sums of
the trigonometric kernel k~ up to the NUFFT tolerance), and bad input."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows.kernels import FourierApproximation, GaussianKernel, LaplaceKernel, MaternKernel, SumKernel
from flows.kernels import fourier, fourier_bounds

# small grids keep the compiled ladders short (a branch per grid size); the cases fit them
MODES = {1: 2**16, 2: 2**22, 3: 2**21}


def _radial(name, params, r):
    """k(r), k'(r), k''(r) of the kernels in closed form (float64 NumPy)."""
    if name == "gaussian":
        s2 = params["bandwidth"] ** 2
        k = np.exp(-(r**2) / (2 * s2))
        return k, -r / s2 * k, (r**2 / s2**2 - 1 / s2) * k
    if name == "matern":
        nu, a = params["smoothness"], math.sqrt(2 * params["smoothness"]) / params["bandwidth"]
        e = np.exp(-a * r)
        if nu == 0.5:
            return e, -a * e, a * a * e
        if nu == 1.5:
            return (1 + a * r) * e, -(a**2) * r * e, -(a**2) * (1 - a * r) * e
        return (1 + a * r + (a * r) ** 2 / 3) * e, -(a**2) * r / 3 * (1 + a * r) * e, -(a**2) / 3 * (1 + a * r - (a * r) ** 2) * e
    if name == "sum":
        parts = [_radial(n, p, r) for n, p in params["parts"]]
        return tuple(sum(w * part[i] for w, part in zip(params["weights"], parts)) for i in range(3))
    raise KeyError(name)


def reference(name, params, x, y, w, v):
    """Sums of values, gradients and mixed Hessians from pairwise differences: grad k = k'(r) u,
    grad_x grad_y k = -(k''(r) u u^T + k'(r)/r (I - u u^T)), u = (x - y)/r (k'(r)/r -> k''(0) at r = 0)."""
    diff = np.asarray(x, float)[:, None, :] - np.asarray(y, float)[None, :, :]
    r = np.sqrt(np.sum(diff**2, axis=-1))
    k, dk, d2k = _radial(name, params, r)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(r[..., None] > 0, diff / r[..., None], 0.0)
        over_r = np.where(r > 0, dk / r, d2k)
    values = k @ np.asarray(w)
    grads = np.einsum("nm,nmd,m->nd", dk, u, np.asarray(w))
    along = np.einsum("nmd,md->nm", u, np.asarray(v))
    hess = -(np.einsum("nm,nm,nmd->nd", d2k - over_r, along, u) + np.einsum("nm,md->nd", over_r, np.asarray(v)))
    return values, grads, hess


KERNELS = {
    "gaussian": (GaussianKernel(0.9), "gaussian", {"bandwidth": 0.9}),
    "matern32": (MaternKernel(1.1, 1.5), "matern", {"bandwidth": 1.1, "smoothness": 1.5}),
    "matern52": (MaternKernel(0.8, 2.5), "matern", {"bandwidth": 0.8, "smoothness": 2.5}),
    "sum": (
        SumKernel([GaussianKernel(0.5), MaternKernel(1.5, 2.5)], [1.0, 0.5]),
        "sum",
        {"weights": [1.0, 0.5], "parts": [("gaussian", {"bandwidth": 0.5}), ("matern", {"bandwidth": 1.5, "smoothness": 2.5})]},
    ),
    "gaussian_sum": (
        SumKernel.gaussians([0.8, 2.0]),
        "sum",
        {"weights": [1.0, 1.0], "parts": [("gaussian", {"bandwidth": 0.8}), ("gaussian", {"bandwidth": 2.0})]},
    ),
    "laplace": (LaplaceKernel(1.2), "matern", {"bandwidth": 1.2, "smoothness": 0.5}),
}


def clouds(seed, d, n=40, m=50, spread=3.0):
    """Particles uniform in the box [-spread, spread]^d with two opposite corners among them, and
    targets around 0.5 with the other corners and two particles among them (coinciding pairs)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-spread, spread, (n, d))
    y = 0.5 + rng.standard_normal((m, d))
    x[0], x[1] = -spread, spread
    y[0] = np.where(np.arange(d) % 2 == 0, spread, -spread)
    y[1], y[2] = x[2], x[3]
    return jnp.asarray(x), jnp.asarray(y), jnp.asarray(rng.standard_normal(m)), jnp.asarray(rng.standard_normal((m, d)))


@eqx.filter_jit
def _fourier_sums(backend, kernel, x, y, w, v, orders):
    out = []
    for order in orders:
        columns = v if order == 2 else w
        out.append((backend.sum(order, kernel, x, y, columns), backend.error_bound(kernel, x, y, columns, order),
                    backend.plan(kernel, x, y, order).scale))
    return out


def check_within_rtol(case, d, rtol, orders, seed=0, spread=3.0):
    kernel, name, params = KERNELS[case]
    x, y, w, v = clouds(seed, d, spread=spread)
    backend = FourierApproximation(rtol=rtol, max_modes=MODES[d])
    exact = reference(name, params, x, y, w, v)
    for order, (approx, bound, scale) in zip(orders, _fourier_sums(backend, kernel, x, y, w, v, orders)):
        error = np.max(np.linalg.norm(np.reshape(np.asarray(approx) - exact[order], (x.shape[0], -1)), axis=1))
        mass = float(jnp.sum(jnp.linalg.norm(v, axis=1)) if order == 2 else jnp.sum(jnp.abs(w)))
        assert error <= float(bound) <= rtol * float(scale) * mass * (1 + 1e-9), (case, d, rtol, order, error, float(bound))


# the fast grid: every kernel once, the Gaussian in every dimension at both accuracies
FAST = [
    ("gaussian", 1, 1e-6, (0, 1, 2)),
    ("gaussian", 2, 1e-10, (0, 1, 2)),
    ("gaussian", 3, 1e-6, (0, 1)),
    ("gaussian", 3, 1e-10, (0, 1)),
    ("matern52", 1, 1e-6, (0, 1, 2)),
    ("matern52", 2, 1e-6, (0,)),
    ("matern32", 1, 1e-6, (0, 1)),
    ("sum", 2, 1e-6, (0, 1)),
    ("gaussian_sum", 3, 1e-6, (0, 1)),
    ("laplace", 1, 1e-4, (0,)),
]


@pytest.mark.parametrize("case, d, rtol, orders", FAST)
def test_fourier_sums_match_the_numpy_reference_within_rtol(case, d, rtol, orders):
    check_within_rtol(case, d, rtol, orders)


@pytest.mark.slow
@pytest.mark.parametrize("rtol", [1e-6, 1e-10])
@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("case", ["gaussian", "matern32", "matern52", "sum", "gaussian_sum", "laplace"])
def test_every_kernel_and_dimension_is_within_rtol_or_refused_naming_the_limit(case, d, rtol):
    """The full grid: values and gradients (Laplace: values) within rtol, or the refusal."""
    orders = (0,) if case == "laplace" else (0, 1)
    try:
        check_within_rtol(case, d, rtol, orders)
    except eqx.EquinoxRuntimeError as error:
        assert "max_modes" in str(error) and f"{MODES[d]}" in str(error)


def test_a_narrow_bandwidth_grows_the_grid_and_still_holds_its_bound():
    """sigma = 0.05 against a spread of 6: hundreds of modes per axis, the bound still holds."""
    kernel = GaussianKernel(0.05)
    x, y, w, v = clouds(1, 2)
    backend = FourierApproximation(rtol=1e-8, max_modes=2**20)
    approx, bound, scale = _fourier_sums(backend, kernel, x, y, w, v, (1,))[0]
    plan = backend.plan(kernel, x, y, 1)
    modes = fourier_bounds.mode_ladder(2, backend.max_modes)[int(plan.index)]
    assert modes >= 256
    exact = reference("gaussian", {"bandwidth": 0.05}, x, y, w, v)[1]
    assert np.max(np.linalg.norm(np.asarray(approx) - exact, axis=1)) <= float(bound) <= 1e-8 * float(scale) * float(jnp.sum(jnp.abs(w)))


def test_a_bandwidth_too_small_for_the_spread_is_refused_naming_the_limit():
    x, y, w, _ = clouds(2, 2)
    backend = FourierApproximation(rtol=1e-10, max_modes=2**14)
    with pytest.raises(eqx.EquinoxRuntimeError, match=r"max_modes = 16384 Fourier modes \(128 per axis in 2-D\)"):
        jax.block_until_ready(flows.kernels.kernel_sum(GaussianKernel(0.01), x, y, w, backend=backend))
    assert not bool(backend.plan(GaussianKernel(0.01), x, y).feasible)
    # the same points at a reachable accuracy: feasible
    assert bool(FourierApproximation(rtol=1e-6, max_modes=2**22).plan(GaussianKernel(0.01), x, y).feasible)


def test_laplace_values_at_rtol_1e6_in_2d_are_refused_its_gradients_before_any_work():
    x, y, w, _ = clouds(3, 2)
    with pytest.raises(eqx.EquinoxRuntimeError, match="max_modes = 16384"):
        jax.block_until_ready(flows.kernels.kernel_sum(LaplaceKernel(1.0), x, y, w, backend=FourierApproximation(1e-6, 2**14)))
    with pytest.raises(ValueError, match="LaplaceKernel.*does not converge uniformly for gradients"):
        flows.kernels.kernel_grad_sum(LaplaceKernel(1.0), x, y, w, backend="fourier")
    with pytest.raises(ValueError, match="MaternKernel.*Hessian sums"):
        flows.kernels.kernel_hessian_sum(MaternKernel(1.0, 0.5), x, y, y, backend="fourier")


def test_the_sums_are_the_exact_sums_of_the_trigonometric_kernel():
    """The exact-kernel identity: the NUFFT sums equal the direct sum over the K^d modes of
    k~(x_i - y_j) to the NUFFT's share of the bound, 2.01 eps S_0 sum|w| (eps = rtol / 10)."""
    kernel = MaternKernel(1.0, 2.5)
    x, y, w, _ = clouds(4, 1, n=30, m=30)
    backend = FourierApproximation(rtol=1e-8, max_modes=2**16)
    plan = backend.plan(kernel, x, y)
    modes = fourier_bounds.mode_ladder(1, backend.max_modes)[int(plan.index)]
    diff = (x[:, None, :] - y[None, :, :]).reshape(-1, 1)
    spectrum = lambda rho: kernel.fourier_transform(rho, 1)
    gram = fourier.trigonometric_kernel(spectrum, diff, plan.period, modes).reshape(30, 30)
    approx = flows.kernels.kernel_sum(kernel, x, y, w, backend=backend)
    assert np.max(np.abs(np.asarray(approx - gram @ w))) <= float(plan.nufft) * float(jnp.sum(jnp.abs(w)))
    # and k~ is positive definite (non-negative coefficients): its Gram matrix on x has no negative eigenvalue
    self_diff = (x[:, None, :] - x[None, :, :]).reshape(-1, 1)
    gram_x = fourier.trigonometric_kernel(spectrum, self_diff, plan.period, modes).reshape(30, 30)
    assert np.min(np.linalg.eigvalsh(np.asarray(gram_x))) > -1e-12


def test_autodiff_of_the_fourier_sums_matches_autodiff_of_the_exact_sums():
    """d/dx, d/dy, d/dw, d/dsigma of sum_i u_i S_i (S the value sums) and of sum_i u_i . G_i (G the
    gradient sums). In x, y, w the derivatives are sums of the same kind as S and G (gradient and
    Hessian sums of k~, bounded by the plans' rtol at orders 1 and 2); in sigma the derivative is
    the Fourier series of d k / d sigma = (r^2 / sigma^3) k, whose factor r^2 / sigma^3 is at most
    (box diagonal)^2 / sigma^3 ~ 150 here: 1e-10 * 150 * 10 (margin) = 1.5e-7 relative."""
    x, y, w, _ = clouds(5, 2, n=25, m=30)
    u = jnp.asarray(np.random.default_rng(6).standard_normal((25, 2)))
    backend = FourierApproximation(rtol=1e-10, max_modes=2**14)

    def objectives(x, y, w, sigma, backend):
        kernel = GaussianKernel(sigma)
        values = flows.kernels.kernel_sum(kernel, x, y, w, backend=backend)
        grads = flows.kernels.kernel_grad_sum(kernel, x, y, w, backend=backend)
        return jnp.sum(u[:, 0] * values), jnp.sum(u * grads)

    for which in (0, 1):
        f = lambda *args, backend: objectives(*args, backend)[which]
        exact = jax.grad(f, argnums=(0, 1, 2, 3))(x, y, w, 0.9, backend="dense")
        approx = jax.jit(jax.grad(lambda *a: f(*a, backend=backend), argnums=(0, 1, 2, 3)))(x, y, w, 0.9)
        for e, a in zip(exact, approx):
            scale = float(jnp.max(jnp.abs(e)))
            np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=0, atol=1.5e-7 * scale + 1e-12)


def test_bad_input_is_refused_with_clear_errors():
    x, y, w, _ = clouds(7, 2, n=10, m=12)
    with pytest.raises(ValueError, match="EnergyKernel has no known Fourier transform"):
        flows.kernels.kernel_sum(flows.kernels.EnergyKernel(1.0), x, y, backend="fourier")
    with pytest.raises(ValueError, match="exponentially decaying tails; IMQKernel"):
        flows.kernels.kernel_sum(flows.kernels.IMQKernel(), x, y, backend="fourier")
    x4 = jnp.zeros((5, 4))
    with pytest.raises(ValueError, match="d <= 3.*got d = 4.*SlicedFourierApproximation"):
        flows.kernels.kernel_sum(GaussianKernel(1.0), x4, x4, backend="fourier")
    bad = x.at[3, 1].set(jnp.nan)
    with pytest.raises(eqx.EquinoxRuntimeError, match="`x`: the Fourier backends need finite points"):
        jax.block_until_ready(flows.kernels.kernel_sum(GaussianKernel(1.0), bad, y, w, backend=FourierApproximation(1e-6, 2**12)))
    with pytest.raises(ValueError, match="rtol"):
        FourierApproximation(rtol=0.0)
    with pytest.raises(ValueError, match="below what the NUFFT reaches in float32"):
        flows.kernels.kernel_sum(GaussianKernel(1.0), x.astype(jnp.float32), y.astype(jnp.float32), backend=FourierApproximation(1e-6))


def test_auto_uses_the_fourier_backend_only_where_documented():
    kernel = GaussianKernel(1.0)
    auto = flows.kernels.AutoSums(fourier_min_pairs=100)
    x, y, w, _ = clouds(8, 2, n=20, m=20)
    assert isinstance(auto._fourier(kernel, x, y, 1), FourierApproximation)
    assert auto._fourier(kernel, x.astype(jnp.float32), y.astype(jnp.float32), 1) is None  # float32: exact
    assert auto._fourier(flows.kernels.IMQKernel(), x, y, 1) is None  # no spectrum
    assert auto._fourier(LaplaceKernel(1.0), x, y, 1) is None  # gradients not uniformly convergent
    assert flows.kernels.AutoSums()._fourier(kernel, x, y, 1) is None  # 400 pairs < 2^28
    # where it is used, the answer is the exact one to 1e-12 k(0) sum|w|; where its plan fails it stays exact
    exact = flows.kernels.kernel_sum(kernel, x, y, w, backend="dense")
    approx = flows.kernels.kernel_sum(kernel, x, y, w, backend=auto)
    assert float(jnp.max(jnp.abs(approx - exact))) <= 1e-12 * float(jnp.sum(jnp.abs(w)))
    narrow = GaussianKernel(1e-4)
    np.testing.assert_allclose(
        flows.kernels.kernel_sum(narrow, x, y, w, backend=auto), flows.kernels.kernel_sum(narrow, x, y, w, backend="dense"),
        rtol=1e-13, atol=1e-15,
    )


def test_the_gpu_path_matches_the_cpu_path():
    try:
        gpu = jax.devices("gpu")[0]
    except RuntimeError:
        pytest.skip("no GPU here: the cuFINUFFT path (pip install 'flows[cuda]' with a CUDA build of jax-finufft) is untested")
    x, y, w, _ = clouds(9, 3, n=2000, m=2000)
    backend = FourierApproximation(rtol=1e-10)
    cpu = flows.kernels.kernel_grad_sum(GaussianKernel(1.0), x, y, w, backend=backend)
    on_gpu = flows.kernels.kernel_grad_sum(GaussianKernel(1.0), *jax.device_put((x, y, w), gpu), backend=backend)
    bound = backend.error_bound(GaussianKernel(1.0), x, y, w, order=1)
    assert float(jnp.max(jnp.abs(jax.device_get(on_gpu) - cpu))) <= 2 * float(bound)
