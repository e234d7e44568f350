"""Every bad input raises a ValueError that names the argument; a blow-up mid-run raises
FlowDivergedError saying when, and returns nothing."""

import re
import warnings

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows

Y = jnp.ones((5, 2)) * jnp.arange(5.0)[:, None]
X0 = jnp.zeros((4, 2)) + jnp.arange(4.0)[:, None] * 0.1
K = flows.kernels.GaussianKernel(1.0)


@pytest.mark.parametrize("step", [0.0, True])
def test_bad_step(step):
    """A boolean is not a step size (True used to run as 1)."""
    with pytest.raises(ValueError, match="`step` must be a finite positive number"):
        flows.GradientDescent(step=step)


FLOW = flows.particle.MMDFlow(Y, K)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(y0=jnp.ones((4, 3)), t1=1.0), r"`y0` must have dimension d = 2 to match `target`"),
        (dict(y0=X0.at[2, 1].set(jnp.nan), t1=1.0), "`y0` must be finite"),
        (dict(y0=jnp.ones((0, 2)), t1=1.0), "`y0` must be non-empty"),
        (dict(y0=X0, t1=0.0), "`t1` must be greater than `t0`"),
        (dict(y0=X0, t1=1.0, t0=2.0), "`t1` must be greater than `t0`"),
        (dict(y0=X0, t1=float("inf")), "`t1` must be a finite number"),
        (dict(y0=X0, t1=1.0, ts=[0.5, 2.0]), r"`ts` must lie in \[t0, t1\]"),
        (dict(y0=X0, t1=1.0, ts=[0.5, 0.2]), "`ts` must be non-decreasing"),
        (dict(y0=X0, t1=1.0, solver=diffrax.Euler(), stepsize_controller=diffrax.ConstantStepSize()), "`dt0` is required"),
        (dict(y0=X0, t1=1.0, solver=diffrax.Euler(), dt0=-0.1), "`dt0` must be a finite positive number"),
        (dict(y0=X0, t1=1.0, solver="euler"), "`solver` must be a diffrax solver"),
        (dict(y0=X0, t1=1.0, solver=flows.GradientDescent(step=0.3)), "whole number of solver steps"),
        (dict(y0=X0, t1=1.0, ts=[0.25, 0.3], solver=flows.GradientDescent(step=0.25)), "on the iteration grid"),
        (dict(y0=X0, t1=1.0, divergence_scale=1.0), "`divergence_scale` must be a finite number > 1"),
        (dict(y0=X0, t1=1.0, divergence_scale=True), "`divergence_scale` must be a finite number > 1"),
        (dict(y0=X0, t1=1.0, divergence_scale=float("inf")), "`divergence_scale` must be a finite number > 1"),
    ],
)
def test_bad_simulate_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flows.simulate(FLOW, **kwargs)


def test_simulate_rejects_a_non_flow():
    with pytest.raises(ValueError, match="`flow` must be a flows flow"):
        flows.simulate(lambda t, y, a: y, X0, t1=1.0)


class Blowup(flows.AbstractFlow):
    """dy/dt = y^2 from y(0) = 1: y = 1 / (1 - t) blows up at t = 1."""

    def drift(self, t, y, args):
        return y**2


def first_overflow(step: float) -> int:
    """The iteration at which y_{k+1} = y_k + step * y_k^2 from y_0 = 1 leaves float64, in NumPy."""
    y, k = np.float64(1.0), 0
    with np.errstate(over="ignore"):
        while np.isfinite(y):
            y, k = y + step * y * y, k + 1
    return k


def test_discrete_blowup_reports_the_iteration():
    k = first_overflow(0.25)
    with pytest.raises(flows.FlowDivergedError, match=rf"at iteration {k} \(t = {k * 0.25:g}\).*smaller `step`"):
        flows.simulate(Blowup(), jnp.ones((3, 1)), t1=4.0, solver=flows.GradientDescent(step=0.25), diagnostics={})


def test_fixed_step_ode_blowup_reports_the_time():
    """Euler with dt = 0.25 overflows in step k = first_overflow(0.25), i.e. on [(k-1) dt, k dt];
    the reported interval between saved times must bracket the end of that step."""
    ts = jnp.linspace(0.0, 4.0, 101)
    with pytest.raises(flows.FlowDivergedError, match=r"NaN or inf .*PIDController") as info:
        flows.simulate(Blowup(), jnp.ones((3, 1)), t1=4.0, ts=ts, solver=diffrax.Euler(), dt0=0.25, diagnostics={})
    last_good, first_bad = map(float, re.search(r"between t = ([\d.]+).* and t = ([\d.]+)\)", str(info.value)).groups())
    k = first_overflow(0.25)
    assert first_bad - last_good == pytest.approx(0.04)
    assert (k - 1) * 0.25 <= first_bad <= k * 0.25


