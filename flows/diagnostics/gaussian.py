r"""Closed-form distances between Gaussians, and in-loop diagnostics that compare the particles'
moment-matched Gaussian with a Gaussian target.

For $\mu_i = \mathcal N(m_i, S_i)$ in $\mathbb{R}^d$:

- $W_2^2(\mu_1, \mu_2) = \|m_1 - m_2\|^2 + \operatorname{tr}\big(S_1 + S_2 - 2\,(S_2^{1/2} S_1 S_2^{1/2})^{1/2}\big)$
  (Dowson & Landau 1982; Givens & Shortt 1984), valid for singular covariances;
- $\mathrm{KL}(\mu_1 \,\|\, \mu_2) = \tfrac12\big(\operatorname{tr}(S_2^{-1}S_1) + (m_2 - m_1)^\top S_2^{-1}(m_2 - m_1)
  - d + \log\det S_2 - \log\det S_1\big)$ ($S_1$, $S_2$ positive definite);
- MMD² under Gaussian kernels: `flows.gaussian_mmd2` (`MATH.md` section 2).

When a flow starts from and targets Gaussians, these are the exact population values the
particle estimates should approach; the in-loop diagnostics `GaussianW2`, `GaussianKL` and
`GaussianMMD2` apply them to the particles' empirical mean and covariance.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from ..closed_forms import _check_gaussian, gaussian_mmd2
from ..kernels import GaussianKernel, SumKernel


def _psd_sqrt(s: Array) -> Array:
    """Symmetric square root of a positive semi-definite matrix (eigenvalues clipped at 0)."""
    values, vectors = jnp.linalg.eigh(0.5 * (s + s.T))
    return (vectors * jnp.sqrt(jnp.clip(values, 0.0))) @ vectors.T


def gaussian_w2(
    mean1: Float[ArrayLike, " d"], cov1: Float[ArrayLike, "d d"], mean2: Float[ArrayLike, " d"], cov2: Float[ArrayLike, "d d"]
) -> Float[Array, ""]:
    """The 2-Wasserstein distance $W_2$ (not squared) between $\\mathcal N(m_1, S_1)$ and $\\mathcal N(m_2, S_2)$."""
    mean1, cov1 = _check_gaussian("first Gaussian", mean1, cov1)
    mean2, cov2 = _check_gaussian("second Gaussian", mean2, cov2)
    return _w2(mean1, cov1, mean2, cov2)


def _w2(mean1, cov1, mean2, cov2):
    root2 = _psd_sqrt(cov2)
    cross = _psd_sqrt(root2 @ cov1 @ root2)
    bures = jnp.trace(cov1) + jnp.trace(cov2) - 2 * jnp.trace(cross)
    return jnp.sqrt(jnp.maximum(jnp.sum((mean1 - mean2) ** 2) + bures, 0.0))


def gaussian_kl(
    mean1: Float[ArrayLike, " d"], cov1: Float[ArrayLike, "d d"], mean2: Float[ArrayLike, " d"], cov2: Float[ArrayLike, "d d"]
) -> Float[Array, ""]:
    """$\\mathrm{KL}(\\mathcal N(m_1, S_1) \\,\\|\\, \\mathcal N(m_2, S_2))$, both covariances positive definite."""
    mean1, cov1 = _check_gaussian("first Gaussian", mean1, cov1)
    mean2, cov2 = _check_gaussian("second Gaussian", mean2, cov2)
    return _kl(mean1, cov1, mean2, cov2)


def _kl(mean1, cov1, mean2, cov2):
    d = mean1.shape[0]
    chol2 = jnp.linalg.cholesky(cov2)
    solve = lambda b: jnp.linalg.solve(chol2.T, jnp.linalg.solve(chol2, b))
    diff = mean2 - mean1
    _, logdet1 = jnp.linalg.slogdet(cov1)
    logdet2 = 2 * jnp.sum(jnp.log(jnp.diag(chol2)))
    return 0.5 * (jnp.trace(solve(cov1)) + diff @ solve(diff) - d + logdet2 - logdet1)


def moments(y: Float[Array, "n d"]) -> tuple[Float[Array, " d"], Float[Array, "d d"]]:
    """The particles' mean and (maximum-likelihood, 1/N) covariance."""
    mean = jnp.mean(y, axis=0)
    centred = y - mean
    return mean, centred.T @ centred / y.shape[0]


class _GaussianTarget(eqx.Module):
    mean: Float[Array, " d"]
    cov: Float[Array, "d d"]

    def __init__(self, mean: Float[ArrayLike, " d"], cov: Float[ArrayLike, "d d"]):
        self.mean, self.cov = _check_gaussian("target", mean, cov)


class GaussianW2(_GaussianTarget):
    """In-loop diagnostic: $W_2$ between the particles' moment-matched Gaussian and $\\mathcal N(m, S)$."""

    def __call__(self, t, y, args):
        mean, cov = moments(y)
        return _w2(mean, cov, self.mean.astype(y.dtype), self.cov.astype(y.dtype))


class GaussianKL(_GaussianTarget):
    """In-loop diagnostic: KL(particles' moment-matched Gaussian ‖ $\\mathcal N(m, S)$) (needs N > d)."""

    def __call__(self, t, y, args):
        mean, cov = moments(y)
        return _kl(mean, cov, self.mean.astype(y.dtype), self.cov.astype(y.dtype))


class GaussianMMD2(_GaussianTarget):
    """In-loop diagnostic: population MMD² between the particles' moment-matched Gaussian and
    $\\mathcal N(m, S)$ under a Gaussian kernel (or a sum of them)."""

    kernel: GaussianKernel | SumKernel

    def __init__(self, mean, cov, kernel: GaussianKernel | SumKernel):
        super().__init__(mean, cov)
        self.kernel = kernel

    def __call__(self, t, y, args):
        mean, cov = moments(y)
        return gaussian_mmd2(mean, cov, self.mean.astype(y.dtype), self.cov.astype(y.dtype), self.kernel)
