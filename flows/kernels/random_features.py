r"""Random Fourier features for shift-invariant kernels (Rahimi & Recht, NeurIPS 2007).

Bochner: a shift-invariant kernel is $k(x, y) = k(0)\,\mathbb{E}_\omega \cos\langle\omega, x - y\rangle$
for a spectral distribution of $\omega$. With D frequencies per kernel,

$$k_D(x, y) = \sum_{l=1}^{D} a_l \cos\langle\omega_l, x - y\rangle
  = \sum_l a_l\big(\cos\langle\omega_l, x\rangle\cos\langle\omega_l, y\rangle
  + \sin\langle\omega_l, x\rangle\sin\langle\omega_l, y\rangle\big), \quad a_l = k(0)/D,$$

so $\sum_j k_D(x_i, y_j) w_j$ needs the 2D feature sums of the $y_j$ once: O((N + M) D d)
instead of O(N M d). Gradients and the mixed Hessian sum follow by differentiating the cosines.
The frequencies and amplitudes come from the kernel's `spectral_sample` capability
(`flows.kernels.base`): frequencies drawn from the backend's key, then scaled by the kernel's
own parameters, so bandwidths stay traceable. `GaussianKernel` ($\omega = z/\sigma$), `IMQKernel`
(a Gaussian scale mixture), `LaplaceKernel` (Cauchy, values only: its feature gradients have
infinite variance) and `SumKernel` (D frequencies per part) have it.

Memory: the sources stream through in chunks (their feature sums accumulate in a `lax.scan`),
then the queries (`lax.map`), so only one chunk's (chunk x D) features exist at a time.

$k_D$ is itself a positive definite kernel, so these are exact sums of $k_D$; the error against
$k$ is Monte-Carlo, of order $k(0)/\sqrt{D}$ per kernel value.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array

from .blocked import chunk_length, chunk_rows
from .distances import common_centre

# (points x features) entries of one streamed chunk: memory O((N + M) d + chunk x D), not (N + M) x D.
_CHUNK_ENTRIES = 2**20


def _phases(points: Array, omegas: Array) -> tuple[Array, Array]:
    angles = points @ omegas.T
    return jnp.cos(angles), jnp.sin(angles)


def _chunk(rows: int, omegas: Array) -> int:
    return chunk_length(rows, _CHUNK_ENTRIES // omegas.shape[0])


def _source_sums(y: Array, columns: Array, omegas: Array, fn) -> tuple[Array, Array]:
    """$\\sum_j$ `fn(cos, sin, columns)` over chunks of the sources $y_j$: the (cos, sin) feature sums."""
    chunk = _chunk(y.shape[0], omegas)

    def add(acc, yc):
        cy, sy = _phases(*yc[:1], omegas)
        cos_sum, sin_sum = fn(cy, sy, yc[1])
        return (acc[0] + cos_sum, acc[1] + sin_sum), None

    first = fn(*_phases(y[:0], omegas), columns[:0])  # zero sums of the right shape
    (cos_sum, sin_sum), _ = jax.lax.scan(add, first, (chunk_rows(y, chunk), chunk_rows(columns, chunk)))
    return cos_sum, sin_sum


def _query_rows(x: Array, omegas: Array, fn) -> Array:
    """`fn(cos, sin)` for chunks of the queries $x_i$, stacked: one chunk's features at a time."""
    chunk = _chunk(x.shape[0], omegas)
    out = jax.lax.map(lambda xc: fn(*_phases(xc, omegas)), chunk_rows(x, chunk))
    return out.reshape((-1,) + out.shape[2:])[: x.shape[0]]


def _columns(y: Array, weights: Array | None) -> Array:
    """Weights as (m, p) columns (zero-padded chunks then add nothing)."""
    if weights is None:
        return jnp.ones((y.shape[0], 1), y.dtype)
    return weights[:, None] if weights.ndim == 1 else weights


def feature_sum(x: Array, y: Array, weights: Array | None, omegas: Array, amplitudes: Array) -> Array:
    """$\\sum_j k_D(x_i, y_j) w_j$ (plain sum when `weights` is None; `weights` (m,) or (m, p))."""
    c = common_centre(x, y)
    cos_sum, sin_sum = _source_sums(y - c, _columns(y, weights), omegas, lambda cy, sy, w: (cy.T @ w, sy.T @ w))
    out = _query_rows(x - c, omegas, lambda cx, sx: (cx * amplitudes) @ cos_sum + (sx * amplitudes) @ sin_sum)
    return out if weights is not None and weights.ndim == 2 else out[:, 0]


def feature_grad_sum(x: Array, y: Array, weights: Array | None, omegas: Array, amplitudes: Array) -> Array:
    """$\\sum_j w_j \\nabla_x k_D(x_i, y_j)$ (plain sum when `weights` is None)."""
    c = common_centre(x, y)
    cos_sum, sin_sum = _source_sums(y - c, _columns(y, weights), omegas, lambda cy, sy, w: (w[:, 0] @ cy, w[:, 0] @ sy))
    return _query_rows(x - c, omegas, lambda cx, sx: ((cx * sin_sum - sx * cos_sum) * amplitudes) @ omegas)


def feature_hessian_sum(x: Array, y: Array, vectors: Array, omegas: Array, amplitudes: Array) -> Array:
    """$\\sum_j \\nabla_x\\nabla_y k_D(x_i, y_j) v_j = \\sum_l a_l \\omega_l \\sum_j
    \\cos\\langle\\omega_l, x_i - y_j\\rangle \\langle\\omega_l, v_j\\rangle$."""
    c = common_centre(x, y)

    def sums(cy, sy, v):
        along = v @ omegas.T  # <omega_l, v_j>, (chunk, L)
        return jnp.sum(cy * along, axis=0), jnp.sum(sy * along, axis=0)

    cos_sum, sin_sum = _source_sums(y - c, vectors, omegas, sums)
    return _query_rows(x - c, omegas, lambda cx, sx: ((cx * cos_sum + sx * sin_sum) * amplitudes) @ omegas)
