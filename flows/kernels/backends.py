r"""How kernel sums are computed: the backends behind `backend=` in `flows.kernels.sums`.

| name | class | memory | answer |
|---|---|---|---|
| `"dense"` | `DenseSums` | N × M | exact |
| `"blocked"` | `BlockedSums(row_block, col_block)` | (N + M) · block | exact |
| `"auto"` (default) | `AutoSums` | dense up to one tile (2^18 entries), blocked above | exact |
| `"sliced"` | `SlicedRieszApproximation(key, projections)` | (N + M) · block | Monte-Carlo, ~√(d/P); Riesz r = 1 only |
| `"features"` | `RandomFeatureApproximation(key, features)` | (N + M) · D | Monte-Carlo, ~k(0)/√D |
| `"fourier"` | `FourierApproximation(rtol, max_modes)` | N + M + K^d | within `rtol` (a computed bound), d ≤ 3, kernels with a spectrum |
| `"sliced-fourier"` | `SlicedFourierApproximation(key, projections, directions)` | N + M + block · (N + M) | Monte-Carlo over P directions, ~P^(-1/2); any d |

The approximate backends say so in their class names. They are exact sums of a nearby kernel
($k_P$ of P random slices, $k_D$ of D random features; see `flows.kernels.sliced`,
`flows.kernels.random_features`), so a flow run with them is the exact MMD flow of that kernel:
dissipation identities hold to rounding. Their randomness comes from their explicit `key`;
the string names `"sliced"`, `"features"` and `"sliced-fourier"` use `jax.random.PRNGKey(0)` and
the default sizes.

`FourierApproximation` sums by non-uniform FFTs (`flows.kernels.fourier`) with an error bound it
computes and holds below `rtol` (`flows.kernels.fourier_bounds`): it is the exact sum of a
trigonometric kernel $\tilde k$ within `rtol` of $k$ on the points' box. `"auto"` switches to it
only where that costs nothing in accuracy and saves time: float64 points, d ≤ 3, a kernel with a
spectrum, N · M ≥ `FOURIER_MIN_PAIRS` = 2^28 (N = M ≈ 16,000, where the exact step takes seconds
and the Fourier step milliseconds; `experiments/bench_kernel_sums.py`), with
`rtol = AUTO_FOURIER_RTOL` = 1e-12, the size of the rounding error of an exact float64 sum of
that many terms; where its bound cannot reach 1e-12 (a bandwidth too small for the spread) it
stays exact.
"""

from __future__ import annotations

import abc
import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._checks import check_choice, check_in_range, check_positive_int, is_concrete
from .._sampling import sphere_directions
from . import fourier, fourier_bounds, random_features, sliced_fourier, sliced_histograms
from . import sliced as sliced_sums
from .base import AbstractKernel
from .blocked import TILE_ENTRIES, blocked_row_sums
from .radial import EnergyKernel


def _ones(y: Array) -> Array:
    return jnp.ones(y.shape[0], y.dtype)


class AbstractSumBackend(eqx.Module):
    """A way to compute $\\sum_j k(x_i, y_j) w_j$, $\\sum_j w_j \\nabla_x k(x_i, y_j)$ and
    $\\sum_j \\nabla_x\\nabla_y k(x_i, y_j) v_j$."""

    @abc.abstractmethod
    def kernel_sum(self, kernel: AbstractKernel, x: Array, y: Array, weights: Array | None) -> Array:
        """$\\sum_j k(x_i, y_j) w_j$ (plain sum when `weights` is None)."""

    @abc.abstractmethod
    def kernel_grad_sum(self, kernel: AbstractKernel, x: Array, y: Array, weights: Array | None) -> Array:
        """$\\sum_j w_j \\nabla_x k(x_i, y_j)$ (plain sum when `weights` is None)."""

    @abc.abstractmethod
    def kernel_hessian_sum(self, kernel: AbstractKernel, x: Array, y: Array, vectors: Array) -> Array:
        """$\\sum_j \\nabla_x\\nabla_y k(x_i, y_j) v_j$."""

    def kernel_value_grad_sum(self, kernel: AbstractKernel, x: Array, y: Array, weights: Array) -> Array:
        """$\\sum_j k(x_i, y_j)\\, w_{j1}$ (column 0) and $\\sum_j w_{j2} \\nabla_x k(x_i, y_j)$ (columns
        1..d), for `weights` of shape (M, 2): two sums here; the exact backends make it one pass
        over the pairs (`AbstractKernel.value_grad_sum_tile`)."""
        values = self.kernel_sum(kernel, x, y, weights[:, 0])
        return jnp.concatenate([values[:, None], self.kernel_grad_sum(kernel, x, y, weights[:, 1])], axis=1)

    def witness_grad(self, kernel: AbstractKernel, z: Array, x: Array, y: Array) -> Array:
        """$\\frac1N\\sum_l \\nabla k(x_l, z_i) - \\frac1M\\sum_j \\nabla k(y_j, z_i)$: two unweighted
        gradient sums (a backend may fuse them)."""
        return self.kernel_grad_sum(kernel, z, x, None) / x.shape[0] - self.kernel_grad_sum(kernel, z, y, None) / y.shape[0]


