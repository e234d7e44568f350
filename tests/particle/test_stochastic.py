"""Langevin, noise-injected and diffusion MMD flows: closed forms, strong orders, reproducibility."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import expm

import flows
from flows import targets as T


def test_langevin_follows_the_ornstein_uhlenbeck_mean_and_covariance():
    """Gaussian target N(m, S), Gaussian start: the sample mean and covariance at t = 0.25, 0.5, 1, 2
    match the OU closed form given the initial sample moments, within 5 standard errors of the
    noise (N = 3000 particles); ShARK with dt = 0.02 adds a bias far below that."""
    m, cov = np.array([1.0, -1.0]), np.array([[1.0, 0.4], [0.4, 0.5]])
    n = 3000
    x0 = np.asarray(T.Gaussian([3.0, 2.0], [[0.3, 0.0], [0.0, 0.2]]).sample(jax.random.PRNGKey(1), n))
    times = np.array([0.25, 0.5, 1.0, 2.0])
    traj = flows.simulate(
        flows.particle.LangevinFlow(T.Gaussian(m, cov)), x0, t1=2.0, ts=np.concatenate([[0.0], times]),
        solver=diffrax.ShARK(), dt0=0.02, key=jax.random.PRNGKey(2),
    )
    a = np.linalg.inv(cov)
    mean0, cov0 = x0.mean(0), np.cov(x0.T)
    for t, x in zip(times, np.asarray(traj.ys[1:])):
        decay = expm(-a * t)
        noise_cov = cov - decay @ cov @ decay  # the covariance the Brownian part adds
        mean_t = m + decay @ (mean0 - m)
        cov_t = decay @ cov0 @ decay + noise_cov
        assert np.all(np.abs(x.mean(0) - mean_t) < 5 * np.sqrt(np.diag(noise_cov) / n)), t
        se = np.sqrt((np.outer(np.diag(cov_t), np.diag(cov_t)) + cov_t**2) / n)
        assert np.all(np.abs(np.cov(x.T) - cov_t) < 5 * se), t


@pytest.fixture(scope="module")
def langevin_order_problem():
    """Langevin for a bimodal target (nonlinear drift), 256 independent particles (each its own
    Brownian path, the same path at every step size) and a ShARK reference with dt = 2^-11."""
    flow = flows.particle.LangevinFlow(T.GaussianMixture.symmetric([1.0], std=0.7))
    x0 = np.linspace(-2.0, 2.0, 256)[:, None]
    key = jax.random.PRNGKey(3)
    run = lambda s, dt: flows.simulate(flow, x0, t1=1.0, ts=[1.0], solver=s, dt0=dt, key=key, diagnostics={}).final_state
    return run, run(diffrax.ShARK(), 2.0**-11)


@pytest.mark.parametrize(
    "solver, order, band",
    [
        (diffrax.Euler(), 1.0, 0.15),
        pytest.param(diffrax.Heun(), 1.0, 0.15, marks=pytest.mark.slow),  # Euler and ShARK cover the SDE path
        (diffrax.ShARK(), 1.5, 0.2),
    ],
)
def test_strong_order_on_langevin_with_additive_noise(langevin_order_problem, solver, order, band):
    """Strong error sqrt(E|X_h(1) - X(1)|^2) over the particles against the reference. Additive
    noise: Euler-Maruyama and Heun have strong order 1, ShARK 1.5. Measured slope of log error
    against log dt, dt = 2^-3 .. 2^-6."""
    run, reference = langevin_order_problem
    dts = 2.0 ** -np.arange(3, 7)
    errors = [np.sqrt(np.mean((run(solver, dt) - reference) ** 2)) for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - order) < band, f"measured strong order {slope:.3f}, expected {order} +- {band}"


def small_problem(seed=0, n=30, m=40, d=2, shift=3.0):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return jax.random.normal(k1, (m, d)), jax.random.normal(k2, (n, d)) + shift


def test_noise_injection_discrete_step_is_arbel_et_al_scheme():
    """One iteration is x - gamma grad f(x + beta u) with u drawn from fold_in(key, 0)."""
    y, x0 = small_problem()
    kernel = flows.kernels.GaussianKernel(1.0)
    flow = flows.particle.NoiseInjectedMMDFlow(y, kernel, 0.7)
    key = jax.random.PRNGKey(4)
    traj = flows.simulate(flow, x0, t1=0.1, solver=flows.GradientDescent(step=0.1), key=key)
    u = jax.random.normal(jax.random.fold_in(key, 0), x0.shape, x0.dtype)
    expected = x0 - 0.1 * flows.discrepancies.witness_grad(x0 + 0.7 * u, x0, y, kernel)
    np.testing.assert_allclose(traj.final_state, expected, rtol=1e-13, atol=1e-14)


def test_averaged_drift_is_the_expected_noisy_gradient():
    """The closed-form averaged drift equals a Monte Carlo mean of -grad f(x + beta u) within 5
    standard errors (8000 draws), for a sum of two Gaussian kernels."""
    y, x0 = small_problem(seed=1, n=10, m=12, shift=1.0)
    kernel = flows.kernels.SumKernel([flows.kernels.GaussianKernel(0.8), flows.kernels.GaussianKernel(2.0)], [1.0, 0.5])
    beta = 0.6
    flow = flows.particle.NoiseInjectedMMDFlow(y, kernel, beta)
    us = jax.random.normal(jax.random.PRNGKey(5), (8000,) + x0.shape)
    draws = -np.asarray(jax.vmap(lambda u: flows.discrepancies.witness_grad(x0 + beta * u, x0, y, kernel))(us))
    se = draws.std(0) / np.sqrt(len(draws))
    assert np.all(np.abs(draws.mean(0) - flow.drift(0.0, x0, None)) < 5 * se)


def test_zero_noise_recovers_the_plain_mmd_flow():
    y, x0 = small_problem(seed=2)
    kernel = flows.kernels.GaussianKernel(1.5)
    ts, key = np.linspace(0.0, 2.0, 5), jax.random.PRNGKey(0)
    zero = flows.particle.PiecewiseConstantSchedule([0.0, 0.0], [1.0])
    common = dict(t1=2.0, ts=ts, diagnostics={})
    plain = flows.simulate(flows.particle.MMDFlow(y, kernel), x0, solver=diffrax.Euler(), dt0=0.1, **common)
    injected = flows.simulate(flows.particle.NoiseInjectedMMDFlow(y, kernel, zero), x0, solver=flows.GradientDescent(step=0.1), key=key, **common)
    diffusion = flows.simulate(flows.particle.DiffusionMMDFlow(y, kernel, zero), x0, solver=diffrax.Euler(), dt0=0.1, key=key, **common)
    for traj in (injected, diffusion):
        np.testing.assert_allclose(traj.ys, plain.ys, rtol=1e-12, atol=1e-13)
    averaged = flows.particle.NoiseInjectedMMDFlow(y, kernel, zero).drift(jnp.asarray(0.5), x0, None)
    np.testing.assert_allclose(averaged, flows.particle.MMDFlow(y, kernel).drift(0.0, x0, None), rtol=1e-12, atol=1e-15)


def test_same_key_same_trajectory_different_key_different_noise():
    y, x0 = small_problem(seed=3)
    kernel = flows.kernels.GaussianKernel(1.0)
    schedule = flows.particle.StepDecaySchedule(1.0, 0.5, every=0.5)
    runs = {
        "injection": lambda key: flows.simulate(flows.particle.NoiseInjectedMMDFlow(y, kernel, schedule), x0, t1=2.0,
                                                solver=flows.GradientDescent(step=0.1), key=key),
        "diffusion": lambda key: flows.simulate(flows.particle.DiffusionMMDFlow(y, kernel, schedule), x0, t1=2.0,
                                                solver=diffrax.Heun(), dt0=0.1, key=key),
    }
    for name, run in runs.items():
        a, b, c = run(jax.random.PRNGKey(7)), run(jax.random.PRNGKey(7)), run(jax.random.PRNGKey(8))
        np.testing.assert_array_equal(a.ys, b.ys, err_msg=name)
        assert np.abs(a.final_state - c.final_state).max() > 1e-3, name
        # the recorded noise level is the schedule at the saved times
        np.testing.assert_allclose(a.diagnostics["noise_level"], 0.5 ** np.floor(a.ts / 0.5), rtol=1e-12)


def test_schedules():
    np.testing.assert_allclose(flows.particle.StepDecaySchedule(1.0, 0.5, 10.0)(jnp.array([0.0, 9.9, 10.0, 25.0])), [1, 1, 0.5, 0.25])
    piecewise = flows.particle.PiecewiseConstantSchedule([10.0, 1.0, 0.0], [500.0, 600.0])
    np.testing.assert_allclose(piecewise(jnp.array([0.0, 499.9, 500.0, 599.0, 600.0, 1e4])), [10, 10, 1, 1, 0, 0])
    # a user function works as a schedule, inside the compiled loop
    y, x0 = small_problem(seed=4)
    traj = flows.simulate(flows.particle.NoiseInjectedMMDFlow(y, flows.kernels.GaussianKernel(1.0), lambda t: 1.0 / (1.0 + t)), x0,
                          t1=1.0, solver=flows.GradientDescent(step=0.25), key=jax.random.PRNGKey(0))
    np.testing.assert_allclose(traj.diagnostics["noise_level"], 1 / (1 + traj.ts), rtol=1e-12)


def test_stochastic_flows_without_a_key_raise():
    y, x0 = small_problem(seed=5, n=5, m=5)
    kernel = flows.kernels.GaussianKernel(1.0)
    with pytest.raises(ValueError, match="`key` is required"):
        flows.simulate(flows.particle.NoiseInjectedMMDFlow(y, kernel, 1.0), x0, t1=1.0, solver=flows.GradientDescent(step=0.5))
    with pytest.raises(ValueError, match="`key` is required"):
        flows.simulate(flows.particle.DiffusionMMDFlow(y, kernel, 1.0), x0, t1=1.0, solver=diffrax.Euler(), dt0=0.5)
    with pytest.raises(ValueError, match="`key` is required"):
        flows.simulate(flows.particle.LangevinFlow(T.Gaussian([0.0, 0.0])), x0, t1=1.0, solver=diffrax.Euler(), dt0=0.5)
    with pytest.raises(ValueError, match="`solver`"):
        flows.simulate(flows.particle.LangevinFlow(T.Gaussian([0.0, 0.0])), x0, t1=1.0, solver=flows.GradientDescent(step=0.5),
                       key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="`target` must have a density"):
        flows.particle.LangevinFlow(T.TwoMoons())
    with pytest.raises(ValueError, match="`kernel` must be a GaussianKernel"):
        flows.particle.NoiseInjectedMMDFlow(y, flows.kernels.IMQKernel(), 1.0).drift(0.0, x0, None)
    with pytest.raises(ValueError, match="`noise`"):
        flows.particle.DiffusionMMDFlow(y, kernel, "high")
    with pytest.raises(ValueError, match="`values`"):
        flows.particle.PiecewiseConstantSchedule([1.0, -1.0], [2.0])



def test_brownian_increments_only_tree_keeps_euler_strong_order_one():
    """`levy_area=False` (a tree of Brownian increments only, the cheap path for Euler-Maruyama)
    gives the same Brownian path at every step size: Euler's measured strong order against Euler
    with dt = 2^-10 on that path is 1 (+- 0.15), dt = 2^-3 .. 2^-6 (additive noise)."""
    target = T.GaussianMixture.symmetric([1.0], std=0.7)
    flow = flows.particle.LangevinFlow(target, brownian_tolerance=2.0**-10, levy_area=False)
    x0 = np.linspace(-2.0, 2.0, 256)[:, None]
    key = jax.random.PRNGKey(3)
    run = lambda dt: flows.simulate(flow, x0, t1=1.0, ts=[1.0], solver=diffrax.Euler(), dt0=dt, key=key,
                                    diagnostics={}).final_state
    reference = run(2.0**-10)
    dts = 2.0 ** -np.arange(3, 7)
    errors = [np.sqrt(np.mean((run(dt) - reference) ** 2)) for dt in dts]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - 1.0) < 0.15, f"measured strong order {slope:.3f}, expected 1 +- 0.15"
    with pytest.raises(ValueError, match="levy_area"):
        flows.particle.LangevinFlow(target, levy_area="no")
