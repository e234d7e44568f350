"""Drift-evaluation counts (`flows.drift_evaluations`, `trajectory.stats["num_drift_evaluations"]`)
against an exact count, and the gradient-descent stability threshold `flows.max_stable_step`
against closed forms and against gradient descent itself."""

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows


class CountingFlow(flows.AbstractFlow):
    """Another flow's drift, counting every evaluation on the host (`counter` is a one-item list)."""

    inner: flows.AbstractFlow
    counter: list = eqx.field(static=True)

    def check_state(self, y0):
        return self.inner.check_state(y0)

    def drift(self, t, y, args):
        jax.debug.callback(lambda: self.counter.__setitem__(0, self.counter[0] + 1))
        return self.inner.drift(t, y, args)


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
    return flows.MMDFlow(jax.random.normal(k_target, (n, 2)) + 1.0, flows.GaussianKernel(1.0)), jax.random.normal(k_init, (n, 2))


@pytest.mark.parametrize(
    "solver, controller, dt0",
    [
        (diffrax.Tsit5(), diffrax.PIDController(rtol=1e-7, atol=1e-9), 0.05),  # FSAL, adaptive
        (diffrax.Heun(), None, 0.25),  # not FSAL
        (flows.GradientDescent(step=0.25), None, None),
    ],
)
def test_drift_evaluations_equal_an_exact_count(solver, controller, dt0):
    """The stat equals the number of times the drift really ran (counted by a host callback)."""
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
    sde = flows.DiffusionMMDFlow(flow.target, flow.kernel, flows.ConstantSchedule(0.1))
    traj = flows.simulate(sde, x0, t1=1.0, solver=diffrax.Euler(), dt0=0.1, key=jax.random.PRNGKey(1), diagnostics={})
    assert "num_drift_evaluations" not in traj.stats


def test_max_stable_step_closed_forms():
    """Symmetric A: 2/mu_max; a rotation-damping block (eigenvalues -a ± ib): 2a/(a² + b²); the
    Jacobian is laid out in `ravel_pytree` order over a pytree state."""
    a, b = 0.5, 2.0
    matrix = jnp.array([[-a, b, 0.0], [-b, -a, 0.0], [0.0, 0.0, -0.1]])
    flow = LinearFlow(matrix)
    y = (jnp.ones(2), jnp.ones(1))
    np.testing.assert_allclose(flows.drift_jacobian(flow, y), matrix, rtol=0, atol=1e-15)
    assert flows.max_stable_step(flow, y) == pytest.approx(min(2 * a / (a**2 + b**2), 2 / 0.1), rel=1e-12)
    symmetric = LinearFlow(-jnp.diag(jnp.array([0.5, 3.0, 1.0])))
    assert flows.max_stable_step(symmetric, y) == pytest.approx(2 / 3.0, rel=1e-12)
    assert flows.max_stable_step(LinearFlow(jnp.eye(3)), y) == float("inf")  # no decaying direction
    with pytest.raises(ValueError, match="flow"):
        flows.max_stable_step(object(), y)


def test_mmd_flow_jacobian_is_minus_n_times_the_energy_hessian():
    """drift = -N grad F (MATH.md section 3), so J = -N Hess F, by two independent autodiff paths."""
    flow, x0 = small_mmd_flow(n=6, seed=3)
    hessian = jax.hessian(lambda z: flow.energy(z.reshape(6, 2)))(x0.reshape(-1))
    np.testing.assert_allclose(flows.drift_jacobian(flow, x0), -6 * hessian, rtol=1e-10, atol=1e-12)


def test_gradient_descent_converges_below_the_stable_step_and_not_above():
    """One particle, one target y, Gaussian kernel sigma: the equilibrium x* = y has J = -I/sigma²,
    so the threshold is 2 sigma² exactly. GD from x* + 1e-4 converges at 0.95x, oscillates away at 1.05x."""
    sigma = 0.7
    target = jnp.array([[0.3, -0.2]])
    flow = flows.MMDFlow(target, flows.GaussianKernel(sigma))
    threshold = flows.max_stable_step(flow, target)
    assert threshold == pytest.approx(2 * sigma**2, rel=1e-12)
    x0 = target + 1e-4
    for factor, converges in ((0.95, True), (1.05, False)):
        h = factor * threshold
        traj = flows.simulate(flow, x0, t1=300 * h, solver=flows.GradientDescent(step=h), diagnostics={})
        error = np.linalg.norm(traj.final_state - target)
        assert (error < 1e-9) if converges else (error > 1e-2), (factor, error)
