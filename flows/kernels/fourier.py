r"""Fast kernel sums by non-uniform FFTs, for translation-invariant kernels with a known spectrum
in $d \le 3$ (Potts & Steidl, SIAM J. Sci. Comput. 2003; Potts, Steidl & Nieslony, Numer. Math. 2004).

With the trigonometric kernel $\tilde k(v) = \sum_{m \in I_K} c_m e^{i\langle\omega_m, v\rangle}$ of
`flows.kernels.fourier_bounds` (period $T$, $K^d$ modes, $c_m = \hat k(\omega_m)/T^d$),

$$\sum_j \tilde k(x_i - y_j)\, w_j = \sum_m c_m\, e^{i\langle\omega_m, x_i\rangle}\,
  \underbrace{\sum_j w_j\, e^{-i\langle\omega_m, y_j\rangle}}_{W_m:\ \text{type-1 NUFFT}}
  \quad(\text{type-2 NUFFT back to the } x_i),$$

$$\sum_j w_j \nabla_x\tilde k(x_i - y_j) = \sum_m i\omega_m c_m W_m e^{i\langle\omega_m, x_i\rangle}, \qquad
  \sum_j \nabla_x\nabla_y\tilde k(x_i - y_j)\, v_j = \sum_m \omega_m c_m
  \Big\langle\omega_m, \sum_j v_j e^{-i\langle\omega_m, y_j\rangle}\Big\rangle e^{i\langle\omega_m, x_i\rangle}:$$

O(N + M + K^d log K) work instead of O(NM). The points are centred on their bounding box and
scaled to $2\pi(p - c)/T \in (-\pi, \pi)$; the unpaired mode $m_a = -K/2$ is dropped, so $\tilde k$ is
real, even and, for a kernel with a non-negative spectrum, positive definite: the sums are exact
sums of the kernel $\tilde k$ up to the NUFFT tolerance. The NUFFTs are FINUFFT's (Barnett,
Magland & af Klinteberg, SIAM J. Sci. Comput. 2019) through `jax-finufft`, on the CPU, or on the
GPU through cuFINUFFT when `jax-finufft` was built with CUDA (the `flows[cuda]` extra); their
JAX rules (JVP and transposition) make these sums differentiable in the points, the weights and
the kernel's parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax.numpy as jnp
from jax._src.interpreters import batching as _batching
from jax_finufft import nufft1, nufft2
from jax_finufft.options import Opts
from jaxtyping import Array

# jax-finufft 1.3.1's vmap rule compares axes with `batching.not_mapped`, a name JAX 0.10 removed
# (an unmapped axis is now None): without it, vmap of a Fourier sum (KSD's per-axis Hessian sums,
# the sliced error estimate) fails. The name is restored with its value.
if not hasattr(_batching, "not_mapped"):
    _batching.not_mapped = None

# points per transform below which the NUFFT runs on one thread: its threads cost more than they
# save there (64 transforms of 500 points: 1 ms on one thread, seconds on two busy cores)
SERIAL_POINTS = 2**15


def nufft_options(points: int) -> Opts | None:
    """FINUFFT's options for transforms of `points` points: one thread for small ones, its
    defaults (all cores) otherwise. cuFINUFFT ignores them."""
    return Opts(nthreads=1) if points < SERIAL_POINTS else None


def bounding_box(*clouds: Array) -> tuple[Array, Array]:
    """The centre $c$ of the bounding box of all points and the half-width $a$ of its longest side:
    every difference of two points has $|v_a| \\le 2a$."""
    low = jnp.min(jnp.stack([jnp.min(p, axis=0) for p in clouds]), axis=0)
    high = jnp.max(jnp.stack([jnp.max(p, axis=0) for p in clouds]), axis=0)
    return (low + high) / 2, jnp.max(high - low) / 2


def _phases(points: Array, centre: Array, period: Array) -> tuple[Array, ...]:
    """$2\\pi(p - c)/T$ per coordinate: the NUFFT's points."""
    theta = (points - centre) * (2 * math.pi / period)
    return tuple(theta[:, a] for a in range(points.shape[1]))


