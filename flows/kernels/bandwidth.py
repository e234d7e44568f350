r"""The median heuristic for a kernel bandwidth."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_points
from .distances import squared_distances


@jax.jit
def _median_distance(x: Array) -> Array:
    iu = jnp.triu_indices(x.shape[0], k=1)
    return jnp.median(jnp.sqrt(squared_distances(x, x)[iu]))



def median_bandwidth(
    x: Float[ArrayLike, "n d"], y: Float[ArrayLike, "m d"] | None = None, *, max_points: int = 1000
) -> float:
    r"""Median heuristic: $\sigma = \operatorname{median}_{i<j} \|z_i - z_j\|$ over the pooled sample.

    The pooled sample is `x` (and `y`, when given) stacked; above `max_points` points an evenly
    strided subsample of that many is used, so the answer is deterministic.
    Convention: the median of Euclidean distances, not of squared distances, and no factor
    $1/\sqrt{2}$ or $\log n$.
    """
    x = check_points("x", x)
    if y is not None:
        y = check_points("y", y, dim=x.shape[1], dim_name="x")
        x = jnp.concatenate([x, y])
    if x.shape[0] < 2:
        raise ValueError("`x` (with `y`) must hold at least 2 points for a median distance.")
    if x.shape[0] > max_points:
        x = x[jnp.linspace(0, x.shape[0] - 1, max_points).astype(int)]
    median = _median_distance(x)
    if float(median) <= 0:
        raise ValueError("all points coincide: the median distance is 0, no bandwidth can be set.")
    return float(median)
