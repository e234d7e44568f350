"""Sliced Fourier sums (d > 3): the exact sums of the sliced kernel k_P, the Gaussian's slice
profile, the Monte-Carlo rate P^(-1/2) against the exact Gaussian sum (measured slope within
+-0.1), what orthogonal and Halton directions gain (measured, in d = 5), and the error estimate."""

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.special import hyp1f1

import flows
from flows.kernels import GaussianKernel, SlicedFourierApproximation, fourier, fourier_bounds, sliced_fourier

D = 5
SIGMA = math.sqrt(D)


def clouds(n=120, m=100, d=D, seed=0):
    rng = np.random.default_rng(seed)
    return jnp.asarray(rng.standard_normal((n, d))), jnp.asarray(rng.standard_normal((m, d)) + 0.5), jnp.asarray(rng.standard_normal(m))


def test_the_gaussian_slice_profile_is_the_confluent_hypergeometric_function_and_slices_to_the_gaussian():
    """f(t) = 1F1(d/2; 1/2; -t^2 / (2 sigma^2)) (SciPy, where its series is accurate), and
    E_xi f(<xi, v>) = k(v): the density of xi_1 on the sphere is prop. to (1 - s^2)^((d-3)/2),
    integrated by Gauss-Jacobi-free quadrature (Gauss-Legendre on s in (-1, 1), smooth for d = 5)."""
    kernel = GaussianKernel(1.3)
    t = np.linspace(0, 4, 9)
    np.testing.assert_allclose(kernel.slice_profile(jnp.asarray(t), 7), hyp1f1(3.5, 0.5, -(t**2) / (2 * 1.3**2)), atol=1e-12)
    s, w = np.polynomial.legendre.leggauss(200)
    density = (1 - s**2) ** ((D - 3) / 2)
    density = density / np.sum(w * density)
    for r in (0.0, 0.7, 2.0, 5.0):
        sliced = np.sum(w * density * np.asarray(kernel.slice_profile(jnp.asarray(r * s), D)))
        assert abs(sliced - math.exp(-(r**2) / (2 * 1.3**2))) < 1e-12


def test_sliced_sums_are_exact_sums_of_the_sliced_kernel():
    """Against the dense sum of k_P(x, y) = mean_p f(<xi_p, x - y>) with the closed-form slice
    profile: within the 1-D bound (rtol 1e-10 of f(0) = 1 per unit weight) plus the profile's
    quadrature error (1e-13)."""
    kernel = GaussianKernel(SIGMA)
    x, y, w = clouds(20, 15)
    backend = SlicedFourierApproximation(jax.random.PRNGKey(1), projections=8, rtol=1e-10)
    xi = backend.direction_set(D, x.dtype)
    t = jnp.einsum("pd,nmd->pnm", xi, x[:, None, :] - y[None, :, :])
    profile = jax.jit(lambda t: (kernel.slice_profile(t, D), jax.vmap(jax.grad(lambda s: kernel.slice_profile(s, D)))(t.ravel())))
    values_p, slopes = profile(t)
    gram = jnp.mean(values_p, axis=0)
    grads = jnp.einsum("pnm,m,pd->nd", slopes.reshape(t.shape), w, xi) / 8
    mass = float(jnp.sum(jnp.abs(w)))
    values = flows.kernels.kernel_sum(kernel, x, y, w, backend=backend)
    assert float(jnp.max(jnp.abs(values - gram @ w))) <= (1e-10 + 1e-13) * mass
    bound = float(backend.plan(kernel, x, y, 1).bound)
    assert float(jnp.max(jnp.abs(flows.kernels.kernel_grad_sum(kernel, x, y, w, backend=backend) - grads))) <= bound * mass + 1e-13 * mass


PROJECTIONS = (8, 32, 128, 512)


@eqx.filter_jit
def _per_slice_sums(kernel, x, y, directions, period, modes):
    spectrum = sliced_fourier.slice_spectrum(kernel, D)
    centre = fourier.bounding_box(x, y)[0]
    ones = jnp.ones((directions.shape[0], y.shape[0]), x.dtype)
    return sliced_fourier.per_slice_sums(spectrum, x, y, ones, directions, centre, period, modes, 1e-9, 0)


