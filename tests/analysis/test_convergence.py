"""A-priori convergence constants and linearized rates (flows/analysis/convergence.py), and the
oscillation criterion (flows/analysis/oscillation.py), on cases solved by hand. Float64 (conftest)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows


def test_sublevel_infimum_of_a_linear_function_on_the_unit_disc():
    """inf of theta_1 over |theta|^2 <= 1 is -1 at (-1, 0), on the boundary; the last barrier weight
    1e-6 leaves a gap of about mu/2, so the value is within 1e-5, and polishing improves on the best
    random candidate."""
    candidates = jax.random.uniform(jax.random.PRNGKey(0), (200, 2), minval=-1.5, maxval=1.5)
    found = flows.analysis.sublevel_infimum(lambda t: t[0], lambda t: jnp.sum(t**2), 1.0, candidates, polish=4)
    assert isinstance(found, flows.analysis.SublevelInfimum)
    assert found.value == pytest.approx(-1.0, abs=1e-5) and found.constraint_at_argmin <= 1.0
    np.testing.assert_allclose(found.argmin, [-1.0, 0.0], atol=3e-3)
    assert found.best_candidate > found.value + 1e-3 and found.feasible < found.candidates == 200


def test_sublevel_infimum_without_polishing_is_the_best_feasible_candidate_and_bad_candidates_raise():
    """polish=0: the answer is the smallest value among the candidates inside the set (checked by
    hand); no feasible candidate is a ValueError."""
    c = jnp.array([0.3, -0.2])
    candidates = jax.random.normal(jax.random.PRNGKey(1), (50, 2))
    found = flows.analysis.sublevel_infimum(lambda t: jnp.sum((t - c) ** 2), lambda t: jnp.sum(t**2), 1.0, candidates, polish=0)
    inside = np.sum(np.asarray(candidates) ** 2, axis=1) <= 1.0
    expected = np.min(np.sum((np.asarray(candidates)[inside] - np.asarray(c)) ** 2, axis=1))
    assert found.polished == 0 and found.value == pytest.approx(expected, rel=1e-14) == found.best_candidate
    assert found.feasible == int(inside.sum())
    with pytest.raises(ValueError, match="no candidate"):
        flows.analysis.sublevel_infimum(lambda t: t[0], lambda t: jnp.sum(t**2), 1.0, candidates + 10.0)
    with pytest.raises(ValueError, match="`level`"):
        flows.analysis.sublevel_infimum(lambda t: t[0], lambda t: jnp.sum(t**2), 0.0, candidates)


def quadratic_flow():
    hessian = jnp.diag(jnp.array([1.0, 4.0]))
    return flows.analysis.MultiStartGradientFlow(lambda t: 0.5 * t @ hessian @ t)


def test_linearized_rates_of_a_quadratic_match_gradient_descent():
    """F = (theta_1^2 + 4 theta_2^2)/2: drift eigenvalues -1, -4; F decays at 2 per unit time along
    the flow, and GD with step h at -(2/h) log max(|1 - h|, |1 - 4h|), measured on a GD run (1e-9);
    h = 0.6 > 2/4 diverges (negative rate)."""
    flow = quadratic_flow()
    rates = flows.analysis.linearized_rates(flow, jnp.zeros((1, 2)), [0.1, 0.45, 0.6])
    np.testing.assert_allclose(np.sort(rates.eigenvalues.real), [-4.0, -1.0], atol=1e-12)
    assert rates.continuous_rate == pytest.approx(2.0)
    expected = [-2 / h * np.log(max(abs(1 - h), abs(1 - 4 * h))) for h in (0.1, 0.45, 0.6)]
    np.testing.assert_allclose(rates.discrete_rates, expected, rtol=1e-12)
    assert rates.discrete_rates[2] < 0
    for h, rate in zip(rates.steps[:2], rates.discrete_rates[:2]):
        traj = flows.simulate(flow, jnp.array([[1.0, 1.0]]), t1=60 * h, solver=flows.GradientDescent(step=h),
                              ts=h * np.arange(61), diagnostics={"energy": lambda t, y, a: flow.energy(y)})
        energy = np.asarray(traj.diagnostics["energy"])
        measured = -np.log(energy[-1] / energy[-2]) / h
        assert measured == pytest.approx(rate, rel=1e-9)


def test_noise_free_decreasing_curve_never_oscillates():
    """A sum of two decaying exponentials (noise-free, decreasing): never flagged, no giveback."""
    curve = np.exp(-0.05 * np.arange(300)) + 1e-3 * np.exp(-0.001 * np.arange(300))
    check = flows.analysis.oscillation_check(curve)
    assert isinstance(check, flows.analysis.OscillationCheck)
    assert not check.oscillated and check.largest_giveback == 0.0 and check.block_length == 30


def test_sampled_run_at_its_noise_floor_does_not_oscillate_but_trips_the_pointwise_rule():
    """Parametric MMD GD with 16 fresh latents a step on an affine generator, scored by the exact
    population MMD²: it falls from 0.61 to a floor near 5e-3 (measured), dipping to 1e-3 on the way,
    and fluctuates there. The pointwise rule (a value above twice the running minimum) fires on the
    fluctuations; the block-median criterion does not (it gives back < 2% of the decrease)."""
    keys = jax.random.split(jax.random.PRNGKey(2), 3)
    target = flows.targets.Gaussian(jnp.array([1.0, 0.0]), jnp.diag(jnp.array([1.0, 0.25])))
    generator = flows.parametric.AffineGenerator(jnp.array([[0.5, 0.0], [0.0, 0.2]]), jnp.array([-0.5, 0.5]))
    kernel = flows.kernels.GaussianKernel(1.0)
    flow = flows.parametric.ParametricMMDFlow(generator, target.sample(keys[0], 256), kernel,
                                              latents=jax.random.normal(keys[1], (16, 2)), fresh_latents=16)
    population = flows.parametric.ParametricMMDFlow(generator, target, kernel)
    traj = flows.simulate(flow, generator, t1=300.0, solver=flows.GradientDescent(step=1.0), key=keys[2],
                          ts=np.arange(301.0), diagnostics={"mmd2": population.mmd2})
    curve = np.asarray(traj.diagnostics["mmd2"])
    running = np.minimum.accumulate(curve)
    assert np.any(curve[1:] > 2 * running[:-1])  # the pointwise rule fires on sampling noise
    assert curve[-100:].mean() < 0.1 * curve[0]  # converged to a floor
    check = flows.analysis.oscillation_check(curve)
    assert not check.oscillated and check.largest_giveback < 0.02


def test_a_synthetic_noisy_floor_does_not_oscillate():
    """A decay to a floor with multiplicative chi-square(4)/4 noise (seeded): block medians of 30
    points agree to ~20%, far inside the giveback threshold, while the pointwise rule fires."""
    rng = np.random.default_rng(0)
    curve = (np.exp(-0.1 * np.arange(300)) + 5e-3) * rng.chisquare(4, 300) / 4
    curve[0] = 1.0
    running = np.minimum.accumulate(curve)
    assert np.any(curve[1:] > 2 * running[:-1])
    assert not flows.analysis.oscillation_check(curve).oscillated


def test_a_rebound_oscillates():
    """GD on F = theta^2 / 2 with step 2.05 > 2: |1 - h| = 1.05, F grows by 1.1025 a step (nothing
    gained: any rise counts); a curve that falls from 1 to 1e-3 and climbs back to 0.3 for the rest
    of the run gives back (0.3 - l)/(1 - l) of its decrease, l the median of its lowest block; one
    that climbs to 0.05 only 5%."""
    unstable = 1.1025 ** np.arange(100)
    assert flows.analysis.oscillation_check(unstable * 1e-6).oscillated
    rebound = np.concatenate([np.geomspace(1.0, 1e-3, 100), np.full(100, 0.3)])
    check = flows.analysis.oscillation_check(rebound)
    low = np.median(np.geomspace(1.0, 1e-3, 100)[80:])
    assert check.oscillated and check.largest_giveback == pytest.approx((0.3 - low) / (1 - low), rel=1e-12)
    assert not flows.analysis.oscillation_check(np.concatenate([np.geomspace(1.0, 1e-3, 100), np.full(100, 0.05)])).oscillated
    assert not flows.analysis.oscillation_check(rebound * 1e-12).oscillated  # below the round-off floor
    assert not flows.analysis.oscillation_check(np.full(100, np.nan)).oscillated


@pytest.mark.parametrize(
    "kwargs, match",
    [({"curve": np.ones(10)}, "`curve`"), ({"curve": np.ones(40), "fraction": 1.0}, "`fraction`"),
     ({"curve": np.ones(40), "blocks": 0}, "`blocks`"), ({"curve": np.ones(40), "floor": -1.0}, "`floor`")],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flows.analysis.oscillation_check(**kwargs)
