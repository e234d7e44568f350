r"""Pairwise squared distances in matrix form, the one place that forms them.

$\|x_i - y_j\|^2 = \|x_i\|^2 + \|y_j\|^2 - 2\,x_i \cdot y_j$ costs one matrix product and never
an (N, M, d) tensor. Both clouds are first shifted by a common centre (distances are translation
invariant), which keeps the cancellation error small for clouds far from the origin; entries at
or below the remaining rounding level are set to exactly 0, so coincident points get distance 0
and kernels that are singular at 0 (Laplace, Riesz) see the defined value there.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

# Rounding level of the expansion, in units of eps * (|x_i|^2 + |y_j|^2) after centring.
_ROUNDING_ULPS = 8.0


def common_centre(x: Float[Array, "n d"], y: Float[Array, "m d"]) -> Float[Array, " d"]:
    """Mean of the pooled points: the shift applied before expanding squared distances."""
    n, m = x.shape[0], y.shape[0]
    return (jnp.sum(x, axis=0) + jnp.sum(y, axis=0)) / (n + m)


def squared_distances(x: Float[Array, "n d"], y: Float[Array, "m d"]) -> Float[Array, "n m"]:
    """Matrix of $\\|x_i - y_j\\|^2$, non-negative, with rounding noise flushed to 0."""
    c = common_centre(x, y)
    return centred_squared_distances(x - c, y - c)


def centred_squared_distances(x: Float[Array, "n d"], y: Float[Array, "m d"]) -> Float[Array, "n m"]:
    """`squared_distances` for clouds already shifted by a common centre (one tile of a blocked sum)."""
    xx = jnp.sum(x * x, axis=1)[:, None]
    yy = jnp.sum(y * y, axis=1)[None, :]
    xy2 = 2 * (x @ y.T)
    keep = 1 - _ROUNDING_ULPS * jnp.finfo(x.dtype).eps
    # s > tol * (xx + yy), written as (1 - tol)(xx + yy) > 2 x.y: same test, but XLA fuses it
    # with the product (the direct form runs ~5x slower on CPU, measured).
    return jnp.where(keep * xx + keep * yy > xy2, xx + yy - xy2, 0.0)