def test_adaptive_solver_failure_reports_the_time_and_the_cause():
    with pytest.raises(flows.FlowDivergedError, match=r"maximum number of solver steps.*between t = 1\b"):
        flows.simulate(Blowup(), jnp.ones((3, 1)), t1=4.0, ts=jnp.linspace(0, 4, 101), diagnostics={})


def test_a_float32_step_is_on_the_grid_it_names():
    """0.05 in float32 is 0.0500000007...; 100 / that is not a whole number in float64, but the
    step means 2000 iterations and must be accepted (found by the overhead benchmark)."""
    flow = flows.particle.MMDFlow(Y.astype(jnp.float32), K)
    step = flows.GradientDescent(step=jnp.float32(0.05))
    traj = flows.simulate(flow, X0.astype(jnp.float32), t1=100.0, ts=[0.0, 50.0, 100.0], solver=step)
    assert traj.stats["num_steps"] == 2000
    # a time genuinely off the grid is still refused
    with pytest.raises(ValueError, match="on the iteration grid"):
        flows.simulate(flow, X0.astype(jnp.float32), t1=100.0, ts=[0.0, 50.01], solver=step)


@pytest.mark.parametrize("chunked", [False, True], ids=["one chunk", "checkpointed"])
def test_a_blowup_in_a_checkpointed_run_stops_at_the_same_iteration(tmp_path, chunked):
    """A run in chunks of 7 saved times stops at the chunk that diverged and reports the same
    iteration as the single-chunk run; no chunk after it is written."""
    k = first_overflow(0.25)
    checkpoint = flows.Checkpoint(tmp_path / "c", every=7, keep=True) if chunked else None
    with pytest.raises(flows.FlowDivergedError, match=rf"at iteration {k} \(t = {k * 0.25:g}\)"):
        flows.simulate(Blowup(), jnp.ones((3, 1)), t1=4.0, ts=jnp.linspace(0, 4, 17), solver=flows.GradientDescent(step=0.25),
                       diagnostics={}, checkpoint=checkpoint)
    if chunked:  # save j is iteration j, so chunk c reaches iterations 7c..7c+6: chunks 0..k//7 - 1 ran through
        assert len(list((tmp_path / "c").glob("chunk_*.npz"))) == k // 7 > 0


@pytest.mark.parametrize("solver", [diffrax.Tsit5(), flows.GradientDescent(step=0.5)], ids=["tsit5", "gd"])
@pytest.mark.parametrize("chunked", [False, True], ids=["one chunk", "checkpointed"])
def test_progress_bars(tmp_path, capsys, solver, chunked):
    """`progress=True` draws a bar that reaches its end: diffrax's meter (in %) for one ODE
    solve, saved times for a checkpointed ODE run, iterations for the discrete engine."""
    checkpoint = flows.Checkpoint(tmp_path / "c", every=3) if chunked else None
    traj = flows.simulate(FLOW, X0, t1=4.0, ts=jnp.linspace(0.0, 4.0, 9), solver=solver, progress=True, checkpoint=checkpoint)
    bar = capsys.readouterr().err.replace("\r", "\n")
    if isinstance(solver, flows.GradientDescent):
        assert "GradientDescent: 100%" in bar and "8/8" in bar  # 4 / 0.5 iterations
    elif chunked:
        assert "Tsit5: 100%" in bar and "9/9" in bar and "3/9" in bar  # advanced after each chunk of 3 saves
    else:
        assert "100.00%" in bar
    assert len(traj) == 9


def gaussian_cloud_problem(kernel, n=30, dtype=jnp.float32):
    """The `mmd_flow_gd.toml` problem, smaller: target N((2, 2), 0.5² I), particles N(0, I)."""
    k_target, k_init = jax.random.split(jax.random.PRNGKey(0))
    target = (2.0 + 0.5 * jax.random.normal(k_target, (n, 2))).astype(dtype)
    return flows.particle.MMDFlow(target, kernel), jax.random.normal(k_init, (n, 2)).astype(dtype)


@pytest.mark.parametrize("kernel", [flows.kernels.EnergyKernel(1.9), flows.kernels.GaussianKernel(2.0)], ids=["energy r=1.9", "gaussian"])
def test_gradient_descent_thrown_far_is_a_divergence(kernel):
    """A step of 1e4 throws the particles ~1e4 farther than anything in the problem in one
    iteration, finite (a Gaussian kernel's gradient vanishes there: they would stay forever, and
    the run used to finish 'fine'). The spread check stops it at iteration 1 and says what to do;
    the step was warned about before the run (it is far above `max_stable_step` at y0; the 1200
    planned steps are 20 per state entry, so the Jacobian is cheap next to the run)."""
    flow, x0 = gaussian_cloud_problem(kernel)
    limit = flows.analysis.max_stable_step(flow, x0)
    assert limit < 1e4
    with pytest.warns(RuntimeWarning, match=r"`step` = 10000 is above the linear-stability limit"):
        with pytest.raises(flows.FlowDivergedError, match=r"spread to .* divergence_scale = 100 .* at iteration 1 "
                                                          r"\(t = 10000\).*smaller `step`"):
            flows.simulate(flow, x0, t1=1.2e7, solver=flows.GradientDescent(step=1e4))


