r"""Kernel sums: the hot path of every flow, owned by this one module.

Flows never build a Gram matrix themselves; they ask for

$$\text{kernel\_sum}_i = \sum_j k(x_i, y_j)\, w_j, \qquad
  \text{kernel\_grad\_sum}_i = \sum_j w_j\, \nabla_x k(x_i, y_j).$$

For a radial kernel $k = \varphi(\|x-y\|^2)$ both are matrix products over the (N, M) matrices
$\varphi(S)$ and $\varphi'(S)$, $S_{ij} = \|x_i - y_j\|^2$:

$$\sum_j w_j \nabla_x k(x_i, y_j) = 2\Big(x_i \sum_j \varphi'(S_{ij}) w_j
  - \sum_j \varphi'(S_{ij})\, w_j\, y_j\Big),$$

never an (N, M, d) tensor (computed in centred coordinates, see `flows.distances`). A kernel that
is not radial falls back to `vmap` and autodiff of its pointwise definition.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .distances import common_centre, squared_distances
from .kernels import AbstractKernel, AbstractRadialKernel


@eqx.filter_jit
def kernel_matrix(kernel: AbstractKernel, x: Float[Array, "n d"], y: Float[Array, "m d"]) -> Float[Array, "n m"]:
    """The Gram matrix $K_{ij} = k(x_i, y_j)$."""
    if isinstance(kernel, AbstractRadialKernel):
        return kernel.profile(squared_distances(x, y))
    return jax.vmap(lambda xi: jax.vmap(lambda yj: kernel(xi, yj))(y))(x)


@eqx.filter_jit
def kernel_sum(
    kernel: AbstractKernel,
    x: Float[Array, "n d"],
    y: Float[Array, "m d"],
    weights: Float[Array, "m *p"] | None = None,
) -> Float[Array, "n *p"]:
    """$\\sum_j k(x_i, y_j) w_j$ for each row $x_i$ (plain sum when `weights` is None)."""
    gram = kernel_matrix(kernel, x, y)
    if weights is None:
        return jnp.sum(gram, axis=1)
    return gram @ weights


@eqx.filter_jit
def kernel_grad_sum(
    kernel: AbstractKernel,
    x: Float[Array, "n d"],
    y: Float[Array, "m d"],
    weights: Float[Array, " m"] | None = None,
) -> Float[Array, "n d"]:
    """$\\sum_j w_j \\nabla_x k(x_i, y_j)$ for each row $x_i$ (plain sum when `weights` is None)."""
    if weights is None:
        weights = jnp.ones(y.shape[0], dtype=x.dtype)
    if isinstance(kernel, AbstractRadialKernel):
        c = common_centre(x, y)
        dprofile = kernel.profile_grad(squared_distances(x, y))
        return 2 * ((x - c) * (dprofile @ weights)[:, None] - dprofile @ (weights[:, None] * (y - c)))
    grad_k = jax.grad(lambda xi, yj: kernel(xi, yj))
    per_point = jax.vmap(lambda xi: jax.vmap(lambda yj: grad_k(xi, yj))(y))(x)
    return jnp.einsum("nmd,m->nd", per_point, weights)


@eqx.filter_jit
def kernel_hessian_sum(
    kernel: AbstractKernel,
    x: Float[Array, "n d"],
    y: Float[Array, "m d"],
    vectors: Float[Array, "m d"],
) -> Float[Array, "n d"]:
    """$\\sum_j \\nabla_x\\nabla_y k(x_i, y_j)\\, v_j$ for each row $x_i$: the mixed second derivative
    (the kernel Sobolev operator's and the PKGF metric's building block, `MATH.md` sections 4-5).

    For a radial kernel, with $S_{ij} = \\|x_i - y_j\\|^2$ and
    $C_{ij} = \\varphi''(S_{ij})\\,(x_i - y_j)\\cdot v_j$,
    the sum is $-2\\sum_j \\varphi'(S_{ij}) v_j - 4\\big(x_i \\sum_j C_{ij} - \\sum_j C_{ij} y_j\\big)$:
    matrix products only.
    """
    if isinstance(kernel, AbstractRadialKernel):
        c = common_centre(x, y)
        xc, yc = x - c, y - c
        s = squared_distances(x, y)
        projections = xc @ vectors.T - jnp.sum(yc * vectors, axis=1)[None, :]  # (x_i - y_j) . v_j
        weights = kernel.profile_second_derivative(s) * projections
        return -2 * kernel.profile_grad(s) @ vectors - 4 * (xc * jnp.sum(weights, axis=1)[:, None] - weights @ yc)
    mixed = jax.jacfwd(jax.grad(lambda xi, yj: kernel(xi, yj), argnums=0), argnums=1)
    per_pair = jax.vmap(lambda xi: jax.vmap(lambda yj, vj: mixed(xi, yj) @ vj)(y, vectors))(x)
    return jnp.sum(per_pair, axis=1)


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
