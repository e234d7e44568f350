r"""Target distributions: what the flows are asked to reach, on one footing.

Every target is an `equinox` module with `sample(key, n)` (an (n, d) array). Those with a
density also have `log_prob(x)` and `score(x)` $= \nabla \log p(x)$ (rows of `x`), which the
flows toward a known density need: Langevin $dX = \nabla\log p(X)\,dt + \sqrt2\,dW$, SVGD (Liu &
Wang, NeurIPS 2016) and KSD descent (Korba et al., ICML 2021).

- `Gaussian(mean, covariance)` or `Gaussian(mean, factor=A)`: $\mathcal N(m, S)$, $S$ positive
  semi-definite (the law of $m + Az$, $S = AA^\top$, in the factor form); closed-form
  log-density and score $-S^{-1}(x - m)$ when $S$ is positive definite, samples only when it is
  singular (the MMD closed forms of `flows.discrepancies` apply either way). It is also the
  population-mode target of the parametric flows.
- `GaussianMixture(means, stds, weights)`: isotropic components; log-density by log-sum-exp,
  score by autodiff. `GaussianMixture.ring(...)` (the 8-Gaussians ring) and
  `GaussianMixture.symmetric(theta, std)` ($\frac12\mathcal N(\theta, \sigma^2 I) +
  \frac12\mathcal N(-\theta, \sigma^2 I)$, the symmetric mixture whose population MMD² landscape
  Alon, Globerson & Wiesel (2021, arXiv 2110.13452) study).
- `TwoMoons`, `Rings`, `Checkerboard`, `Spiral`: the usual 2-D sample-only benchmarks.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._checks import (
    check_finite,
    check_gaussian,
    check_int,
    check_key,
    check_points,
    check_positive,
    check_positive_int,
    is_concrete,
)


class AbstractTarget(eqx.Module):
    """A distribution on $\\mathbb{R}^d$ that can be sampled (and, if it has a density, scored)."""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """The dimension $d$."""

    @abc.abstractmethod
    def _sample(self, key: Array, n: int) -> Float[Array, "n d"]:
        """`n` samples (arguments already checked)."""

    def sample(self, key: Array, n: int) -> Float[Array, "n d"]:
        """`n` independent samples, an (n, d) array, drawn with the `jax.random` key `key`."""
        return self._sample(check_key("key", key), check_positive_int("n", n))

    @property
    def has_density(self) -> bool:
        """Whether `log_prob` and `score` are defined."""
        return False

    def log_prob(self, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        """$\\log p$ at the rows of `x`."""
        raise ValueError(f"{type(self).__name__} has no density: it can only be sampled.")

    def score(self, x: Float[Array, "n d"]) -> Float[Array, "n d"]:
        """$\\nabla \\log p$ at the rows of `x` (autodiff of `log_prob` unless a closed form exists)."""
        if not self.has_density:
            raise ValueError(f"{type(self).__name__} has no density, so no score: it can only be sampled.")
        return jax.vmap(jax.grad(lambda xi: self.log_prob(xi[None])[0]))(x)


class Gaussian(AbstractTarget):
    r"""$\mathcal N(m, S)$, $S$ symmetric positive semi-definite (singular allowed).

    Sampled as $x = m + Lz$, $z \sim \mathcal N(0, I_k)$, with a factor $L$ ($LL^\top = S$) that
    the construction fixes:

    - `Gaussian(mean, covariance)`: $L$ is the Cholesky factor when $S$ is positive definite,
      else the spectral root $V\Lambda^{1/2}$ ($S = V\Lambda V^\top$, eigenvalues clipped at 0;
      exact for a singular $S$); $k = d$.
    - `Gaussian(mean, factor=A)`: $L = A$, shape (d, k), so $S = AA^\top$ has rank $\le k$ (the law
      of $m + Az$, e.g. a low-rank Gaussian for $k < d$).

    A density exists only when $S$ is positive definite, i.e. of numerical rank $d$ (every
    eigenvalue above $d\,\varepsilon\,\lambda_{\max}$, $\varepsilon$ the dtype's machine epsilon:
    `numpy.linalg.matrix_rank`'s tolerance). Then
    $\log p(x) = -\frac12\big((x - m)^\top S^{-1}(x - m) + \log\det S + d\log 2\pi\big)$ and
    $\nabla\log p(x) = -S^{-1}(x - m)$, both through the Cholesky factor. A singular Gaussian lives
    on an affine subspace: `has_density` is False and `log_prob`, `score` raise `ValueError`
    (the MMD closed forms of `flows.discrepancies` still apply).

    **Arguments:**
    - `mean`: $m$, shape (d,).
    - `covariance`: $S$, shape (d, d), symmetric positive semi-definite (default $I$).
    - `factor`: $A$, shape (d, k), instead of `covariance`.

    **Attributes:** `mean`, `covariance` ($S$), `factor` ($L$), `cholesky` (None when singular),
    `rank`.
    """

    mean: Float[Array, " d"]
    covariance: Float[Array, "d d"]
    factor: Float[Array, "d k"]
    cholesky: Float[Array, "d d"] | None
    rank: int = eqx.field(static=True)

    def __init__(
        self,
        mean: Float[ArrayLike, " d"],
        covariance: Float[ArrayLike, "d d"] | None = None,
        *,
        factor: Float[ArrayLike, "d k"] | None = None,
    ):
        dtype = jnp.result_type(float)
        mean = jnp.atleast_1d(jnp.asarray(mean, dtype=dtype))
        if mean.ndim != 1:
            raise ValueError(f"`mean` must be a 1-D array, got shape {mean.shape}.")
        d = mean.shape[0]
        if factor is not None:
            if covariance is not None:
                raise ValueError("give `covariance` or `factor`, not both.")
            factor = jnp.asarray(factor, dtype=dtype)
            if factor.ndim != 2 or factor.shape[0] != d:
                raise ValueError(f"`factor` must have shape ({d}, k) to match `mean`, got {factor.shape}.")
            check_finite("mean", mean)
            check_finite("factor", factor)
            covariance = factor @ factor.T
        else:
            covariance = np.eye(d) if covariance is None else covariance
            if np.shape(covariance) != (d, d):
                raise ValueError(f"`covariance` must have shape ({d}, {d}) to match `mean`, got {np.shape(covariance)}.")
            check_gaussian("Gaussian", mean, covariance)
            covariance = jnp.asarray(covariance, dtype=dtype)
        if not is_concrete((mean, covariance)):
            raise ValueError("`Gaussian` needs concrete (not traced) parameters: the covariance's rank fixes its factor.")
        self.rank = _numerical_rank(covariance)
        self.cholesky = jnp.linalg.cholesky(covariance) if self.rank == d else None
        if factor is None:
            factor = self.cholesky if self.cholesky is not None else _spectral_root(covariance)
        self.mean, self.covariance, self.factor = mean, covariance, factor

    @property
    def dim(self):
        return self.mean.shape[0]

    @property
    def has_density(self):
        return self.cholesky is not None

    def _sample(self, key, n):
        z = jax.random.normal(key, (n, self.factor.shape[1]), self.mean.dtype)
        return self.mean + z @ self.factor.T

    def _require_density(self) -> Array:
        if self.cholesky is None:
            raise ValueError(
                f"this Gaussian has no density: its covariance is singular (rank {self.rank} < d = {self.dim}), "
                "so it lives on an affine subspace and can only be sampled."
            )
        return self.cholesky

    def log_prob(self, x):
        cholesky = self._require_density()
        white = jax.scipy.linalg.solve_triangular(cholesky, (x - self.mean).T, lower=True)
        log_det = 2 * jnp.sum(jnp.log(jnp.diag(cholesky)))
        return -0.5 * (jnp.sum(white**2, axis=0) + log_det + self.dim * jnp.log(2 * jnp.pi))

    def score(self, x):
        return -jax.scipy.linalg.cho_solve((self._require_density(), True), (x - self.mean).T).T


def _numerical_rank(covariance: Array) -> int:
    """The number of eigenvalues of `covariance` above $d\\,\\varepsilon\\,\\lambda_{\\max}$."""
    values = np.linalg.eigvalsh(np.asarray(covariance, dtype=np.float64))
    tolerance = covariance.shape[0] * float(jnp.finfo(covariance.dtype).eps) * max(float(values.max()), 0.0)
    return int(np.sum(values > tolerance))


def _spectral_root(covariance: Array) -> Array:
    """$V\\Lambda^{1/2}$ for $S = V\\Lambda V^\\top$ (eigenvalues clipped at 0): $LL^\\top = S$, singular $S$ included."""
    values, vectors = jnp.linalg.eigh(covariance)
    return vectors * jnp.sqrt(jnp.clip(values, 0.0))


class GaussianMixture(AbstractTarget):
    r"""$\sum_c w_c\, \mathcal N(m_c, \sigma_c^2 I)$: isotropic Gaussian components.

    **Arguments:**
    - `means`: $m_c$, shape (C, d).
    - `stds`: $\sigma_c > 0$, a scalar or shape (C,).
    - `weights`: $w_c > 0$, shape (C,), normalized to sum 1 (default equal).
    """

    means: Float[Array, "c d"]
    stds: Float[Array, " c"]
    weights: Float[Array, " c"]

    def __init__(self, means: Float[ArrayLike, "c d"], stds: ArrayLike = 1.0, weights: ArrayLike | None = None):
        means = check_points("means", jnp.asarray(means, dtype=float))
        c = means.shape[0]
        stds = jnp.broadcast_to(jnp.asarray(stds, dtype=means.dtype), (c,)) if np.ndim(stds) == 0 else jnp.asarray(stds, dtype=means.dtype)
        if stds.shape != (c,):
            raise ValueError(f"`stds` must be a scalar or have shape ({c},) (one per mean), got {stds.shape}.")
        check_positive("stds", stds)
        weights = jnp.ones(c, means.dtype) if weights is None else jnp.asarray(weights, dtype=means.dtype)
        if weights.shape != (c,):
            raise ValueError(f"`weights` must have shape ({c},) (one per mean), got {weights.shape}.")
        check_positive("weights", weights)
        self.means = means
        self.stds = stds
        self.weights = weights / jnp.sum(weights)

    @classmethod
    def ring(cls, modes: int = 8, radius: float = 4.0, std: float = 0.3) -> GaussianMixture:
        """Equal-weight mixture of `modes` Gaussians evenly spaced on a circle (the 8-Gaussians ring)."""
        check_positive_int("modes", modes)
        check_positive("radius", radius)
        angles = 2 * np.pi * np.arange(modes) / modes
        return cls(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)

    @classmethod
    def symmetric(cls, theta: Float[ArrayLike, " d"], std: float = 1.0) -> GaussianMixture:
        """$\\frac12\\mathcal N(\\theta, \\sigma^2 I) + \\frac12\\mathcal N(-\\theta, \\sigma^2 I)$, the symmetric mixture
        of Alon, Globerson & Wiesel (2021, arXiv 2110.13452)."""
        theta = jnp.atleast_1d(jnp.asarray(theta, dtype=float))
        return cls(jnp.stack([theta, -theta]), std)

    @property
    def dim(self):
        return self.means.shape[1]

    @property
    def has_density(self):
        return True

    def _sample(self, key, n):
        k_comp, k_noise = jax.random.split(key)
        comp = jax.random.choice(k_comp, self.weights.shape[0], (n,), p=self.weights)
        noise = jax.random.normal(k_noise, (n, self.dim), self.means.dtype)
        return self.means[comp] + self.stds[comp, None] * noise

    def log_prob(self, x):
        sq = jnp.sum((x[:, None, :] - self.means[None]) ** 2, axis=-1)  # (n, C), C is small
        log_comp = -0.5 * sq / self.stds**2 - self.dim * jnp.log(self.stds) - 0.5 * self.dim * jnp.log(2 * jnp.pi)
        return jax.scipy.special.logsumexp(log_comp + jnp.log(self.weights), axis=1)


class TwoMoons(AbstractTarget):
    """Two interleaving half circles of radius 1 (centres (0, 0) and (1, 0.5)), plus Gaussian
    noise of standard deviation `noise`."""

    noise: float = 0.05

    def __check_init__(self):
        check_positive("noise", self.noise)

    @property
    def dim(self):
        return 2

    def _sample(self, key, n):
        k_moon, k_angle, k_noise = jax.random.split(key, 3)
        upper = jax.random.bernoulli(k_moon, 0.5, (n,))
        angle = jnp.pi * jax.random.uniform(k_angle, (n,))
        top = jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
        bottom = jnp.stack([1 - jnp.cos(angle), 0.5 - jnp.sin(angle)], axis=1)
        points = jnp.where(upper[:, None], top, bottom)
        return points + self.noise * jax.random.normal(k_noise, (n, 2))


class Rings(AbstractTarget):
    """Concentric circles of radii `radii` (equal mass on each), plus Gaussian noise."""

    radii: tuple[float, ...] = (1.0, 2.0, 3.0)
    noise: float = 0.05

    def __check_init__(self):
        if len(self.radii) == 0:
            raise ValueError("`radii` must hold at least one radius.")
        check_positive("radii", np.asarray(self.radii))
        check_positive("noise", self.noise)

    @property
    def dim(self):
        return 2

    def _sample(self, key, n):
        k_ring, k_angle, k_noise = jax.random.split(key, 3)
        radius = jnp.asarray(self.radii)[jax.random.randint(k_ring, (n,), 0, len(self.radii))]
        angle = 2 * jnp.pi * jax.random.uniform(k_angle, (n,))
        points = radius[:, None] * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
        return points + self.noise * jax.random.normal(k_noise, (n, 2))


class Checkerboard(AbstractTarget):
    """Uniform on the black squares of a `size` x `size` checkerboard of unit squares centred at 0
    (`size` even)."""

    size: int = 4

    def __check_init__(self):
        check_int("size", self.size, 2)
        if self.size % 2:
            raise ValueError(f"`size` must be an even integer >= 2, got {self.size!r}.")

    @property
    def dim(self):
        return 2

    def _sample(self, key, n):
        k_cell, k_pos = jax.random.split(key)
        # Black cells (i + j even); pick a row i, then a column j of matching parity.
        i = jax.random.randint(k_cell, (n,), 0, self.size)
        j = 2 * jax.random.randint(jax.random.fold_in(k_cell, 1), (n,), 0, self.size // 2) + (i % 2)
        corner = jnp.stack([j, i], axis=1) - self.size / 2
        return corner + jax.random.uniform(k_pos, (n, 2))


class Spiral(AbstractTarget):
    """A two-turn Archimedean spiral $r = \\theta / (2\\pi)$ scaled to radius `radius`, plus
    Gaussian noise."""

    turns: float = 2.0
    radius: float = 3.0
    noise: float = 0.05

    def __check_init__(self):
        check_positive("turns", self.turns)
        check_positive("radius", self.radius)
        check_positive("noise", self.noise)

    @property
    def dim(self):
        return 2

    def _sample(self, key, n):
        k_pos, k_noise = jax.random.split(key)
        # Uniform in arc length is close to uniform in sqrt(u) of the angle for an Archimedean spiral.
        theta = 2 * jnp.pi * self.turns * jnp.sqrt(jax.random.uniform(k_pos, (n,)))
        r = self.radius * theta / (2 * jnp.pi * self.turns)
        points = r[:, None] * jnp.stack([jnp.cos(theta), jnp.sin(theta)], axis=1)
        return points + self.noise * jax.random.normal(k_noise, (n, 2))