class DenseSums(AbstractSumBackend):
    """Exact sums as one tile over all (N, M) pairs (the kernel's `sum_tile`, `grad_sum_tile`,
    `hessian_sum_tile`): fastest for small problems."""

    def kernel_sum(self, kernel, x, y, weights):
        return kernel.sum_tile(*kernel.prepare(x, y), _ones(y) if weights is None else weights)

    def kernel_grad_sum(self, kernel, x, y, weights):
        return kernel.grad_sum_tile(*kernel.prepare(x, y), _ones(y) if weights is None else weights)

    def kernel_value_grad_sum(self, kernel, x, y, weights):
        return kernel.value_grad_sum_tile(*kernel.prepare(x, y), weights)

    def kernel_hessian_sum(self, kernel, x, y, vectors):
        return kernel.hessian_sum_tile(*kernel.prepare(x, y), vectors)


class BlockedSums(AbstractSumBackend):
    """Exact sums streamed through (row_block × col_block) tiles of the kernel's tile methods
    (`flows.kernels.blocked`): memory O((N + M) · block), also under reverse-mode autodiff.

    **Arguments:**
    - `row_block`, `col_block`: tile sizes, positive ints or None (the default: chosen from the
      problem size, tiles of about 2^18 entries).
    """

    row_block: int | None = eqx.field(static=True, default=None)
    col_block: int | None = eqx.field(static=True, default=None)

    def __check_init__(self):
        for name in ("row_block", "col_block"):
            if getattr(self, name) is not None:
                check_positive_int(name, getattr(self, name))

    def _run(self, tile, kernel, x, y, columns):
        """`tile` (a tile method of `kernel`) summed over column tiles, for every row tile."""
        xp, yp = kernel.prepare(x, y)
        # a plain function, not the bound method: `jax.checkpoint` hashes its function, and a
        # kernel with traced parameters is not hashable
        fn = lambda x_tile, y_tile, c_tile: tile(x_tile, y_tile, c_tile)
        return blocked_row_sums(fn, xp, (yp, columns), row_block=self.row_block, col_block=self.col_block)

    def kernel_sum(self, kernel, x, y, weights):
        return self._run(kernel.sum_tile, kernel, x, y, _ones(y) if weights is None else weights)

    def kernel_grad_sum(self, kernel, x, y, weights):
        return self._run(kernel.grad_sum_tile, kernel, x, y, _ones(y) if weights is None else weights)

    def kernel_value_grad_sum(self, kernel, x, y, weights):
        return self._run(kernel.value_grad_sum_tile, kernel, x, y, weights)

    def kernel_hessian_sum(self, kernel, x, y, vectors):
        return self._run(kernel.hessian_sum_tile, kernel, x, y, vectors)


class AutoSums(AbstractSumBackend):
    """Exact sums, dense while N · M ≤ `dense_limit`, blocked above (the default backend).

    **Arguments:**
    - `dense_limit`: the largest N · M computed densely (default: one blocked tile,
      `flows.kernels.blocked.TILE_ENTRIES` = 2^18; above it cache-sized tiles are faster on the CI
      CPU as well as smaller: 2x at N = M = 1000, measured by `experiments/bench_kernel_sums.py`).
    """

    dense_limit: int = eqx.field(static=True, default=TILE_ENTRIES)
    fourier_min_pairs: int = eqx.field(static=True, default=2**28)

    def __check_init__(self):
        check_positive_int("dense_limit", self.dense_limit)
        check_positive_int("fourier_min_pairs", self.fourier_min_pairs)

    def _pick(self, x: Array, y: Array) -> AbstractSumBackend:
        return DenseSums() if x.shape[0] * y.shape[0] <= self.dense_limit else BlockedSums()

    def _fourier(self, kernel: AbstractKernel, x: Array, y: Array, order: int) -> "FourierApproximation | None":
        """The Fourier backend where "auto" may use it (module docstring), else None."""
        if x.shape[1] > 3 or x.dtype != jnp.float64 or x.shape[0] * y.shape[0] < self.fourier_min_pairs:
            return None
        try:
            smooth = kernel.spectral_smoothness()
        except ValueError:
            return None
        return FourierApproximation(rtol=AUTO_FOURIER_RTOL) if order < smooth else None

    def _either(self, order, kernel, x, y, columns, exact):
        fast = self._fourier(kernel, x, y, order)
        return exact() if fast is None else fast.sum(order, kernel, x, y, columns, fallback=exact)

    def kernel_sum(self, kernel, x, y, weights):
        exact = lambda: self._pick(x, y).kernel_sum(kernel, x, y, weights)
        return self._either(0, kernel, x, y, weights, exact)

    def kernel_grad_sum(self, kernel, x, y, weights):
        exact = lambda: self._pick(x, y).kernel_grad_sum(kernel, x, y, weights)
        return self._either(1, kernel, x, y, weights, exact)

    def kernel_hessian_sum(self, kernel, x, y, vectors):
        exact = lambda: self._pick(x, y).kernel_hessian_sum(kernel, x, y, vectors)
        return self._either(2, kernel, x, y, vectors, exact)

    def kernel_value_grad_sum(self, kernel, x, y, weights):
        """One exact pass, or two Fourier sums where the Fourier backend is used."""
        if self._fourier(kernel, x, y, 1) is not None:
            return AbstractSumBackend.kernel_value_grad_sum(self, kernel, x, y, weights)
        return self._pick(x, y).kernel_value_grad_sum(kernel, x, y, weights)

    def witness_grad(self, kernel, z, x, y):
        """Fused into one Fourier gradient sum over x ∪ y where the Fourier backend is used."""
        exact = lambda: AbstractSumBackend.witness_grad(self, kernel, z, x, y)
        fast = self._fourier(kernel, z, jnp.concatenate([x, y]), 1)
        return exact() if fast is None else fast.witness_grad(kernel, z, x, y, fallback=exact)


