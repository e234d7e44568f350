r"""Radial kernels: $k(x, y) = \varphi(\|x - y\|^2)$ for a profile $\varphi$ of the squared
distance $s$, as small `equinox` modules (a bandwidth can be traced, vmapped and differentiated).

| kernel | $k(x, y)$ | notes |
|---|---|---|
| `GaussianKernel` | $e^{-\|x-y\|^2/(2\sigma^2)}$ | closed forms for Gaussians (`flows.discrepancies.gaussian`) |
| `IMQKernel` | $(c^2 + \|x-y\|^2)^\beta$, $\beta < 0$ | heavy tails: far particles still move |
| `LaplaceKernel` | $e^{-\|x-y\|/\sigma}$ | not differentiable at $x = y$: the gradient there is defined as 0 |
| `EnergyKernel` | $-\|x-y\|^r$, $0 < r < 2$ | conditionally positive definite; MMD² is the energy distance for $r = 1$ |
| `MaternKernel` | Matérn $\nu \in \{1/2, 3/2, 5/2\}$: $e^{-r/\ell}$, $(1 + \sqrt3 r/\ell)e^{-\sqrt3 r/\ell}$, $(1 + \sqrt5 r/\ell + 5r^2/(3\ell^2))e^{-\sqrt5 r/\ell}$ | $\nu = 1/2$ is the Laplace kernel; the smoother, the more derivatives its Fourier series gives |
| `SumKernel` | $\sum_i w_i k_i$ | multi-bandwidth Gaussians, the usual MMD-GAN choice |

The profile and its derivatives are all the kernel sums need:

$$\nabla_x k(x, y) = 2\,\varphi'(s)\,(x - y), \qquad
  \nabla_x\nabla_y k(x, y) = -2\varphi'(s)\,I - 4\varphi''(s)\,(x-y)(x-y)^\top, \qquad s = \|x - y\|^2,$$

e.g. for the Gaussian $\nabla_x k = -k\,(x-y)/\sigma^2$ and $\nabla_x\nabla_y k = k\,(I/\sigma^2 -
(x-y)(x-y)^\top/\sigma^4)$ (Arbel, Korba, Salim, Gretton, NeurIPS 2019). So the tile methods of
`AbstractRadialKernel` are matrix products over an (n, m) matrix of squared distances, never an
(n, m, d) tensor; with $S_{ij} = \|x_i - y_j\|^2$ (`flows.kernels.distances`):

$$\sum_j k(x_i, y_j)\,w_j = \big(\varphi(S)\,w\big)_i, \qquad
  \sum_j w_j \nabla_x k(x_i, y_j) = 2\Big(x_i \sum_j \varphi'(S_{ij}) w_j
  - \sum_j \varphi'(S_{ij})\, w_j\, y_j\Big),$$

$$\sum_j \nabla_x\nabla_y k(x_i, y_j)\, v_j = -2\sum_j \varphi'(S_{ij}) v_j
  - 4\Big(x_i \sum_j C_{ij} - \sum_j C_{ij}\, y_j\Big), \quad
  C_{ij} = \varphi''(S_{ij})\,(x_i - y_j)\cdot v_j .$$

Points reach the tiles shifted by their common centre (`prepare`), which keeps the expansion of
$S$ accurate for clouds far from the origin. The Gaussian kernel overrides `profile_tile`: its
exponent comes from one product of augmented coordinates (`GaussianKernel.exponent_tile`).
Kernels that are not radial subclass `AbstractKernel` and inherit its `vmap` / autodiff tiles.

Capabilities (`flows.kernels.base`): `spectral_sample` (Gaussian, IMQ, Laplace for values only,
and sums of those) and `gaussian_components` (Gaussian, and sums of Gaussians).
The Fourier capabilities `log_fourier_transform` (and `fourier_transform`), `spectral_smoothness`, `length_scales` (Gaussian,
Laplace, Matérn, and sums of those) and `slice_profile` (Gaussian) serve the Fourier backends
(`flows.kernels.fourier`, `flows.kernels.sliced_fourier`).
"""

from __future__ import annotations

import abc
import functools
import math
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_in_range, check_positive, is_concrete
from .bandwidth import median_bandwidth
from .base import AbstractKernel
from .distances import centred_squared_distances, common_centre


