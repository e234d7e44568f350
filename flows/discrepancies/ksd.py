r"""The kernel Stein discrepancy (Liu, Lee, Jordan, ICML 2016; Chwialkowski, Strathmann, Gretton,
ICML 2016) of particles to a density known through its score $s = \nabla\log\pi$.

For a radial kernel $k$ the Stein kernel is

$$k_\pi(x, y) = s(x)^\top s(y)\,k(x, y) + s(x)^\top \nabla_y k(x, y) + \nabla_x k(x, y)^\top s(y)
  + \operatorname{tr}\nabla_x\nabla_y k(x, y),$$

and $\mathrm{KSD}^2(\mu \,|\, \pi) = \mathbb{E}_{x, x' \sim \mu}\, k_\pi(x, x')$ (V-statistic over the
particles). The sums use the kernel sums only: for a radial kernel $\nabla_y k = -\nabla_x k$, so
both cross terms equal $-\sum_i s(x_i)\cdot\sum_j \nabla_x k(x_i, x_j)$, and the trace term is the
mixed Hessian sum applied to the coordinate vectors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ..kernels.backends import Backend, resolve_backend
from ..kernels.base import AbstractKernel
from ..kernels.sums import kernel_grad_sum, kernel_hessian_sum, kernel_sum


def ksd2(
    x: Float[Array, "n d"], score: Float[Array, "n d"], kernel: AbstractKernel, backend: Backend = "auto"
) -> Float[Array, ""]:
    """$\\mathrm{KSD}^2 = \\frac{1}{N^2}\\sum_{i,j} k_\\pi(x_i, x_j)$ (V-statistic), given the scores
    $s(x_i)$ at the particles, for a radial `kernel`: $\\frac1{N^2}\\big[\\sum_i s_i\\cdot\\sum_j k(x_i, x_j) s_j
    - 2\\sum_i s_i\\cdot\\sum_j \\nabla_x k(x_i, x_j) + \\sum_{p}\\sum_i e_p\\cdot\\sum_j \\nabla_x\\nabla_y k(x_i, x_j)\\,e_p\\big]$.

    `backend`: how the three kernel sums are computed (`flows.kernels.resolve_backend`; default
    exact; not `"sliced"`, which has no Hessian sums)."""
    n, d = x.shape
    backend = resolve_backend(backend)
    drift_term = jnp.sum(score * kernel_sum(kernel, x, x, score, backend=backend))
    cross_terms = -2 * jnp.sum(score * kernel_grad_sum(kernel, x, x, backend=backend))
    basis = jnp.eye(d, dtype=x.dtype)
    per_axis = jax.vmap(
        lambda e: kernel_hessian_sum(kernel, x, x, jnp.broadcast_to(e, x.shape), backend=backend) @ e
    )(basis)
    return (drift_term + cross_terms + jnp.sum(per_axis)) / n**2
