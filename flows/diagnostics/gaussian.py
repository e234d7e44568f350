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
from jaxtyping import Array, ArrayLike, Float

from ..discrepancies.gaussian import (
    check_gaussian,
    gaussian_kl_unchecked,
    gaussian_mmd2,
    gaussian_w2_unchecked,
    moments,
)
from ..kernels.radial import GaussianKernel, SumKernel


class _GaussianTarget(eqx.Module):
    mean: Float[Array, " d"]
    cov: Float[Array, "d d"]

    def __init__(self, mean: Float[ArrayLike, " d"], cov: Float[ArrayLike, "d d"]):
        self.mean, self.cov = check_gaussian("target", mean, cov)


class GaussianW2(_GaussianTarget):
    """In-loop diagnostic: $W_2$ between the particles' moment-matched Gaussian and $\\mathcal N(m, S)$."""

    def __call__(self, t, y, args):
        mean, cov = moments(y)
        return gaussian_w2_unchecked(mean, cov, self.mean.astype(y.dtype), self.cov.astype(y.dtype))


class GaussianKL(_GaussianTarget):
    """In-loop diagnostic: KL(particles' moment-matched Gaussian ‖ $\\mathcal N(m, S)$) (needs N > d)."""

    def __call__(self, t, y, args):
        mean, cov = moments(y)
        return gaussian_kl_unchecked(mean, cov, self.mean.astype(y.dtype), self.cov.astype(y.dtype))


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
