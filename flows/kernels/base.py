r"""What a kernel is: a small `equinox` module $k(x, y)$ on $\mathbb{R}^d$ (a pytree, so its
parameters can be traced, vmapped and differentiated), and what it can do.

A kernel defines its pointwise value `__call__`; everything else is a method with a default
here that a kernel class overrides where it knows better (the pattern of ott-jax's `CostFn`):

**Tile formulas** (defaults: `vmap` and autodiff of `__call__`, right for any kernel). The
exact backends (`DenseSums`, `BlockedSums`, `AutoSums`) cut a sum over $j$ into tiles of
columns and add the tiles' answers, so every method below is linear in `weights` / `vectors`:

| method | over one tile of rows $x_i$ and columns $y_j$ | overridden by |
|---|---|---|
| `prepare(x, y)` | the coordinates the tile methods take (raw here) | radial kernels: both clouds shifted by their common centre |
| `gram_tile(x, y)` | $k(x_i, y_j)$, (n, m) | radial kernels (profile of one distance matrix), feature kernels ($\varphi(x_i)\cdot\varphi(y_j)$) |
| `sum_tile(x, y, w)` | $\sum_j k(x_i, y_j)\,w_j$ | feature kernels (no (n, m) matrix) |
| `grad_sum_tile(x, y, w)` | $\sum_j w_j\,\nabla_x k(x_i, y_j)$ | radial kernels, feature kernels |
| `value_grad_sum_tile(x, y, w)` | $\big[\sum_j k(x_i, y_j)\,w_{j1},\ \sum_j w_{j2}\,\nabla_x k(x_i, y_j)\big]$, (n, 1 + d) | radial kernels (one distance matrix for both) |
| `hessian_sum_tile(x, y, v)` | $\sum_j \nabla_x\nabla_y k(x_i, y_j)\,v_j$ | radial kernels, feature kernels |
| `hessian_matrix_tile(x, y)` | the blocks $\partial_{x_p}\partial_{y_q} k(x_i, y_j)$, (n, d, m, d) | radial kernels |
| `diagonal(x)` | $k(x_i, x_i)$, (n,) (the rows are raw points) | radial kernels (the constant $\varphi(0)$) |

**Capabilities** some kernels have (default: a `ValueError` naming the kernel):

| method | what | kernels that have it |
|---|---|---|
| `spectral_sample(key, features, dim, dtype, *, for_gradients=False)` | frequencies and amplitudes of random Fourier features (Rahimi & Recht, NeurIPS 2007) | `GaussianKernel`, `IMQKernel`, `LaplaceKernel` (values only: refused with `for_gradients=True`), `SumKernel` of those |
| `gaussian_components()` | the weights and bandwidths $(c_i, \sigma_i)$ of $k = \sum_i c_i e^{-\|x-y\|^2/(2\sigma_i^2)}$, for closed forms | `GaussianKernel`, `SumKernel` of Gaussians (nested sums too) |
| `log_fourier_transform(freq, dim)` (and `fourier_transform`, its exponential) | the spectrum $\hat k(\omega) = \int k(v)\,e^{-i\langle\omega, v\rangle}\,dv$ of a radial kernel at $\|\omega\|$ = `freq`, in $\mathbb{R}^{dim}$, for the Fourier backends | `GaussianKernel`, `LaplaceKernel`, `MaternKernel`, `SumKernel` of those |
| `spectral_smoothness()` | $s$ with $\hat k(\omega) = O(\|\omega\|^{-(d + s)})$ (`inf`: faster than any power): derivatives of order $j < s$ have absolutely summable Fourier series | the same kernels |
| `length_scales()` | the kernel's length scales (bandwidths), which set the grids the Fourier backends search | the same kernels |
| `slice_profile(t, dim)` | the 1-D kernel $f$ with $k(x, y) = \mathbb{E}_{\xi \sim U(S^{d-1})} f(\langle\xi, x - y\rangle)$ (Hertrich, SIAM J. Math. Data Sci. 2024) | `GaussianKernel` |
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


class AbstractKernel(eqx.Module):
    """A positive (or conditionally positive) definite kernel $k(x, y)$ on $\\mathbb{R}^d$: the
    pointwise `__call__`, tile formulas by autodiff, and capabilities it lacks until a subclass
    gives them (module docstring)."""

    @abc.abstractmethod
    def __call__(self, x: Float[Array, " d"], y: Float[Array, " d"]) -> Float[Array, ""]:
        """The kernel at one pair of points."""

    # --- tile formulas: vmap / autodiff of the pointwise kernel ----------------------------

    def prepare(self, x: Float[Array, "n d"], y: Float[Array, "m d"]) -> tuple[Float[Array, "n d"], Float[Array, "m d"]]:
        """The coordinates every `*_tile` method expects, computed once for the whole sum
        (here the raw points)."""
        return x, y

    def gram_tile(self, x: Float[Array, "n d"], y: Float[Array, "m d"]) -> Float[Array, "n m"]:
        """$k(x_i, y_j)$ over one tile of prepared points (here: `vmap` of `__call__`)."""
        return jax.vmap(lambda xi: jax.vmap(lambda yj: self(xi, yj))(y))(x)

    def sum_tile(self, x: Float[Array, "n d"], y: Float[Array, "m d"], weights: Float[Array, "m *p"]) -> Float[Array, "n *p"]:
        """$\\sum_j k(x_i, y_j)\\, w_j$ over one tile (`weights` of shape (m,) or (m, p)):
        the Gram tile times the weights."""
        return self.gram_tile(x, y) @ weights

    def grad_sum_tile(self, x: Float[Array, "n d"], y: Float[Array, "m d"], weights: Float[Array, " m"]) -> Float[Array, "n d"]:
        """$\\sum_j w_j \\nabla_x k(x_i, y_j)$ over one tile (here: `jax.grad` of `__call__` per pair)."""
        grad_k = jax.grad(lambda xi, yj: self(xi, yj))
        per_point = jax.vmap(lambda xi: jax.vmap(lambda yj: grad_k(xi, yj))(y))(x)
        return jnp.einsum("nmd,m->nd", per_point, weights)

    def value_grad_sum_tile(self, x: Float[Array, "n d"], y: Float[Array, "m d"], weights: Float[Array, "m 2"]) -> Float[Array, "n d+1"]:
        """$\\sum_j k(x_i, y_j)\\, w_{j1}$ (column 0) and $\\sum_j w_{j2} \\nabla_x k(x_i, y_j)$ (columns
        1..d) over one tile: values and gradients with their own weights (here: `sum_tile` and
        `grad_sum_tile`)."""
        values = self.sum_tile(x, y, weights[:, 0])
        return jnp.concatenate([values[:, None], self.grad_sum_tile(x, y, weights[:, 1])], axis=1)

    def hessian_sum_tile(self, x: Float[Array, "n d"], y: Float[Array, "m d"], vectors: Float[Array, "m d"]) -> Float[Array, "n d"]:
        """$\\sum_j \\nabla_x\\nabla_y k(x_i, y_j)\\, v_j$ over one tile (here: forward over reverse
        autodiff of `__call__` per pair)."""
        mixed = jax.jacfwd(jax.grad(lambda xi, yj: self(xi, yj), argnums=0), argnums=1)
        per_pair = jax.vmap(lambda xi: jax.vmap(lambda yj, vj: mixed(xi, yj) @ vj)(y, vectors))(x)
        return jnp.sum(per_pair, axis=1)

    def hessian_matrix_tile(self, x: Float[Array, "n d"], y: Float[Array, "m d"]) -> Float[Array, "n d m d"]:
        """The mixed-Hessian blocks $H_{ip, jq} = \\partial_{x_p}\\partial_{y_q} k(x_i, y_j)$ of prepared
        points, shape (n, d, m, d) (here: forward over reverse autodiff per pair)."""
        mixed = jax.jacfwd(jax.grad(lambda xi, yj: self(xi, yj), argnums=0), argnums=1)
        blocks = jax.vmap(lambda xi: jax.vmap(lambda yj: mixed(xi, yj))(y))(x)
        return jnp.transpose(blocks, (0, 2, 1, 3))

    def diagonal(self, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        """$k(x_i, x_i)$ for each row of the (raw) points `x` (here: `vmap` of `__call__`)."""
        return jax.vmap(lambda xi: self(xi, xi))(x)

    # --- capabilities some kernels have ----------------------------------------------------

    def spectral_sample(
        self, key: Array, features: int, dim: int, dtype, *, for_gradients: bool = False
    ) -> tuple[Float[Array, "L d"], Float[Array, " L"]]:
        """Frequencies $\\omega_l$ (L, d) and amplitudes $a_l$ (L,) of the random Fourier feature
        kernel $k_D(x, y) = \\sum_l a_l \\cos\\langle\\omega_l, x - y\\rangle$ (Rahimi & Recht,
        NeurIPS 2007), `features` frequencies drawn from `key`; with `for_gradients` the caller
        will differentiate $k_D$, and a kernel whose feature gradients have infinite variance
        refuses. Only shift-invariant kernels with a known spectral distribution have it."""
        raise ValueError(
            f"`kernel`: {type(self).__name__} has no known spectral distribution for random features "
            "(GaussianKernel, LaplaceKernel, IMQKernel and SumKernels of them have one); use backend='auto'."
        )

    def gaussian_components(self) -> tuple[tuple[float | Array, float | Array], ...]:
        """The pairs $(c_i, \\sigma_i)$ with $k(x, y) = \\sum_i c_i \\exp(-\\|x - y\\|^2 / (2\\sigma_i^2))$,
        for the Gaussian closed forms. Only a Gaussian kernel and sums of Gaussian kernels have them."""
        raise ValueError(
            f"`kernel` must be a GaussianKernel or a SumKernel of them for a Gaussian closed form, "
            f"got {type(self).__name__}, which has no Gaussian components."
        )

    def log_fourier_transform(self, freq: Array, dim: int) -> Array:
        """$\\log\\hat k(\\omega)$, the logarithm of the Fourier transform $\\hat k(\\omega) = \\int_{\\mathbb{R}^d} k(v)\\,
        e^{-i\\langle\\omega, v\\rangle}\\, dv$ of a translation-invariant, radial kernel $k(x, y) = k(x - y)$
        at frequencies of norm `freq` (any shape), in dimension `dim` (logarithms, since the
        transform's constants over- or underflow in high dimensions): what the Fourier backends
        (`flows.kernels.fourier`) multiply the weights' transforms by. Only kernels with a known
        spectrum have it."""
        raise ValueError(_no_spectrum(self))

    def fourier_transform(self, freq: Array, dim: int) -> Array:
        """$\\hat k(\\omega)$ at frequencies of norm `freq`: the exponential of `log_fourier_transform`."""
        return jnp.exp(self.log_fourier_transform(freq, dim))

    def spectral_smoothness(self) -> float:
        """$s$ such that $\\hat k(\\omega) = O(\\|\\omega\\|^{-(d + s)})$ (`math.inf` when it decays faster
        than any power): a derivative of order $j$ of the kernel has an absolutely summable Fourier
        series exactly when $j < s$, so the Fourier backends refuse the sums of order $j \\ge s$."""
        raise ValueError(_no_spectrum(self))

    def length_scales(self) -> tuple[float | Array, ...]:
        """The kernel's length scales (its bandwidths): the Fourier backends search periods and
        frequency grids in these units."""
        raise ValueError(_no_spectrum(self))

    def slice_profile(self, t: Array, dim: int) -> Array:
        """The 1-D profile $f$ of a radial kernel in $\\mathbb{R}^{dim}$: $k(x, y) = \\mathbb{E}_\\xi
        f(\\langle \\xi, x - y\\rangle)$ for $\\xi$ uniform on the sphere (Hertrich, "Fast kernel summation in
        high dimensions via slicing and Fourier transforms", SIAM J. Math. Data Sci. 2024). The
        sliced Fourier backend works from the spectrum instead (the 1-D transform of $f$ is
        $|S^{d-1}|\\,|\\rho|^{d-1}\\hat k(|\\rho|) / (2 (2\\pi)^{d-1})$); this closed form is for checks and plots."""
        raise ValueError(
            f"`kernel`: {type(self).__name__} has no closed-form slice profile (GaussianKernel has one)."
        )


def _no_spectrum(kernel: AbstractKernel) -> str:
    return (
        f"`kernel`: {type(kernel).__name__} has no known Fourier transform for the Fourier backends "
        "(GaussianKernel, LaplaceKernel, MaternKernel and SumKernels of them have one); use backend='auto'."
    )