class AbstractRadialKernel(AbstractKernel):
    """A kernel $k(x, y) = \\varphi(\\|x - y\\|^2)$ given by its profile $\\varphi$ and the profile's
    first two derivatives; the tile formulas of `AbstractKernel` are overridden by the matrix
    forms of the module docstring, on points centred by `prepare`."""

    @abc.abstractmethod
    def profile(self, sq_dist: ArrayLike) -> Array:
        """$\\varphi(s)$ at squared distances $s \\ge 0$ (any shape)."""

    @abc.abstractmethod
    def profile_grad(self, sq_dist: ArrayLike) -> Array:
        """$\\varphi'(s)$ at squared distances $s \\ge 0$; 0 where $\\varphi$ is not differentiable."""

    @abc.abstractmethod
    def profile_second_derivative(self, sq_dist: ArrayLike) -> Array:
        """$\\varphi''(s)$ at squared distances $s \\ge 0$; 0 where $\\varphi$ is not twice differentiable."""

    def __call__(self, x: Float[Array, " d"], y: Float[Array, " d"]) -> Float[Array, ""]:
        diff = x - y
        return self.profile(jnp.sum(diff * diff))

    def profile_tile(self, x: Float[Array, "n d"], y: Float[Array, "m d"], orders: tuple[int, ...]) -> list[Float[Array, "n m"]]:
        """$\\varphi^{(k)}(S_{ij})$ over one tile of centred points, for each order k in `orders`
        (0, 1 or 2), from one matrix of squared distances $S$."""
        s = centred_squared_distances(x, y)
        fns = (self.profile, self.profile_grad, self.profile_second_derivative)
        return [fns[k](s) for k in orders]

    def prepare(self, x, y):
        """Both clouds shifted by their common centre (distances are translation invariant)."""
        c = common_centre(x, y)
        return x - c, y - c

    def gram_tile(self, x, y):
        """$\\varphi(S_{ij})$."""
        return self.profile_tile(x, y, (0,))[0]

    def grad_sum_tile(self, x, y, weights):
        """$2\\big(x_i \\sum_j \\varphi'(S_{ij}) w_j - \\sum_j \\varphi'(S_{ij}) w_j y_j\\big)$."""
        (dprofile,) = self.profile_tile(x, y, (1,))
        # one product with [w, w y]: a single pass over the tile
        sums = dprofile @ jnp.concatenate([weights[:, None], weights[:, None] * y], axis=1)
        return 2 * (x * sums[:, :1] - sums[:, 1:])

    def value_grad_sum_tile(self, x, y, weights):
        """$\\sum_j \\varphi(S_{ij})\\, w_{j1}$ and $2\\big(x_i \\sum_j \\varphi'(S_{ij}) w_{j2} - \\sum_j \\varphi'(S_{ij}) w_{j2} y_j\\big)$
        from one matrix of squared distances (one exp per pair for the Gaussian kernel): a witness
        pass that gives MMD² and the witness gradient together costs about one gradient pass."""
        profile, dprofile = self.profile_tile(x, y, (0, 1))
        grad_weights = weights[:, 1:]
        sums = dprofile @ jnp.concatenate([grad_weights, grad_weights * y], axis=1)
        return jnp.concatenate([profile @ weights[:, :1], 2 * (x * sums[:, :1] - sums[:, 1:])], axis=1)

    def hessian_sum_tile(self, x, y, vectors):
        """$-2\\sum_j \\varphi'(S_{ij}) v_j - 4\\big(x_i \\sum_j C_{ij} - \\sum_j C_{ij} y_j\\big)$,
        $C_{ij} = \\varphi''(S_{ij})\\,(x_i - y_j)\\cdot v_j$."""
        dprofile, d2profile = self.profile_tile(x, y, (1, 2))
        projections = x @ vectors.T - jnp.sum(y * vectors, axis=1)[None, :]  # (x_i - y_j) . v_j
        weights = d2profile * projections
        return -2 * dprofile @ vectors - 4 * (x * jnp.sum(weights, axis=1)[:, None] - weights @ y)

    def hessian_matrix_tile(self, x, y):
        """The blocks $-2\\varphi'(S_{ij})\\,I - 4\\varphi''(S_{ij})\\,(x_i - y_j)(x_i - y_j)^\\top$."""
        s = centred_squared_distances(x, y)
        diff = x[:, None, :] - y[None, :, :]
        outer = diff[:, :, :, None] * diff[:, :, None, :]
        eye = jnp.eye(x.shape[1], dtype=x.dtype)
        blocks = -2 * self.profile_grad(s)[:, :, None, None] * eye - 4 * self.profile_second_derivative(s)[:, :, None, None] * outer
        return jnp.transpose(blocks, (0, 2, 1, 3))

    def diagonal(self, x):
        """The constant $\\varphi(0)$."""
        return jnp.broadcast_to(self.profile(jnp.zeros((), x.dtype)), x.shape[:1])


