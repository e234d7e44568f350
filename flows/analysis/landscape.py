r"""Optimization landscapes from many random starts.

Is an objective $F: \mathbb R^p \to \mathbb R$ *benign* (every local minimum global, every other
stationary point a strict saddle)? The empirical test runs its gradient flow from many random
starts and looks at where they stop:

- `MultiStartGradientFlow(F)`: the state is a batch of starts $\theta_1..\theta_B$, shape (B, p),
  and each follows its own gradient flow $\dot\theta_s = -\nabla F(\theta_s)$. The batch is the
  gradient flow of $\sum_s F(\theta_s)$, so `flows.simulate` runs all starts at once: with a diffrax
  solver (the ODE; an adaptive controller takes the step the hardest start needs) or with
  `flows.GradientDescent(step=h)` (plain GD from every start, independently).
- `hessian_spectra(F, points)`: the eigenvalues of $\nabla^2 F$ (autodiff) at each row of
  `points`. At a stationary point, all positive: a strict local minimum; a negative one: a strict
  saddle (or maximum), which gradient descent leaves from almost every start (Lee et al. 2016).

The motivating case: with a Gaussian kernel the population MMD² is benign for an unknown mean, a
low-rank Gaussian $G(z) = Az + b$, $z \sim \mathcal N(0, I_k)$ (it depends on $A$ through $AA^\top$
only, and its minima are the orbit $A^\ast R$, $R$ orthogonal) and the symmetric mixture
$\frac12\mathcal N(\theta, I) + \frac12\mathcal N(-\theta, I)$ (Alon, Globerson, Wiesel, "On the Optimization Landscape of Maximum Mean Discrepancy", arXiv:2110.13452, 2021).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_finite
from ..core.flow import AbstractGradientFlow, Diagnostic

Objective = Callable[[Float[Array, " p"]], Float[Array, ""]]
"""A scalar objective of one parameter vector (p,). Pass an `equinox` module (its arrays stay
traced, so one compilation serves, e.g., every bandwidth) or a function."""


def _check_points(name: str, points) -> Array:
    points = jnp.asarray(points)
    if points.ndim != 2 or points.shape[0] == 0 or points.shape[1] == 0:
        raise ValueError(f"`{name}` must be a non-empty batch of parameter vectors, shape (B, p), got {tuple(points.shape)}.")
    if not jnp.issubdtype(points.dtype, jnp.floating):
        points = points.astype(jnp.result_type(float))
    check_finite(name, points)
    return points


def _check_objective(objective) -> None:
    if not callable(objective):
        raise ValueError(f"`objective` must be callable, a scalar function of a parameter vector, got {type(objective).__name__}.")


class MultiStartGradientFlow(AbstractGradientFlow):
    r"""$\dot\theta_s = -\nabla F(\theta_s)$ for every start $s$ of a batch (state (B, p)): the
    gradient flow of $\sum_s F(\theta_s)$ (module docstring).

    **Arguments:**
    - `objective`: $F$, a scalar function of one parameter vector (p,) (an `equinox` module or a
      function), differentiable by JAX.

    **Diagnostics:** `objective` ($F(\theta_s)$ per start, shape (B,)), `gradient_norm`
    ($\|\nabla F(\theta_s)\|$ per start), and the gradient-flow ones: `energy` ($\sum_s F$),
    `dissipation` ($\sum_s\|\nabla F(\theta_s)\|^2$); `dissipation_residual` when asked for.
    """

    objective: Objective

    def __init__(self, objective: Objective):
        _check_objective(objective)
        self.objective = objective

    def check_state(self, y0: Float[ArrayLike, "B p"]) -> Float[Array, "B p"]:
        return _check_points("y0", y0)

    def gradients(self, y: Float[Array, "B p"]) -> Float[Array, "B p"]:
        """$\\nabla F(\\theta_s)$ for each row of `y`."""
        return jax.vmap(jax.grad(self.objective))(y)

    def drift(self, t, y, args):
        return -self.gradients(y)

    def values(self, t, y, args) -> Float[Array, " B"]:
        """$F(\\theta_s)$ for each start, as a diagnostic."""
        return jax.vmap(self.objective)(y)

    def gradient_norm(self, t, y, args) -> Float[Array, " B"]:
        """$\\|\\nabla F(\\theta_s)\\|$ for each start, as a diagnostic."""
        return jnp.linalg.norm(self.gradients(y), axis=1)

    def energy(self, y):
        return jnp.sum(jax.vmap(self.objective)(y))

    def dissipation(self, t, y, args):
        return jnp.sum(self.gradients(y) ** 2)

    def diagnostics(self) -> dict[str, Diagnostic]:
        return {"objective": self.values, "gradient_norm": self.gradient_norm, **super().diagnostics()}


HESSIAN_BATCH = 16


@eqx.filter_jit
def _spectra(objective, points):
    def spectrum(theta):
        hessian = jax.hessian(objective)(theta)
        return jnp.linalg.eigvalsh(0.5 * (hessian + hessian.T))

    # batches of 16 (vmapped inside a sequential map): one vmap over ~100 Hessians of a
    # Cholesky-based objective deadlocked XLA's CPU runtime intermittently (jax 0.10.2)
    return jax.lax.map(spectrum, points, batch_size=HESSIAN_BATCH)


def hessian_spectra(objective: Objective, points: Float[ArrayLike, "B p"]) -> Float[np.ndarray, "B p"]:
    """The eigenvalues (ascending) of the Hessian $\\nabla^2 F$ (autodiff) at each row of `points`.

    **Arguments:**
    - `objective`: $F$, a scalar function of one parameter vector (p,).
    - `points`: the parameter vectors, shape (B, p) (e.g. a trajectory's final states).
    """
    _check_objective(objective)
    return np.asarray(_spectra(objective, _check_points("points", points)))
