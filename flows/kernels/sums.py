r"""Kernel sums: the hot path of every flow, owned by this one module.

Flows never build a Gram matrix themselves; they ask for

$$\text{kernel\_sum}_i = \sum_j k(x_i, y_j)\, w_j, \qquad
  \text{kernel\_grad\_sum}_i = \sum_j w_j\, \nabla_x k(x_i, y_j), \qquad
  \text{kernel\_hessian\_sum}_i = \sum_j \nabla_x\nabla_y k(x_i, y_j)\, v_j,$$

and `backend=` says how they are computed (`flows.kernels.backends`): `"auto"` (the default:
exact; dense for small problems, blocked with O((N + M) · block) memory above), `"dense"`,
`"blocked"`, or the approximate `"sliced"` (Riesz kernel, O(P (N + M) log M)) and `"features"`
(random Fourier features, O((N + M) D)), `"fourier"` (non-uniform FFTs within a requested `rtol`,
d <= 3, O(N + M + K^d log K)) and `"sliced-fourier"` (1-D Fourier sums along P directions, any d);
a backend object (`BlockedSums(row_block=...)`,
`SlicedRieszApproximation(key, projections=...)`, ...) sets sizes and keys. The formulas of one
tile are methods of the kernel (`AbstractKernel.gram_tile`, `sum_tile`, `grad_sum_tile`,
`value_grad_sum_tile`, `hessian_sum_tile`, `hessian_matrix_tile`): matrix products for radial kernels, feature passes
for feature kernels, autodiff of the pointwise kernel otherwise.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .backends import Backend, resolve_backend
from .base import AbstractKernel


@eqx.filter_jit
def kernel_matrix(kernel: AbstractKernel, x: Float[Array, "n d"], y: Float[Array, "m d"]) -> Float[Array, "n m"]:
    """The Gram matrix $K_{ij} = k(x_i, y_j)$ (always dense: it is the N × M matrix)."""
    return kernel.gram_tile(*kernel.prepare(x, y))


@eqx.filter_jit
def kernel_sum(
    kernel: AbstractKernel,
    x: Float[Array, "n d"],
    y: Float[Array, "m d"],
    weights: Float[Array, "m *p"] | None = None,
    backend: Backend = "auto",
) -> Float[Array, "n *p"]:
    """$\\sum_j k(x_i, y_j) w_j$ for each row $x_i$ (plain sum when `weights` is None).

    `backend`: `"auto"` | `"dense"` | `"blocked"` | `"sliced"` | `"features"` | `"fourier"` |
    `"sliced-fourier"` or a backend object (see `flows.kernels.backends`)."""
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
def kernel_value_grad_sum(
    kernel: AbstractKernel,
    x: Float[Array, "n d"],
    y: Float[Array, "m d"],
    value_weights: Float[Array, " m"],
    grad_weights: Float[Array, " m"],
    backend: Backend = "auto",
) -> tuple[Float[Array, " n"], Float[Array, "n d"]]:
    """$\\big(\\sum_j k(x_i, y_j)\\, a_j,\\ \\sum_j b_j \\nabla_x k(x_i, y_j)\\big)$ for each row $x_i$, values
    weighted by `value_weights` $a$ and gradients by `grad_weights` $b$, in one pass over the pairs
    with the exact backends (the witness and its gradient at once: MMD² and the MMD flow's
    dissipation from one set of kernel evaluations). `backend` as in `kernel_sum`."""
    weights = jnp.stack([value_weights, grad_weights], axis=1)
    packed = resolve_backend(backend).kernel_value_grad_sum(kernel, x, y, weights)
    return packed[:, 0], packed[:, 1:]


@eqx.filter_jit
def kernel_hessian_sum(
    kernel: AbstractKernel,
    x: Float[Array, "n d"],
    y: Float[Array, "m d"],
    vectors: Float[Array, "m d"],
    backend: Backend = "auto",
) -> Float[Array, "n d"]:
    """$\\sum_j \\nabla_x\\nabla_y k(x_i, y_j)\\, v_j$ for each row $x_i$: the mixed second derivative,
    the building block of the kernel Sobolev operator $D_\\mu = \\mathbb{E}_\\mu \\sum_p \\partial_p k(x, \\cdot)
    \\otimes \\partial_p k(x, \\cdot)$ (Mroueh, Sercu, Raj, AISTATS 2019; Arbel, Sutherland, Bińkowski, Gretton,
    NeurIPS 2018) and of the parametric kernelized gradient flow's metric
    $\\Gamma_\\theta = \\frac{1}{m^2}\\sum_{a,b} J_a^\\top \\nabla_x\\nabla_y k(x_a, x_b)\\, J_b$ with
    $J_a = \\partial_\\theta G_\\theta(z_a)$ (Mroueh & Nguyen, AISTATS 2021). For a radial kernel
    $\\nabla_x\\nabla_y k = -2\\varphi'(s)\\,I - 4\\varphi''(s)\\,(x-y)(x-y)^\\top$, $s = \\|x - y\\|^2$
    (`AbstractRadialKernel.hessian_sum_tile`). `backend` as in `kernel_sum`
    (not `"sliced"`)."""
    return resolve_backend(backend).kernel_hessian_sum(kernel, x, y, vectors)


@eqx.filter_jit
def kernel_hessian_matrix(
    kernel: AbstractKernel, x: Float[Array, "n d"], y: Float[Array, "m d"]
) -> Float[Array, "n d m d"]:
    """The dense mixed-Hessian blocks $H_{i p, j q} = \\partial_{x_p}\\partial_{y_q} k(x_i, y_j)$, shape
    (N, d, M, d): the matrix whose product `kernel_hessian_sum` computes without forming it. For the
    dense kernel Sobolev solve at small N, $(H + N\\lambda I)\\beta = g$ over the Nd unknowns
    $\\beta_{ip}$ (Mroueh, Sercu, Raj, AISTATS 2019).

    For a radial kernel the block is $-2\\varphi'(S_{ij})\\,I - 4\\varphi''(S_{ij})\\,(x_i - y_j)(x_i - y_j)^\\top$
    (`AbstractRadialKernel.hessian_matrix_tile`); other kernels use autodiff.
    """
    return kernel.hessian_matrix_tile(*kernel.prepare(x, y))
