r"""Every stationary point of the population MMD² of a low-rank Gaussian model, in closed form, and
its Hessian spectrum: the landscape of Alon, Globerson & Wiesel ("On the Optimization Landscape of
Maximum Mean Discrepancy", arXiv:2110.13452, 2021) for $G(z) = Az + b$, $z \sim \mathcal N(0, I_k)$.

The model $q = \mathcal N(b, S)$, $S = AA^\top$ ($A$ is $d \times k$), the target $\nu = \mathcal N(b^*, \Sigma^*)$
($\Sigma^*$ of rank $r$, eigenvalues $s_i$, eigenvectors $u_i$) and the Gaussian kernel of bandwidth
$\sigma$ give, with $\delta = b - b^*$ (`flows.discrepancies.gaussian_mmd2`),
$$\mathrm{MMD}^2 = P(S) + \det(I + 2\Sigma^*/\sigma^2)^{-1/2} - 2Q(S)\,e^{-\frac12\delta^\top(S + \Sigma^* + \sigma^2 I)^{-1}\delta},
\quad P = \det(I + 2S/\sigma^2)^{-\frac12},\ Q = \det(I + (S + \Sigma^*)/\sigma^2)^{-\frac12}.$$

**The stationary points** (our derivation). $\nabla_b = 0$ forces $\delta = 0$ (the matrix is positive
definite). In $A$, $\nabla_A\mathrm{MMD}^2 = 2\,\nabla_S\mathrm{MMD}^2\,A$ with
$\sigma^2\nabla_S = Q(I + (S + \Sigma^*)/\sigma^2)^{-1} - P(I + 2S/\sigma^2)^{-1}$. At a stationary point the
column space $V$ of $A$ is therefore invariant under $(I + (S + \Sigma^*)/\sigma^2)^{-1}$, hence under
$\Sigma^*$: it is spanned by eigenvectors of $\Sigma^*$, and on $V$,
$S(2Q - P) = (P - Q)\sigma^2 I + P\Sigma^*$, so $S$ commutes with $\Sigma^*$. Writing
$S = \sum_{j \in J} t_j u_j u_j^\top$ ($|J| \le k$, $t_j > 0$) and $\rho = Q/P$, each $j \in J$ needs
$(\sigma^2 + t_j + s_j)/(\sigma^2 + 2t_j) = \rho$, i.e.
$$t_j = \frac{\sigma^2(1 - \rho) + s_j}{2\rho - 1}, \qquad\text{and then } \rho = C_J\,\rho^{-|J|/2},\ \text{so}\
\rho_J = C_J^{2/(2 + |J|)}, \quad C_J = \textstyle\prod_{i \notin J}(1 + s_i/\sigma^2)^{-1/2}.$$
So the stationary points are exactly the *eigen-subsets* $J$ with $\rho_J > \frac12$ (then every
$t_j > 0$), each an orbit $\{AR\}$ ($R$ orthogonal) and, for directions in the null space of
$\Sigma^*$ (or in a repeated eigenspace), a continuum of choices; $J = \emptyset$ is $A = 0$, and
$J$ = the $r$ nonzero directions gives $t_j = s_j$, $S = \Sigma^*$, the global minimum (MMD² = 0).
A family is classified by the Hessian (autodiff) at a representative: a negative eigenvalue and a
positive one, a *strict saddle*; negative ones only (besides the flat directions of the orbit), a
*local maximum*; no negative one, the *global minimum* if it is the lowest family (MMD² = 0 when
$k \ge r$; for $k < r$ the best rank-$k$ fit, provided it lies below the limit at infinity), else
*degenerate* (a spurious minimum or a degenerate point: what the paper's theorem excludes).
"""

from __future__ import annotations

import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import ArrayLike

from .._checks import check_gaussian, check_in_range, check_positive, check_positive_int
from ..discrepancies.gaussian import gaussian_mmd2
from ..kernels.radial import GaussianKernel

KINDS = ("global minimum", "strict saddle", "local maximum", "degenerate")


