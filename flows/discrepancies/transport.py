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
- $W_2$ from the transport cost of the entropic plan at a small $\varepsilon$, relative to the mean
  cost $\bar c$ (so it is small on any data scale), after rounding the plan onto the couplings
  $U(a, b)$ (Altschuler, Weed, Rigollet, NeurIPS 2017, Algorithm 2: scale down the rows that carry
  too much mass, then the columns, then add the missing mass as a rank-one term), so the cost is
  that of a true coupling and never below the exact $W_2^2$. Above it by at most
  $\varepsilon\,\bar c\,\log\min(N, M)$ (the entropic plan's bias: $\mathrm{KL}(P\,\|\,ab^\top) \le
  \log\min(N, M)$ for uniform weights) plus $3\,c_{\max}\,\delta$ (rounding a plan whose marginals
  are off by $\delta$ in $\ell_1$, $\delta$ < `threshold` at convergence): `w2_tolerance`.

Every solve reads ott's `converged` flag (the marginals met to `threshold` within
`max_iterations`). The public functions raise `SinkhornNotConvergedError`; inside a flow or an
in-loop diagnostic the value becomes NaN with a `RuntimeWarning` naming the setting to change
(`flows.core.convergence`), and `simulate` stops there.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_choice, check_points, check_positive, check_positive_int
from ..core.convergence import nan_unless_converged, shown

COSTS = ("sqeuclidean", "euclidean")


class SinkhornNotConvergedError(RuntimeError):
    """Sinkhorn's iterations stopped at `max_iterations` before the marginals were met to `threshold`."""


def not_converged_message(owner: str, threshold, max_iterations: int, *, recorded: str = "") -> str:
    """What an unconverged Sinkhorn solve says: who ran it, what became of the value (`recorded`)
    and the settings that would fix it."""
    return (
        f"{owner}: Sinkhorn did not converge (marginals not met to `threshold` = {shown(threshold)} within "
        f"`max_iterations` = {max_iterations}){recorded}. Raise `max_iterations`, or a larger `threshold` or `epsilon`."
    )


NAN = "; the value is NaN"


def _uniform(points: Array) -> Array:
    return jnp.full(points.shape[0], 1.0 / points.shape[0], points.dtype)


def _solve_dtype(x: Array):
    """The dtype ott solves in: the points' dtype promoted to JAX's default float width."""
    return jnp.promote_types(x.dtype, jnp.result_type(float))


def _cost_fn(cost: str):
    from ott.geometry import costs

    return costs.SqEuclidean() if cost == "sqeuclidean" else costs.Euclidean()


def sinkhorn_divergence_solve(
    x: Array, y: Array, epsilon, *, cost: str = "sqeuclidean", threshold: float, max_iterations: int
) -> tuple[Array, Array]:
    r"""$S_\varepsilon$ and whether all three of its Sinkhorn solves converged, without argument
    checks, traceable (values in the points' dtype)."""
    from ott.geometry import pointcloud
    from ott.tools import sinkhorn_divergence

    dtype = _solve_dtype(x)
    xs, ys = x.astype(dtype), y.astype(dtype)
    divergence, out = sinkhorn_divergence.sinkhorn_divergence(
        pointcloud.PointCloud, xs, ys, cost_fn=_cost_fn(cost), epsilon=jnp.asarray(epsilon, dtype),
        a=_uniform(xs), b=_uniform(ys), solve_kwargs={"threshold": threshold, "max_iterations": max_iterations},
    )
    return divergence.astype(x.dtype), jnp.all(jnp.stack([jnp.asarray(c) for c in out.converged]))


def sinkhorn_divergence_unchecked(
    x: Array, y: Array, epsilon, *, cost: str = "sqeuclidean", threshold: float, max_iterations: int, owner: str
) -> Array:
    """`sinkhorn_divergence` for flows and diagnostics: NaN, with a warning naming `owner`'s
    settings, when a solve did not converge."""
    value, converged = sinkhorn_divergence_solve(
        x, y, epsilon, cost=cost, threshold=threshold, max_iterations=max_iterations
    )
    return nan_unless_converged(value, converged, not_converged_message(owner, threshold, max_iterations, recorded=NAN))


def _rounded_transport_cost(out) -> Array:
    r"""$\langle G, C\rangle$ for the rounding $G \in U(a, b)$ of ott's plan $P$ (Altschuler, Weed,
    Rigollet, NeurIPS 2017, Algorithm 2), without forming $P$: scaling rows and columns of
    $P = \exp((f \oplus g - C)/\varepsilon)$ is a shift of the potentials, and the rank-one correction
    $e_r e_c^\top / \|e_r\|_1$ costs $e_r^\top C e_c / \|e_r\|_1$."""
    geom, a, b = out.geom, out.a, out.b
    eps = geom.epsilon
    rows = jnp.minimum(a / out.marginal(1), 1.0)
    scaled = out.set(potentials=(out.f + eps * jnp.log(rows), out.g))
    columns = jnp.minimum(b / scaled.marginal(0), 1.0)
    scaled = scaled.set(potentials=(scaled.f, scaled.g + eps * jnp.log(columns)))
    missing_rows, missing_columns = a - scaled.marginal(1), b - scaled.marginal(0)
    mass = jnp.sum(missing_rows)
    correction = missing_rows @ geom.apply_cost(missing_columns, axis=1) / jnp.where(mass > 0, mass, 1.0)
    return scaled.primal_cost + jnp.where(mass > 0, correction, 0.0)