def _safe_sqrt(s: Array) -> tuple[Array, Array]:
    """sqrt(s) with a zero gradient at s = 0 (the double-`where` trick), and the mask s > 0."""
    positive = s > 0
    return jnp.sqrt(jnp.where(positive, s, 1.0)) * positive, positive




@functools.lru_cache(maxsize=4)
def _legendre(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1] (computed once: an eigenproblem of size `count`)."""
    return np.polynomial.legendre.leggauss(count)


def _normal_frequencies(key: Array, features: int, dim: int, dtype) -> tuple[Array, Array]:
    """$z_l \\sim N(0, I_d)$, (features, dim), and the key left for a kernel's radial scales."""
    k_dir, k_scale = jax.random.split(key)
    return jax.random.normal(k_dir, (features, dim), dtype), k_scale


class AbstractBandwidthKernel(AbstractRadialKernel):
    r"""A radial kernel with one length scale, its `bandwidth` $\sigma > 0$ (a string such as a
    config's `"median"` is refused, naming the `median` constructor), and the median-heuristic
    constructor."""

    bandwidth: float | Array

    def __check_init__(self):
        if isinstance(self.bandwidth, str):
            raise ValueError(
                f"`bandwidth` must be a positive number, got {self.bandwidth!r}; for the median heuristic use "
                f"{type(self).__name__}.median(x, y=None) (the median distance between the points)."
            )
        check_positive("bandwidth", self.bandwidth)

    @classmethod
    def median(cls, x: Float[ArrayLike, "n d"], y: Float[ArrayLike, "m d"] | None = None) -> AbstractBandwidthKernel:
        r"""The kernel whose bandwidth is the median heuristic's, $\sigma = \operatorname{median}_{i<j}
        \|z_i - z_j\|$ over the pooled sample of `x` (and `y`) (`flows.kernels.median_bandwidth`;
        Gretton et al., "A kernel two-sample test", JMLR 13, 2012). A config's
        `bandwidth = "median"` is this bandwidth of the target samples."""
        return cls(median_bandwidth(x, y))


