"""The multi-start gradient flow's constant factors, pinned against a NumPy closed form."""

import jax
import jax.numpy as jnp
import numpy as np

import flows


def test_multistart_drift_energy_and_dissipation_against_the_analytic_gradient():
    """F(theta) = (1/2) theta' Q theta + c' theta + sin(theta_0 theta_1) with its gradient written
    by hand (NumPy): drift -grad F(theta_s) per start, energy sum_s F(theta_s), dissipation
    sum_s |grad F(theta_s)|^2, and the per-start `objective` and `gradient_norm` diagnostics.
    Tolerance 1e-13 relative (rounding): a relative change of 1e-4 in the drift, the energy or the
    dissipation fails it."""
    q = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 3.0]])
    c = np.array([0.3, -1.0, 0.5])

    def objective(theta):
        return 0.5 * theta @ jnp.asarray(q) @ theta + jnp.asarray(c) @ theta + jnp.sin(theta[0] * theta[1])

    y = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (6, 3))) * 1.5
    value = 0.5 * np.einsum("si,ij,sj->s", y, q, y) + y @ c + np.sin(y[:, 0] * y[:, 1])
    grad = y @ q + c + np.cos(y[:, 0] * y[:, 1])[:, None] * np.stack([y[:, 1], y[:, 0], np.zeros(len(y))], axis=1)
    flow = flows.analysis.MultiStartGradientFlow(objective)
    yj = jnp.asarray(y)
    np.testing.assert_allclose(flow.drift(0.0, yj, None), -grad, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(flow.energy(yj), value.sum(), rtol=1e-13)
    np.testing.assert_allclose(flow.dissipation(0.0, yj, None), np.sum(grad**2), rtol=1e-13)
    np.testing.assert_allclose(flow.values(0.0, yj, None), value, rtol=1e-13)
    np.testing.assert_allclose(flow.gradient_norm(0.0, yj, None), np.linalg.norm(grad, axis=1), rtol=1e-13)
