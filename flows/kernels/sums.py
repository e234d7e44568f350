r"""Kernel sums: the hot path of every flow, owned by this one module.

Flows never build a Gram matrix themselves; they ask for

$$\text{kernel\_sum}_i = \sum_j k(x_i, y_j)\, w_j, \qquad
  \text{kernel\_grad\_sum}_i = \sum_j w_j\, \nabla_x k(x_i, y_j), \qquad
  \text{kernel\_hessian\_sum}_i = \sum_j \nabla_x\nabla_y k(x_i, y_j)\, v_j,$$

and `backend=` says how they are computed (`flows.sum_backends`): `"auto"` (the default: exact;
dense for small problems, blocked with O((N + M) · block) memory above), `"dense"`, `"blocked"`,
or the approximate `"sliced"` (Riesz kernel, O(P (N + M) log M)) and `"features"` (random
Fourier features, O((N + M) D)); a backend object (`BlockedSums(row_block=...)`,
`SlicedRieszApproximation(key, projections=...)`, ...) sets sizes and keys. The formulas of one
tile are in `flows.kernel_tiles`: matrix products, never an (N, M, d) tensor.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .backends import Backend, resolve_backend
from .base import AbstractKernel
from .distances import common_centre, squared_distances
from .radial import AbstractRadialKernel
from .tiles import gram_tile, prepare


@eqx.filter_jit
def kernel_matrix(kernel: AbstractKernel, x: Float[Array, "n d"], y: Float[Array, "m d"]) -> Float[Array, "n m"]:
    """The Gram matrix $K_{ij} = k(x_i, y_j)$ (always dense: it is the N × M matrix)."""
    return gram_tile(kernel, *prepare(kernel, x, y))


@eqx.filter_jit
def kernel_sum(
    kernel: AbstractKernel,
    x: Float[Array, "n d"],
    y: Float[Array, "m d"],
    weights: Float[Array, "m *p"] | None = None,
    backend: Backend = "auto",
) -> Float[Array, "n *p"]:
    """$\\sum_j k(x_i, y_j) w_j$ for each row $x_i$ (plain sum when `weights` is None).

    `backend`: `"auto"` | `"dense"` | `"blocked"` | `"sliced"` | `"features"` or a backend object
    (see `flows.sum_backends`)."""
    return resolve_backend(backend).kernel_sum(kernel, x, y, weights)


@eqx.filter_jit
def kernel_grad_sum(
    kernel: AbstractKernel,
    x: Float[Array, "n d"],
    y: Float[Array, "m d"],
    weights: Float[Array, " m"] | None = None,
    backend: Backend = "auto",
) -> Float[Array, "n d"]:
    """$\\sum_j w_j \\nabla_x k(x_i, y_j)$ for each row $x_i$ (plain sum when `weights` is None;
    `backend` as in `kernel_sum`)."""
    return resolve_backend(backend).kernel_grad_sum(kernel, x, y, weights)


@eqx.filter_jit
def kernel_hessian_sum(
    kernel: AbstractKernel,
    x: Float[Array, "n d"],
    y: Float[Array, "m d"],
    vectors: Float[Array, "m d"],
    backend: Backend = "auto",
) -> Float[Array, "n d"]:
    """$\\sum_j \\nabla_x\\nabla_y k(x_i, y_j)\\, v_j$ for each row $x_i$: the mixed second derivative
    (the kernel Sobolev operator's and the PKGF metric's building block, `MATH.md` sections 4-5;
    formula in `flows.kernel_tiles`). `backend` as in `kernel_sum` (not `"sliced"`)."""
    return resolve_backend(backend).kernel_hessian_sum(kernel, x, y, vectors)


def self_similarity(kernel: AbstractKernel, x: Float[Array, "n d"]) -> Float[Array, " n"]:
    """The diagonal $k(x_i, x_i)$ (constant $\\varphi(0)$ for a radial kernel)."""
    if isinstance(kernel, AbstractRadialKernel):
        return jnp.broadcast_to(kernel.profile(jnp.zeros((), x.dtype)), x.shape[:1])
    return jax.vmap(lambda xi: kernel(xi, xi))(x)


@eqx.filter_jit
def kernel_hessian_matrix(
    kernel: AbstractKernel, x: Float[Array, "n d"], y: Float[Array, "m d"]
) -> Float[Array, "n d m d"]:
    """The dense mixed-Hessian blocks $H_{i p, j q} = \\partial_{x_p}\\partial_{y_q} k(x_i, y_j)$, shape
    (N, d, M, d): the matrix whose product `kernel_hessian_sum` computes without forming it. For the
    dense kernel Sobolev solve at small N (`MATH.md` section 4).

    For a radial kernel the block is $-2\\varphi'(S_{ij})\\,I - 4\\varphi''(S_{ij})\\,(x_i - y_j)(x_i - y_j)^\\top$.
    """
    if isinstance(kernel, AbstractRadialKernel):
        s = squared_distances(x, y)
        c = common_centre(x, y)
        diff = (x - c)[:, None, :] - (y - c)[None, :, :]
        outer = diff[:, :, :, None] * diff[:, :, None, :]
        eye = jnp.eye(x.shape[1], dtype=x.dtype)
        blocks = -2 * kernel.profile_grad(s)[:, :, None, None] * eye - 4 * kernel.profile_second_derivative(s)[:, :, None, None] * outer
        return jnp.transpose(blocks, (0, 2, 1, 3))
    mixed = jax.jacfwd(jax.grad(lambda xi, yj: kernel(xi, yj), argnums=0), argnums=1)
    blocks = jax.vmap(lambda xi: jax.vmap(lambda yj: mixed(xi, yj))(y))(x)
    return jnp.transpose(blocks, (0, 2, 1, 3))