class GaussianKernel(AbstractBandwidthKernel):
    r"""Gaussian kernel $k(x, y) = \exp(-\|x - y\|^2 / (2\sigma^2))$.

    Its own tiles: the exponent from one augmented product (`exponent_tile`). Capabilities:
    `spectral_sample` ($\omega = z/\sigma$, $z \sim N(0, I)$) and `gaussian_components`
    ($((1, \sigma),)$).

    **Arguments:**
    - `bandwidth`: $\sigma > 0$; or `GaussianKernel.median(x, y)` for the median heuristic.
    """

    def profile(self, sq_dist):
        return jnp.exp(-sq_dist / (2 * self.bandwidth**2))

    def profile_grad(self, sq_dist):
        return -self.profile(sq_dist) / (2 * self.bandwidth**2)

    def profile_second_derivative(self, sq_dist):
        return self.profile(sq_dist) / (4 * self.bandwidth**4)

    def exponent_tile(self, x: Float[Array, "n d"], y: Float[Array, "m d"]) -> Float[Array, "n m"]:
        r"""$-\|x_i - y_j\|^2 / (2\sigma^2)$ over one tile of centred points, from one product of
        augmented coordinates, clipped at 0:

        $$-\frac{\|x_i - y_j\|^2}{2\sigma^2} = \Big(\frac{x_i}{\sigma^2}, -\frac{\|x_i\|^2}{2\sigma^2}, 1\Big)
          \cdot \Big(y_j, 1, -\frac{\|y_j\|^2}{2\sigma^2}\Big).$$

        A tile then costs one product, one exp per pair and one product with the weights: 1.5x
        faster than forming $S$ first (`experiments/bench_kernel_sums.py`, N = M = 10^4, d = 2),
        with the same rounding, a few ulps of $(\|x_i\|^2 + \|y_j\|^2)/(2\sigma^2)$ in the exponent."""
        inv = 1 / (2 * self.bandwidth**2)
        xa = jnp.concatenate([x * (2 * inv), -inv * jnp.sum(x * x, axis=1, keepdims=True), jnp.ones_like(x[:, :1])], axis=1)
        ya = jnp.concatenate([y, jnp.ones_like(y[:, :1]), -inv * jnp.sum(y * y, axis=1, keepdims=True)], axis=1)
        return jnp.minimum(xa @ ya.T, 0.0)

    def profile_tile(self, x, y, orders):
        """$\\varphi^{(k)}(S_{ij}) = (-1/(2\\sigma^2))^k\\, e^{-S_{ij}/(2\\sigma^2)}$, one exp per pair
        (`exponent_tile`)."""
        values = jnp.exp(self.exponent_tile(x, y))
        scale = -1 / (2 * self.bandwidth**2)
        return [values * scale**k for k in orders]

    def value_grad_sum_tile(self, x, y, weights):
        """With $E_{ij} = e^{-S_{ij}/(2\\sigma^2)}$ and $\\varphi' = -E / (2\\sigma^2)$: one product of $E$
        with $[w_{\\cdot 1}, w_{\\cdot 2}, w_{\\cdot 2}\\, y]$ gives the values and both gradient sums, so
        a witness pass with values costs one gradient pass and one more column."""
        exps = jnp.exp(self.exponent_tile(x, y))
        grad_weights = weights[:, 1:]
        sums = exps @ jnp.concatenate([weights, grad_weights * y], axis=1)
        scale = -1 / self.bandwidth**2  # 2 phi' / phi
        return jnp.concatenate([sums[:, :1], scale * (x * sums[:, 1:2] - sums[:, 2:])], axis=1)

    def spectral_sample(self, key, features, dim, dtype, *, for_gradients=False):
        """Bochner: the spectrum of $e^{-\\|v\\|^2/(2\\sigma^2)}$ is $N(0, I/\\sigma^2)$, so
        $\\omega_l = z_l / \\sigma$, $z_l \\sim N(0, I)$, and $a_l = 1/D$."""
        z, _ = _normal_frequencies(key, features, dim, dtype)
        return z / self.bandwidth, jnp.full(features, 1.0 / features, dtype)

    def gaussian_components(self):
        return ((1.0, self.bandwidth),)

    def log_fourier_transform(self, freq, dim):
        """$\\hat k(\\omega) = (2\\pi\\sigma^2)^{d/2}\\, e^{-\\sigma^2\\|\\omega\\|^2/2}$."""
        return dim / 2 * jnp.log(2 * math.pi * self.bandwidth**2) - 0.5 * (self.bandwidth * jnp.asarray(freq)) ** 2

    def spectral_smoothness(self):
        return math.inf

    def length_scales(self):
        return (self.bandwidth,)

    def slice_profile(self, t, dim):
        """$f(t) = {}_1F_1(d/2;\\, 1/2;\\, -t^2/(2\\sigma^2))$, the confluent hypergeometric function
        (Hertrich, SIAM J. Math. Data Sci. 2024); $f = e^{-t^2/(2\\sigma^2)}$ for $d = 1$. Its series
        cancels catastrophically for large $t$, so it is evaluated as the inverse transform of
        its spectrum, $f(t) = \\frac1\\pi\\int_0^\\infty \\hat f(\\rho)\\cos(\\rho t)\\,d\\rho$ with
        $\\hat f(\\rho) = |S^{d-1}|\\rho^{d-1}\\hat k(\\rho)/(2(2\\pi)^{d-1})$, by Gauss-Legendre quadrature
        (2048 nodes on $[0, (\\sqrt d + 12)/\\sigma]$: to rounding for $|t| \\lesssim 100\\,\\sigma$)."""
        t = jnp.asarray(t)
        if dim == 1:
            return jnp.exp(-(t**2) / (2 * self.bandwidth**2))
        nodes, weights = _legendre(2048)
        top = (math.sqrt(dim) + 12) / self.bandwidth
        rho = (jnp.asarray(nodes, t.dtype) + 1) * (top / 2)
        log_constant = math.log(2 * math.pi ** (dim / 2) / math.gamma(dim / 2)) - math.log(2) - (dim - 1) * math.log(2 * math.pi)
        spectrum = jnp.exp(log_constant + (dim - 1) * jnp.log(rho) + self.log_fourier_transform(rho, dim))
        integrand = jnp.cos(t[..., None] * rho) * (spectrum * jnp.asarray(weights, t.dtype))
        return jnp.sum(integrand, axis=-1) * (top / 2) / math.pi