# Points (queries + sources) from which "auto" sliced gradient sums use histograms instead of sorting.
HISTOGRAM_MIN_POINTS = 2**14


class SlicedRieszApproximation(AbstractSumBackend):
    """Sliced sums for the Riesz kernel $-\\|x - y\\|$ (`EnergyKernel(1.0)` only; Hertrich et al.,
    ICLR 2024). Error ~ √(d/P): Monte-Carlo over the directions.

    Two ways to the 1-D ranks: `"sort"`, exact sums of $k_P$ in O(P (N + M) log M)
    (`flows.kernels.sliced`), and `"histogram"`, bucketed CDFs in O(P (N + M)) with an added error
    of at most 2 (largest bucket mass) / $c_d$ per gradient sum (`flows.kernels.sliced_histograms`;
    ~1e-4 of the total weight at the default 2^16 buckets, far below the Monte-Carlo error).
    `"auto"` sorts below `HISTOGRAM_MIN_POINTS` points in all (exact, and as fast there) and
    uses histograms above. Values (`kernel_sum`) always sort.

    **Arguments:**
    - `key`: the `jax.random` key the P directions are drawn from.
    - `projections`: P (default 256).
    - `method`: `"auto"` (default), `"sort"` or `"histogram"`, for gradient sums.
    - `buckets`: B, buckets per direction of the histogram method (default 2^16).
    """

    key: Array
    projections: int = eqx.field(static=True, default=256)
    method: str = eqx.field(static=True, default="auto")
    buckets: int = eqx.field(static=True, default=sliced_histograms.DEFAULT_BUCKETS)

    def __check_init__(self):
        check_positive_int("projections", self.projections)
        check_choice("method", self.method, ("auto", "sort", "histogram"))
        check_positive_int("buckets", self.buckets)

    def directions(self, dim: int, dtype) -> Array:
        """The P unit directions used for points in $\\mathbb{R}^{dim}$."""
        return sphere_directions(self.key, self.projections, dim, dtype)

    def uses_histograms(self, points: int) -> bool:
        """Whether gradient sums over `points` points in all (queries and sources) use histograms."""
        return self.method == "histogram" or (self.method == "auto" and points >= HISTOGRAM_MIN_POINTS)

    def _check(self, kernel):
        if not isinstance(kernel, EnergyKernel) or (is_concrete(kernel.exponent) and float(kernel.exponent) != 1.0):
            raise ValueError(
                "`kernel` must be EnergyKernel(1.0) (the Riesz kernel with exponent 1) for the sliced "
                f"backend, got {kernel!r}; use backend='auto' for other kernels."
            )

    def kernel_sum(self, kernel, x, y, weights):
        self._check(kernel)
        directions = self.directions(x.shape[1], x.dtype)
        if weights is not None and weights.ndim == 2:
            return jax.vmap(lambda w: sliced_sums.sliced_riesz_sum(x, y, w, directions), in_axes=1, out_axes=1)(weights)
        return sliced_sums.sliced_riesz_sum(x, y, weights, directions)

    def _bucketed(self, z, clouds):
        directions = self.directions(z.shape[1], z.dtype)
        signs = sliced_histograms.bucketed_sign_sums(z, clouds, directions, self.buckets)
        return -signs / (sliced_sums.slice_constant(z.shape[1]) * self.projections)

    def kernel_grad_sum(self, kernel, x, y, weights):
        self._check(kernel)
        if self.uses_histograms(x.shape[0] + y.shape[0]):
            return self._bucketed(x, [(y, _ones(y) if weights is None else weights.astype(y.dtype))])
        return sliced_sums.sliced_riesz_grad_sum(x, y, weights, self.directions(x.shape[1], x.dtype))

    def witness_grad(self, kernel, z, x, y):
        """One pass: x and y in one histogram, with weights 1/N and -1/M (the sort path: two
        unweighted rank counts)."""
        self._check(kernel)
        if not self.uses_histograms(z.shape[0] + x.shape[0] + y.shape[0]):
            return super().witness_grad(kernel, z, x, y)
        n, m = x.shape[0], y.shape[0]
        return self._bucketed(z, [(x, jnp.full(n, 1 / n, x.dtype)), (y, jnp.full(m, -1 / m, y.dtype))])

    def bucket_error_bound(self, x: Array, y: Array | None = None) -> Array:
        """Bound on the histogram method's added error in `witness_grad(z, x, y)` (or in
        `kernel_grad_sum(z, x) / N` when `y` is None), uniform in the queries z: 2 (largest bucket
        mass) / $c_d$, in units of the witness gradient (whose exact values have norm ≤ 2)."""
        clouds = [(x, jnp.full(x.shape[0], 1 / x.shape[0], x.dtype))]
        if y is not None:
            clouds.append((y, jnp.full(y.shape[0], -1 / y.shape[0], y.dtype)))
        directions = self.directions(x.shape[1], x.dtype)
        return sliced_histograms.bucket_error_bound(clouds, directions, self.buckets) / sliced_sums.slice_constant(x.shape[1])

    def kernel_hessian_sum(self, kernel, x, y, vectors):
        raise ValueError("`backend`: the sliced backend has no Hessian sums (the Riesz kernel's Hessian is singular); use 'auto'.")


