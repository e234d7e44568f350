"""The particle MMD flow (Arbel, Korba, Salim, Gretton, NeurIPS 2019), x_i' = -grad f(x_i) with
dF/dt = -E |grad f|^2, under diffrax and the discrete engine."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flows
from flows.core.diagnostic_groups import DiagnosticRecorder


def gaussian_problem(seed=0, n=100, m=100, d=2, shift=2.0):
    k_target, k_init = jax.random.split(jax.random.PRNGKey(seed))
    target = jax.random.normal(k_target, (m, d)) + shift
    x0 = jax.random.normal(k_init, (n, d))
    return target, x0


def test_dissipation_identity_along_tsit5():
    """F(t_{k+1}) - F(t_k) = -int D dt along an adaptive Tsit5 trajectory (relative residual
    < 1e-2), and dF/dt + E|grad f|^2 = 0 pointwise by autodiff inside the loop."""
    target, x0 = gaussian_problem()
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.5))
    traj = flows.simulate(
        flow, x0, t1=20.0, ts=jnp.linspace(0, 20, 201),
        stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-8),
        diagnostics={**flow.diagnostics(), "dissipation_residual": flow.dissipation_residual},
    )
    check = flows.analysis.dissipation_check(traj)
    assert check.relative_residual < 1e-2
    # the energy really moved, so the identity is not checked on a flat curve
    assert traj.diagnostics["energy"][-1] < 0.1 * traj.diagnostics["energy"][0]
    residual = np.abs(traj.diagnostics["dissipation_residual"])
    assert residual.max() < 1e-8 * traj.diagnostics["dissipation"].max()
    # and MMD^2 = 2F is non-increasing along the flow
    np.testing.assert_allclose(traj.diagnostics["mmd2"], 2 * traj.diagnostics["energy"], rtol=1e-12)
    assert np.all(np.diff(traj.diagnostics["mmd2"]) <= 1e-12)


@pytest.mark.parametrize("solver, order, band", [(diffrax.Euler(), 1.0, 0.1), (diffrax.Heun(), 2.0, 0.15)])
def test_convergence_order(solver, order, band):
    """Slope of log(error at t1) against log(dt) for fixed steps, against a tight Tsit5 solution."""
    target, x0 = gaussian_problem(seed=1, n=12, m=12, shift=1.0)
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.0))
    t1 = 2.0
    reference = flows.simulate(
        flow, x0, t1=t1, ts=[t1], diagnostics={},
        stepsize_controller=diffrax.PIDController(rtol=1e-12, atol=1e-12),
    ).final_state
    dts = np.array([0.1, 0.05, 0.025, 0.0125])
    errors = [
        np.abs(flows.simulate(flow, x0, t1=t1, ts=[t1], solver=solver, dt0=dt, diagnostics={}).final_state - reference).max()
        for dt in dts
    ]
    slope = np.polyfit(np.log(dts), np.log(errors), 1)[0]
    assert abs(slope - order) < band, f"measured order {slope:.3f}, expected {order} +- {band}"


def test_flow_from_standard_normal_to_shifted_gaussian_reduces_mmd2_100x():
    target, x0 = gaussian_problem(seed=2, n=200, m=200, shift=2.0)
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(2.0))
    traj = flows.simulate(flow, x0, t1=400.0, ts=jnp.array([0.0, 400.0]))
    mmd2 = traj.diagnostics["mmd2"]
    assert mmd2[0] / mmd2[-1] >= 100


def test_fixed_step_gradient_descent_equals_diffrax_euler():
    target, x0 = gaussian_problem(seed=3, n=50, m=60)
    flow = flows.particle.MMDFlow(target, flows.kernels.IMQKernel())
    ts = jnp.linspace(0.0, 5.0, 11)
    gd = flows.simulate(flow, x0, t1=5.0, ts=ts, solver=flows.GradientDescent(step=0.1))
    euler = flows.simulate(flow, x0, t1=5.0, ts=ts, solver=diffrax.Euler(), dt0=0.1)
    np.testing.assert_allclose(gd.ts, euler.ts, rtol=0, atol=1e-12)
    np.testing.assert_allclose(gd.ys, euler.ys, rtol=1e-12, atol=1e-14)
    for name in ("mmd2", "energy", "dissipation"):
        np.testing.assert_allclose(gd.diagnostics[name], euler.diagnostics[name], rtol=1e-12, atol=1e-15)
    assert gd.stats["num_steps"] == 50


def test_optax_sgd_is_the_same_gradient_descent():
    target, x0 = gaussian_problem(seed=4, n=30, m=30)
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.0))
    plain = flows.simulate(flow, x0, t1=3.0, solver=flows.GradientDescent(step=0.25))
    sgd = flows.simulate(flow, x0, t1=3.0, solver=flows.GradientDescent(step=0.25, optimizer=optax.sgd(0.25)))
    np.testing.assert_allclose(sgd.ys, plain.ys, rtol=1e-12, atol=1e-14)


def test_any_optax_optimizer_runs_on_the_discrete_engine():
    """An optax optimizer passed as the solver: one iteration per unit of time, MMD^2 decreases."""
    target, x0 = gaussian_problem(seed=5, n=60, m=60)
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(2.0))
    traj = flows.simulate(flow, x0, t1=200.0, solver=optax.adam(0.05))
    assert traj.stats["num_steps"] == 200
    assert traj.metadata["engine"] == "discrete"
    assert traj.diagnostics["mmd2"][-1] < 0.05 * traj.diagnostics["mmd2"][0]


def test_float32_state_stays_float32():
    target, x0 = gaussian_problem(seed=6, n=40, m=40)
    flow = flows.particle.MMDFlow(target.astype(jnp.float32), flows.kernels.GaussianKernel(1.0))
    traj = flows.simulate(flow, x0.astype(jnp.float32), t1=5.0, ts=jnp.linspace(0, 5, 6))
    assert traj.ys.dtype == np.float32
    assert traj.diagnostics["mmd2"].dtype == np.float32
    # and it follows the float64 run to float32 accuracy
    traj64 = flows.simulate(flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.0)), x0, t1=5.0, ts=jnp.linspace(0, 5, 6))
    np.testing.assert_allclose(traj.ys, traj64.ys, atol=2e-3)


def test_custom_diagnostics_are_computed_in_the_loop():
    """Diagnostics given to simulate equal the same functions applied to the saved states."""
    target, x0 = gaussian_problem(seed=7, n=40, m=50)
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.0))
    multi = flows.kernels.SumKernel.gaussians([0.5, 1.0, 4.0])
    traj = flows.simulate(
        flow, x0, t1=10.0, ts=jnp.linspace(0, 10, 5),
        diagnostics={"mmd2_multi": flows.diagnostics.MMD2(target, multi), "energy_distance": flows.diagnostics.EnergyDistance(target)},
    )
    assert set(traj.diagnostics) == {"mmd2_multi", "energy_distance"}
    for i in range(len(traj)):
        np.testing.assert_allclose(traj.diagnostics["mmd2_multi"][i], flows.discrepancies.mmd2(traj.ys[i], target, multi), rtol=1e-12)
        np.testing.assert_allclose(traj.diagnostics["energy_distance"][i], flows.discrepancies.energy_distance(traj.ys[i], target), rtol=1e-12)


Y = jnp.ones((5, 2)) * jnp.arange(5.0)[:, None]
K = flows.kernels.GaussianKernel(1.0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: flows.particle.MMDFlow(Y.at[0, 0].set(jnp.nan), K), "`target` must be finite"),
        (lambda: flows.particle.MMDFlow(jnp.ones((0, 2)), K), "`target` must be non-empty"),
        (lambda: flows.particle.MMDFlow(Y, kernel=1.0), "`kernel` must be a flows kernel"),
    ],
)
def test_bad_mmd_flow_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def _count_primitive(jaxpr, name: str) -> int:
    """Occurrences of the primitive `name` in a jaxpr, sub-jaxprs (loops, checkpoints) included."""
    count = 0
    for eqn in jaxpr.eqns:
        count += eqn.primitive.name == name
        for param in eqn.params.values():
            for sub in param if isinstance(param, (list, tuple)) else (param,):
                inner = getattr(sub, "jaxpr", sub)
                if hasattr(inner, "eqns"):
                    count += _count_primitive(inner, name)
    return count


def _exps(fn, x) -> int:
    return _count_primitive(jax.make_jaxpr(fn)(x).jaxpr, "exp")


@pytest.mark.parametrize("backend", ["dense", flows.kernels.BlockedSums(row_block=16, col_block=8)], ids=["dense", "blocked"])
def test_default_diagnostics_are_one_kernel_pass_and_keep_their_values(backend):
    """The default `mmd2`, `energy` and `dissipation` are one group (`WitnessDiagnostics`): recorded
    together, as `simulate` records them, they evaluate the Gaussian kernel at the pairs the drift
    evaluates, once (as many `exp`s in the traced program as the drift; the three apart take four
    times as many); their values are MMD², ½ MMD² and E|grad f|^2, alone or together, to 1e-12
    relative; the autodiff residual is only recorded when asked for."""
    target, x0 = gaussian_problem()
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.2), backend=backend)
    diagnostics = flow.diagnostics()
    assert sorted(diagnostics) == ["dissipation", "energy", "mmd2"]
    mmd2 = float(flows.discrepancies.mmd2(x0, target, flow.kernel))
    grads = np.asarray(flow.witness_grad(x0, x0))
    expected = {"mmd2": mmd2, "energy": 0.5 * mmd2, "dissipation": np.mean(np.sum(grads**2, axis=1))}
    recorder = DiagnosticRecorder.of(diagnostics)
    together = recorder(0.0, x0, None)
    for name, value in expected.items():
        assert float(together[name]) == pytest.approx(value, rel=1e-12), name
        assert float(diagnostics[name](0.0, x0, None)) == pytest.approx(value, rel=1e-12), name
    drift = _exps(lambda x: flow.drift(0.0, x, None), x0)
    apart = {"mmd2": flow.mmd2, "energy": flow.energy_at, "dissipation": flow.dissipation}
    assert _exps(lambda x: recorder(0.0, x, None), x0) == drift
    assert _exps(lambda x: DiagnosticRecorder.of(apart)(0.0, x, None), x0) == 4 * drift