_IMQ_TAILS = (
    "`kernel`: the Fourier backends need a kernel with exponentially decaying tails; IMQKernel decays like "
    "|x - y|^(2 exponent), so the periodisation error of its Fourier series does not vanish. Use backend='auto' "
    "(exact) or 'features' (random features)."
)


class IMQKernel(AbstractRadialKernel):
    r"""Inverse multiquadric kernel $k(x, y) = (c^2 + \|x - y\|^2)^{\beta}$, $\beta < 0$.

    Heavy tails: its gradient decays polynomially, so particles far from the target still move.
    Capability: `spectral_sample` (a Gaussian scale mixture).

    **Arguments:**
    - `scale`: $c > 0$ (default 1).
    - `exponent`: $\beta < 0$ (default $-1/2$).
    """

    scale: float | Array = 1.0
    exponent: float | Array = -0.5

    def __check_init__(self):
        check_positive("scale", self.scale)
        if is_concrete(self.exponent) and not float(self.exponent) < 0:
            raise ValueError(f"`exponent` must be negative, got {self.exponent!r}.")

    def profile(self, sq_dist):
        return (self.scale**2 + sq_dist) ** self.exponent

    def profile_grad(self, sq_dist):
        return self.exponent * (self.scale**2 + sq_dist) ** (self.exponent - 1)

    def profile_second_derivative(self, sq_dist):
        return self.exponent * (self.exponent - 1) * (self.scale**2 + sq_dist) ** (self.exponent - 2)

    def spectral_sample(self, key, features, dim, dtype, *, for_gradients=False):
        """A Gaussian scale mixture: $(c^2 + r^2)^\\beta = c^{2\\beta}\\,\\mathbb{E}_\\tau e^{-\\tau r^2}$ with
        $\\tau \\sim \\mathrm{Gamma}(-\\beta, \\text{rate } c^2)$, so $\\omega_l = \\sqrt{2\\tau_l}\\, z_l$,
        $z_l \\sim N(0, I)$, and $a_l = c^{2\\beta}/D$."""
        z, k_scale = _normal_frequencies(key, features, dim, dtype)
        tau = jax.random.gamma(k_scale, -self.exponent, (features, 1), dtype) / self.scale**2
        amplitude = self.scale ** (2 * self.exponent) / features
        return jnp.sqrt(2 * tau) * z, jnp.full(features, amplitude, dtype)

    def log_fourier_transform(self, freq, dim):
        """Refused for the Fourier backends: the IMQ kernel decays like $\\|x - y\\|^{2\\beta}$, so their
        periodisation error $\\sum_{n \\ne 0} k(v + nT)$ does not vanish with the period $T$ (the sum
        diverges for $2\\beta \\ge -d$)."""
        raise ValueError(_IMQ_TAILS)

    def spectral_smoothness(self):
        """Refused, as `log_fourier_transform`."""
        raise ValueError(_IMQ_TAILS)


class LaplaceKernel(AbstractBandwidthKernel):
    r"""Laplace kernel $k(x, y) = \exp(-\|x - y\|/\sigma)$.

    Not differentiable at $x = y$; the gradient there is defined as 0. Capability:
    `spectral_sample` for values only (its spectrum is Cauchy, so feature gradients have
    infinite variance).

    **Arguments:**
    - `bandwidth`: $\sigma > 0$; or `LaplaceKernel.median(x, y)` for the median heuristic.
    """

    def profile(self, sq_dist):
        dist, _ = _safe_sqrt(jnp.asarray(sq_dist))
        return jnp.exp(-dist / self.bandwidth)

    def profile_grad(self, sq_dist):
        # d/ds exp(-sqrt(s)/sigma) = -exp(-sqrt(s)/sigma) / (2 sigma sqrt(s)).
        dist, positive = _safe_sqrt(jnp.asarray(sq_dist))
        safe = jnp.where(positive, dist, 1.0)
        return jnp.where(positive, -jnp.exp(-dist / self.bandwidth) / (2 * self.bandwidth * safe), 0.0)

    def profile_second_derivative(self, sq_dist):
        # d/ds of -e^{-r/sigma} / (2 sigma r), r = sqrt(s): e^{-r/sigma} (r + sigma) / (4 sigma^2 r^3).
        dist, positive = _safe_sqrt(jnp.asarray(sq_dist))
        safe = jnp.where(positive, dist, 1.0)
        value = jnp.exp(-safe / self.bandwidth) * (safe + self.bandwidth) / (4 * self.bandwidth**2 * safe**3)
        return jnp.where(positive, value, 0.0)

    def spectral_sample(self, key, features, dim, dtype, *, for_gradients=False):
        """The spectrum of $e^{-\\|v\\|/\\sigma}$ is the multivariate Cauchy distribution:
        $\\omega_l = z_l / (\\sigma |g_l|)$, $z_l \\sim N(0, I)$, $g_l \\sim N(0, 1)$, $a_l = 1/D$.
        Its second moment is infinite, and so is the variance of the feature gradients
        $-a_l \\omega_l \\sin\\langle\\omega_l, x - y\\rangle$: with `for_gradients` it refuses."""
        if for_gradients:
            raise ValueError(
                "`kernel`: random-feature gradients of the LaplaceKernel have infinite variance (its "
                "spectrum is Cauchy); use backend='auto' for Laplace gradients, 'features' for its values."
            )
        z, k_scale = _normal_frequencies(key, features, dim, dtype)
        g = jax.random.normal(k_scale, (features, 1), dtype)
        return z / (self.bandwidth * jnp.abs(g)), jnp.full(features, 1.0 / features, dtype)

    def log_fourier_transform(self, freq, dim):
        """The Matérn-1/2 spectrum (`matern_log_fourier_transform` with $\\nu = 1/2$, $\\ell = \\sigma$)."""
        return matern_log_fourier_transform(freq, dim, 0.5, self.bandwidth)

    def spectral_smoothness(self):
        """1: values only (the gradient jumps at $x = y$, and its Fourier series does not converge
        uniformly)."""
        return 1.0

    def length_scales(self):
        return (self.bandwidth,)


