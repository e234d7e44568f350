r"""The sliced Wasserstein flow (Liutkus, Şimşekli, Majewski, Durmus, Stöter, ICML 2019; Bonneel, Rabin,
Peyré, Pfister, J. Math. Imaging Vis. 2015).

$F(\mu) = \frac12\mathrm{SW}_2^2(\mu, \nu) \approx \frac1{2P}\sum_{p=1}^P W_2^2(\theta_p\#\mu, \theta_p\#\nu)$
over $P$ random unit directions $\theta_p$. In one dimension optimal transport is monotone, so
$W_2^2$ between two empirical measures comes from sorting:
$W_2^2 = \int_0^1 |F_\mu^{-1}(u) - F_\nu^{-1}(u)|^2\,du$, and both quantile functions are step
functions, constant between the merged levels $\{i/N\} \cup \{j/M\}$ — exact for any $N$, $M$, at
$O(P(N + M)\log(N + M))$ cost. Particles move by $\dot x_i = -N\,\partial F/\partial x_i$ (autodiff
through the sort); for $N = M$ that is
$\dot x_i = -\frac1P\sum_p (\theta_p\cdot x_i - \theta_p\cdot y_{\sigma_p(i)})\,\theta_p$ with
$\sigma_p$ the sorting match.

With fixed directions (drawn once from `key`) this is the gradient flow of a fixed energy, for
any diffrax solver; `resample=True` draws fresh directions at every step of the discrete
engine (stochastic gradient descent on $\mathrm{SW}_2^2$).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_bool, check_key, check_positive_int
from .._sampling import sphere_directions
from ..core.flow import AbstractGradientFlow, Diagnostic
from ..core.sde import require_key
from ..discrepancies.sliced import sliced_wasserstein2
from .base import AbstractSampleTargetFlow, check_sample_target


class SlicedWassersteinFlow(AbstractSampleTargetFlow, AbstractGradientFlow):
    r"""Sliced Wasserstein flow $\dot x_i = -N\,\partial_{x_i}\frac12\mathrm{SW}_2^2$ toward target samples.

    **Arguments:**
    - `target`: target samples, shape (M, d).
    - `n_projections`: the number $P$ of directions.
    - `key`: the `jax.random` key the directions are drawn from.
    - `resample`: draw fresh directions at every step of the discrete engine (needs
      `simulate(..., key=...)`); the ODE always uses the fixed ones.

    **Diagnostics:** `sw2` ($\mathrm{SW}_2^2$ over the fixed directions), `energy`, `dissipation`;
    `dissipation_residual` when asked for.
    """

    target: Float[Array, "m d"]
    directions: Float[Array, "p d"]
    resample: bool = False

    def __init__(self, target: Float[ArrayLike, "m d"], n_projections: int, key: Array, resample: bool = False):
        self.target = check_sample_target(target)
        n_projections = check_positive_int("n_projections", n_projections)
        key = check_key("key", key)
        self.directions = sphere_directions(key, n_projections, self.target.shape[1], self.target.dtype)
        self.resample = check_bool("resample", resample)

    def _energy(self, y: Array, directions: Array) -> Array:
        return 0.5 * sliced_wasserstein2(y, self.target_like(y), directions.astype(y.dtype))

    def energy(self, y):
        return self._energy(y, self.directions)

    def drift(self, t, y, args):
        return -y.shape[0] * jax.grad(self.energy)(y)

    def discrete_drift(self, t, y, args, key):
        if not self.resample:
            return self.drift(t, y, args)
        key = require_key(key, "the sliced Wasserstein flow with resample=True")
        directions = sphere_directions(key, self.directions.shape[0], y.shape[1], y.dtype)
        return -y.shape[0] * jax.grad(self._energy)(y, directions)

    def dissipation(self, t, y, args):
        velocity = self.drift(t, y, args)
        return jnp.mean(jnp.sum(velocity**2, axis=1))

    def sw2(self, t, y, args):
        """$\\mathrm{SW}_2^2$ over the flow's fixed directions."""
        return 2 * self.energy(y)

    def diagnostics(self) -> dict[str, Diagnostic]:
        return {"sw2": self.sw2, **super().diagnostics()}