def entropic_w2_solve(
    x: Array, y: Array, epsilon: float, *, threshold: float, max_iterations: int
) -> tuple[Array, Array]:
    """$W_2$ from the rounded entropic plan and whether Sinkhorn converged, without argument
    checks, traceable."""
    from ott.geometry import pointcloud
    from ott.solvers import linear

    dtype = _solve_dtype(x)
    xs, ys = x.astype(dtype), y.astype(dtype)
    geom = pointcloud.PointCloud(xs, ys, epsilon=epsilon, relative_epsilon="mean")
    out = linear.solve(geom, a=_uniform(xs), b=_uniform(ys), threshold=threshold, max_iterations=max_iterations)
    return jnp.sqrt(jnp.maximum(_rounded_transport_cost(out), 0.0)).astype(x.dtype), out.converged


def entropic_w2_unchecked(
    x: Array, y: Array, epsilon: float, *, threshold: float, max_iterations: int, owner: str
) -> Array:
    """`entropic_w2` for diagnostics: NaN, with a warning naming `owner`'s settings, when Sinkhorn
    did not converge."""
    value, converged = entropic_w2_solve(x, y, epsilon, threshold=threshold, max_iterations=max_iterations)
    return nan_unless_converged(value, converged, not_converged_message(owner, threshold, max_iterations, recorded=NAN))


def w2_tolerance(x: ArrayLike, y: ArrayLike, epsilon: float, threshold: float) -> float:
    r"""The bound on `entropic_w2(x, y, epsilon=..., threshold=...)`² minus the exact $W_2^2$ (module
    docstring): $\varepsilon\,\bar c\,\log\min(N, M) + 3\,c_{\max}\,$`threshold`, with $\bar c$,
    $c_{\max}$ the mean and largest squared distance between the samples."""
    x, y = _check_pair(x, y)
    sq = jnp.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1)
    n = min(x.shape[0], y.shape[0])
    return float(epsilon * jnp.mean(sq) * math.log(n) + 3.0 * jnp.max(sq) * threshold)


def _check_pair(x, y) -> tuple[Array, Array]:
    x = check_points("x", x)
    return x, check_points("y", y, dim=x.shape[1], dim_name="x")


def _check_solver(threshold, max_iterations) -> None:
    check_positive("threshold", threshold)
    check_positive_int("max_iterations", max_iterations)


def _converged_value(solved: tuple[Array, Array], owner: str, threshold: float, max_iterations: int) -> Array:
    value, converged = solved
    if not bool(converged):
        raise SinkhornNotConvergedError(not_converged_message(owner, threshold, max_iterations))
    return value


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

    **Raises:** `SinkhornNotConvergedError` if a solve stops at `max_iterations` unconverged.
    """
    x, y = _check_pair(x, y)
    check_positive("epsilon", epsilon)
    check_choice("cost", cost, COSTS)
    _check_solver(threshold, max_iterations)
    solved = _sinkhorn_divergence(x, y, epsilon, cost, threshold, max_iterations)
    return _converged_value(solved, "sinkhorn_divergence", threshold, max_iterations)


@eqx.filter_jit
def _sinkhorn_divergence(x, y, epsilon, cost, threshold, max_iterations):
    return sinkhorn_divergence_solve(x, y, epsilon, cost=cost, threshold=threshold, max_iterations=max_iterations)


def entropic_w2(
    x: Float[ArrayLike, "N d"], y: Float[ArrayLike, "M d"], *, epsilon: float = 1e-3, threshold: float = 1e-3,
    max_iterations: int = 20_000,
) -> Float[Array, ""]:
    r"""$W_2$ between the empirical measures of `x` and `y` from the rounded entropic plan (module
    docstring): never below the exact $W_2$, and its square above $W_2^2$ by at most `w2_tolerance`.

    **Arguments:** `epsilon` (relative to the mean squared distance), `threshold`,
    `max_iterations` (Sinkhorn's stopping rule).

    **Raises:** `SinkhornNotConvergedError` if Sinkhorn stops at `max_iterations` unconverged.
    """
    x, y = _check_pair(x, y)
    check_positive("epsilon", epsilon)
    _check_solver(threshold, max_iterations)
    solved = _entropic_w2(x, y, float(epsilon), float(threshold), max_iterations)
    return _converged_value(solved, "entropic_w2", threshold, max_iterations)


@eqx.filter_jit
def _entropic_w2(x, y, epsilon, threshold, max_iterations):
    return entropic_w2_solve(x, y, epsilon, threshold=threshold, max_iterations=max_iterations)


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

    **Raises:** `SinkhornNotConvergedError` if a solve stops at `max_iterations` unconverged.
    """
    x, y = _check_pair(x, y)
    check_positive("epsilon", epsilon)
    _check_solver(threshold, max_iterations)
    dtype = jnp.result_type(x.dtype, y.dtype)
    x, y = x.astype(dtype), y.astype(dtype)
    solved = _sinkhorn_divergence(
        x, y, jnp.asarray(epsilon, dtype), "euclidean", jnp.asarray(threshold, dtype), max_iterations
    )
    return float(_converged_value(solved, "sinkhorn_w1", threshold, max_iterations))