class EnergyKernel(AbstractRadialKernel):
    r"""Riesz kernel $k(x, y) = -\|x - y\|^r$, $0 < r < 2$ (conditionally positive definite).

    With $r = 1$, MMD² with this kernel is the energy distance. The gradient at $x = y$ is
    defined as 0. No spectral distribution (it is not positive definite) and no Gaussian
    components; the sliced backend handles $r = 1$ (`flows.kernels.sliced`).

    **Arguments:**
    - `exponent`: $r \in (0, 2)$ (default 1).
    """

    exponent: float | Array = 1.0

    def __check_init__(self):
        check_in_range("exponent", self.exponent, 0.0, 2.0)

    def profile(self, sq_dist):
        dist, positive = _safe_sqrt(jnp.asarray(sq_dist))
        safe = jnp.where(positive, dist, 1.0)
        return -jnp.where(positive, safe**self.exponent, 0.0)

    def profile_grad(self, sq_dist):
        # d/ds -(s^{r/2}) = -(r/2) s^{r/2 - 1}.
        dist, positive = _safe_sqrt(jnp.asarray(sq_dist))
        safe = jnp.where(positive, dist, 1.0)
        return jnp.where(positive, -0.5 * self.exponent * safe ** (self.exponent - 2), 0.0)

    def profile_second_derivative(self, sq_dist):
        # d/ds -(r/2) s^{r/2 - 1} = -(r/2)(r/2 - 1) s^{r/2 - 2}.
        dist, positive = _safe_sqrt(jnp.asarray(sq_dist))
        safe = jnp.where(positive, dist, 1.0)
        p = self.exponent
        return jnp.where(positive, -0.5 * p * (0.5 * p - 1) * safe ** (p - 4), 0.0)