def _rms_errors(kind, keys=8):
    """RMS error (over 8 keys and the rows) of the mean of the first P slices' sums, for each P in
    `PROJECTIONS`: one set of 512 directions per key (Halton points and orthogonal frames are
    prefixes of their sequences, so every P is a valid direction set of its kind)."""
    kernel = GaussianKernel(SIGMA)
    x, y, _ = clouds()
    exact = np.asarray(flows.kernels.kernel_sum(kernel, x, y, backend="dense"))
    probe = SlicedFourierApproximation(jax.random.PRNGKey(0), projections=PROJECTIONS[-1], rtol=1e-8)
    plan = probe.plan(kernel, x, y)
    modes = fourier_bounds.mode_ladder(1, probe.max_modes)[int(plan.index)]
    squares = np.zeros(len(PROJECTIONS))
    for key in jax.random.split(jax.random.PRNGKey(3), keys):
        directions = sliced_fourier.slice_directions(key, PROJECTIONS[-1], D, kind, x.dtype)
        sums = np.asarray(_per_slice_sums(kernel, x, y, directions, plan.period, modes))
        squares += [np.mean((sums[:p].mean(axis=0) - exact) ** 2) for p in PROJECTIONS]
    return np.sqrt(squares / keys)


def test_the_sliced_error_falls_like_p_to_the_minus_half():
    errors = _rms_errors("random")
    slope = np.polyfit(np.log(PROJECTIONS), np.log(errors), 1)[0]
    assert -0.6 <= slope <= -0.4, (slope, errors)


def test_orthogonal_directions_cut_the_error_and_halton_directions_steepen_its_fall():
    """Measured in d = 5 (8 keys, P = 8..512): orthogonal frames cut the random error by a third
    or more at every P; randomised Halton points fall with a slope below -0.6 (random: -0.5)."""
    random, orthogonal, halton = (_rms_errors(kind) for kind in ("random", "orthogonal", "halton"))
    assert np.all(orthogonal <= 0.67 * random), (orthogonal, random)
    assert np.polyfit(np.log(PROJECTIONS), np.log(halton), 1)[0] < -0.6, (halton, random)


def test_the_error_estimate_matches_the_measured_error():
    """The standard error from the slices' spread, against the RMS error over 16 keys: equal in
    expectation; within a factor 1.6 either way at P = 64 (the RMS of 16 draws is within 1.6x of
    its mean square root with probability > 0.99)."""
    kernel = GaussianKernel(SIGMA)
    x, y, _ = clouds()
    rows = x[:10]
    exact = flows.kernels.kernel_sum(kernel, rows, y, backend="dense")
    keys = jax.random.split(jax.random.PRNGKey(5), 16)
    run = jax.jit(jax.vmap(lambda key: flows.kernels.kernel_sum(kernel, rows, y, backend=SlicedFourierApproximation(key, 64))))
    measured = float(jnp.sqrt(jnp.mean((run(keys) - exact) ** 2)))
    estimate = jax.jit(jax.vmap(lambda key: SlicedFourierApproximation(key, 64).error_estimate(kernel, rows, y)))(keys[:4])
    estimated = float(jnp.sqrt(jnp.mean(estimate**2)))
    assert measured / 1.6 <= estimated <= 1.6 * measured, (measured, estimated)


def test_sliced_gradients_and_hessians_match_the_exact_ones_at_many_projections():
    """At P = 4096 the Monte-Carlo error of the gradient and Hessian sums is a few percent of
    their largest entries (measured rate: ~1.5 / sqrt(P) relative); 10 % holds it with margin."""
    kernel = GaussianKernel(SIGMA)
    x, y, w = clouds(40, 30)
    backend = SlicedFourierApproximation(jax.random.PRNGKey(2), projections=4096, directions="orthogonal")
    for fast, exact in (
        (flows.kernels.kernel_grad_sum(kernel, x, y, w, backend=backend), flows.kernels.kernel_grad_sum(kernel, x, y, w, backend="dense")),
        (flows.kernels.kernel_hessian_sum(kernel, x, y, y, backend=backend), flows.kernels.kernel_hessian_sum(kernel, x, y, y, backend="dense")),
    ):
        assert float(jnp.max(jnp.abs(fast - exact))) <= 0.1 * float(jnp.max(jnp.abs(exact)))


def test_bad_input_is_refused():
    x, y, _ = clouds(5, 5)
    with pytest.raises(ValueError, match="`directions`"):
        SlicedFourierApproximation(jax.random.PRNGKey(0), directions="sobol")
    with pytest.raises(ValueError, match="IMQKernel"):
        flows.kernels.kernel_sum(flows.kernels.IMQKernel(), x, y, backend="sliced-fourier")
    with pytest.raises(ValueError, match="LaplaceKernel.*gradients"):
        flows.kernels.kernel_grad_sum(flows.kernels.LaplaceKernel(1.0), x, y, backend="sliced-fourier")
