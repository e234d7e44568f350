r"""Kernels: small `equinox` modules, so a bandwidth can be traced, vmapped and differentiated.

Every kernel here is *radial*: $k(x, y) = \varphi(\|x - y\|^2)$ for a profile $\varphi$ of the
squared distance $s$. The profile and its derivative $\varphi'(s)$ are all the kernel sums need:

$$\nabla_x k(x, y) = 2\,\varphi'(\|x-y\|^2)\,(x - y), \qquad
  \nabla_x\nabla_y k(x, y) = -2\varphi'(s)\,I - 4\varphi''(s)\,(x-y)(x-y)^\top,$$

so Gram matrices and gradient sums are matrix products over an (N, M) matrix, never an
(N, M, d) tensor (see `flows.kernel_sums`). Kernels that are not radial subclass
`AbstractKernel` and define the pointwise `__call__`; the kernel sums then fall back to `vmap`
and autodiff.

Source: the kernel table of `MATH.md` section 1; Gaussian gradients as in Arbel et al. (2019).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_in_range, check_positive, is_concrete
from .base import AbstractKernel


class AbstractRadialKernel(AbstractKernel):
    """A kernel $k(x, y) = \\varphi(\\|x - y\\|^2)$ given by its profile $\\varphi$."""

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


def _safe_sqrt(s: Array) -> tuple[Array, Array]:
    """sqrt(s) with a zero gradient at s = 0 (the double-`where` trick), and the mask s > 0."""
    positive = s > 0
    return jnp.sqrt(jnp.where(positive, s, 1.0)) * positive, positive


class GaussianKernel(AbstractRadialKernel):
    r"""Gaussian kernel $k(x, y) = \exp(-\|x - y\|^2 / (2\sigma^2))$.

    **Arguments:**
    - `bandwidth`: $\sigma > 0$.
    """

    bandwidth: float | Array

    def __check_init__(self):
        check_positive("bandwidth", self.bandwidth)

    def profile(self, sq_dist):
        return jnp.exp(-sq_dist / (2 * self.bandwidth**2))

    def profile_grad(self, sq_dist):
        return -self.profile(sq_dist) / (2 * self.bandwidth**2)

    def profile_second_derivative(self, sq_dist):
        return self.profile(sq_dist) / (4 * self.bandwidth**4)


class IMQKernel(AbstractRadialKernel):
    r"""Inverse multiquadric kernel $k(x, y) = (c^2 + \|x - y\|^2)^{\beta}$, $\beta < 0$.

    Heavy tails: its gradient decays polynomially, so particles far from the target still move.

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


class LaplaceKernel(AbstractRadialKernel):
    r"""Laplace kernel $k(x, y) = \exp(-\|x - y\|/\sigma)$.

    Not differentiable at $x = y$; the gradient there is defined as 0 (MATH.md section 1).

    **Arguments:**
    - `bandwidth`: $\sigma > 0$.
    """

    bandwidth: float | Array

    def __check_init__(self):
        check_positive("bandwidth", self.bandwidth)

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


class EnergyKernel(AbstractRadialKernel):
    r"""Riesz kernel $k(x, y) = -\|x - y\|^r$, $0 < r < 2$ (conditionally positive definite).

    With $r = 1$, MMD² with this kernel is the energy distance. The gradient at $x = y$ is
    defined as 0.

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