def test_a_diagnostic_that_turns_nan_is_a_divergence():
    """With the spread check off, the energy-kernel run above reaches |x| ~ 1e20 within a few
    iterations, still finite in float32, where MMD² overflows to NaN (the run used to finish with
    NaN diagnostics): the first NaN diagnostic stops the run, by name and iteration."""
    flow, x0 = gaussian_cloud_problem(flows.kernels.EnergyKernel(1.9))
    steps = flows.GradientDescent(step=1e4)
    with pytest.warns(RuntimeWarning, match="linear-stability limit"):
        with pytest.raises(flows.FlowDivergedError, match=r"the diagnostic '(mmd2|energy)' became NaN or inf \(the state "
                                                          r"is finite there\) at iteration \d+ \(t = \d+\)"):
            flows.simulate(flow, x0, t1=1.2e7, solver=steps, divergence_scale=None)


def test_langevin_at_too_large_a_step_is_a_divergence():
    """Euler-Maruyama on Langevin toward N(0, 0.25 I): the drift's Jacobian is -4 I, so dt0 above
    2/4 = 0.5 makes |1 - 4 dt0| > 1 and the cloud grows geometrically (to ~1e17 at t = 20, once
    reported as a finished run). Warned before (667 planned steps, 20 per state entry), stopped
    between the saved times that bracket the crossing of 100 times the reference."""
    flow = flows.particle.LangevinFlow(flows.targets.Gaussian(jnp.zeros(2), 0.25 * jnp.eye(2)), levy_area=False)
    x0 = 0.5 * jax.random.normal(jax.random.PRNGKey(1), (16, 2))
    assert flows.analysis.max_stable_step(flow, x0) == pytest.approx(0.5, rel=1e-12)
    with pytest.warns(RuntimeWarning, match=r"`dt0` = 0.6 is above the linear-stability limit .* 0.5"):
        with pytest.raises(flows.FlowDivergedError, match=r"spread to .* \(between t = [\d.]+, the last good saved state, "
                                                          r"and t = [\d.]+\): the run is diverging"):
            flows.simulate(flow, x0, t1=400.2, ts=jnp.linspace(0, 400.2, 11), solver=diffrax.Euler(), dt0=0.6,
                           key=jax.random.PRNGKey(2), max_steps=700)
    with warnings.catch_warnings():  # below the limit: no warning, and the run is fine
        warnings.simplefilter("error")
        traj = flows.simulate(flow, x0, t1=32.0, ts=jnp.linspace(0, 32, 5), solver=diffrax.Euler(), dt0=0.05,
                              key=jax.random.PRNGKey(2), max_steps=700)
    assert np.all(np.isfinite(traj.ys))


def test_the_spread_bound_is_relative_to_the_target_and_the_start():
    """`divergence_scale` scales the larger of the target's reach and the initial cloud's: a run
    that legitimately travels 20 target radii (started 20 radii away) passes; the same run with a
    bound below its start's reach is refused at once, naming the setting."""
    target = jnp.array([[0.0, 0.0], [1.0, 0.0]])
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(10.0))
    x0 = jnp.array([[20.0, 0.0], [21.0, 0.0]])
    traj = flows.simulate(flow, x0, t1=2.0, ts=jnp.linspace(0, 2, 3), diagnostics={})
    assert np.all(np.isfinite(traj.ys))
    spread = flow.spread()
    np.testing.assert_allclose(spread.centre, [0.5, 0.0], rtol=0, atol=1e-15)
    assert float(spread.target) == pytest.approx(0.5) and float(spread(x0)) == pytest.approx(20.5)


def test_float32_save_times_at_the_interval_end_are_accepted():
    """A float32 `jnp.linspace(0, 0.2, 3)` ends at 0.2000000030, past t1 = 0.2 by one float32
    rounding: both engines accept it (and save at 0.2), while a time a float32 rounding cannot
    explain (t1 + 1e-4) is still refused."""
    target = jax.random.normal(jax.random.PRNGKey(0), (20, 2), jnp.float32)
    x0 = jax.random.normal(jax.random.PRNGKey(1), (10, 2), jnp.float32)
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.0))
    ts = jnp.linspace(0.0, 0.2, 3, dtype=jnp.float32)
    assert float(ts[-1]) > 0.2
    for solver in (flows.GradientDescent(step=0.1), diffrax.Tsit5()):
        traj = flows.simulate(flow, x0, t1=0.2, ts=ts, solver=solver)
        np.testing.assert_allclose(traj.ts, [0.0, 0.1, 0.2], rtol=1e-6)
    with pytest.raises(ValueError, match="`ts` must lie in"):
        flows.simulate(flow, x0, t1=0.2, ts=jnp.array([0.0, 0.2001]), solver=diffrax.Tsit5())
