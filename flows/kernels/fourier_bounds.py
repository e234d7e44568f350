r"""The period, the frequency grid and the NUFFT tolerance of a Fourier kernel sum, chosen from a
requested accuracy, and the bound on the error they leave.

A translation-invariant kernel is replaced on the box of differences $\|v\|_\infty \le L$ (all
$x_i - y_j$) by the truncated Fourier series of its periodisation with period $T > L$ (Poisson
summation: the coefficients are samples of the spectrum),

$$\tilde k(v) = \sum_{m \in I_K} c_m\, e^{i\langle\omega_m, v\rangle}, \qquad
  \omega_m = \frac{2\pi m}{T}, \qquad c_m = \frac{\hat k(\omega_m)}{T^d}, \qquad
  I_K = \{m \in \mathbb{Z}^d : |m_a| \le K/2 - 1\}$$

(Potts & Steidl, "Fast summation at nonequispaced knots by NFFTs", SIAM J. Sci. Comput. 2003;
Potts, Steidl & Nieslony, "Fast convolution with radial kernels at nonequispaced knots", Numer.
Math. 2004). For a derivative of order $j \in \{0, 1, 2\}$ (values, gradients, Hessians) and
$|v_a| \le L$,

$$\|\partial^j \tilde k(v) - \partial^j k(v)\| \le
  \underbrace{\sum_{n \ne 0} g_j(\|v + nT\|)}_{A_j(T):\ \text{periodisation}}
  + \underbrace{\sum_{m \notin I_K} \|\omega_m\|^j c_m}_{B_j(K, T):\ \text{truncation}},$$

with $g_j$ the radial envelope of $\|\partial^j k\|$ ($g_0 = |\varphi(r^2)|$, $g_1 = |2r\varphi'(r^2)|$,
$g_2 = \max(|2\varphi'|, |2\varphi' + 4r^2\varphi''|)$ for $k = \varphi(\|v\|^2)$). Both sums are bounded
by integrals of non-increasing envelopes (a lattice point's cell of side $h$ lies within
$h\sqrt d/2$ of it): for $|n|_\infty \le 2$ term by term with $\|v + nT\| \ge
(\sum_a \max(|n_a|T - L, 0)^2)^{1/2}$, beyond by $T^{-d}|S^{d-1}|\int_{a}^\infty g_j(u)(u + T\sqrt d/2)^{d-1}du$,
$a = 2.5T - L - T\sqrt d/2$; and

$$B_j(K, T) \le (2\pi)^{-d}|S^{d-1}| \int_{\pi(K-1)/T - \delta}^\infty G_j(u)\,(u + \delta)^{d-1}\,du,
  \qquad \delta = \pi\sqrt d / T, \quad G_j \ge \rho^j|\hat k(\rho)| \text{ non-increasing}.$$

The NUFFTs add at most $2.01\, d^{j/2}\,\varepsilon\, S_j$ per unit $\sum_j |w_j|$, with
$S_j = \sum_m \|\omega_m\|^j c_m$ (bounded the same way for $d \ge 2$, summed term by term up to the
largest grid in 1-D), taking the NUFFT's tolerance $\varepsilon$ as a
uniform error relative to the 1-norm of its input (the spreading kernel's error; Barnett, Magland
& af Klinteberg, "A parallel nonuniform fast Fourier transform library based on an
"exponential of semicircle" kernel", SIAM J. Sci. Comput. 2019).

The total $E_j = A_j + B_j + 2.01 d^{j/2}\varepsilon S_j$ is the error per unit weight:
$\max_i \|\tilde S_i - S_i\| \le E_j \sum_j |w_j|$ (for Hessian sums, $\sum_j \|v_j\|$). It is held
below `rtol` times the natural scale $M_j = (2\pi)^{-d}\int\|\omega\|^j|\hat k(\omega)|\,d\omega$
($M_0 = k(0)$; $M_1 \ge \sup\|\nabla k\|$, $M_2 \ge \sup\|\nabla\nabla k\|$): $\varepsilon$ = `rtol`/10, the smallest
period of a geometric ladder (ratio $\sqrt2$) with $A_j \le$ `rtol` $M_j / 4$, and the smallest $K$ of a ladder of FFT
sizes with $E_j \le$ `rtol` $M_j$. Everything here is `jax.numpy` on traced values, so the plan
follows the points inside `jit`; the integrals are upper Riemann sums over geometric grids of
the envelopes (a cumulative maximum from the right of the sampled functions), with a power-law
tail $\rho^{-(d + s - j)}$ beyond the spectral grid for a spectrum of smoothness $s$.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

# samples of every envelope; geometric grids, ratio about 1.03-1.05 between neighbours
_GRID = 1024
# candidate periods T = L + scale * 2^(c / 2), c in [-8, _PERIOD_STEPS - 8)
_PERIOD_STEPS = 32
# modes (K^d) between neighbouring grids of the ladder
_LADDER_RATIO = 8
_LATTICE_REACH = 2
# share of the budget rtol * M_j for the periodisation term
_PERIODISATION_SHARE = 0.25


class FourierPlan(eqx.Module):
    """A Fourier kernel sum's period, grid and error bound (arrays: they may be traced).

    - `period`: $T$; `index`: the grid's position in the ladder of mode counts; `feasible`: whether
      a period and a grid of the ladder meet the budget.
    - `bound`: $E_j$, the error per unit weight; `scale`: $M_j$; `periodisation`, `truncation`,
      `nufft`: the three parts of `bound`.
    """

    period: Array
    index: Array
    feasible: Array
    bound: Array
    scale: Array
    periodisation: Array
    truncation: Array
    nufft: Array


def mode_ladder(dim: int, max_modes: int) -> tuple[int, ...]:
    """The grids a sum may use: FFT sizes $K \\in \\{2^a, 3 \\cdot 2^a\\}$ from 8 on, each the first
    with at least `_LADDER_RATIO` times the previous one's $K^d$ modes (in 3-D every size, $K$ ratios 4/3 and 3/2), and the
    largest with $K^d$ at most `max_modes`. Few sizes, few compiled branches: a sum pays at most `_LADDER_RATIO`
    times the FFT work it needs, and its spreading work (which dominates) not at all."""
    sizes = sorted({2**a for a in range(3, 48)} | {3 * 2**a for a in range(2, 48)})
    largest = math.floor(max_modes ** (1 / dim) * (1 + 1e-12))
    sizes = [k for k in sizes if k <= largest]
    ratio = _LADDER_RATIO if dim < 3 else 1.3**3  # in 3-D the fine grid's FFT matters: every FFT size
    ladder = [sizes[0]]
    for k in sizes[1:]:
        if k**dim >= ratio * ladder[-1] ** dim * (1 - 1e-12):
            ladder.append(k)
    if ladder[-1] != sizes[-1]:
        ladder.append(sizes[-1])
    return tuple(ladder)


def sphere_area(dim: int) -> float:
    """$|S^{d-1}| = 2\\pi^{d/2} / \\Gamma(d/2)$ (2 for d = 1)."""
    return 2 * math.pi ** (dim / 2) / math.gamma(dim / 2)


def radial_grid(low: Array, high: Array, dtype) -> Array:
    """0 followed by `_GRID` geometric points from `low` to `high`."""
    steps = jnp.arange(_GRID, dtype=dtype) / (_GRID - 1)
    return jnp.concatenate([jnp.zeros(1, dtype), low * (high / low) ** steps])


def envelope(values: Array) -> Array:
    """The smallest non-increasing sequence above |values| (a cumulative maximum from the right)."""
    return jnp.flip(jax.lax.cummax(jnp.flip(jnp.abs(values))))


def _lookup(grid: Array, env: Array, r: Array) -> Array:
    """`env` at the grid point at or below r: at least the non-increasing envelope's value at r."""
    index = jnp.clip(jnp.searchsorted(grid, r, side="right") - 1, 0, grid.shape[0] - 1)
    return env[index]


