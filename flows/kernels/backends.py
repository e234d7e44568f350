r"""How kernel sums are computed: the backends behind `backend=` in `flows.kernels.sums`.

| name | class | memory | answer |
|---|---|---|---|
| `"dense"` | `DenseSums` | N × M | exact |
| `"blocked"` | `BlockedSums(row_block, col_block)` | (N + M) · block | exact |
| `"auto"` (default) | `AutoSums` | dense up to one tile (2^18 entries), blocked above | exact |
| `"sliced"` | `SlicedRieszApproximation(key, projections)` | (N + M) · block | Monte-Carlo, ~√(d/P); Riesz r = 1 only |
| `"features"` | `RandomFeatureApproximation(key, features)` | (N + M) · D | Monte-Carlo, ~k(0)/√D |

The approximate backends say so in their class names. They are exact sums of a nearby kernel
($k_P$ of P random slices, $k_D$ of D random features; see `flows.kernels.sliced`,
`flows.kernels.random_features`), so a flow run with them is the exact MMD flow of that kernel:
dissipation identities hold to rounding. Their randomness comes from their explicit `key`;
the string names `"sliced"` and `"features"` use `jax.random.PRNGKey(0)` and the default sizes.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array

from .._checks import check_choice, check_positive_int, is_concrete
from .._sampling import sphere_directions
from . import random_features, sliced_histograms
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

    def __check_init__(self):
        check_positive_int("dense_limit", self.dense_limit)

    def _pick(self, x: Array, y: Array) -> AbstractSumBackend:
        return DenseSums() if x.shape[0] * y.shape[0] <= self.dense_limit else BlockedSums()

    def kernel_sum(self, kernel, x, y, weights):
        return self._pick(x, y).kernel_sum(kernel, x, y, weights)

    def kernel_grad_sum(self, kernel, x, y, weights):
        return self._pick(x, y).kernel_grad_sum(kernel, x, y, weights)

    def kernel_hessian_sum(self, kernel, x, y, vectors):
        return self._pick(x, y).kernel_hessian_sum(kernel, x, y, vectors)


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


BACKEND_NAMES = ("auto", "dense", "blocked", "sliced", "features")

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
    return RandomFeatureApproximation(jax.random.PRNGKey(0))

