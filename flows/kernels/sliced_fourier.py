r"""Sliced Fourier sums: radial kernels in any dimension by 1-D fast Fourier sums along random or
quasi-Monte-Carlo directions (Hertrich, "Fast kernel summation in high dimensions via slicing and
Fourier transforms", SIAM J. Math. Data Sci. 2024).

A radial kernel on $\mathbb{R}^d$ is an average over directions of a 1-D kernel $f$:
$k(x, y) = \mathbb{E}_{\xi \sim U(S^{d-1})} f(\langle\xi, x - y\rangle)$. Writing $k$ by its inverse
Fourier transform in polar coordinates (and $\xi \mapsto -\xi$ to make the radial integral
two-sided) gives $f$ by its 1-D transform,

$$\hat f(\rho) = \frac{|S^{d-1}|}{2\,(2\pi)^{d-1}}\,|\rho|^{d-1}\,\hat k(|\rho|),$$

so every kernel with a `fourier_transform` has its slices (for the Gaussian,
$f(t) = {}_1F_1(d/2; 1/2; -t^2/(2\sigma^2))$, `GaussianKernel.slice_profile`). With P directions
$\xi_1..\xi_P$ the sliced kernel is

$$k_P(x, y) = \frac1P\sum_{p=1}^P \tilde f(\langle\xi_p, x - y\rangle), \qquad
  \sum_j w_j\nabla_x k_P(x_i, y_j) = \frac1P\sum_p \xi_p \sum_j w_j \tilde f'(\langle\xi_p, x_i - y_j\rangle),$$

$\tilde f$ the 1-D trigonometric approximation of $f$ (`flows.kernels.fourier_bounds`, $d = 1$):
P 1-D NUFFT pairs, O(P (N + M) + P K log K) after the O(P (N + M) d) projections. $k_P$ is a
positive definite kernel (its coefficients are samples of $\hat f \ge 0$), so these are exact
sums of $k_P$ up to the NUFFT tolerance, and a flow run with them is the exact MMD flow of $k_P$.
Its error against $k$ is Monte-Carlo over the directions: the per-slice sums are unbiased, so
the standard error is (their standard deviation) / $\sqrt P$ for random directions (the
backend's `error_estimate`), ~$P^{-1/2}$. Orthogonal directions (Haar-random orthonormal frames,
as in orthogonal random features, Yu et al., NeurIPS 2016) and randomised Halton points mapped to
the sphere are unbiased too, with correlated slices; the tests measure what each gains.

The 1-D period needs the spatial decay of $f$ (and $f'$, $f''$), which is computed here from
$\hat f$ by one FFT (the trapezoid rule for $f^{(j)}(t) = \frac1\pi\mathrm{Re}\int_0^\infty (i\rho)^j\hat f(\rho)
e^{i\rho t}d\rho$ on $2^{17}$ frequencies): unlike the $d \le 3$ bound, an accurate computation rather
than a proof.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax_finufft import nufft1, nufft2
from jaxtyping import Array

from .._sampling import sphere_directions
from .fourier import nufft_options
from .fourier_bounds import envelope, sphere_area

# frequencies of the FFT that gives the slice profile's spatial decay
_PROFILE_FFT = 2**17
# (slices x points) entries of one block of slices
_BLOCK_ENTRIES = 2**24
DIRECTION_KINDS = ("random", "orthogonal", "halton")


def slice_spectrum(kernel, dim: int):
    """$\\rho \\mapsto \\hat f(\\rho) = |S^{d-1}|\\,|\\rho|^{d-1}\\hat k(|\\rho|) / (2(2\\pi)^{d-1})$, the 1-D spectrum
    of the slices of `kernel` in $\\mathbb{R}^{dim}$."""
    if dim == 1:
        return lambda rho: kernel.fourier_transform(jnp.abs(rho), 1)
    log_constant = math.log(sphere_area(dim)) - math.log(2) - (dim - 1) * math.log(2 * math.pi)

    def spectrum(rho):
        r = jnp.abs(rho)
        return jnp.exp(log_constant + (dim - 1) * jnp.log(r) + kernel.log_fourier_transform(r, dim))

    return spectrum


def slice_spatial_envelope(spectrum, order: int, dtype):
    """`spatial(periods)` for `fourier_bounds.plan_sum`: the non-increasing envelope of
    $|f^{(j)}(t)|$ on $[0, 3T_{max}]$, from $\\hat f$ by one FFT (module docstring)."""

    def spatial(periods):
        t_range = 3 * periods[-1]
        step = math.pi / t_range
        rho = jnp.arange(_PROFILE_FFT, dtype=dtype) * step
        a = (1j * rho) ** order * spectrum(rho) * (step / math.pi)
        a = a.at[0].multiply(0.5)
        padded = jnp.concatenate([a, jnp.zeros_like(a)])
        values = (2 * _PROFILE_FFT) * jnp.fft.ifft(padded)[:_PROFILE_FFT].real
        t = jnp.arange(_PROFILE_FFT, dtype=dtype) * (t_range / _PROFILE_FFT)
        return t, envelope(values)

    return spatial


def _primes(count: int) -> list[int]:
    primes, n = [], 2
    while len(primes) < count:
        if all(n % p for p in primes if p * p <= n):
            primes.append(n)
        n += 1
    return primes


def _halton(key: Array, count: int, dim: int, dtype) -> Array:
    """The first `count` Halton points in $[0, 1)^{dim}$ (bases: the first primes), shifted by one
    uniform vector modulo 1 (Cranley & Patterson, SIAM J. Numer. Anal. 1976): a randomised QMC set."""
    index = jnp.arange(1, count + 1)
    columns = []
    for base in _primes(dim):
        digits = max(1, math.ceil(math.log(count + 1) / math.log(base)) + 1)
        value, rest, scale = jnp.zeros(count, dtype), index, 1.0 / base
        for _ in range(digits):
            value = value + (rest % base).astype(dtype) * scale
            rest, scale = rest // base, scale / base
        columns.append(value)
    shift = jax.random.uniform(key, (dim,), dtype)
    return jnp.mod(jnp.stack(columns, axis=1) + shift, 1.0)


def slice_directions(key: Array, count: int, dim: int, kind: str, dtype) -> Array:
    """`count` unit directions: `"random"` (uniform, independent), `"orthogonal"` (blocks of d
    orthonormal directions, each block a Haar-random frame: QR of a Gaussian matrix with the signs
    of R's diagonal) or `"halton"` (randomised Halton points through the normal quantile, normalised)."""
    if kind == "random":
        return sphere_directions(key, count, dim, dtype)
    if kind == "orthogonal":
        blocks = math.ceil(count / dim)
        gaussian = jax.random.normal(key, (blocks, dim, dim), dtype)
        q, r = jnp.linalg.qr(gaussian)
        q = q * jnp.sign(jnp.diagonal(r, axis1=1, axis2=2))[:, None, :]
        return jnp.transpose(q, (0, 2, 1)).reshape(blocks * dim, dim)[:count]
    tiny = jnp.finfo(dtype).eps
    z = jax.scipy.special.ndtri(jnp.clip(_halton(key, count, dim, dtype), tiny, 1 - tiny))
    return z / jnp.linalg.norm(z, axis=1, keepdims=True)


def _blocks(directions: Array, points: int) -> tuple[Array, Array]:
    """Directions as (blocks, block, d), zero-padded, and the mask of the real ones."""
    p, d = directions.shape
    block = max(1, min(p, _BLOCK_ENTRIES // max(points, 1)))
    count = math.ceil(p / block)
    pad = count * block - p
    padded = jnp.concatenate([directions, jnp.zeros((pad, d), directions.dtype)])
    mask = jnp.concatenate([jnp.ones(p, directions.dtype), jnp.zeros(pad, directions.dtype)])
    return padded.reshape(count, block, d), mask.reshape(count, block)


def per_slice_sums(spectrum, x, y, sources, directions, centre, period, modes: int, eps: float, order: int) -> Array:
    """The 1-D sums of each slice, (P, N): $\\sum_j s_{pj}\\, \\tilde f^{(j)}$-terms along $\\xi_p$, with
    `sources` (P, M) the per-slice weights (order 0, 1) or $\\langle\\xi_p, v_j\\rangle$ (order 2, which
    returns the sums of $-\\tilde f''$)."""
    omega = (2 * math.pi / period) * (jnp.arange(modes, dtype=x.dtype) - modes // 2)
    c = spectrum(omega) / period * (jnp.arange(modes) != 0)
    multiplier = (c, 1j * omega * c, omega**2 * c)[order]
    offset = directions @ centre
    scale = 2 * math.pi / period
    ty = (y @ directions.T - offset).T * scale
    tx = (x @ directions.T - offset).T * scale
    complex_dtype = jnp.result_type(x.dtype, jnp.complex64)
    transforms = nufft1(modes, sources.astype(complex_dtype), ty, iflag=-1, eps=eps, opts=nufft_options(ty.shape[1]))
    return nufft2(multiplier * transforms, tx, iflag=1, eps=eps, opts=nufft_options(tx.shape[1])).real


def sliced_sums(spectrum, x, y, columns, directions, centre, period, modes: int, eps: float, order: int) -> Array:
    """$\\frac1P\\sum_p$ of the slices' sums, in blocks of slices (`lax.scan`): values (N,) for
    weights (M,); gradients or Hessian sums (N, d) for weights (M,) or vectors (M, d)."""
    blocks, masks = _blocks(directions, x.shape[0] + y.shape[0])
    count = directions.shape[0]

    def block_sum(total, block):
        dirs, mask = block
        if order == 2:
            sources = dirs @ columns.T  # <xi_p, v_j>, (B, M)
        else:
            sources = jnp.broadcast_to(columns, (dirs.shape[0], columns.shape[0]))
        sums = per_slice_sums(spectrum, x, y, sources, dirs, centre, period, modes, eps, order) * mask[:, None]
        return total + (jnp.sum(sums, axis=0) if order == 0 else sums.T @ dirs), None

    start = jnp.zeros(x.shape[:1] if order == 0 else x.shape, x.dtype)
    total, _ = jax.lax.scan(block_sum, start, (blocks, masks))
    return total / count