class SumKernel(AbstractRadialKernel):
    r"""Weighted sum of radial kernels $k = \sum_i w_i k_i$ (e.g. multi-bandwidth Gaussians,
    the usual MMD-GAN choice).

    Capabilities, where every part has them: `spectral_sample` (D frequencies per part, the
    part's amplitudes times its weight) and `gaussian_components` (the parts' components, their
    weights times the part's weight; nested sums multiply out).

    **Arguments:**
    - `kernels`: the radial kernels $k_i$.
    - `weights`: the weights $w_i > 0$ (default all 1).
    """

    kernels: tuple[AbstractRadialKernel, ...]
    weights: tuple[float | Array, ...]

    def __init__(
        self,
        kernels: Sequence[AbstractRadialKernel],
        weights: Sequence[float | Array] | None = None,
    ):
        kernels = tuple(kernels)
        if not kernels:
            raise ValueError("`kernels` must hold at least one kernel, got none.")
        for i, k in enumerate(kernels):
            if not isinstance(k, AbstractRadialKernel):
                raise ValueError(
                    f"`kernels[{i}]` must be a radial kernel (GaussianKernel, IMQKernel, "
                    f"LaplaceKernel, EnergyKernel, SumKernel), got {type(k).__name__}."
                )
        weights = (1.0,) * len(kernels) if weights is None else tuple(weights)
        if len(weights) != len(kernels):
            raise ValueError(
                f"`weights` must have one entry per kernel ({len(kernels)}), got {len(weights)}."
            )
        for i, w in enumerate(weights):
            check_positive(f"weights[{i}]", w)
        self.kernels = kernels
        self.weights = weights

    @classmethod
    def gaussians(cls, bandwidths: Sequence[float]) -> "SumKernel":
        """Equal-weight sum of Gaussian kernels, one per bandwidth."""
        return cls([GaussianKernel(b) for b in bandwidths])

    def profile(self, sq_dist):
        return sum(w * k.profile(sq_dist) for w, k in zip(self.weights, self.kernels))

    def profile_grad(self, sq_dist):
        return sum(w * k.profile_grad(sq_dist) for w, k in zip(self.weights, self.kernels))

    def profile_second_derivative(self, sq_dist):
        return sum(w * k.profile_second_derivative(sq_dist) for w, k in zip(self.weights, self.kernels))

    def spectral_sample(self, key, features, dim, dtype, *, for_gradients=False):
        """$k_D = \\sum_i w_i k_{i,D}$: each part's D frequencies from its own split of `key`,
        amplitudes times $w_i$ (L = D · parts)."""
        keys = jax.random.split(key, len(self.kernels))
        parts = [k.spectral_sample(kk, features, dim, dtype, for_gradients=for_gradients) for k, kk in zip(self.kernels, keys)]
        omegas = jnp.concatenate([o for o, _ in parts])
        amplitudes = jnp.concatenate([w * a for w, (_, a) in zip(self.weights, parts)])
        return omegas, amplitudes

    def gaussian_components(self):
        return tuple((w * cw, b) for w, k in zip(self.weights, self.kernels) for cw, b in k.gaussian_components())

    def log_fourier_transform(self, freq, dim):
        """$\\log\\sum_i w_i \\hat k_i$ (log-sum-exp)."""
        parts = [jnp.log(w) + k.log_fourier_transform(freq, dim) for w, k in zip(self.weights, self.kernels)]
        return jax.scipy.special.logsumexp(jnp.stack(jnp.broadcast_arrays(*parts)), axis=0)

    def spectral_smoothness(self):
        """The least smooth part's."""
        return min(k.spectral_smoothness() for k in self.kernels)

    def length_scales(self):
        return tuple(scale for k in self.kernels for scale in k.length_scales())


MATERN_SMOOTHNESS = (0.5, 1.5, 2.5)


def matern_log_fourier_transform(freq: ArrayLike, dim: int, smoothness: float, length_scale: float | Array) -> Array:
    """The logarithm of the spectrum of the Matérn kernel of smoothness $\\nu$ and length scale $\\ell$ in $\\mathbb{R}^d$
    (Rasmussen & Williams, "Gaussian Processes for Machine Learning", 2006, eq. 4.15):

    $$\\hat k(\\omega) = \\frac{2^d\\pi^{d/2}\\,\\Gamma(\\nu + d/2)\\,(2\\nu)^\\nu}{\\Gamma(\\nu)\\,\\ell^{2\\nu}}
      \\Big(\\frac{2\\nu}{\\ell^2} + \\|\\omega\\|^2\\Big)^{-(\\nu + d/2)}.$$"""
    nu = smoothness
    log_constant = dim * math.log(2) + dim / 2 * math.log(math.pi) + math.lgamma(nu + dim / 2) + nu * math.log(2 * nu) - math.lgamma(nu)
    return (
        log_constant
        - 2 * nu * jnp.log(length_scale)
        - (nu + dim / 2) * jnp.log(2 * nu / length_scale**2 + jnp.asarray(freq) ** 2)
    )