class RandomFeatureApproximation(AbstractSumBackend):
    """Random Fourier feature sums, O((N + M) D d) (`flows.kernels.random_features`), for kernels
    with the `spectral_sample` capability: Gaussian, Laplace, IMQ kernels and sums of them.
    Error ~ k(0)/√D: Monte-Carlo over frequencies. Gradient and Hessian sums ask for the spectrum
    `for_gradients`, which the Laplace kernel refuses (its feature gradients have infinite
    variance; a `ValueError` says so).

    **Arguments:**
    - `key`: the `jax.random` key the frequencies are drawn from.
    - `features`: D, frequencies per kernel (default 1024; 2D features: cosines and sines).
    """

    key: Array
    features: int = eqx.field(static=True, default=1024)

    def __check_init__(self):
        check_positive_int("features", self.features)

    def spectrum(self, kernel: AbstractKernel, dim: int, dtype, *, for_gradients: bool = False) -> tuple[Array, Array]:
        """Frequencies and amplitudes of $k_D$ for `kernel` in $\\mathbb{R}^{dim}$
        (`kernel.spectral_sample` with this backend's key and D)."""
        return kernel.spectral_sample(self.key, self.features, dim, dtype, for_gradients=for_gradients)

    def kernel_sum(self, kernel, x, y, weights):
        return random_features.feature_sum(x, y, weights, *self.spectrum(kernel, x.shape[1], x.dtype))

    def kernel_grad_sum(self, kernel, x, y, weights):
        spectrum = self.spectrum(kernel, x.shape[1], x.dtype, for_gradients=True)
        return random_features.feature_grad_sum(x, y, weights, *spectrum)

    def kernel_hessian_sum(self, kernel, x, y, vectors):
        spectrum = self.spectrum(kernel, x.shape[1], x.dtype, for_gradients=True)
        return random_features.feature_hessian_sum(x, y, vectors, *spectrum)


# "auto" uses the Fourier backend at this accuracy (module docstring)
AUTO_FOURIER_RTOL = 1e-12
# the smallest rtol the NUFFT reaches, and its tolerance floor, per float type
_FOURIER_FLOORS = {4: (1e-5, 1e-6), 8: (1e-14, 1e-15)}
_FOURIER_DEFAULT_RTOL = {4: 1e-5, 8: 1e-8}
_SLICED_DEFAULT_RTOL = 1e-6


def _check_rtol(rtol: float | None) -> None:
    if rtol is not None:
        check_in_range("rtol", rtol, 0.0, 1.0)


