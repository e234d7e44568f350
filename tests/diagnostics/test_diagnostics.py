"""The diagnostics against known answers: hand-made particle sets, exact identities, closed forms
against large samples, and independent SciPy/NumPy references (float64)."""


import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

import flows
from flows import diagnostics as D


def _call(diagnostic, y, t=0.0):
    return np.asarray(eqx.filter_jit(lambda d, t, y: d(t, y, None))(diagnostic, t, jnp.asarray(y)))


# ---------------------------------------------------------------- modes

CENTRES = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])


def _cloud():
    """6 particles at mode 0, 3 at mode 1, 1 at mode 2, 2 far from every mode (nearest: mode 1)."""
    near = lambda c, k: np.asarray(c) + 0.1 * np.arange(k)[:, None] * np.array([[1.0, -1.0]])
    return np.concatenate([near(CENTRES[0], 6), near(CENTRES[1], 3), near(CENTRES[2], 1), [[30.0, 0.0], [30.0, 1.0]]])


def test_mode_mass_and_coverage_on_a_hand_made_cloud():
    y = _cloud()
    np.testing.assert_allclose(_call(D.ModeMass(CENTRES, radius=1.0), y), np.array([6, 3, 1]) / 12, rtol=1e-14)
    np.testing.assert_allclose(_call(D.ModeMass(CENTRES), y), np.array([6, 5, 1]) / 12, rtol=1e-14)  # no radius: far ones count
    # default share 1/(2K) = 1/6: mode 2 holds 1/12 -> 2 of 3 modes covered
    assert _call(D.ModeCoverage(CENTRES, radius=1.0), y) == pytest.approx(2 / 3, abs=0)
    # a share of exactly 1/12 covers mode 2 (the boundary counts, despite rounding)
    assert _call(D.ModeCoverage(CENTRES, radius=1.0, min_share=1 / 12), y) == 1.0
    assert _call(D.ModeCoverage(CENTRES, radius=1.0, min_share=0.3), y) == pytest.approx(1 / 3, abs=0)
    collapsed = np.zeros((12, 2))  # everything on mode 0
    assert _call(D.ModeCoverage(CENTRES), collapsed) == pytest.approx(1 / 3, abs=0)


def test_mode_diagnostics_reject_bad_arguments():
    with pytest.raises(ValueError, match="`radius` must be a finite positive number"):
        D.ModeMass(CENTRES, radius=-1.0)
    with pytest.raises(ValueError, match="`min_share` must lie in"):
        D.ModeCoverage(CENTRES, min_share=1.5)
    with pytest.raises(ValueError, match="`centres` must be a 2-D array"):
        D.ModeMass(np.zeros(3))


# ---------------------------------------------------------------- rates


def _random_spd(key, d):
    a = jax.random.normal(key, (d, d))
    return np.asarray(a @ a.T / d + 0.3 * jnp.eye(d))


def test_in_loop_gaussian_diagnostics_use_the_particles_moments():
    y = np.random.default_rng(3).normal(size=(500, 2)) * [1.0, 2.0] + [1.0, 0.0]
    mean, cov = y.mean(0), np.cov(y.T, bias=True)
    target_mean, target_cov = np.array([0.0, 1.0]), np.array([[1.0, 0.3], [0.3, 0.5]])
    kernel = flows.kernels.GaussianKernel(1.3)
    assert _call(D.GaussianW2(target_mean, target_cov), y) == pytest.approx(float(flows.discrepancies.gaussian_w2(mean, cov, target_mean, target_cov)), rel=1e-10)
    assert _call(D.GaussianKL(target_mean, target_cov), y) == pytest.approx(float(flows.discrepancies.gaussian_kl(mean, cov, target_mean, target_cov)), rel=1e-10)
    assert _call(D.GaussianMMD2(target_mean, target_cov, kernel), y) == pytest.approx(
        float(flows.discrepancies.gaussian_mmd2(mean, cov, target_mean, target_cov, kernel)), rel=1e-10
    )
    # a singular target: W2 and MMD^2 are defined, KL is not (a clear error, not a NaN)
    singular = np.array([[1.0, 1.0], [1.0, 1.0]])
    assert _call(D.GaussianW2(target_mean, singular), y) == pytest.approx(float(flows.discrepancies.gaussian_w2(mean, cov, target_mean, singular)), rel=1e-10)
    with pytest.raises(ValueError, match="`cov` must be positive definite"):
        D.GaussianKL(target_mean, singular)
    with pytest.raises(ValueError, match="positive semi-definite"):
        D.GaussianW2(target_mean, -singular)


