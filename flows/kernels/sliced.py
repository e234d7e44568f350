r"""Sliced kernel sums for the Riesz kernel $k(x, y) = -\|x - y\|$ (exponent r = 1).

For $\xi$ uniform on the sphere $S^{d-1}$, $\mathbb{E}_\xi |\langle \xi, v\rangle| = c_d \|v\|$ with
$c_d = \Gamma(d/2) / (\sqrt{\pi}\,\Gamma((d+1)/2))$, so with P directions $\xi_1..\xi_P$

$$k_P(x, y) = -\frac{1}{c_d P}\sum_{p=1}^P |\langle \xi_p, x - y\rangle| \;\to\; -\|x - y\| \quad (P \to \infty),$$

$$\sum_j w_j \nabla_x k_P(x_i, y_j) = -\frac{1}{c_d P}\sum_p \xi_p \sum_j w_j\,
  \operatorname{sign}(\langle\xi_p, x_i\rangle - \langle\xi_p, y_j\rangle).$$

Each inner sum is a rank: with the projections of the $y_j$ sorted, it is
$\#\{s_j < t_i\} + \#\{s_j \le t_i\} - M$ (or the same with prefix sums of the weights),
found by binary search. Cost $O(P\,(N + M)\log M)$ instead of $O(NM)$ (Hertrich, Wald,
Altekrüger, Hagemann, "Generative sliced MMD flows with Riesz kernels", ICLR 2024).

Speed (measured on the CI CPU): XLA sorts a lone integer array ~7x faster than float keys or
key-value pairs, so projections are mapped to order-preserving integer keys (int32 for float32,
int64 for float64) and the two clouds are sorted separately; no permutation is ever undone.

$k_P$ is itself a conditionally positive definite kernel, so the sliced sums are *exact* sums of
$k_P$ (the tests check them against a dense NumPy evaluation of $k_P$); the approximation is the
Monte-Carlo error of $k_P$ against $-\|x - y\|$, of order $\sqrt{d / P}$.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

# Entries (projections x points) of one block of projections: bounds memory at large N.
_BLOCK_ENTRIES = 2**22


def slice_constant(dim: int) -> float:
    """$c_d = \\mathbb{E}_\\xi|\\xi_1| = \\Gamma(d/2) / (\\sqrt\\pi\\,\\Gamma((d+1)/2))$."""
    return math.exp(math.lgamma(dim / 2) - math.lgamma((dim + 1) / 2)) / math.sqrt(math.pi)


def order_keys(t: Array) -> Array:
    """Integers whose order is the order of the floats `t` (-0 and +0 map to one key)."""
    t = t + jnp.zeros((), t.dtype)  # -0.0 + 0.0 = +0.0
    itype = jnp.int32 if t.dtype.itemsize == 4 else jnp.int64
    bits = jax.lax.bitcast_convert_type(t, itype)
    return jnp.where(bits < 0, bits ^ jnp.iinfo(itype).max, bits)


def _direction_blocks(directions: Array, n_points: int) -> Array:
    """Directions as (blocks, block, d), zero-padded: a zero direction contributes exactly 0."""
    p, d = directions.shape
    block = max(1, min(p, _BLOCK_ENTRIES // max(n_points, 1)))
    n_blocks = math.ceil(p / block)
    padded = jnp.concatenate([directions, jnp.zeros((n_blocks * block - p, d), directions.dtype)])
    return padded.reshape(n_blocks, block, d)


def _search(sorted_rows: Array, queries: Array, side: str) -> Array:
    return jax.vmap(lambda a, v: jnp.searchsorted(a, v, side=side))(sorted_rows, queries)


def _signed_counts(tx: Array, ty: Array, weights: Array | None) -> Array:
    """$\\sum_j w_j \\operatorname{sign}(t_{pi} - s_{pj})$ for projections tx (P, n), ty (P, m)."""
    kx, ky = order_keys(tx), order_keys(ty)
    m = ty.shape[1]
    if weights is None:
        ks = jnp.sort(ky, axis=1)
        return (_search(ks, kx, "left") + _search(ks, kx, "right") - m).astype(tx.dtype)
    ks, ws = jax.lax.sort((ky, jnp.broadcast_to(weights, ky.shape)), dimension=1, num_keys=1)
    prefix = jnp.concatenate([jnp.zeros((ws.shape[0], 1), ws.dtype), jnp.cumsum(ws, axis=1)], axis=1)
    below = jnp.take_along_axis(prefix, _search(ks, kx, "left"), axis=1)
    at_or_below = jnp.take_along_axis(prefix, _search(ks, kx, "right"), axis=1)
    return below + at_or_below - prefix[:, -1:]


def sliced_riesz_grad_sum(
    x: Float[Array, "n d"], y: Float[Array, "m d"], weights: Float[Array, " m"] | None, directions: Float[Array, "p d"]
) -> Float[Array, "n d"]:
    """$\\sum_j w_j \\nabla_x k_P(x_i, y_j)$ (plain sum when `weights` is None)."""
    blocks = _direction_blocks(directions, x.shape[0] + y.shape[0])

    def block_sum(dirs):
        return _signed_counts(dirs @ x.T, dirs @ y.T, weights).T @ dirs

    total = jax.lax.map(block_sum, blocks).sum(axis=0) if blocks.shape[0] > 1 else block_sum(blocks[0])
    return -total / (slice_constant(x.shape[1]) * directions.shape[0])


def _abs_sums(tx: Array, ty: Array, weights: Array | None) -> Array:
    """$\\sum_j w_j |t_{pi} - s_{pj}|$ by prefix sums over the sorted $s$."""
    w = jnp.ones_like(ty) if weights is None else jnp.broadcast_to(weights, ty.shape)
    s, ws = jax.lax.sort((ty, w), dimension=1, num_keys=1)
    zero = jnp.zeros((s.shape[0], 1), s.dtype)
    prefix_w = jnp.concatenate([zero, jnp.cumsum(ws, axis=1)], axis=1)
    prefix_ws = jnp.concatenate([zero, jnp.cumsum(ws * s, axis=1)], axis=1)
    below = _search(s, tx, "left")
    w_below = jnp.take_along_axis(prefix_w, below, axis=1)
    ws_below = jnp.take_along_axis(prefix_ws, below, axis=1)
    w_above = prefix_w[:, -1:] - w_below
    ws_above = prefix_ws[:, -1:] - ws_below
    return tx * w_below - ws_below + ws_above - tx * w_above


def sliced_riesz_sum(
    x: Float[Array, "n d"], y: Float[Array, "m d"], weights: Float[Array, " m"] | None, directions: Float[Array, "p d"]
) -> Float[Array, " n"]:
    """$\\sum_j k_P(x_i, y_j) w_j$ (plain sum when `weights` is None)."""
    blocks = _direction_blocks(directions, x.shape[0] + y.shape[0])

    def block_sum(dirs):
        return jnp.sum(_abs_sums(dirs @ x.T, dirs @ y.T, weights), axis=0)

    total = jax.lax.map(block_sum, blocks).sum(axis=0) if blocks.shape[0] > 1 else block_sum(blocks[0])
    return -total / (slice_constant(x.shape[1]) * directions.shape[0])