def _tolerances(rtol: float | None, dtype) -> tuple[float, float]:
    """(rtol, NUFFT eps) for points of `dtype`: the default rtol of the float type, eps = rtol / 10
    (at least the float type's floor); a clear error below what the NUFFT reaches."""
    size = jnp.dtype(dtype).itemsize
    if size not in _FOURIER_FLOORS:
        raise ValueError(f"`x`: the Fourier backends need float32 or float64 points, got {jnp.dtype(dtype)}.")
    lowest, floor = _FOURIER_FLOORS[size]
    rtol = _FOURIER_DEFAULT_RTOL[size] if rtol is None else rtol
    if rtol < lowest:
        raise ValueError(
            f"`rtol` = {rtol:g} is below what the NUFFT reaches in {jnp.dtype(dtype)} ({lowest:g}); "
            "use float64 points (jax.config.update('jax_enable_x64', True)) or a larger rtol."
        )
    return rtol, max(rtol / 10, floor)


def _check_finite(name: str, points: Array) -> Array:
    points = eqx.error_if(
        points, ~jnp.all(jnp.isfinite(points)), f"`{name}`: the Fourier backends need finite points, got a non-finite coordinate."
    )
    return fourier.sanitise(points)


def _plan_points(*clouds: Array) -> tuple[Array, ...]:
    """The points, cut from autodiff, in float64 where JAX has it: the bounds are computed in the
    widest float type (float32 rounding would swamp an envelope's far tail)."""
    wide = jnp.float64 if jax.config.jax_enable_x64 else clouds[0].dtype
    return tuple(jax.lax.stop_gradient(c).astype(wide) for c in clouds)


def _plan_inputs(kernel: AbstractKernel) -> AbstractKernel:
    """The kernel with its array parameters cut from autodiff: the plan (period and grid) is
    chosen, not differentiated."""
    return jax.tree_util.tree_map(lambda a: jax.lax.stop_gradient(a) if eqx.is_array(a) else a, kernel)


def _columns(weights: Array | None, y: Array) -> Array:
    return _ones(y) if weights is None else weights


class AbstractFourierBackend(AbstractSumBackend):
    """What the two Fourier backends share: their `rtol` and `max_modes` fields (declared by each,
    with its own defaults) checked alike, the refusal of kernels too rough for a sum's order, and
    `plan` from their own `_setup` (rtol, NUFFT tolerance, grid ladder) and `_plan`."""

    def __check_init__(self):
        _check_rtol(self.rtol)
        check_positive_int("max_modes", self.max_modes)
        if self.max_modes < 8:
            raise ValueError(f"`max_modes` must be at least 8, got {self.max_modes}.")

    @staticmethod
    def _check_smoothness(kernel: AbstractKernel, order: int, series: str, reason: str = "") -> None:
        """Refuse a sum of derivative order `order` unless `kernel`'s spectral smoothness exceeds it
        (the Fourier series of `series` does not converge uniformly otherwise; `reason` says why)."""
        smoothness = kernel.spectral_smoothness()
        if order >= smoothness:
            what = ("values", "gradients", "Hessian sums")[order]
            raise ValueError(
                f"`kernel`: the Fourier series of {series} (spectral smoothness {smoothness:g}) "
                f"does not converge uniformly for {what}{reason}; use backend='auto' (exact)."
            )

    @abc.abstractmethod
    def _setup(self, kernel: AbstractKernel, x: Array, order: int) -> tuple[float, float, tuple[int, ...]]:
        """(rtol, NUFFT tolerance, the ladder of grids tried) for a sum of derivative order `order`."""

    @abc.abstractmethod
    def _plan(self, kernel, x, y, order, rtol, eps, ladder) -> fourier_bounds.FourierPlan:
        """The plan of one sum, after `_setup`."""

    def plan(self, kernel: AbstractKernel, x: Array, y: Array, order: int = 0) -> fourier_bounds.FourierPlan:
        """The period, grid and error bound (per unit weight) of a sum of derivative order `order`
        (0 values, 1 gradients, 2 Hessian sums) of `kernel` over the rows of `x` and `y` (for the
        sliced backend: of its 1-D sums, in units of the 1-D kernel $f$)."""
        rtol, eps, ladder = self._setup(kernel, x, order)
        return self._plan(kernel, x, y, order, rtol, eps, ladder)


