r"""In-loop diagnostics that compare the particles' moment-matched Gaussian with a Gaussian target.

For $\mu_i = \mathcal N(m_i, S_i)$ in $\mathbb{R}^d$ (closed forms in `flows.discrepancies`):

- $W_2^2(\mu_1, \mu_2) = \|m_1 - m_2\|^2 + \operatorname{tr}\big(S_1 + S_2 - 2\,(S_2^{1/2} S_1 S_2^{1/2})^{1/2}\big)$
  (Dowson & Landau 1982; Givens & Shortt 1984), valid for singular covariances;
- $\mathrm{KL}(\mu_1 \,\|\, \mu_2) = \tfrac12\big(\operatorname{tr}(S_2^{-1}S_1) + (m_2 - m_1)^\top S_2^{-1}(m_2 - m_1)
  - d + \log\det S_2 - \log\det S_1\big)$ ($S_1$, $S_2$ positive definite);
- MMD² under a Gaussian kernel of bandwidth $\sigma$ (or a sum of them), exact for singular
  covariances: $\mathrm{MMD}^2 = \mathbb{E}k(X, X') + \mathbb{E}k(Y, Y') - 2\,\mathbb{E}k(X, Y)$ with
  $\mathbb{E}\,e^{-\|Z\|^2/(2\sigma^2)} = \det(I + S/\sigma^2)^{-1/2}\exp\!\big(-\tfrac12 m^\top(S + \sigma^2 I)^{-1}m\big)$
  for $Z \sim \mathcal N(m, S)$, and $X - X' \sim \mathcal N(0, 2S_1)$, $X - Y \sim \mathcal N(m_1 - m_2, S_1 + S_2)$.

When a flow starts from and targets Gaussians, these are the exact population values the
particle estimates should approach; `GaussianW2`, `GaussianKL` and `GaussianMMD2` apply them to
the particles' empirical mean and (1/N) covariance at every saved time.
"""

from __future__ import annotations

import abc

import equinox as eqx
from jaxtyping import Array, ArrayLike, Float

from ..discrepancies.gaussian import (
    gaussian_kl_unchecked,
    gaussian_mmd2,
    gaussian_w2_unchecked,
    moments,
)
from ..kernels.radial import GaussianKernel, SumKernel
from ..targets import Gaussian


class AbstractGaussianDiagnostic(eqx.Module):
    """A distance between the particles' moment-matched Gaussian and the Gaussian `target`,
    as a diagnostic `(t, y, args) -> array`."""

    target: eqx.AbstractVar[Gaussian]

    @abc.abstractmethod
    def between(self, mean: Array, cov: Array, target_mean: Array, target_cov: Array) -> Array:
        """The distance between $\\mathcal N(m, S)$ (the particles') and the target's parameters."""

    def __call__(self, t, y, args):
        mean, cov = moments(y)
        return self.between(mean, cov, self.target.mean.astype(y.dtype), self.target.covariance.astype(y.dtype))


class GaussianW2(AbstractGaussianDiagnostic):
    """$W_2$ between the particles' moment-matched Gaussian and $\\mathcal N(m, S)$ (`S` may be singular).

    **Arguments:** `mean` ($m$, shape (d,)), `cov` ($S$, shape (d, d), positive semi-definite).
    """

    target: Gaussian

    def __init__(self, mean: Float[ArrayLike, " d"], cov: Float[ArrayLike, "d d"]):
        self.target = Gaussian(mean, cov)

    def between(self, mean, cov, target_mean, target_cov):
        return gaussian_w2_unchecked(mean, cov, target_mean, target_cov)


class GaussianKL(AbstractGaussianDiagnostic):
    """KL(particles' moment-matched Gaussian ‖ $\\mathcal N(m, S)$) (needs N > d particles and a
    positive definite $S$).

    **Arguments:** `mean` ($m$, shape (d,)), `cov` ($S$, shape (d, d), positive definite).
    """

    target: Gaussian

    def __init__(self, mean: Float[ArrayLike, " d"], cov: Float[ArrayLike, "d d"]):
        self.target = Gaussian(mean, cov)
        if not self.target.has_density:
            raise ValueError(
                f"`cov` must be positive definite for the KL divergence, got rank {self.target.rank} < d = {self.target.dim}."
            )

    def between(self, mean, cov, target_mean, target_cov):
        return gaussian_kl_unchecked(mean, cov, target_mean, target_cov)


class GaussianMMD2(AbstractGaussianDiagnostic):
    """Population MMD² between the particles' moment-matched Gaussian and $\\mathcal N(m, S)$ under
    a Gaussian kernel (or a sum of them).

    **Arguments:** `mean` ($m$, shape (d,)), `cov` ($S$, shape (d, d), positive semi-definite),
    `kernel` (a `GaussianKernel` or a `SumKernel` of them).
    """

    target: Gaussian
    kernel: GaussianKernel | SumKernel

    def __init__(self, mean: Float[ArrayLike, " d"], cov: Float[ArrayLike, "d d"], kernel: GaussianKernel | SumKernel):
        self.target = Gaussian(mean, cov)
        self.kernel = kernel

    def between(self, mean, cov, target_mean, target_cov):
        return gaussian_mmd2(mean, cov, target_mean, target_cov, self.kernel)
