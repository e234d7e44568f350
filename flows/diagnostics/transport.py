r"""Optimal-transport distances to fixed target samples, through `ott-jax`, as in-loop diagnostics.

All three use the squared Euclidean cost $c(x, y) = \|x - y\|^2$ and uniform weights.

- `SinkhornDivergence(target, epsilon)`: the debiased entropic OT cost
  $S_\varepsilon(\mu, \nu) = \mathrm{OT}_\varepsilon(\mu, \nu) - \tfrac12\mathrm{OT}_\varepsilon(\mu, \mu)
  - \tfrac12\mathrm{OT}_\varepsilon(\nu, \nu)$ (Feydy et al., AISTATS 2019), `ott.tools.sinkhorn_divergence`.
  It interpolates between $W_2^2$ ($\varepsilon \to 0$) and MMD² with the kernel $-\|x-y\|^2$
  ($\varepsilon \to \infty$); non-negative and zero only when $\mu = \nu$.
- `Wasserstein2(target, epsilon)`: $W_2$ estimated by the transport cost $\langle P_\varepsilon, C\rangle$
  of the entropic plan at a small $\varepsilon$ (`ott.solvers.linear.solve`); $\varepsilon$ is
  relative to the mean cost, so the default $10^{-3}$ is small on any data scale. As
  $\varepsilon \to 0$ this is the exact $W_2$ between the two empirical measures.
- `SlicedWasserstein(target, n_projections, key)`: $SW_2 = (\mathbb{E}_\theta W_2^2(\theta_\#\mu,
  \theta_\#\nu))^{1/2}$ over random directions $\theta$ on the sphere, each 1-D problem solved
  exactly by sorting (`ott.tools.sliced`); the directions are fixed by `key`, so the diagnostic
  is a deterministic function of the particles.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_points, check_positive


class SinkhornDivergence(eqx.Module):
    """In-loop diagnostic: the Sinkhorn divergence $S_\\varepsilon$ (squared Euclidean cost) between
    the particles and `target`.

    **Arguments:**
    - `target`: target samples (M, d).
    - `epsilon`: the entropic regularisation $\\varepsilon$, in units of the squared distance.
    - `threshold`: Sinkhorn stops when the marginals are met to this tolerance (ott's default 1e-3).
    """

    target: Float[Array, "m d"]
    epsilon: float = eqx.field(static=True)
    threshold: float = eqx.field(static=True)

    def __init__(self, target: Float[ArrayLike, "m d"], epsilon: float = 0.1, threshold: float = 1e-3):
        check_positive("epsilon", epsilon)
        check_positive("threshold", threshold)
        self.target = check_points("target", target)
        self.epsilon = float(epsilon)
        self.threshold = float(threshold)

    def __call__(self, t, y, args):
        from ott.tools import sinkhorn_divergence  # ott is imported on first use: it doubles `import flows`

        value, _ = sinkhorn_divergence.sinkdiv(
            y, self.target.astype(y.dtype), epsilon=self.epsilon, solve_kwargs={"threshold": self.threshold}
        )
        return value


class Wasserstein2(eqx.Module):
    """In-loop diagnostic: $W_2$ between the particles and `target`, from the entropic plan at a
    small relative $\\varepsilon$ (see the module docstring).

    **Arguments:**
    - `target`: target samples (M, d).
    - `epsilon`: the regularisation relative to the mean squared distance (default $10^{-3}$).
    - `max_iterations`: the most Sinkhorn iterations.
    """

    target: Float[Array, "m d"]
    epsilon: float = eqx.field(static=True)
    max_iterations: int = eqx.field(static=True)

    def __init__(self, target: Float[ArrayLike, "m d"], epsilon: float = 1e-3, max_iterations: int = 5000):
        check_positive("epsilon", epsilon)
        check_positive("max_iterations", max_iterations)
        self.target = check_points("target", target)
        self.epsilon = float(epsilon)
        self.max_iterations = int(max_iterations)

    def __call__(self, t, y, args):
        from ott.geometry import pointcloud  # imported on first use (see SinkhornDivergence)
        from ott.solvers import linear

        geom = pointcloud.PointCloud(y, self.target.astype(y.dtype), epsilon=self.epsilon, relative_epsilon="mean")
        out = linear.solve(geom, max_iterations=self.max_iterations)
        return jnp.sqrt(jnp.maximum(out.primal_cost, 0.0))


class SlicedWasserstein(eqx.Module):
    """In-loop diagnostic: the sliced Wasserstein distance $SW_2$ between the particles and `target`.

    **Arguments:**
    - `target`: target samples (M, d).
    - `n_projections`: the number of random directions.
    - `key`: the `jax.random` key that draws them (fixed for the whole run).
    """

    target: Float[Array, "m d"]
    directions: Float[Array, "p d"]

    def __init__(self, target: Float[ArrayLike, "m d"], n_projections: int = 100, key: Array | None = None):
        check_positive("n_projections", n_projections)
        self.target = check_points("target", target)
        key = jax.random.PRNGKey(0) if key is None else key
        directions = jax.random.normal(key, (int(n_projections), self.target.shape[1]), self.target.dtype)
        self.directions = directions / jnp.linalg.norm(directions, axis=1, keepdims=True)

    def _project(self, x: Array) -> Array:
        return x @ self.directions.astype(x.dtype).T

    def __call__(self, t, y, args):
        from ott.tools import sliced  # imported on first use (see SinkhornDivergence)

        value, _ = sliced.sliced_wasserstein(y, self.target.astype(y.dtype), proj_fn=self._project)
        return jnp.sqrt(jnp.maximum(value, 0.0))
