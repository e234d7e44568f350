"""Drift-evaluation counts (`flows.drift_evaluations`, `trajectory.stats["num_drift_evaluations"]`)
against an exact count, and the gradient-descent stability threshold `flows.analysis.max_stable_step`
against closed forms and against gradient descent itself."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows


class LinearFlow(flows.AbstractFlow):
    """dy/dt = A y on a state (u, w) split into two arrays (a pytree state)."""

    matrix: jax.Array

    def check_state(self, y0):
        return tuple(jnp.asarray(leaf) for leaf in y0)

    def drift(self, t, y, args):
        v = self.matrix @ jnp.concatenate(y)
        return v[: y[0].shape[0]], v[y[0].shape[0]:]



def small_mmd_flow(n=8, seed=0):
    k_target, k_init = jax.random.split(jax.random.PRNGKey(seed))
    return flows.particle.MMDFlow(jax.random.normal(k_target, (n, 2)) + 1.0, flows.kernels.GaussianKernel(1.0)), jax.random.normal(k_init, (n, 2))


class CountingFlow(flows.AbstractFlow):
    """Another flow's drift, counting every evaluation on the host (`counter` is a one-item list)."""

    inner: flows.AbstractFlow
    counter: list = eqx.field(static=True)

    def check_state(self, y0):
        return self.inner.check_state(y0)

    def drift(self, t, y, args):
        jax.debug.callback(lambda: self.counter.__setitem__(0, self.counter[0] + 1))
        return self.inner.drift(t, y, args)


@pytest.mark.parametrize(
    "solver, controller, dt0",
    [
        (diffrax.Tsit5(), diffrax.PIDController(rtol=1e-7, atol=1e-9), 0.05),  # FSAL, adaptive
        (diffrax.Heun(), None, 0.25),  # not FSAL
        (flows.GradientDescent(step=0.25), None, None),
    ],
)
def test_drift_evaluations_equal_an_exact_count(solver, controller, dt0):
    """The stat equals the number of times the drift really ran (counted by a host callback).
    (The step check before a gradient-descent run, which evaluates the drift's Jacobian, is
    skipped here: 16 state entries against 20 steps; `flows.core.stability.warn_if_step_unstable`.)"""
    flow, x0 = small_mmd_flow()
    counter = [0]
    traj = flows.simulate(CountingFlow(flow, counter), x0, t1=5.0, ts=np.linspace(0, 5, 5), solver=solver,
                          stepsize_controller=controller, dt0=dt0, diagnostics={})
    assert traj.stats["num_drift_evaluations"] == counter[0] > 0
    assert traj.stats["num_drift_evaluations"] == flows.drift_evaluations(solver, traj.stats["num_steps"])
    if isinstance(solver, diffrax.Tsit5):
        # a first step that is too large is rejected, and diffrax re-evaluates f(t0) (not counted)
        counter[0] = 0
        traj = flows.simulate(CountingFlow(flow, counter), x0, t1=5.0, ts=np.linspace(0, 5, 5), solver=solver,
                              stepsize_controller=controller, dt0=4.0, diagnostics={})
        assert 0 < counter[0] - traj.stats["num_drift_evaluations"] <= traj.stats["num_rejected_steps"]


def test_drift_evaluations_unknown_or_bad():
    assert flows.drift_evaluations(diffrax.Kvaerno5(), 10) is None  # implicit stages: Newton iterations
    assert flows.drift_evaluations(diffrax.Tsit5(), 10) == 61  # 7 stages, first same as last
    assert flows.drift_evaluations(diffrax.Bosh3(), 10) == 31  # 4 stages, first same as last
    assert flows.drift_evaluations(diffrax.Euler(), 10) == 10
    with pytest.raises(ValueError, match="num_steps"):
        flows.drift_evaluations(diffrax.Tsit5(), -1)
    with pytest.raises(ValueError, match="num_steps"):
        flows.drift_evaluations(diffrax.Tsit5(), 2.5)
    assert flows.drift_evaluations(flows.GradientDescent(step=0.1), np.int64(7)) == 7
    # an SDE flow integrates more than its drift: no count
    flow, x0 = small_mmd_flow()
    sde = flows.particle.DiffusionMMDFlow(flow.target, flow.kernel, flows.particle.ConstantSchedule(0.1))
    traj = flows.simulate(sde, x0, t1=1.0, solver=diffrax.Euler(), dt0=0.1, key=jax.random.PRNGKey(1), diagnostics={})
    assert "num_drift_evaluations" not in traj.stats