class FourierApproximation(AbstractFourierBackend):
    """Kernel sums by non-uniform FFTs for kernels with a spectrum (`fourier_transform`: Gaussian,
    Laplace, Matérn, sums of them) in d ≤ 3, in O(N + M + K^d log K) (`flows.kernels.fourier`;
    Potts & Steidl, SIAM J. Sci. Comput. 2003). The period T, the K^d modes and the NUFFT
    tolerance come from `rtol` at run time, from the points' bounding box (inside `jit` too): with
    $E_j$ the bound of `flows.kernels.fourier_bounds`,

    $$\\max_i |\\tilde S_i - S_i| \\le E_j \\sum_j |w_j| \\le \\texttt{rtol}\\cdot M_j \\sum_j |w_j|,$$

    $M_0 = k(0)$ for values, $M_1 \\ge \\sup\\|\\nabla k\\|$ for gradients, $M_2 \\ge \\sup\\|\\nabla\\nabla k\\|$ for
    Hessian sums (with $\\sum_j \\|v_j\\|$); `error_bound` returns it, `plan` the period, grid and parts.
    Where no grid of at most `max_modes` modes reaches `rtol` (a length scale small against the
    spread: K grows like spread / length scale) it raises an error naming the limit, at run time.
    Refused before any work: d > 3 (`SlicedFourierApproximation` slices), kernels without a
    spectrum, derivatives the kernel's Fourier series cannot give uniformly (order ≥
    `spectral_smoothness`: Laplace gradients), an `rtol` below what the NUFFT reaches in the
    points' float type. Non-finite points raise at run time.

    It is the exact sum of the trigonometric kernel $\\tilde k$ (positive definite) up to the NUFFT
    tolerance, so a flow run with it is the exact MMD flow of $\\tilde k$ (whose period follows the
    points). Differentiable in the points, weights and kernel parameters (the NUFFT's own JAX
    rules; the plan is held fixed).

    **Arguments:**
    - `rtol`: the accuracy relative to $M_j \\sum_j |w_j|$ (default None: 1e-8 for float64
      points, 1e-5 for float32, the lowest the NUFFT reaches there).
    - `max_modes`: the largest $K^d$ (default 2^22).
    """

    rtol: float | None = eqx.field(static=True, default=None)
    max_modes: int = eqx.field(static=True, default=2**22)

    def _setup(self, kernel, x, order):
        dim = x.shape[1]
        if dim > 3:
            raise ValueError(
                f"`x`: FourierApproximation sums in d <= 3 (its grid has K^d modes), got d = {dim}; use "
                "SlicedFourierApproximation (1-D Fourier sums along directions) for d > 3."
            )
        self._check_smoothness(
            kernel, order, type(kernel).__name__,
            f": derivatives of order {order} need smoothness > {order} (the kernel is not smooth enough at x = y)",
        )
        rtol, eps = _tolerances(self.rtol, x.dtype)
        return rtol, eps, fourier_bounds.mode_ladder(dim, self.max_modes)

    def _plan(self, kernel, x, y, order, rtol, eps, ladder):
        kernel = _plan_inputs(kernel)
        x, y = _plan_points(x, y)
        _, half = fourier.bounding_box(x, y)
        scales = kernel.length_scales()
        small = jnp.min(jnp.stack([jnp.asarray(s, x.dtype) for s in scales]))
        spatial = fourier_bounds.radial_spatial_envelope(
            kernel.profile, kernel.profile_grad, kernel.profile_second_derivative, order, small, x.dtype
        )
        return fourier_bounds.plan_sum(
            dim=x.shape[1], order=order, extent=2 * half, scales=scales, smoothness=kernel.spectral_smoothness(),
            spectrum=lambda rho: kernel.fourier_transform(rho, x.shape[1]), spatial=spatial,
            rtol=rtol, eps=eps, ladder=ladder,
        )

    def error_bound(self, kernel: AbstractKernel, x: Array, y: Array, weights: Array | None = None, order: int = 0) -> Array:
        """The bound on $\\max_i$ of the error of the sum of order `order` (0 `kernel_sum`, 1
        `kernel_grad_sum`, 2 `kernel_hessian_sum` with `weights` the vectors $v_j$): $E_j$ times
        $\\sum_j |w_j|$ (or $\\sum_j \\|v_j\\|$)."""
        columns = _columns(weights, y)
        mass = jnp.sum(jnp.linalg.norm(columns, axis=1)) if order == 2 else jnp.sum(jnp.abs(columns))
        return self.plan(kernel, x, y, order).bound * mass

    def sum(self, order: int, kernel: AbstractKernel, x: Array, y: Array, columns: Array | None, fallback=None) -> Array:
        """The sum of derivative order `order` (`columns`: the weights, or the vectors for order 2).
        Without `fallback`, an infeasible plan raises; with it, `fallback()` computes the sum instead."""
        rtol, eps, ladder = self._setup(kernel, x, order)
        x, y = _check_finite("x", x), _check_finite("y", y)
        columns = _columns(columns, y)
        single = order == 0 and columns.ndim == 1
        if single:
            columns = columns[:, None]
        plan = self._plan(kernel, x, y, order, rtol, eps, ladder)
        centre, _ = fourier.bounding_box(x, y)
        centre = jax.lax.stop_gradient(centre)
        spectrum = lambda rho: kernel.fourier_transform(rho, x.shape[1])
        branches = [functools.partial(fourier.sum_fn(order), spectrum, modes=k, eps=eps) for k in ladder]
        run = lambda: jax.lax.switch(plan.index, branches, x, y, columns, centre, plan.period.astype(x.dtype))
        if fallback is None:
            x = eqx.error_if(x, ~plan.feasible, self._refusal(kernel, x.shape[1], rtol, ladder))
            out = run()
        else:
            shape = (x.shape[0], columns.shape[1]) if order == 0 else x.shape
            out = jax.lax.cond(plan.feasible, run, lambda: fallback().reshape(shape).astype(x.dtype))
        return out[:, 0] if single else out

    def _refusal(self, kernel, dim, rtol, ladder) -> str:
        return (
            f"`backend`: FourierApproximation cannot reach rtol = {rtol:g} for {type(kernel).__name__} on these points "
            f"within max_modes = {self.max_modes} Fourier modes ({ladder[-1]} per axis in {dim}-D): the kernel's length "
            "scale is too small for the points' spread (the modes needed grow like spread / length scale per axis). "
            "Loosen rtol, raise max_modes, or use backend='auto' (exact); FourierApproximation.plan(kernel, x, y) "
            "reports the bound."
        )

    def kernel_sum(self, kernel, x, y, weights):
        return self.sum(0, kernel, x, y, weights)

    def kernel_grad_sum(self, kernel, x, y, weights):
        return self.sum(1, kernel, x, y, weights)

    def kernel_hessian_sum(self, kernel, x, y, vectors):
        return self.sum(2, kernel, x, y, vectors)

    def witness_grad(self, kernel, z, x, y, fallback=None):
        """One gradient sum over x ∪ y with weights 1/N and -1/M: one pair of NUFFTs."""
        n, m = x.shape[0], y.shape[0]
        weights = jnp.concatenate([jnp.full(n, 1 / n, x.dtype), jnp.full(m, -1 / m, y.dtype)])
        return self.sum(1, kernel, z, jnp.concatenate([x, y]), weights, fallback=fallback)


