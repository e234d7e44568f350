r"""Optimal-transport distances to fixed target samples, as in-loop diagnostics
(thin wrappers over `flows.discrepancies`).

All three use the squared Euclidean cost $c(x, y) = \|x - y\|^2$ and uniform weights.

- `SinkhornDivergence(target, epsilon)`: the debiased entropic OT cost
  $S_\varepsilon(\mu, \nu) = \mathrm{OT}_\varepsilon(\mu, \nu) - \tfrac12\mathrm{OT}_\varepsilon(\mu, \mu)
  - \tfrac12\mathrm{OT}_\varepsilon(\nu, \nu)$ (Feydy et al., AISTATS 2019).
  It interpolates between $W_2^2$ ($\varepsilon \to 0$) and MMD² with the kernel $-\|x-y\|^2$
  ($\varepsilon \to \infty$); non-negative and zero only when $\mu = \nu$ (`flows.discrepancies.sinkhorn_divergence`).
- `Wasserstein2(target, epsilon)`: $W_2$ estimated by the transport cost of the entropic plan at a
  small $\varepsilon$, rounded onto the couplings (`flows.discrepancies.entropic_w2`); $\varepsilon$
  is relative to the mean cost $\bar c$, so the default $10^{-3}$ is small on any data scale. Never
  below the exact $W_2$ between the two empirical measures, and its square above $W_2^2$ by at most
  $\varepsilon\,\bar c\,\log\min(N, M) + 3\,c_{\max}\,$`threshold`
  (`flows.discrepancies.w2_tolerance`): about $10^{-3}$ relative on small problems.
- `SlicedWasserstein(target, n_projections, key)`: $SW_2 = (\mathbb{E}_\theta W_2^2(\theta_\#\mu,
  \theta_\#\nu))^{1/2}$ over random directions $\theta$ on the sphere, each 1-D problem solved
  exactly by sorting (`flows.discrepancies.sliced_wasserstein2`); the directions are fixed by `key`, so the diagnostic
  is a deterministic function of the particles.

The two Sinkhorn diagnostics record NaN, with a `RuntimeWarning` naming `threshold` and
`max_iterations`, at a saved time where Sinkhorn did not converge (and `simulate` stops there).
"""

from __future__ import annotations

import equinox as eqx
import jax
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_points, check_positive, check_positive_int
from .._sampling import sphere_directions
from ..discrepancies.sliced import sliced_wasserstein2
from ..discrepancies.transport import (
    entropic_w2_unchecked,
    sinkhorn_divergence_unchecked,
)


class SinkhornDivergence(eqx.Module):
    """In-loop diagnostic: the Sinkhorn divergence $S_\\varepsilon$ (squared Euclidean cost) between
    the particles and `target`.

    **Arguments:**
    - `target`: target samples (M, d).
    - `epsilon`: the entropic regularisation $\\varepsilon$, in units of the squared distance.
    - `threshold`: Sinkhorn stops when the marginals are met to this tolerance.
    - `max_iterations`: the most Sinkhorn iterations; unconverged there, the value is NaN (with a
      warning).
    """

    target: Float[Array, "m d"]
    epsilon: float = eqx.field(static=True)
    threshold: float = eqx.field(static=True)
    max_iterations: int = eqx.field(static=True)

    def __init__(self, target: Float[ArrayLike, "m d"], epsilon: float = 0.1, threshold: float = 1e-3,
                 max_iterations: int = 2000):
        check_positive("epsilon", epsilon)
        check_positive("threshold", threshold)
        self.target = check_points("target", target)
        self.epsilon = float(epsilon)
        self.threshold = float(threshold)
        self.max_iterations = check_positive_int("max_iterations", max_iterations)

    def __call__(self, t, y, args):
        return sinkhorn_divergence_unchecked(
            y, self.target, self.epsilon, threshold=self.threshold, max_iterations=self.max_iterations,
            owner="diagnostics.SinkhornDivergence",
        )


class Wasserstein2(eqx.Module):
    """In-loop diagnostic: $W_2$ between the particles and `target`, from the entropic plan at a
    small relative $\\varepsilon$ (see the module docstring).

    **Arguments:**
    - `target`: target samples (M, d).
    - `epsilon`: the regularisation relative to the mean squared distance (default $10^{-3}$).
    - `max_iterations`: the most Sinkhorn iterations (default 20,000); unconverged there, the value
      is NaN (with a warning).
    - `threshold`: Sinkhorn's tolerance on the marginals, in $\\ell_1$ (default $10^{-3}$).
    """

    target: Float[Array, "m d"]
    epsilon: float = eqx.field(static=True)
    max_iterations: int = eqx.field(static=True)
    threshold: float = eqx.field(static=True)

    def __init__(self, target: Float[ArrayLike, "m d"], epsilon: float = 1e-3, max_iterations: int = 20_000,
                 threshold: float = 1e-3):
        check_positive("epsilon", epsilon)
        check_positive("threshold", threshold)
        self.target = check_points("target", target)
        self.epsilon = float(epsilon)
        self.max_iterations = check_positive_int("max_iterations", max_iterations)
        self.threshold = float(threshold)

    def __call__(self, t, y, args):
        return entropic_w2_unchecked(y, self.target, self.epsilon, threshold=self.threshold,
                                     max_iterations=self.max_iterations, owner="diagnostics.Wasserstein2")


class SlicedWasserstein(eqx.Module):
    """In-loop diagnostic: the sliced Wasserstein distance $SW_2$ between the particles and `target`
    (`flows.discrepancies.sliced_wasserstein2`: each 1-D problem solved exactly by sorting).

    **Arguments:**
    - `target`: target samples (M, d).
    - `n_projections`: the number of random directions.
    - `key`: the `jax.random` key that draws them (fixed for the whole run; default `PRNGKey(0)`).
    """

    target: Float[Array, "m d"]
    directions: Float[Array, "p d"]

    def __init__(self, target: Float[ArrayLike, "m d"], n_projections: int = 100, key: Array | None = None):
        n_projections = check_positive_int("n_projections", n_projections)
        self.target = check_points("target", target)
        key = jax.random.PRNGKey(0) if key is None else key
        self.directions = sphere_directions(key, n_projections, self.target.shape[1], self.target.dtype)

    def __call__(self, t, y, args):
        return jax.numpy.sqrt(sliced_wasserstein2(y, self.target.astype(y.dtype), self.directions.astype(y.dtype)))