def tail_integral(grid: Array, env: Array, lower: Array, shift: Array, dim: int, power: float) -> Array:
    """Upper bound on $\\int_{lower}^\\infty g(u)\\,(u + shift)^{dim-1}\\,du$ for a non-increasing $g$
    sampled as `env` on `grid` (left-endpoint values), with $g(u) \\le g(u_{last})(u_{last}/u)^{power}$
    beyond the grid (`power` = inf: nothing beyond). `lower` may be an array (one bound each)."""
    lower = jnp.maximum(jnp.asarray(lower), 0.0)[..., None]
    left = jnp.maximum(grid[:-1], lower)
    right = jnp.maximum(grid[1:], lower)
    inside = jnp.sum(env[:-1] * ((right + shift) ** dim - (left + shift) ** dim), axis=-1) / dim
    if math.isinf(power):
        return inside
    top = jnp.maximum(grid[-1], lower[..., 0])
    beyond = env[-1] * grid[-1] ** power * 2 ** (dim - 1) * top ** (dim - power) / (power - dim)
    return inside + beyond


def periodisation_bound(grid: Array, env: Array, periods: Array, extent: Array, dim: int) -> Array:
    """$A(T)$ for each period in `periods`: $\\sup_{|v_a| \\le L}\\sum_{n \\ne 0} g(\\|v + nT\\|)$ for the
    non-increasing envelope `env` of $g$ on `grid` (module docstring)."""
    offsets = np.array([n for n in itertools.product(range(-_LATTICE_REACH, _LATTICE_REACH + 1), repeat=dim) if any(n)])
    gaps = jnp.maximum(jnp.abs(jnp.asarray(offsets, grid.dtype)) * periods[:, None, None] - extent, 0.0)
    near = jnp.sum(_lookup(grid, env, jnp.sqrt(jnp.sum(gaps**2, axis=-1))), axis=-1)
    half_diagonal = periods * math.sqrt(dim) / 2
    lower = (_LATTICE_REACH + 0.5) * periods - extent - half_diagonal
    far = jax.vmap(lambda lo, sh: tail_integral(grid, env, lo, sh, dim, math.inf))(lower, half_diagonal)
    return near + sphere_area(dim) * far / periods**dim