class SlicedFourierApproximation(AbstractFourierBackend):
    """Sliced Fourier sums for radial kernels with a spectrum in any dimension (Hertrich, SIAM J.
    Math. Data Sci. 2024; `flows.kernels.sliced_fourier`): P 1-D Fourier sums along directions,
    O(P (N + M) d) for the projections and O(P (N + M)) for the sums. The exact sums of the sliced
    kernel $k_P$ (positive definite) up to the 1-D error, which is held below `rtol` as in
    `FourierApproximation` (with the slices' 1-D kernel $f$); the error against $k$ is
    Monte-Carlo over the directions, ~$P^{-1/2}$ (`error_estimate`).

    **Arguments:**
    - `key`: the `jax.random` key the directions are drawn from.
    - `projections`: P (default 256).
    - `directions`: `"random"` (default: independent uniform), `"orthogonal"` (blocks of d
      orthonormal directions) or `"halton"` (randomised Halton points mapped to the sphere).
    - `rtol`: of the 1-D sums, relative to the 1-D kernel's scale (default None: 1e-6 in float64,
      1e-5 in float32: far below the Monte-Carlo error).
    - `max_modes`: the most 1-D modes (default 2^16).
    """

    key: Array
    projections: int = eqx.field(static=True, default=256)
    directions: str = eqx.field(static=True, default="random")
    rtol: float | None = eqx.field(static=True, default=None)
    max_modes: int = eqx.field(static=True, default=2**16)

    def __check_init__(self):
        check_positive_int("projections", self.projections)
        check_choice("directions", self.directions, sliced_fourier.DIRECTION_KINDS)

    def direction_set(self, dim: int, dtype) -> Array:
        """The P unit directions for points in $\\mathbb{R}^{dim}$."""
        return sliced_fourier.slice_directions(self.key, self.projections, dim, self.directions, dtype)

    def _setup(self, kernel, x, order):
        """(rtol, eps, ladder); the default rtol is 1e-6 in float64 (the Monte-Carlo error dominates)."""
        self._check_smoothness(kernel, order, f"{type(kernel).__name__}'s slices")
        rtol = self.rtol if self.rtol is not None or jnp.dtype(x.dtype).itemsize == 4 else _SLICED_DEFAULT_RTOL
        rtol, eps = _tolerances(rtol, x.dtype)
        return rtol, eps, fourier_bounds.mode_ladder(1, self.max_modes)

    def _plan(self, kernel, x, y, order, rtol, eps, ladder):
        kernel = _plan_inputs(kernel)
        x, y = _plan_points(x, y)
        centre, _ = fourier.bounding_box(x, y)
        radius = jnp.maximum(jnp.max(jnp.linalg.norm(x - centre, axis=1)), jnp.max(jnp.linalg.norm(y - centre, axis=1)))
        spectrum = sliced_fourier.slice_spectrum(kernel, x.shape[1])
        return fourier_bounds.plan_sum(
            dim=1, order=order, extent=2 * radius, scales=kernel.length_scales(),
            smoothness=kernel.spectral_smoothness(), spectrum=spectrum,
            spatial=sliced_fourier.slice_spatial_envelope(spectrum, order, x.dtype),
            rtol=rtol, eps=eps, ladder=ladder, period_steps=26,
        )

    def _sum(self, order, kernel, x, y, columns, directions=None):
        rtol, eps, ladder = self._setup(kernel, x, order)
        x, y = _check_finite("x", x), _check_finite("y", y)
        plan = self._plan(kernel, x, y, order, rtol, eps, ladder)
        x = eqx.error_if(x, ~plan.feasible, (
            f"`backend`: SlicedFourierApproximation cannot reach rtol = {rtol:g} in its 1-D sums for "
            f"{type(kernel).__name__} within max_modes = {self.max_modes} modes: the slices' profile decays like "
            f"|t|^-d in even dimensions d (here {x.shape[1]}), too slowly for the period, or the length scale is "
            "too small for the spread. Loosen rtol, raise max_modes, or use FourierApproximation for d <= 3."
        ))
        centre = jax.lax.stop_gradient(fourier.bounding_box(x, y)[0])
        directions = self.direction_set(x.shape[1], x.dtype) if directions is None else directions
        spectrum = sliced_fourier.slice_spectrum(kernel, x.shape[1])
        branches = [
            functools.partial(sliced_fourier.sliced_sums, spectrum, modes=k, eps=eps, order=order) for k in ladder
        ]
        return jax.lax.switch(plan.index, branches, x, y, columns, directions, centre, plan.period.astype(x.dtype))

    def kernel_sum(self, kernel, x, y, weights):
        columns = _columns(weights, y)
        if columns.ndim == 2:
            return jax.vmap(lambda w: self._sum(0, kernel, x, y, w), in_axes=1, out_axes=1)(columns)
        return self._sum(0, kernel, x, y, columns)

    def kernel_grad_sum(self, kernel, x, y, weights):
        return self._sum(1, kernel, x, y, _columns(weights, y))

    def kernel_hessian_sum(self, kernel, x, y, vectors):
        return self._sum(2, kernel, x, y, vectors)

    def witness_grad(self, kernel, z, x, y):
        """One sliced gradient sum over x ∪ y with weights 1/N and -1/M."""
        n, m = x.shape[0], y.shape[0]
        weights = jnp.concatenate([jnp.full(n, 1 / n, x.dtype), jnp.full(m, -1 / m, y.dtype)])
        return self._sum(1, kernel, z, jnp.concatenate([x, y]), weights)

    def error_estimate(self, kernel: AbstractKernel, x: Array, y: Array, weights: Array | None = None, order: int = 0) -> Array:
        """The Monte-Carlo standard error of the sum of order `order` (0 values, 1 gradients) at
        each row of `x`: the standard deviation of the P slices' sums over $\\sqrt P$ (for random
        directions; larger than the error of orthogonal or Halton directions where they help).
        Costs P sums over the rows of `x`: pass a few rows."""
        if order not in (0, 1):
            raise ValueError(f"`order` must be 0 (values) or 1 (gradients), got {order!r}.")
        directions = self.direction_set(x.shape[1], x.dtype)
        columns = _columns(weights, y)
        each = jax.vmap(lambda xi: self._sum(order, kernel, x, y, columns, directions=xi[None, :]))(directions)
        spread = jnp.std(each, axis=0, ddof=1)
        if order == 1:
            spread = jnp.linalg.norm(spread, axis=1)
        return spread / math.sqrt(self.projections)


BACKEND_NAMES = ("auto", "dense", "blocked", "sliced", "features", "fourier", "sliced-fourier")

Backend = str | AbstractSumBackend
"""A backend: one of `BACKEND_NAMES` or an `AbstractSumBackend` instance."""


def resolve_backend(backend: Backend) -> AbstractSumBackend:
    """The backend object for a name (or the object itself)."""
    if isinstance(backend, AbstractSumBackend):
        return backend
    check_choice("backend", backend, BACKEND_NAMES)
    if backend == "auto":
        return AutoSums()
    if backend == "dense":
        return DenseSums()
    if backend == "blocked":
        return BlockedSums()
    if backend == "sliced":
        return SlicedRieszApproximation(jax.random.PRNGKey(0))
    if backend == "fourier":
        return FourierApproximation()
    if backend == "sliced-fourier":
        return SlicedFourierApproximation(jax.random.PRNGKey(0))
    return RandomFeatureApproximation(jax.random.PRNGKey(0))