# ---------------------------------------------------------------- transport (ott-jax)


def exact_w2(x, y):
    """W2 between two N-point empirical measures: an optimal assignment (SciPy), exact for N = M."""
    cost = ((x[:, None] - y[None]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    return np.sqrt(cost[rows, cols].mean())


@pytest.mark.parametrize("n, seed", [(30, 0), (30, 1), (100, 2)])
def test_wasserstein2_is_never_below_the_exact_assignment_and_within_its_tolerance(n, seed):
    """No coupling costs less than the optimal one: the default diagnostic (Sinkhorn at relative
    eps 1e-3, threshold 1e-3, the plan rounded onto the couplings) is >= the exact W2 (to 1e-12:
    rounding), and its square exceeds W2² by at most `w2_tolerance` (eps c̄ log N + 3 c_max
    threshold). It used to come out 4e-4 below the exact value at N = 30 (unrounded plan)."""
    kx, ky = jax.random.split(jax.random.PRNGKey(seed))
    x = np.asarray(jax.random.normal(kx, (n, 2)))
    y = np.asarray(jax.random.normal(ky, (n, 2))) * 0.7 + 1.0
    exact = exact_w2(x, y)
    value = float(_call(D.Wasserstein2(y), x))
    assert value >= exact * (1 - 1e-12)
    assert value**2 - exact**2 <= flows.discrepancies.w2_tolerance(x, y, 1e-3, 1e-3)
    assert value == pytest.approx(exact, rel=3e-3)  # what the tolerance means here: ~1e-3 relative


def test_an_unconverged_sinkhorn_is_reported_not_returned():
    """Sinkhorn stopped at its iteration cap with the marginals still off (it used to return that
    number as if converged). Public functions raise, naming the settings; in a run the diagnostic
    is NaN with a warning naming them, and `simulate` stops there; converged solves are unaffected."""
    kx, ky = jax.random.split(jax.random.PRNGKey(3))
    x = np.asarray(jax.random.normal(kx, (30, 2)))
    y = np.asarray(jax.random.normal(ky, (30, 2))) + 1.0
    with pytest.raises(flows.discrepancies.SinkhornNotConvergedError, match=r"`threshold` = 0.001 within `max_iterations` = 50"):
        flows.discrepancies.entropic_w2(x, y, epsilon=1e-4, max_iterations=50)
    with pytest.warns(RuntimeWarning, match=r"diagnostics.SinkhornDivergence: Sinkhorn did not converge .*value is NaN"):
        assert np.isnan(_call(D.SinkhornDivergence(y, epsilon=0.003, max_iterations=20), x))
    flow = flows.particle.MMDFlow(y, flows.kernels.GaussianKernel(1.0))
    with pytest.warns(RuntimeWarning, match=r"diagnostics.Wasserstein2: .*`max_iterations` = 50"):
        with pytest.raises(flows.FlowDivergedError, match=r"the diagnostic 'w2' became NaN or inf .*\(at t = 0\)"):
            flows.simulate(flow, x, t1=1.0, ts=[0.0, 1.0], diagnostics={"w2": D.Wasserstein2(y, max_iterations=50)})


def test_sinkhorn_divergence_of_a_translated_cloud_is_the_squared_shift():
    # with the squared Euclidean cost, OT_eps(mu, mu + m) = OT_eps(mu, mu) + |m|^2, so S_eps = |m|^2 exactly
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(7), (50, 2)))
    shift = np.array([0.6, -0.8])
    assert _call(D.SinkhornDivergence(x + shift, epsilon=0.5, threshold=1e-9), x) == pytest.approx(1.0, rel=1e-10)
    assert _call(D.SinkhornDivergence(x, epsilon=0.5, threshold=1e-9), x) == pytest.approx(0.0, abs=1e-10)


def test_sliced_wasserstein_matches_sorting_along_its_directions():
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(8), (60, 3)))
    y = np.asarray(jax.random.normal(jax.random.PRNGKey(9), (60, 3))) + [1.0, 0.0, -1.0]
    sw = D.SlicedWasserstein(y, n_projections=20, key=jax.random.PRNGKey(10))
    theta = np.asarray(sw.directions)
    np.testing.assert_allclose(np.linalg.norm(theta, axis=1), 1.0, rtol=1e-12)
    per_direction = np.mean((np.sort(x @ theta.T, axis=0) - np.sort(y @ theta.T, axis=0)) ** 2, axis=0)
    assert _call(sw, x) == pytest.approx(np.sqrt(per_direction.mean()), rel=1e-8)