def spectral_integral(grid: Array, env: Array, lower: Array, period: Array, dim: int, power: float) -> Array:
    """$(2\\pi)^{-d}|S^{d-1}|\\int_{lower - \\delta}^\\infty G(u)(u + \\delta)^{d-1}du$, $\\delta = \\pi\\sqrt d / T$:
    the bound on $\\sum \\|\\omega_m\\|^j c_m$ over the lattice points with $\\|\\omega_m\\|_\\infty \\ge$ `lower`
    (lower = 0: over all of them, plus the cell of the origin)."""
    delta = math.pi * math.sqrt(dim) / period
    total = tail_integral(grid, env, lower - delta, delta, dim, power)
    total = total + jnp.where(jnp.asarray(lower) <= 0, env[0] * delta**dim / dim, 0.0)
    return sphere_area(dim) * total / (2 * math.pi) ** dim


def moment(grid: Array, values: Array, dim: int, power: float) -> Array:
    """$(2\\pi)^{-d}|S^{d-1}|\\int_0^\\infty G(\\rho)\\rho^{d-1}d\\rho$ by the trapezoid rule on `grid`
    (plus the power-law tail): the natural scale $M_j$ of a sum."""
    integrand = values * grid ** (dim - 1)
    inside = jnp.sum((integrand[1:] + integrand[:-1]) * jnp.diff(grid)) / 2
    beyond = 0.0 if math.isinf(power) else values[-1] * grid[-1] ** dim / (power - dim)
    return sphere_area(dim) * (inside + beyond) / (2 * math.pi) ** dim


