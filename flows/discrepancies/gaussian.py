r"""Closed forms for Gaussians: population MMD² under Gaussian kernels, the test oracle.

For $Z \sim \mathcal N(m, S)$ (S may be singular) and the Gaussian kernel of bandwidth $\sigma$,
a Gaussian integral gives

$$\mathbb{E}\,e^{-\|Z\|^2/(2\sigma^2)} = \det(I + S/\sigma^2)^{-1/2}
  \exp\!\big(-\tfrac12 m^\top (S + \sigma^2 I)^{-1} m\big).$$

With $X \sim \mathcal N(m_1, S_1)$, $Y \sim \mathcal N(m_2, S_2)$ independent,
$X - X' \sim \mathcal N(0, 2S_1)$ and $X - Y \sim \mathcal N(m_1 - m_2, S_1 + S_2)$, so
$\mathrm{MMD}^2 = \mathbb{E}k(X,X') + \mathbb{E}k(Y,Y') - 2\,\mathbb{E}k(X,Y)$ is exact, low-rank
covariances included (Gretton, Borgwardt, Rasch, Schölkopf, Smola, JMLR 2012 for the MMD; the
expectation is the Gaussian integral above). Sums of Gaussian kernels add term by term: a kernel's
`gaussian_components()` capability (`flows.kernels.base`) gives the weights and bandwidths
$(c_i, \sigma_i)$ of $k = \sum_i c_i e^{-\|x - y\|^2/(2\sigma_i^2)}$, for a `GaussianKernel` and
(nested) `SumKernel`s of them.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_finite, check_gaussian, is_concrete
from ..kernels.base import AbstractKernel


def gaussian_kernel_expectation(
    mean: Float[ArrayLike, " d"], cov: Float[ArrayLike, "d d"], bandwidth
) -> Float[Array, ""]:
    """$\\mathbb{E}\\exp(-\\|Z\\|^2/(2\\sigma^2))$ for $Z \\sim \\mathcal N(m, S)$.

    One Cholesky factor $LL^\\top = I + S/\\sigma^2$ (eigenvalues $\\ge 1$: positive definite even
    for singular $S$) gives both terms: $\\log\\det = 2\\sum_i \\log L_{ii}$ and
    $m^\\top(S + \\sigma^2 I)^{-1}m = \\|L^{-1}m\\|^2/\\sigma^2$ (a smaller program to compile and
    differentiate than LU-based `slogdet` and `solve`)."""
    mean = jnp.asarray(mean)
    cov = jnp.asarray(cov)
    d = mean.shape[0]
    chol = jnp.linalg.cholesky(jnp.eye(d, dtype=cov.dtype) + cov / bandwidth**2)
    white = jax.scipy.linalg.solve_triangular(chol, mean, lower=True)
    return jnp.exp(-jnp.sum(jnp.log(jnp.diag(chol))) - 0.5 * jnp.sum(white**2) / bandwidth**2)




def gaussian_mmd2(
    mean1: Float[ArrayLike, " d"],
    cov1: Float[ArrayLike, "d d"],
    mean2: Float[ArrayLike, " d"],
    cov2: Float[ArrayLike, "d d"],
    kernel: AbstractKernel,
) -> Float[Array, ""]:
    """Population MMD² between $\\mathcal N(m_1, S_1)$ and $\\mathcal N(m_2, S_2)$, exactly:
    $\\sum_i c_i\\big(E_{\\sigma_i}(0, 2S_1) + E_{\\sigma_i}(0, 2S_2) - 2E_{\\sigma_i}(m_1 - m_2, S_1 + S_2)\\big)$,
    $E_\\sigma(m, S) = \\mathbb{E}_{Z \\sim \\mathcal N(m, S)} e^{-\\|Z\\|^2/(2\\sigma^2)}$ (module docstring).

    **Arguments:**
    - `mean1`, `cov1`, `mean2`, `cov2`: the two Gaussians (covariances may be singular).
    - `kernel`: a kernel with `gaussian_components()`: a `GaussianKernel`, or a `SumKernel` of
      Gaussian kernels (a `ValueError` for any other).
    """
    mean1, cov1 = check_gaussian("first Gaussian", mean1, cov1)
    mean2, cov2 = check_gaussian("second Gaussian", mean2, cov2)
    if mean1.shape != mean2.shape:
        raise ValueError(f"the two Gaussians must share a dimension, got {mean1.shape[0]} and {mean2.shape[0]}.")
    zero = jnp.zeros_like(mean1)
    total = 0.0
    for weight, bandwidth in kernel.gaussian_components():
        total = total + weight * (
            gaussian_kernel_expectation(zero, 2 * cov1, bandwidth)
            + gaussian_kernel_expectation(zero, 2 * cov2, bandwidth)
            - 2 * gaussian_kernel_expectation(mean1 - mean2, cov1 + cov2, bandwidth)
        )
    return total


def gaussian_mixture_mmd2(
    weights1: Float[ArrayLike, " C1"],
    means1: Float[ArrayLike, "C1 d"],
    covs1: Float[ArrayLike, "C1 d d"],
    weights2: Float[ArrayLike, " C2"],
    means2: Float[ArrayLike, "C2 d"],
    covs2: Float[ArrayLike, "C2 d d"],
    kernel: AbstractKernel,
) -> Float[Array, ""]:
    r"""Population MMD² between the Gaussian mixtures $\sum_a p_a\mathcal N(m_a, S_a)$ and
    $\sum_b q_b\mathcal N(n_b, T_b)$, exactly: every kernel expectation is a weighted sum over
    pairs of components, $\mathbb{E}\,k(X, Y) = \sum_{a,b} p_a q_b\, E_\sigma(m_a - n_b, S_a + T_b)$
    since $X_a - Y_b \sim \mathcal N(m_a - n_b, S_a + T_b)$ ($E_\sigma$ as in `gaussian_mmd2`).
    Between the symmetric mixtures $\frac12\mathcal N(\theta, I) + \frac12\mathcal N(-\theta, I)$ and
    the same at $\theta^*$ it is, with $\tau = \sigma^2 + 2$ and $c = (1 + 2/\sigma^2)^{-d/2}$,
    $c\,[1 + \frac12 e^{-2\|\theta\|^2/\tau} + \frac12 e^{-2\|\theta^*\|^2/\tau}
    - e^{-\|\theta-\theta^*\|^2/(2\tau)} - e^{-\|\theta+\theta^*\|^2/(2\tau)}]$
    (Alon, Globerson, Wiesel, arXiv 2110.13452, 2021).

    **Arguments:**
    - `weights1`, `means1`, `covs1`: the first mixture's weights (C1,) (non-negative, normalized
      here to sum 1), means (C1, d) and covariances (C1, d, d) (may be singular).
    - `weights2`, `means2`, `covs2`: the second mixture's.
    - `kernel`: a kernel with `gaussian_components()` (as in `gaussian_mmd2`).
    """
    p, m1, s1 = _check_mixture("first mixture", weights1, means1, covs1)
    q, m2, s2 = _check_mixture("second mixture", weights2, means2, covs2)
    if m1.shape[1] != m2.shape[1]:
        raise ValueError(f"the two mixtures must share a dimension, got {m1.shape[1]} and {m2.shape[1]}.")

    weights, bandwidths = zip(*kernel.gaussian_components())
    return _mixture_mmd2(p, m1, s1, q, m2, s2, jnp.asarray(weights), jnp.asarray(bandwidths))


@jax.jit
def _mixture_mmd2(p, m1, s1, q, m2, s2, weights, bandwidths) -> Array:
    """`gaussian_mixture_mmd2` after its checks: the pairwise component tables, per bandwidth."""

    def cross(wa, ma, sa, wb, mb, sb, bandwidth):
        pair = lambda mu_a, cov_a, mu_b, cov_b: gaussian_kernel_expectation(mu_a - mu_b, cov_a + cov_b, bandwidth)
        table = jax.vmap(lambda mu_a, cov_a: jax.vmap(lambda mu_b, cov_b: pair(mu_a, cov_a, mu_b, cov_b))(mb, sb))(ma, sa)
        return wa @ table @ wb

    def one_bandwidth(bandwidth):
        return cross(p, m1, s1, p, m1, s1, bandwidth) + cross(q, m2, s2, q, m2, s2, bandwidth) - 2 * cross(p, m1, s1, q, m2, s2, bandwidth)

    return weights @ jax.vmap(one_bandwidth)(bandwidths)


def _check_mixture(name: str, weights, means, covs) -> tuple[Array, Array, Array]:
    weights, means, covs = jnp.atleast_1d(jnp.asarray(weights)), jnp.asarray(means), jnp.asarray(covs)
    if means.ndim != 2 or weights.shape != means.shape[:1] or covs.shape != means.shape + means.shape[1:]:
        raise ValueError(
            f"`{name}` must be weights (C,), means (C, d) and covariances (C, d, d), "
            f"got {tuple(weights.shape)}, {tuple(means.shape)} and {tuple(covs.shape)}."
        )
    check_finite(f"{name} weights", weights)
    if is_concrete(weights) and (np.any(np.asarray(weights) < 0) or not np.sum(np.asarray(weights)) > 0):
        raise ValueError(f"`{name}` weights must be non-negative with a positive sum, got {weights!r}.")
    for c in range(means.shape[0]):
        check_gaussian(f"{name} component {c}", means[c], covs[c])
    return weights / jnp.sum(weights), means, covs


def _psd_sqrt(s: Array) -> Array:
    """Symmetric square root of a positive semi-definite matrix (eigenvalues clipped at 0)."""
    values, vectors = jnp.linalg.eigh(0.5 * (s + s.T))
    return (vectors * jnp.sqrt(jnp.clip(values, 0.0))) @ vectors.T



def gaussian_w2(
    mean1: Float[ArrayLike, " d"], cov1: Float[ArrayLike, "d d"], mean2: Float[ArrayLike, " d"], cov2: Float[ArrayLike, "d d"]
) -> Float[Array, ""]:
    """The 2-Wasserstein distance $W_2$ (not squared) between $\\mathcal N(m_1, S_1)$ and $\\mathcal N(m_2, S_2)$."""
    mean1, cov1 = check_gaussian("first Gaussian", mean1, cov1)
    mean2, cov2 = check_gaussian("second Gaussian", mean2, cov2)
    return gaussian_w2_unchecked(mean1, cov1, mean2, cov2)



def gaussian_w2_unchecked(mean1, cov1, mean2, cov2):
    root2 = _psd_sqrt(cov2)
    cross = _psd_sqrt(root2 @ cov1 @ root2)
    bures = jnp.trace(cov1) + jnp.trace(cov2) - 2 * jnp.trace(cross)
    return jnp.sqrt(jnp.maximum(jnp.sum((mean1 - mean2) ** 2) + bures, 0.0))



def gaussian_kl(
    mean1: Float[ArrayLike, " d"], cov1: Float[ArrayLike, "d d"], mean2: Float[ArrayLike, " d"], cov2: Float[ArrayLike, "d d"]
) -> Float[Array, ""]:
    """$\\mathrm{KL}(\\mathcal N(m_1, S_1) \\,\\|\\, \\mathcal N(m_2, S_2))$, both covariances positive definite."""
    mean1, cov1 = check_gaussian("first Gaussian", mean1, cov1)
    mean2, cov2 = check_gaussian("second Gaussian", mean2, cov2)
    return gaussian_kl_unchecked(mean1, cov1, mean2, cov2)



def gaussian_kl_unchecked(mean1, cov1, mean2, cov2):
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