def axis_frequencies(modes: int, period: Array, dtype) -> Array:
    """$\\omega = 2\\pi m / T$ for $m = -K/2, \\dots, K/2 - 1$ (FINUFFT's centred mode order)."""
    return (2 * math.pi / period) * (jnp.arange(modes, dtype=dtype) - modes // 2)


def coefficients(spectrum: Callable[[Array], Array], modes: int, dim: int, period: Array, dtype) -> tuple[Array, list[Array]]:
    """$c_m = \\hat k(\\|\\omega_m\\|)/T^d$ on the $K^d$ grid, zero on the unpaired modes $m_a = -K/2$, and
    the per-axis frequencies broadcast to the grid's shape."""
    omega = axis_frequencies(modes, period, dtype)
    keep = (jnp.arange(modes) != 0).astype(dtype)
    axes = [jnp.reshape(omega, [modes if b == a else 1 for b in range(dim)]) for a in range(dim)]
    masks = [jnp.reshape(keep, [modes if b == a else 1 for b in range(dim)]) for a in range(dim)]
    norm = jnp.sqrt(sum(w * w for w in axes))
    c = spectrum(norm) / period**dim
    for mask in masks:
        c = c * mask
    return c, axes


def _type1(sources: Array, phases: tuple[Array, ...], modes: int, eps: float) -> Array:
    """$W_m = \\sum_j s_j e^{-i\\langle m, \\theta_j\\rangle}$ for a batch of sources (p, M): (p, K, ...)."""
    opts = nufft_options(phases[0].shape[-1])
    return nufft1((modes,) * len(phases), sources, *phases, iflag=-1, eps=eps, opts=opts)


def _type2(grid: Array, phases: tuple[Array, ...], eps: float) -> Array:
    """$\\sum_m F_m e^{i\\langle m, \\theta_i\\rangle}$ for a batch of grids (p, K, ...): (p, N)."""
    return nufft2(grid, *phases, iflag=1, eps=eps, opts=nufft_options(phases[0].shape[-1]))


def _complex(a: Array) -> Array:
    return a.astype(jnp.result_type(a.dtype, jnp.complex64))


def fourier_sum(spectrum, x, y, columns, centre, period, modes: int, eps: float) -> Array:
    """$\\sum_j \\tilde k(x_i - y_j)\\, w_{jp}$ for weight columns (M, p): (N, p)."""
    c, _ = coefficients(spectrum, modes, x.shape[1], period, x.dtype)
    transforms = _type1(_complex(columns.T), _phases(y, centre, period), modes, eps)
    return _type2(c * transforms, _phases(x, centre, period), eps).real.T


def fourier_grad_sum(spectrum, x, y, weights, centre, period, modes: int, eps: float) -> Array:
    """$\\sum_j w_j \\nabla_x\\tilde k(x_i - y_j)$: (N, d)."""
    c, axes = coefficients(spectrum, modes, x.shape[1], period, x.dtype)
    transform = _type1(_complex(weights[None, :]), _phases(y, centre, period), modes, eps)[0]
    grids = jnp.stack([1j * w * c * transform for w in axes])
    return _type2(grids, _phases(x, centre, period), eps).real.T


def fourier_hessian_sum(spectrum, x, y, vectors, centre, period, modes: int, eps: float) -> Array:
    """$\\sum_j \\nabla_x\\nabla_y\\tilde k(x_i - y_j)\\, v_j$: (N, d)."""
    c, axes = coefficients(spectrum, modes, x.shape[1], period, x.dtype)
    transforms = _type1(_complex(vectors.T), _phases(y, centre, period), modes, eps)
    along = c * sum(w * t for w, t in zip(axes, transforms))
    return _type2(jnp.stack([w * along for w in axes]), _phases(x, centre, period), eps).real.T


def trigonometric_kernel(spectrum, v: Array, period: Array, modes: int) -> Array:
    """$\\tilde k(v)$ at differences `v` (n, d), summed directly over the $K^d$ modes (for checks)."""
    c, axes = coefficients(spectrum, modes, v.shape[1], period, v.dtype)
    freqs = jnp.stack([jnp.broadcast_to(w, c.shape).ravel() for w in axes], axis=1)
    return jnp.cos(v @ freqs.T) @ c.ravel()


def sum_fn(order: int):
    """The sum of derivative order 0, 1 or 2."""
    return (fourier_sum, fourier_grad_sum, fourier_hessian_sum)[order]


def sanitise(points: Array) -> Array:
    """Non-finite coordinates replaced by 0 (after the backend has reported them): the NUFFT must
    never see them."""
    return jnp.where(jnp.isfinite(points), points, 0.0)

