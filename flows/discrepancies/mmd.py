r"""Maximum mean discrepancy, the witness function and its gradient, the energy distance.

With model samples $x_1..x_N \sim \mu$, target samples $y_1..y_M \sim \nu$ and kernel $k$
(Gretton, Borgwardt, Rasch, Schölkopf, Smola, JMLR 2012):

- $\mathrm{MMD}^2(\mu, \nu) = \mathbb{E}\,k(x, x') + \mathbb{E}\,k(y, y') - 2\,\mathbb{E}\,k(x, y)$,
  estimated by the V-statistic (all pairs, $i = j$ included; biased) or the U-statistic
  (pairs $i \ne j$ only; unbiased: the diagonal $k(x_i, x_i)$, the kernel's `diagonal`, is
  taken out).
- witness $f_{\mu,\nu}(z) = \frac1N\sum_i k(x_i, z) - \frac1M\sum_j k(y_j, z)$ (model minus
  target), so $F(\mu) = \frac12\mathrm{MMD}^2 = \frac12\|f_{\mu,\nu}\|_{\mathcal H}^2$ (V-statistic)
  and $\partial F / \partial x_i = \frac1N \nabla f_{\mu,\nu}(x_i)$: the particle MMD flow
  $\dot x_i = -\nabla f_{\mu,\nu}(x_i)$ is gradient descent on $F$ with the step scaled by N
  (Arbel, Korba, Salim, Gretton, NeurIPS 2019).
- energy distance $2\,\mathbb{E}\|x - y\| - \mathbb{E}\|x - x'\| - \mathbb{E}\|y - y'\|$, which is
  MMD² with the Riesz kernel $-\|x - y\|$ (Sejdinovic, Sriperumbudur, Gretton, Fukumizu,
  Annals of Statistics 2013).
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_points
from ..kernels.backends import Backend, resolve_backend
from ..kernels.base import AbstractKernel
from ..kernels.radial import EnergyKernel
from ..kernels.sums import kernel_sum


def _pair_mean(kernel: AbstractKernel, a: Array, b: Array, backend: Backend) -> Array:
    """$\\frac{1}{|a||b|}\\sum_{i,j} k(a_i, b_j)$."""
    return jnp.sum(kernel_sum(kernel, a, b, backend=backend)) / (a.shape[0] * b.shape[0])


def _self_mean(kernel: AbstractKernel, a: Array, unbiased: bool, backend: Backend) -> Array:
    """Mean of $k(a_i, a_j)$ over all pairs, or over $i \\ne j$ when `unbiased`."""
    n = a.shape[0]
    total = jnp.sum(kernel_sum(kernel, a, a, backend=backend))
    if not unbiased:
        return total / (n * n)
    return (total - jnp.sum(kernel.diagonal(a))) / (n * (n - 1))


@eqx.filter_jit
def mmd2_unchecked(
    x: Array, y: Array, kernel: AbstractKernel, unbiased: bool = False, backend: Backend = "auto"
) -> Array:
    """`mmd2` without argument checks, for use inside flows and diagnostics."""
    return (
        _self_mean(kernel, x, unbiased, backend)
        + _self_mean(kernel, y, unbiased, backend)
        - 2 * _pair_mean(kernel, x, y, backend)
    )


@eqx.filter_jit
def witness_grad_unchecked(z: Array, x: Array, y: Array, kernel: AbstractKernel, backend: Backend = "auto") -> Array:
    """`witness_grad` without argument checks: $\\frac1N\\sum_l \\nabla k(x_l, z) - \\frac1M\\sum_j \\nabla k(y_j, z)$,
    computed by the backend (`AbstractSumBackend.witness_grad`: two unweighted sums, or one fused
    pass for the sliced backend's bucketed CDFs)."""
    return resolve_backend(backend).witness_grad(kernel, z, x, y)


@eqx.filter_jit
def witness_unchecked(z: Array, x: Array, y: Array, kernel: AbstractKernel, backend: Backend = "auto") -> Array:
    """`witness` without argument checks: $\\frac1N\\sum_l k(x_l, z) - \\frac1M\\sum_j k(y_j, z)$."""
    return kernel_sum(kernel, z, x, backend=backend) / x.shape[0] - kernel_sum(kernel, z, y, backend=backend) / y.shape[0]


def _check_pair(x, y) -> tuple[Array, Array]:
    x = check_points("x", x)
    y = check_points("y", y, dim=x.shape[1], dim_name="x")
    return x, y


def mmd2(
    x: Float[ArrayLike, "n d"],
    y: Float[ArrayLike, "m d"],
    kernel: AbstractKernel,
    unbiased: bool = False,
    backend: Backend = "auto",
) -> Float[Array, ""]:
    """Squared MMD between the samples `x` and `y` under `kernel`.

    **Arguments:**
    - `x`, `y`: samples, shapes (N, d) and (M, d).
    - `kernel`: any `AbstractKernel`.
    - `unbiased`: the U-statistic (pairs $i \\ne j$; may be negative) instead of the
      V-statistic (all pairs; $\\ge 0$ for a positive definite kernel).
    - `backend`: how kernel sums are computed (`flows.kernels.backends`; default exact).
    """
    x, y = _check_pair(x, y)
    if unbiased and min(x.shape[0], y.shape[0]) < 2:
        raise ValueError("the unbiased MMD² needs at least 2 points in each of `x` and `y`.")
    return mmd2_unchecked(x, y, kernel, unbiased, resolve_backend(backend))


def witness(
    z: Float[ArrayLike, "k d"],
    x: Float[ArrayLike, "n d"],
    y: Float[ArrayLike, "m d"],
    kernel: AbstractKernel,
    backend: Backend = "auto",
) -> Float[Array, " k"]:
    """The witness $f(z) = \\frac1N\\sum_i k(x_i, z) - \\frac1M\\sum_j k(y_j, z)$ at the rows of `z`
    (`backend` as in `mmd2`)."""
    x, y = _check_pair(x, y)
    z = check_points("z", z, dim=x.shape[1], dim_name="x")
    return witness_unchecked(z, x, y, kernel, resolve_backend(backend))


def witness_grad(
    z: Float[ArrayLike, "k d"],
    x: Float[ArrayLike, "n d"],
    y: Float[ArrayLike, "m d"],
    kernel: AbstractKernel,
    backend: Backend = "auto",
) -> Float[Array, "k d"]:
    """The witness gradient $\\nabla f(z)$ at the rows of `z` (see `witness`; `backend` as in `mmd2`)."""
    x, y = _check_pair(x, y)
    z = check_points("z", z, dim=x.shape[1], dim_name="x")
    return witness_grad_unchecked(z, x, y, kernel, resolve_backend(backend))


def energy_distance(
    x: Float[ArrayLike, "n d"], y: Float[ArrayLike, "m d"], unbiased: bool = False
) -> Float[Array, ""]:
    """Energy distance $2\\mathbb{E}\\|x-y\\| - \\mathbb{E}\\|x-x'\\| - \\mathbb{E}\\|y-y'\\|$
    (MMD² with `EnergyKernel(1.0)`; V- or U-statistic as in `mmd2`)."""
    return mmd2(x, y, EnergyKernel(1.0), unbiased=unbiased)