def plan_sum(
    *,
    dim: int,
    order: int,
    extent: Array,
    scales: tuple[Array, ...],
    smoothness: float,
    spectrum: Callable[[Array], Array],
    spatial: Callable[[Array], tuple[Array, Array]],
    rtol: float,
    eps: float,
    ladder: tuple[int, ...],
    period_steps: int = _PERIOD_STEPS,
) -> FourierPlan:
    """The plan (`FourierPlan`) of a Fourier sum of derivative order `order` over differences with
    $|v_a| \\le$ `extent`, for a radial kernel with spectrum `spectrum(rho)` (in $\\mathbb{R}^{dim}$),
    of the given `smoothness` and length `scales`; `spatial(periods)` returns the grid and the
    non-increasing envelope $g_j$ on it, covering distances up to 3 times the largest period."""
    dtype = extent.dtype
    small = jnp.min(jnp.stack([jnp.asarray(s, dtype) for s in scales]))
    large = jnp.max(jnp.stack([jnp.asarray(s, dtype) for s in scales]))
    periods = extent + large * 2.0 ** ((jnp.arange(period_steps, dtype=dtype) - 8) / 2)
    grid, env = spatial(periods)
    periodisation = periodisation_bound(grid, env, periods, extent, dim)

    power = dim + smoothness - order  # G_j(rho) = rho^j |k^(rho)| ~ rho^-(power)
    top = math.pi * ladder[-1] / periods[0]
    rho = radial_grid(1e-4 / jnp.maximum(large, extent), jnp.maximum(top, 64 / small), dtype)
    values = rho**order * jnp.abs(spectrum(rho))
    scale = moment(rho, values, dim, power)
    spectral_env = envelope(values)

    within = periodisation <= _PERIODISATION_SHARE * rtol * scale
    choice = jnp.argmax(within)
    period = periods[choice]
    modes = jnp.asarray(ladder, dtype)
    truncation = spectral_integral(rho, spectral_env, math.pi * (modes - 1) / period, period, dim, power)
    if dim == 1:
        # the lattice sum itself (the envelope of a peaked 1-D slice spectrum overstates it several-fold)
        omega = (2 * math.pi / period) * jnp.arange(1, ladder[-1] // 2, dtype=dtype)
        weights = omega**order * jnp.abs(spectrum(omega))
        at_zero = jnp.abs(spectrum(jnp.zeros((), dtype))) if order == 0 else 0.0
        lattice = (at_zero + 2 * jnp.sum(weights)) / period + truncation[-1]
    else:
        lattice = spectral_integral(rho, spectral_env, 0.0, period, dim, power)
    nufft = 2.01 * dim ** (order / 2) * eps * lattice
    total = periodisation[choice] + truncation + nufft
    fits = total <= rtol * scale
    index = jnp.argmax(fits)
    return FourierPlan(
        period=period,
        index=index,
        feasible=jnp.any(within) & jnp.any(fits),
        bound=total[index],
        scale=scale,
        periodisation=periodisation[choice],
        truncation=truncation[index],
        nufft=nufft,
    )


def radial_spatial_envelope(profile, profile_grad, profile_second, order: int, small: Array, dtype):
    """`spatial(periods)` for `plan_sum` from a radial profile $\\varphi$ and its derivatives: the
    envelope of $g_j$ (module docstring) on a geometric grid from `small` * 1e-4 to 3 T_max."""

    def spatial(periods):
        r = radial_grid(small * 1e-4, 3 * periods[-1], dtype)
        s = r * r
        if order == 0:
            g = profile(s)
        elif order == 1:
            g = 2 * r * profile_grad(s)
        else:
            first = 2 * profile_grad(s)
            g = jnp.maximum(jnp.abs(first), jnp.abs(first + 4 * s * profile_second(s)))
        return r, envelope(g)

    return spatial
