r"""Target distributions: what the flows are asked to reach, on one footing.

Every target is an `equinox` module with `sample(key, n)` (an (n, d) array). Those with a
density also have `log_prob(x)` and `score(x)` $= \nabla \log p(x)$ (rows of `x`), which the
flows toward a known density need (Langevin, SVGD, KSD descent; `MATH.md` section 8):

- `Gaussian(mean, covariance)`: $\mathcal N(m, \Sigma)$, closed-form log-density and score
  $-\Sigma^{-1}(x - m)$.
- `LowRankGaussian(mean, factor)`: $m + Az$, $z \sim \mathcal N(0, I_k)$, covariance $AA^\top$
  (singular when $k < d$: samples only; the MMD closed forms of `flows.closed_forms` apply).
- `GaussianMixture(means, stds, weights)`: isotropic components; log-density by log-sum-exp,
  score by autodiff. `GaussianMixture.ring(...)` (the 8-Gaussians ring) and
  `GaussianMixture.symmetric(theta, std)` ($\frac12\mathcal N(\theta, \sigma^2 I) +
  \frac12\mathcal N(-\theta, \sigma^2 I)$, the landscape example of `MATH.md` section 6).
- `TwoMoons`, `Rings`, `Checkerboard`, `Spiral`: the usual 2-D sample-only benchmarks.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._checks import check_finite, check_points, check_positive


def _check_count(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"`n` must be a positive integer number of samples, got {n!r}.")
    return int(n)


def _check_key(key) -> Array:
    if key is None:
        raise ValueError("`key` must be a jax.random key (e.g. jax.random.PRNGKey(0)), got None.")
    return key


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
        return self._sample(_check_key(key), _check_count(n))

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
    r"""$\mathcal N(m, \Sigma)$ with a full, positive definite covariance.

    **Arguments:**
    - `mean`: $m$, shape (d,).
    - `covariance`: $\Sigma$, shape (d, d), symmetric positive definite (default $I$).
    """

    mean: Float[Array, " d"]
    covariance: Float[Array, "d d"]
    cholesky: Float[Array, "d d"]

    def __init__(self, mean: Float[ArrayLike, " d"], covariance: Float[ArrayLike, "d d"] | None = None):
        mean = jnp.atleast_1d(jnp.asarray(mean, dtype=float))
        if mean.ndim != 1:
            raise ValueError(f"`mean` must be a 1-D array, got shape {mean.shape}.")
        check_finite("mean", mean)
        d = mean.shape[0]
        covariance = jnp.eye(d, dtype=mean.dtype) if covariance is None else jnp.asarray(covariance, dtype=mean.dtype)
        if covariance.shape != (d, d):
            raise ValueError(f"`covariance` must have shape ({d}, {d}) to match `mean`, got {covariance.shape}.")
        check_finite("covariance", covariance)
        cov_np = np.asarray(covariance)
        if not np.allclose(cov_np, cov_np.T, rtol=1e-10, atol=1e-12) or np.linalg.eigvalsh(cov_np).min() <= 0:
            raise ValueError(
                "`covariance` must be symmetric positive definite (use LowRankGaussian for a singular one)."
            )
        self.mean = mean
        self.covariance = covariance
        self.cholesky = jnp.linalg.cholesky(covariance)

    @property
    def dim(self):
        return self.mean.shape[0]

    @property
    def has_density(self):
        return True

    def _sample(self, key, n):
        z = jax.random.normal(key, (n, self.dim), self.mean.dtype)
        return self.mean + z @ self.cholesky.T

    def log_prob(self, x):
        white = jax.scipy.linalg.solve_triangular(self.cholesky, (x - self.mean).T, lower=True)
        log_det = 2 * jnp.sum(jnp.log(jnp.diag(self.cholesky)))
        return -0.5 * (jnp.sum(white**2, axis=0) + log_det + self.dim * jnp.log(2 * jnp.pi))

    def score(self, x):
        return -jax.scipy.linalg.cho_solve((self.cholesky, True), (x - self.mean).T).T


class LowRankGaussian(AbstractTarget):
    r"""The law of $m + Az$, $z \sim \mathcal N(0, I_k)$: covariance $AA^\top$ of rank $\le k$.

    Singular for $k < d$, so it has no density (likelihood methods do not apply; MMD does).

    **Arguments:**
    - `mean`: $m$, shape (d,).
    - `factor`: $A$, shape (d, k).
    """

    mean: Float[Array, " d"]
    factor: Float[Array, "d k"]

    def __init__(self, mean: Float[ArrayLike, " d"], factor: Float[ArrayLike, "d k"]):
        mean = jnp.atleast_1d(jnp.asarray(mean, dtype=float))
        factor = jnp.asarray(factor, dtype=mean.dtype)
        if mean.ndim != 1:
            raise ValueError(f"`mean` must be a 1-D array, got shape {mean.shape}.")
        if factor.ndim != 2 or factor.shape[0] != mean.shape[0]:
            raise ValueError(f"`factor` must have shape ({mean.shape[0]}, k) to match `mean`, got {factor.shape}.")
        check_finite("mean", mean)
        check_finite("factor", factor)
        self.mean = mean
        self.factor = factor

    @property
    def dim(self):
        return self.mean.shape[0]

    @property
    def covariance(self) -> Float[Array, "d d"]:
        """$AA^\\top$."""
        return self.factor @ self.factor.T

    def _sample(self, key, n):
        z = jax.random.normal(key, (n, self.factor.shape[1]), self.mean.dtype)
        return self.mean + z @ self.factor.T


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
        if isinstance(modes, bool) or not isinstance(modes, (int, np.integer)) or modes < 1:
            raise ValueError(f"`modes` must be a positive integer, got {modes!r}.")
        check_positive("radius", radius)
        angles = 2 * np.pi * np.arange(modes) / modes
        return cls(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)

    @classmethod
    def symmetric(cls, theta: Float[ArrayLike, " d"], std: float = 1.0) -> GaussianMixture:
        """$\\frac12\\mathcal N(\\theta, \\sigma^2 I) + \\frac12\\mathcal N(-\\theta, \\sigma^2 I)$ (`MATH.md` section 6)."""
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
        if isinstance(self.size, bool) or not isinstance(self.size, (int, np.integer)) or self.size < 2 or self.size % 2:
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


class GaussianTarget(eqx.Module):
    """A Gaussian target $\\mathcal N(m, S)$ ($S$ may be singular): the population-mode target.

    **Arguments:**
    - `mean`: $m$, shape (d,).
    - `cov`: $S$, shape (d, d), symmetric positive semi-definite.
    """

    mean: Float[Array, " d"]
    cov: Float[Array, "d d"]

    def __init__(self, mean: Float[ArrayLike, " d"], cov: Float[ArrayLike, "d d"]):
        mean, cov = jnp.atleast_1d(jnp.asarray(mean)), jnp.asarray(cov)
        d = mean.shape[0]
        if mean.ndim != 1 or cov.shape != (d, d):
            raise ValueError(f"`mean` must have shape (d,) and `cov` shape (d, d), got {mean.shape} and {cov.shape}.")
        check_finite("mean", mean)
        check_finite("cov", cov)
        c = np.asarray(cov, dtype=float)
        scale = max(1.0, float(np.abs(c).max()))
        if not np.allclose(c, c.T, atol=1e-10 * scale) or np.linalg.eigvalsh(c).min() < -1e-8 * scale:
            raise ValueError("`cov` must be symmetric positive semi-definite.")
        dtype = jnp.result_type(mean.dtype, cov.dtype, jnp.float32)
        self.mean, self.cov = mean.astype(dtype), cov.astype(dtype)

    @property
    def dim(self) -> int:
        return self.mean.shape[0]

    def sample(self, key: Array, n: int) -> Float[Array, "n d"]:
        """n samples $m + S^{1/2}\\varepsilon$ (symmetric square root, exact for singular $S$)."""
        values, vectors = jnp.linalg.eigh(self.cov)
        root = vectors * jnp.sqrt(jnp.clip(values, 0.0))
        return self.mean + jax.random.normal(key, (n, self.dim), self.mean.dtype) @ root.T