class MaternKernel(AbstractRadialKernel):
    r"""Matérn kernel of smoothness $\nu \in \{1/2, 3/2, 5/2\}$ and length scale $\ell$, with
    $a = \sqrt{2\nu}/\ell$ and $r = \|x - y\|$ (Rasmussen & Williams 2006, eq. 4.16-4.17):

    $$k_{1/2} = e^{-a r}, \qquad k_{3/2} = (1 + a r)\,e^{-a r}, \qquad k_{5/2} = (1 + a r + a^2r^2/3)\,e^{-a r}.$$

    The kernel is $\lceil\nu\rceil - 1$ times differentiable at $x = y$: $\nu = 1/2$ is the Laplace
    kernel (gradient defined as 0 at $x = y$), $\nu = 3/2$ has gradients and a Hessian that is
    bounded but not continuous at $x = y$ (its $\varphi''$ is defined as 0 there), $\nu = 5/2$ is
    twice differentiable. Capabilities: `spectral_sample` (the spectrum is a multivariate Student t
    with $2\nu$ degrees of freedom; for gradients only when $2\nu > 2$) and the Fourier capabilities
    (`spectral_smoothness` $2\nu$).

    **Arguments:**
    - `bandwidth`: $\ell > 0$.
    - `smoothness`: $\nu$, one of 0.5, 1.5, 2.5 (default 1.5).
    """

    bandwidth: float | Array
    smoothness: float = eqx.field(static=True, default=1.5)

    def __check_init__(self):
        check_positive("bandwidth", self.bandwidth)
        if self.smoothness not in MATERN_SMOOTHNESS:
            raise ValueError(f"`smoothness` must be one of {MATERN_SMOOTHNESS}, got {self.smoothness!r}.")

    def _rate(self):
        return math.sqrt(2 * self.smoothness) / self.bandwidth

    def profile(self, sq_dist):
        a = self._rate()
        r, _ = _safe_sqrt(jnp.asarray(sq_dist))
        polynomial = {0.5: 1.0, 1.5: 1 + a * r, 2.5: 1 + a * r + (a * r) ** 2 / 3}[self.smoothness]
        return polynomial * jnp.exp(-a * r)

    def profile_grad(self, sq_dist):
        # d/ds with r = sqrt(s): (dk/dr) / (2r); for nu = 3/2, 5/2 it is smooth at r = 0.
        a = self._rate()
        r, positive = _safe_sqrt(jnp.asarray(sq_dist))
        if self.smoothness == 0.5:
            safe = jnp.where(positive, r, 1.0)
            return jnp.where(positive, -a * jnp.exp(-a * r) / (2 * safe), 0.0)
        if self.smoothness == 1.5:
            return -(a**2) / 2 * jnp.exp(-a * r)
        return -(a**2) / 6 * (1 + a * r) * jnp.exp(-a * r)

    def profile_second_derivative(self, sq_dist):
        a = self._rate()
        r, positive = _safe_sqrt(jnp.asarray(sq_dist))
        safe = jnp.where(positive, r, 1.0)
        if self.smoothness == 0.5:
            # d/ds of -a e^{-ar} / (2r): a e^{-ar} (a r + 1) / (4 r^3)
            return jnp.where(positive, a * jnp.exp(-a * safe) * (a * safe + 1) / (4 * safe**3), 0.0)
        if self.smoothness == 1.5:
            # d/ds of -(a^2/2) e^{-ar}: a^3 e^{-ar} / (4 r), singular at r = 0 (defined as 0 there)
            return jnp.where(positive, a**3 * jnp.exp(-a * safe) / (4 * safe), 0.0)
        return a**4 / 12 * jnp.exp(-a * r)

    def spectral_sample(self, key, features, dim, dtype, *, for_gradients=False):
        """The spectrum (`fourier_transform`, normalised) is a multivariate Student t with $2\\nu$
        degrees of freedom and scale $1/\\ell$: $\\omega_l = z_l / (\\ell\\sqrt{g_l / (2\\nu)})$, $z_l \\sim N(0, I)$,
        $g_l \\sim \\chi^2_{2\\nu}$, $a_l = 1/D$. Its second moment is finite only for $2\\nu > 2$: with
        `for_gradients`, $\\nu = 1/2$ refuses."""
        if for_gradients and self.smoothness == 0.5:
            raise ValueError(
                "`kernel`: random-feature gradients of the Matérn-1/2 kernel have infinite variance (its spectrum "
                "is Cauchy); use backend='auto' for its gradients."
            )
        z, k_scale = _normal_frequencies(key, features, dim, dtype)
        chi2 = 2 * jax.random.gamma(k_scale, self.smoothness, (features, 1), dtype)
        return z / (self.bandwidth * jnp.sqrt(chi2 / (2 * self.smoothness))), jnp.full(features, 1.0 / features, dtype)

    def log_fourier_transform(self, freq, dim):
        return matern_log_fourier_transform(freq, dim, self.smoothness, self.bandwidth)

    def spectral_smoothness(self):
        return 2 * self.smoothness

    def length_scales(self):
        return (self.bandwidth,)

