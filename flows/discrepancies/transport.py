r"""Optimal transport through `ott-jax`: the one place the library calls it.

One dtype convention for every call: ott works in JAX's default float width (its initial
potentials and defaults follow it), so points are promoted to that width for the solve (float32
points under `jax_enable_x64` are solved in float64) and the value comes back in the points' own
dtype, with uniform weights made in the solve's dtype. ott is imported on first use (importing it
takes seconds).

- Entropic optimal transport between the empirical measures $\hat\mu = \frac1N\sum_i\delta_{x_i}$,
  $\hat\nu = \frac1M\sum_j\delta_{y_j}$ with cost $c$: $\mathrm{OT}_\varepsilon = \min_{P \in U(a, b)}
  \langle P, C\rangle + \varepsilon\,\mathrm{KL}(P \,\|\, ab^\top)$, solved by Sinkhorn iterations
  (Cuturi, NeurIPS 2013) until the marginals are met to `threshold`, at most `max_iterations`.
- The Sinkhorn divergence $S_\varepsilon(\mu, \nu) = \mathrm{OT}_\varepsilon(\mu, \nu)
  - \frac12\mathrm{OT}_\varepsilon(\mu, \mu) - \frac12\mathrm{OT}_\varepsilon(\nu, \nu)$ (Feydy,
  Séjourné, Vialard, Amari, Trouvé, Peyré, AISTATS 2019): non-negative, zero only when the
  measures agree, $W_p^p$ as $\varepsilon \to 0$ and an MMD with kernel $-c$ as $\varepsilon \to \infty$;
  gradients by implicit differentiation of the Sinkhorn fixed point.
- $W_2$ from the transport cost $\langle P_\varepsilon, C\rangle$ of the entropic plan at a small
  $\varepsilon$, relative to the mean cost, so it is small on any data scale.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_choice, check_points, check_positive, check_positive_int

COSTS = ("sqeuclidean", "euclidean")


def _uniform(points: Array) -> Array:
    return jnp.full(points.shape[0], 1.0 / points.shape[0], points.dtype)


def _solve_dtype(x: Array):
    """The dtype ott solves in: the points' dtype promoted to JAX's default float width."""
    return jnp.promote_types(x.dtype, jnp.result_type(float))


def _cost_fn(cost: str):
    from ott.geometry import costs

    return costs.SqEuclidean() if cost == "sqeuclidean" else costs.Euclidean()


def sinkhorn_divergence_unchecked(
    x: Array, y: Array, epsilon, *, cost: str = "sqeuclidean", threshold: float, max_iterations: int
) -> Array:
    """`sinkhorn_divergence` without argument checks, traceable (for flows and diagnostics)."""
    from ott.geometry import pointcloud
    from ott.tools import sinkhorn_divergence

    dtype = _solve_dtype(x)
    xs, ys = x.astype(dtype), y.astype(dtype)
    divergence, _ = sinkhorn_divergence.sinkhorn_divergence(
        pointcloud.PointCloud, xs, ys, cost_fn=_cost_fn(cost), epsilon=jnp.asarray(epsilon, dtype),
        a=_uniform(xs), b=_uniform(ys), solve_kwargs={"threshold": threshold, "max_iterations": max_iterations},
    )
    return divergence.astype(x.dtype)


def entropic_w2_unchecked(x: Array, y: Array, epsilon: float, *, threshold: float, max_iterations: int) -> Array:
    """`entropic_w2` without argument checks, traceable."""
    from ott.geometry import pointcloud
    from ott.solvers import linear

    dtype = _solve_dtype(x)
    xs, ys = x.astype(dtype), y.astype(dtype)
    geom = pointcloud.PointCloud(xs, ys, epsilon=epsilon, relative_epsilon="mean")
    out = linear.solve(geom, a=_uniform(xs), b=_uniform(ys), threshold=threshold, max_iterations=max_iterations)
    return jnp.sqrt(jnp.maximum(out.primal_cost, 0.0)).astype(x.dtype)


def _check_pair(x, y) -> tuple[Array, Array]:
    x = check_points("x", x)
    return x, check_points("y", y, dim=x.shape[1], dim_name="x")


def _check_solver(threshold, max_iterations) -> None:
    check_positive("threshold", threshold)
    check_positive_int("max_iterations", max_iterations)


def sinkhorn_divergence(
    x: Float[ArrayLike, "N d"], y: Float[ArrayLike, "M d"], epsilon: float, *, cost: str = "sqeuclidean",
    threshold: float = 1e-3, max_iterations: int = 2000,
) -> Float[Array, ""]:
    r"""The Sinkhorn divergence $S_\varepsilon(\hat\mu_N, \hat\nu_M)$ (module docstring).

    **Arguments:**
    - `x`, `y`: samples, shapes (N, d) and (M, d).
    - `epsilon`: the entropic regularization $\varepsilon > 0$, in units of the cost.
    - `cost`: `"sqeuclidean"` ($\|x - y\|^2$) or `"euclidean"` ($\|x - y\|$).
    - `threshold`, `max_iterations`: Sinkhorn's tolerance on the marginals and its iteration cap.
    """
    x, y = _check_pair(x, y)
    check_positive("epsilon", epsilon)
    check_choice("cost", cost, COSTS)
    _check_solver(threshold, max_iterations)
    return _sinkhorn_divergence(x, y, epsilon, cost, threshold, max_iterations)


@eqx.filter_jit
def _sinkhorn_divergence(x, y, epsilon, cost, threshold, max_iterations):
    return sinkhorn_divergence_unchecked(x, y, epsilon, cost=cost, threshold=threshold, max_iterations=max_iterations)


def entropic_w2(
    x: Float[ArrayLike, "N d"], y: Float[ArrayLike, "M d"], *, epsilon: float = 1e-3, threshold: float = 1e-3,
    max_iterations: int = 5000,
) -> Float[Array, ""]:
    r"""$W_2$ between the empirical measures of `x` and `y` from the entropic plan (module docstring).

    **Arguments:** `epsilon` (relative to the mean squared distance), `threshold`,
    `max_iterations` (Sinkhorn's stopping rule).
    """
    x, y = _check_pair(x, y)
    check_positive("epsilon", epsilon)
    _check_solver(threshold, max_iterations)
    return _entropic_w2(x, y, float(epsilon), float(threshold), max_iterations)


@eqx.filter_jit
def _entropic_w2(x, y, epsilon, threshold, max_iterations):
    return entropic_w2_unchecked(x, y, epsilon, threshold=threshold, max_iterations=max_iterations)


def sinkhorn_w1(
    x: Float[ArrayLike, "N d"], y: Float[ArrayLike, "M d"], epsilon: float, *, threshold: float = 1e-4,
    max_iterations: int = 5000,
) -> float:
    r"""The debiased Sinkhorn divergence $S_\varepsilon(\hat\mu_N, \hat\nu_M)$ with the Euclidean cost
    $\|x - y\|$: an estimate of $W_1$ between the samples' empirical measures, exact as
    $\varepsilon \to 0$.

    Between samples, not populations: in dimension $d$ the empirical $W_1$ between two samples of
    the SAME law is of order $N^{-1/d}$, so compare with that baseline (two Gaussian samples).

    **Arguments:** `x`, `y` (samples), `epsilon` (the entropic regularization, in units of
    distance), `threshold` (Sinkhorn's tolerance on the marginals), `max_iterations`.
    """
    x, y = _check_pair(x, y)
    check_positive("epsilon", epsilon)
    _check_solver(threshold, max_iterations)
    dtype = jnp.result_type(x.dtype, y.dtype)
    x, y = x.astype(dtype), y.astype(dtype)
    return float(_sinkhorn_divergence(x, y, jnp.asarray(epsilon, dtype), "euclidean", jnp.asarray(threshold, dtype), max_iterations))