@dataclasses.dataclass(frozen=True)
class LowRankCriticalPoints:
    r"""The stationary families of the population MMD² of $\mathcal N(b, AA^\top)$ against
    $\mathcal N(b^*, \Sigma^*)$ (module docstring), one per eigen-subset, with their Hessians.

    **Fields:**
    - `eigenvalues`, `eigenvectors`: $s_i$ (descending) and $u_i$ (columns) of $\Sigma^*$; `rank` $r$.
    - `bandwidth`: $\sigma$; `latent_dim`: $k$; `unknown_mean`: whether $b$ is a parameter (else
      $b = b^*$ is fixed: the zero-mean model).
    - `subsets`: per family, the indices $j < r$ of the nonzero eigen-directions in $J$.
    - `null_directions`: per family, how many null-space directions of $\Sigma^*$ $J$ holds (any
      orthonormal choice: the representative takes $u_r, u_{r+1}, \dots$).
    - `variances`: per family, the $t_j$ of the subset's directions, then of its null directions.
    - `factors`: (n, d, k), a representative $A$ per family (columns $\sqrt{t_j}u_j$, then zeros).
    - `mmd2`: (n,), MMD² of each family.
    - `gradient_norms`: (n,), $\|\nabla\mathrm{MMD}^2\|$ at the representative (round-off).
    - `spectra`: (n, p), the Hessian's eigenvalues (ascending) at the representative, over the
      parameters $\theta = (\mathrm{vec}\,A$ row-major, then $b$ with `unknown_mean`).
    - `kinds`: per family, one of "global minimum" (no negative eigenvalue, the lowest MMD² of all
      families, below `value_at_infinity`), "strict saddle", "local maximum", "degenerate".
    - `counts`: the number of families of each kind.
    - `value_at_infinity`: $\det(I + 2\Sigma^*/\sigma^2)^{-1/2}$, the limit of MMD² as $\|A\| \to \infty$
      (then $P, Q \to 0$): the lowest family is the model's global minimum when it lies below.
    - `tolerance`: eigenvalues within `tolerance` × the largest $|$eigenvalue$|$ of all the spectra
      count as zero (the flat directions of the orbits).
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    rank: int
    bandwidth: float
    latent_dim: int
    unknown_mean: bool
    subsets: tuple[tuple[int, ...], ...]
    null_directions: tuple[int, ...]
    variances: tuple[np.ndarray, ...]
    factors: np.ndarray
    mmd2: np.ndarray
    gradient_norms: np.ndarray
    spectra: np.ndarray
    kinds: tuple[str, ...]
    counts: dict[str, int]
    value_at_infinity: float
    tolerance: float

    @property
    def covariances(self) -> np.ndarray:
        """$S = AA^\\top$ of each family's representative, (n, d, d)."""
        return self.factors @ np.swapaxes(self.factors, -1, -2)

    def match(self, covariances: ArrayLike, rtol: float = 1e-6) -> np.ndarray:
        """For each $S$ in `covariances` (n, d, d), the index of the family it belongs to (any
        orthonormal choice of its null directions), or -1 if none: in the eigenbasis of $\\Sigma^*$
        its range block must equal the family's diagonal, its cross block vanish, and its null
        block have the family's eigenvalues, all to `rtol` × (1 + $s_1$)."""
        s = np.asarray(covariances, dtype=float)
        rotated = np.swapaxes(self.eigenvectors, 0, 1) @ s @ self.eigenvectors
        r, scale = self.rank, rtol * (1.0 + float(self.eigenvalues[0]))
        found = np.full(s.shape[0], -1)
        for index, (subset, nulls, t) in enumerate(zip(self.subsets, self.null_directions, self.variances)):
            along = np.zeros(r)
            along[list(subset)] = t[: len(subset)]
            null_target = np.sort(np.concatenate([np.full(nulls, t[len(subset):][0] if nulls else 0.0),
                                                  np.zeros(self.eigenvalues.size - r - nulls)]))
            range_ok = np.abs(rotated[:, :r, :r] - np.diag(along)).max(axis=(1, 2), initial=0.0) <= scale
            cross_ok = np.abs(rotated[:, :r, r:]).max(axis=(1, 2), initial=0.0) <= scale
            null_eigenvalues = np.linalg.eigvalsh(rotated[:, r:, r:]) if r < s.shape[1] else np.zeros((s.shape[0], 0))
            null_ok = np.abs(null_eigenvalues - null_target).max(axis=1, initial=0.0) <= scale
            found = np.where((found < 0) & range_ok & cross_ok & null_ok, index, found)
        return found


def _objective(mean_star, cov_star, d: int, k: int, bandwidth: float, unknown_mean: bool):
    kernel = GaussianKernel(bandwidth)

    def mmd2(theta):
        a = theta[: d * k].reshape(d, k)
        b = theta[d * k:] if unknown_mean else mean_star
        return gaussian_mmd2(b, a @ a.T, mean_star, cov_star, kernel)

    return mmd2


