r"""One tile of the exact kernel sums: the formulas the dense and blocked backends share.

For a radial kernel $k = \varphi(\|x-y\|^2)$, with $S_{ij} = \|x_i - y_j\|^2$ (`flows.distances`):

$$\sum_j k(x_i, y_j)\,w_j = \big(\varphi(S)\,w\big)_i, \qquad
  \sum_j w_j \nabla_x k(x_i, y_j) = 2\Big(x_i \sum_j \varphi'(S_{ij}) w_j
  - \sum_j \varphi'(S_{ij})\, w_j\, y_j\Big),$$

$$\sum_j \nabla_x\nabla_y k(x_i, y_j)\, v_j = -2\sum_j \varphi'(S_{ij}) v_j
  - 4\Big(x_i \sum_j C_{ij} - \sum_j C_{ij}\, y_j\Big), \quad
  C_{ij} = \varphi''(S_{ij})\,(x_i - y_j)\cdot v_j$$

(`MATH.md` section 1): matrix products over an (n, m) tile, never an (n, m, d) tensor.

The Gaussian kernel $\varphi(s) = e^{-s/(2\sigma^2)}$ (with $\varphi' = -\varphi/(2\sigma^2)$,
$\varphi'' = \varphi/(4\sigma^4)$) gets its exponent from one product of augmented coordinates,

$$-\frac{\|x_i - y_j\|^2}{2\sigma^2} = \Big(\frac{x_i}{\sigma^2}, -\frac{\|x_i\|^2}{2\sigma^2}, 1\Big)
  \cdot \Big(y_j, 1, -\frac{\|y_j\|^2}{2\sigma^2}\Big),$$

clipped at 0, so a tile costs one product, one exp per pair and one product with the weights:
1.5x faster than forming $S$ first (`experiments/bench_kernel_sums.py`, N = M = 10^4, d = 2), with
the same rounding, a few ulps of $(\|x_i\|^2 + \|y_j\|^2)/(2\sigma^2)$ in the exponent. Radial
kernels get points already shifted by a common centre (`prepare`), which keeps the expansion
of $S$ accurate; kernels with an explicit feature map (`flows.feature_kernels`) use it, never
an (n, m) matrix; other kernels get the raw points and fall back to `vmap` and autodiff of the
pointwise definition. Every function is linear in `weights` / `vectors`, so sums over column
tiles add up to the sum over all columns.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from . import features as fk
from .base import AbstractKernel
from .distances import centred_squared_distances, common_centre
from .radial import AbstractRadialKernel, GaussianKernel


def prepare(kernel: AbstractKernel, x: Array, y: Array) -> tuple[Array, Array]:
    """The coordinates the tile functions expect: centred for a radial kernel, raw otherwise."""
    if isinstance(kernel, AbstractRadialKernel):
        c = common_centre(x, y)
        return x - c, y - c
    return x, y


def gaussian_exponent(kernel: GaussianKernel, x: Float[Array, "n d"], y: Float[Array, "m d"]) -> Float[Array, "n m"]:
    """$-\\|x_i - y_j\\|^2 / (2\\sigma^2)$ over one tile of centred points, one augmented product, at most 0."""
    inv = 1 / (2 * kernel.bandwidth**2)
    xa = jnp.concatenate([x * (2 * inv), -inv * jnp.sum(x * x, axis=1, keepdims=True), jnp.ones_like(x[:, :1])], axis=1)
    ya = jnp.concatenate([y, jnp.ones_like(y[:, :1]), -inv * jnp.sum(y * y, axis=1, keepdims=True)], axis=1)
    return jnp.minimum(xa @ ya.T, 0.0)


def _profiles(kernel: AbstractRadialKernel, x: Array, y: Array, derivatives: tuple[int, ...]) -> list[Array]:
    """$\\varphi^{(k)}(S_{ij})$ over one tile for each order k in `derivatives` (0, 1 or 2)."""
    if isinstance(kernel, GaussianKernel):
        values = jnp.exp(gaussian_exponent(kernel, x, y))
        scale = -1 / (2 * kernel.bandwidth**2)
        return [values * scale**k for k in derivatives]
    s = centred_squared_distances(x, y)
    fns = (kernel.profile, kernel.profile_grad, kernel.profile_second_derivative)
    return [fns[k](s) for k in derivatives]


def gram_tile(kernel: AbstractKernel, x: Float[Array, "n d"], y: Float[Array, "m d"]) -> Float[Array, "n m"]:
    """$k(x_i, y_j)$ over one tile."""
    if isinstance(kernel, AbstractRadialKernel):
        return _profiles(kernel, x, y, (0,))[0]
    if isinstance(kernel, fk.AbstractFeatureKernel):
        return fk.feature_gram_tile(kernel, x, y)
    return jax.vmap(lambda xi: jax.vmap(lambda yj: kernel(xi, yj))(y))(x)


def sum_tile(kernel: AbstractKernel, x: Float[Array, "n d"], y: Float[Array, "m d"], weights: Array) -> Array:
    """$\\sum_j k(x_i, y_j) w_j$ over one tile (`weights` of shape (m,) or (m, p))."""
    if isinstance(kernel, fk.AbstractFeatureKernel):
        return fk.feature_sum_tile(kernel, x, y, weights)
    return gram_tile(kernel, x, y) @ weights


def grad_tile(kernel: AbstractKernel, x: Float[Array, "n d"], y: Float[Array, "m d"], weights: Float[Array, " m"]) -> Array:
    """$\\sum_j w_j \\nabla_x k(x_i, y_j)$ over one tile."""
    if isinstance(kernel, AbstractRadialKernel):
        (dprofile,) = _profiles(kernel, x, y, (1,))
        # one product with [w, w y]: a single pass over the tile
        sums = dprofile @ jnp.concatenate([weights[:, None], weights[:, None] * y], axis=1)
        return 2 * (x * sums[:, :1] - sums[:, 1:])
    if isinstance(kernel, fk.AbstractFeatureKernel):
        return fk.feature_grad_tile(kernel, x, y, weights)
    grad_k = jax.grad(lambda xi, yj: kernel(xi, yj))
    per_point = jax.vmap(lambda xi: jax.vmap(lambda yj: grad_k(xi, yj))(y))(x)
    return jnp.einsum("nmd,m->nd", per_point, weights)


def hessian_tile(kernel: AbstractKernel, x: Float[Array, "n d"], y: Float[Array, "m d"], vectors: Float[Array, "m d"]) -> Array:
    """$\\sum_j \\nabla_x\\nabla_y k(x_i, y_j)\\, v_j$ over one tile."""
    if isinstance(kernel, AbstractRadialKernel):
        dprofile, d2profile = _profiles(kernel, x, y, (1, 2))
        projections = x @ vectors.T - jnp.sum(y * vectors, axis=1)[None, :]  # (x_i - y_j) . v_j
        weights = d2profile * projections
        return -2 * dprofile @ vectors - 4 * (x * jnp.sum(weights, axis=1)[:, None] - weights @ y)
    if isinstance(kernel, fk.AbstractFeatureKernel):
        return fk.feature_hessian_tile(kernel, x, y, vectors)
    mixed = jax.jacfwd(jax.grad(lambda xi, yj: kernel(xi, yj), argnums=0), argnums=1)
    per_pair = jax.vmap(lambda xi: jax.vmap(lambda yj, vj: mixed(xi, yj) @ vj)(y, vectors))(x)
    return jnp.sum(per_pair, axis=1)
