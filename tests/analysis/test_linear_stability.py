"""The gradient-descent stability threshold `flows.analysis.max_stable_step` against closed forms
and against gradient descent itself."""


import warnings

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


def test_max_stable_step_closed_forms():
    """Symmetric A: 2/mu_max; a rotation-damping block (eigenvalues -a ± ib): 2a/(a² + b²); the
    Jacobian is laid out in `ravel_pytree` order over a pytree state."""
    a, b = 0.5, 2.0
    matrix = jnp.array([[-a, b, 0.0], [-b, -a, 0.0], [0.0, 0.0, -0.1]])
    flow = LinearFlow(matrix)
    y = (jnp.ones(2), jnp.ones(1))
    np.testing.assert_allclose(flows.analysis.drift_jacobian(flow, y), matrix, rtol=0, atol=1e-15)
    assert flows.analysis.max_stable_step(flow, y) == pytest.approx(min(2 * a / (a**2 + b**2), 2 / 0.1), rel=1e-12)
    symmetric = LinearFlow(-jnp.diag(jnp.array([0.5, 3.0, 1.0])))
    assert flows.analysis.max_stable_step(symmetric, y) == pytest.approx(2 / 3.0, rel=1e-12)
    assert flows.analysis.max_stable_step(LinearFlow(jnp.eye(3)), y) == float("inf")  # no decaying direction
    with pytest.raises(ValueError, match="flow"):
        flows.analysis.max_stable_step(object(), y)



def test_mmd_flow_jacobian_is_minus_n_times_the_energy_hessian():
    """F = MMD²/2 of the particles' V-statistic has dF/dx_i = (1/N) grad f(x_i) and the drift is -grad f(x_i)
    (Arbel et al., NeurIPS 2019), so drift = -N grad F and J = -N Hess F, by two independent autodiff paths."""
    flow, x0 = small_mmd_flow(n=6, seed=3)
    hessian = jax.hessian(lambda z: flow.energy(z.reshape(6, 2)))(x0.reshape(-1))
    np.testing.assert_allclose(flows.analysis.drift_jacobian(flow, x0), -6 * hessian, rtol=1e-10, atol=1e-12)



def test_gradient_descent_converges_below_the_stable_step_and_not_above():
    """One particle, one target y, Gaussian kernel sigma: the equilibrium x* = y has J = -I/sigma²,
    so the threshold is 2 sigma² exactly. GD from x* + 1e-4 converges at 0.95x, oscillates away at 1.05x."""
    sigma = 0.7
    target = jnp.array([[0.3, -0.2]])
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(sigma))
    threshold = flows.analysis.max_stable_step(flow, target)
    assert threshold == pytest.approx(2 * sigma**2, rel=1e-12)
    x0 = target + 1e-4
    for factor, converges in ((0.95, True), (1.05, False)):
        h = factor * threshold
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            traj = flows.simulate(flow, x0, t1=300 * h, solver=flows.GradientDescent(step=h), diagnostics={},
                                  divergence_scale=None)  # measure how far it oscillates away
        error = np.linalg.norm(traj.final_state - target)
        assert (error < 1e-9) if converges else (error > 1e-2), (factor, error)
        # `simulate` warns before a run whose step is above the limit at y0 (here it is near x*)
        assert any("linear-stability limit" in str(w.message) for w in caught) != converges
    with pytest.raises(flows.FlowDivergedError, match="spread"):  # by default: 100x the start's 1.4e-4
        flows.simulate(flow, x0, t1=300 * h, solver=flows.GradientDescent(step=h), diagnostics={})