def low_rank_critical_points(
    covariance: ArrayLike,
    latent_dim: int,
    bandwidth: float,
    *,
    mean: ArrayLike | None = None,
    tolerance: float = 1e-9,
) -> LowRankCriticalPoints:
    r"""Every stationary family of the population MMD² of $G(z) = Az + b$ ($A$: d × `latent_dim`)
    against $\mathcal N(b^*, \Sigma^*)$ under the Gaussian kernel of `bandwidth`, classified by its
    Hessian (module docstring).

    **Arguments:**
    - `covariance`: $\Sigma^*$ (d, d), positive semi-definite (its nonzero eigenvalues distinct for
      `match` to tell the families apart); eigenvalues below $10^{-12}s_1$ count as zero.
    - `latent_dim`: $k$, the columns of $A$.
    - `bandwidth`: $\sigma > 0$.
    - `mean`: $b^*$ for the unknown-mean model ($\theta = (A, b)$); None: the zero-mean model
      ($b = b^* = 0$ fixed, $\theta = A$).
    - `tolerance`: the relative size below which a Hessian eigenvalue counts as zero.
    """
    k = check_positive_int("latent_dim", latent_dim)
    check_positive("bandwidth", bandwidth)
    check_in_range("tolerance", tolerance, 0.0, 1.0)
    d = np.shape(covariance)[0] if np.ndim(covariance) == 2 else 0
    mean_star, cov_star = check_gaussian("covariance", jnp.zeros(d) if mean is None else mean, covariance)
    s, u = np.linalg.eigh(np.asarray(cov_star, dtype=float))
    s, u = s[::-1], u[:, ::-1]
    s = np.where(s > 1e-12 * max(s[0], 1e-300), s, 0.0)
    r = int(np.sum(s > 0))
    sigma2 = float(bandwidth) ** 2
    subsets, nulls, variances, factors = [], [], [], []
    for size in range(min(k, d) + 1):
        for n_null in range(min(size, d - r) + 1):
            for subset in itertools.combinations(range(r), size - n_null):
                directions = list(subset) + list(range(r, r + n_null))
                c = np.prod([(1 + s[i] / sigma2) ** -0.5 for i in range(d) if i not in directions])
                rho = c ** (2.0 / (2 + size))
                t = (sigma2 * (1 - rho) + s[directions]) / (2 * rho - 1) if size else np.zeros(0)
                if size and (rho <= 0.5 or np.any(t <= 1e-12 * (1 + s[0]))):
                    continue
                a = np.zeros((d, k))
                a[:, :size] = u[:, directions] * np.sqrt(t)
                subsets.append(tuple(subset))
                nulls.append(n_null)
                variances.append(t)
                factors.append(a)
    factors = np.stack(factors)
    mmd2 = _objective(mean_star, cov_star, d, k, bandwidth, mean is not None)
    thetas = np.stack([np.concatenate([a.ravel(), np.asarray(mean_star)]) if mean is not None else a.ravel()
                       for a in factors])
    thetas = jnp.asarray(thetas, dtype=cov_star.dtype)
    values, gradients, hessians = (np.asarray(a) for a in jax.jit(jax.vmap(lambda t: (mmd2(t), jax.grad(mmd2)(t), jax.hessian(mmd2)(t))))(thetas))
    spectra = np.linalg.eigvalsh(0.5 * (hessians + np.swapaxes(hessians, 1, 2)))
    zero = tolerance * float(np.abs(spectra).max())
    at_infinity = float(np.prod((1 + 2 * s / sigma2) ** -0.5))
    lowest = min(float(values.min()), at_infinity)
    kinds = []
    for spectrum, value in zip(spectra, values):
        negative, positive = bool(np.any(spectrum < -zero)), bool(np.any(spectrum > zero))
        if negative:
            kinds.append("strict saddle" if positive else "local maximum")
        else:
            kinds.append("global minimum" if value <= lowest + 1e-12 and value < at_infinity else "degenerate")
    return LowRankCriticalPoints(
        eigenvalues=s, eigenvectors=u, rank=r, bandwidth=float(bandwidth), latent_dim=k, unknown_mean=mean is not None,
        subsets=tuple(subsets), null_directions=tuple(nulls), variances=tuple(variances), factors=factors,
        mmd2=values, gradient_norms=np.linalg.norm(gradients, axis=1), spectra=spectra, kinds=tuple(kinds),
        counts={kind: kinds.count(kind) for kind in KINDS}, value_at_infinity=at_infinity, tolerance=float(tolerance),
    )
