r"""Random Fourier features for shift-invariant kernels (Rahimi & Recht, NeurIPS 2007).

Bochner: a shift-invariant kernel is $k(x, y) = k(0)\,\mathbb{E}_\omega \cos\langle\omega, x - y\rangle$
for a spectral distribution of $\omega$. With D frequencies per kernel,

$$k_D(x, y) = \sum_{l=1}^{D} a_l \cos\langle\omega_l, x - y\rangle
  = \sum_l a_l\big(\cos\langle\omega_l, x\rangle\cos\langle\omega_l, y\rangle
  + \sin\langle\omega_l, x\rangle\sin\langle\omega_l, y\rangle\big), \quad a_l = k(0)/D,$$

so $\sum_j k_D(x_i, y_j) w_j$ needs the 2D feature sums of the $y_j$ once: O((N + M) D d)
instead of O(N M d). Gradients and the mixed Hessian sum follow by differentiating the cosines.
Spectral distributions (frequencies drawn from the backend's key, then scaled by the kernel's
own parameters, so bandwidths stay traceable):

- Gaussian $e^{-\|v\|^2/(2\sigma^2)}$: $\omega = z / \sigma$, $z \sim N(0, I)$.
- Laplace $e^{-\|v\|/\sigma}$: multivariate Cauchy, $\omega = z / (\sigma |g|)$, $g \sim N(0, 1)$.
- IMQ $(c^2 + \|v\|^2)^\beta$: a Gaussian scale mixture, $(c^2 + r^2)^\beta =
  c^{2\beta}\,\mathbb{E}_\tau e^{-\tau r^2}$ with $\tau \sim \mathrm{Gamma}(-\beta, \text{rate } c^2)$,
  so $\omega = \sqrt{2\tau}\,z$, amplitude $c^{2\beta}$.
- `SumKernel`: D frequencies per part, amplitudes times the part's weight.

$k_D$ is itself a positive definite kernel, so these are exact sums of $k_D$; the error against
$k$ is Monte-Carlo, of order $k(0)/\sqrt{D}$ per kernel value.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array

from .distances import common_centre
from .kernels import AbstractKernel, GaussianKernel, IMQKernel, LaplaceKernel, SumKernel


def spectral_sample(kernel: AbstractKernel, key: Array, features: int, dim: int, dtype) -> tuple[Array, Array]:
    """Frequencies $\\omega_l$ (L, d) and amplitudes $a_l$ (L,) with $k_D = \\sum_l a_l \\cos\\langle\\omega_l, x - y\\rangle$."""
    k_dir, k_scale = jax.random.split(key)
    z = jax.random.normal(k_dir, (features, dim), dtype)
    if isinstance(kernel, GaussianKernel):
        return z / kernel.bandwidth, jnp.full(features, 1.0 / features, dtype)
    if isinstance(kernel, LaplaceKernel):
        g = jax.random.normal(k_scale, (features, 1), dtype)
        return z / (kernel.bandwidth * jnp.abs(g)), jnp.full(features, 1.0 / features, dtype)
    if isinstance(kernel, IMQKernel):
        tau = jax.random.gamma(k_scale, -kernel.exponent, (features, 1), dtype) / kernel.scale**2
        amplitude = kernel.scale ** (2 * kernel.exponent) / features
        return jnp.sqrt(2 * tau) * z, jnp.full(features, amplitude, dtype)
    if isinstance(kernel, SumKernel):
        keys = jax.random.split(key, len(kernel.kernels))
        parts = [spectral_sample(k, kk, features, dim, dtype) for k, kk in zip(kernel.kernels, keys)]
        omegas = jnp.concatenate([o for o, _ in parts])
        amplitudes = jnp.concatenate([w * a for w, (_, a) in zip(kernel.weights, parts)])
        return omegas, amplitudes
    raise ValueError(
        "`kernel` must be shift-invariant with a known spectral distribution for random features "
        f"(GaussianKernel, LaplaceKernel, IMQKernel or a SumKernel of them), got {type(kernel).__name__}."
    )


def has_laplace_part(kernel: AbstractKernel) -> bool:
    """True for a Laplace kernel or a `SumKernel` with one (Cauchy spectrum: no feature gradients)."""
    if isinstance(kernel, SumKernel):
        return any(has_laplace_part(k) for k in kernel.kernels)
    return isinstance(kernel, LaplaceKernel)


def _phases(points: Array, omegas: Array) -> tuple[Array, Array]:
    angles = points @ omegas.T
    return jnp.cos(angles), jnp.sin(angles)


def feature_sum(x: Array, y: Array, weights: Array | None, omegas: Array, amplitudes: Array) -> Array:
    """$\\sum_j k_D(x_i, y_j) w_j$ (plain sum when `weights` is None; `weights` (m,) or (m, p))."""
    c = common_centre(x, y)
    cx, sx = _phases(x - c, omegas)
    cy, sy = _phases(y - c, omegas)
    if weights is None:
        return (cx * amplitudes) @ jnp.sum(cy, axis=0) + (sx * amplitudes) @ jnp.sum(sy, axis=0)
    return (cx * amplitudes) @ (cy.T @ weights) + (sx * amplitudes) @ (sy.T @ weights)


def feature_grad_sum(x: Array, y: Array, weights: Array | None, omegas: Array, amplitudes: Array) -> Array:
    """$\\sum_j w_j \\nabla_x k_D(x_i, y_j)$ (plain sum when `weights` is None)."""
    c = common_centre(x, y)
    cx, sx = _phases(x - c, omegas)
    cy, sy = _phases(y - c, omegas)
    if weights is None:
        cos_sum, sin_sum = jnp.sum(cy, axis=0), jnp.sum(sy, axis=0)
    else:
        cos_sum, sin_sum = weights @ cy, weights @ sy
    return ((cx * sin_sum - sx * cos_sum) * amplitudes) @ omegas


def feature_hessian_sum(x: Array, y: Array, vectors: Array, omegas: Array, amplitudes: Array) -> Array:
    """$\\sum_j \\nabla_x\\nabla_y k_D(x_i, y_j) v_j = \\sum_l a_l \\omega_l \\sum_j
    \\cos\\langle\\omega_l, x_i - y_j\\rangle \\langle\\omega_l, v_j\\rangle$."""
    c = common_centre(x, y)
    cx, sx = _phases(x - c, omegas)
    cy, sy = _phases(y - c, omegas)
    along = vectors @ omegas.T  # <omega_l, v_j>, (m, L)
    cos_sum, sin_sum = jnp.sum(cy * along, axis=0), jnp.sum(sy * along, axis=0)
    return ((cx * cos_sum + sx * sin_sum) * amplitudes) @ omegas