# ---------------------------------------------------------------- dynamics, tables


def test_velocity_norm_squared_is_the_mmd_flows_dissipation():
    target = jax.random.normal(jax.random.PRNGKey(11), (30, 2)) + 1.0
    y = jax.random.normal(jax.random.PRNGKey(12), (25, 2))
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.0))
    speed = _call(D.VelocityNorm(flow), y)
    assert speed**2 == pytest.approx(float(flow.dissipation(0.0, y, None)), rel=1e-12)
    assert _call(D.RelativeDissipationResidual(flow), y) < 1e-10
    with pytest.raises(ValueError, match="`flow` must be a gradient flow"):
        D.RelativeDissipationResidual(D.VelocityNorm(flow))


def discrepancy_diagnostics(backend):
    """The diagnostics that sum a kernel, under `backend`, on fixed clouds of 24 particles and 20
    target samples (multiples of 4: rows split across 4 devices)."""
    kx, ky = jax.random.split(jax.random.PRNGKey(14))
    x, y = jax.random.normal(kx, (24, 2)), 0.8 * jax.random.normal(ky, (20, 2)) + 1.0
    diagnostics = {
        "mmd2": D.MMD2(y, flows.kernels.IMQKernel(1.3), backend=backend),
        "mmd2_unbiased": D.MMD2(y, flows.kernels.GaussianKernel(0.9), unbiased=True, backend=backend),
        "multiscale": D.MMD2.multiscale(y, backend=backend),
        "energy_distance": D.EnergyDistance(y, backend=backend),
    }
    return x, diagnostics


def assert_discrepancies_match_auto(backend):
    """MMD² and the energy distance under `backend` equal their `"auto"` values to 1e-10 relative:
    an exact backend only reorders the additions (a few N eps, N = 24, eps = 2.2e-16)."""
    x, values = discrepancy_diagnostics(backend)
    _, reference = discrepancy_diagnostics("auto")
    for name, diagnostic in values.items():
        assert _call(diagnostic, x) == pytest.approx(float(_call(reference[name], x)), rel=1e-10), name


def test_discrepancies_on_the_blocked_backend_match_auto():
    """Tiles of 7 x 5, so both clouds are cut into padded blocks."""
    assert_discrepancies_match_auto(flows.kernels.BlockedSums(row_block=7, col_block=5))


def test_discrepancies_sum_through_their_backend():
    """With the sliced Riesz backend (P = 4 directions: far from exact) the energy distance is the
    sliced one, `flows.discrepancies.mmd2` under the same backend, not the exact value."""
    x, diagnostics = discrepancy_diagnostics(flows.kernels.SlicedRieszApproximation(jax.random.PRNGKey(2), projections=4))
    y = diagnostics["energy_distance"].target
    sliced = float(flows.discrepancies.mmd2(x, y, flows.kernels.EnergyKernel(1.0), backend=diagnostics["energy_distance"].backend))
    exact = float(flows.discrepancies.energy_distance(x, y))
    assert _call(diagnostics["energy_distance"], x) == pytest.approx(sliced, rel=1e-12)
    assert abs(sliced - exact) > 1e-3 * exact


def test_multiscale_mmd_uses_the_median_distance():
    target = np.asarray(jax.random.normal(jax.random.PRNGKey(13), (50, 2)))
    multi = D.MMD2.multiscale(target, factors=(0.5, 2.0))
    scale = flows.kernels.median_bandwidth(target)
    np.testing.assert_allclose([k.bandwidth for k in multi.kernel.kernels], [0.5 * scale, 2.0 * scale], rtol=1e-12)




@pytest.mark.parametrize("make", [lambda y: D.SinkhornDivergence(y, epsilon=0.1), lambda y: D.Wasserstein2(y)])
def test_transport_diagnostics_take_float32_particles_under_x64(make):
    """The test session runs with jax_enable_x64: ott's default weights are then float64, and float32
    particles raised a TypeError inside ott. The weights now follow the particles' dtype; the value
    matches the float64 computation to float32 precision."""
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) + 1.0
    diagnostic = make(y)
    single = _call(diagnostic, x.astype(np.float32))
    assert single.dtype == np.float32
    assert float(single) == pytest.approx(float(_call(diagnostic, x)), rel=1e-4)
