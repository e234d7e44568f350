r"""Overdamped Langevin dynamics toward a known density $\pi$:

$$dX_t = \nabla \log \pi(X_t)\,dt + \sqrt{2}\,dW_t,$$

the Wasserstein gradient flow of $\mathrm{KL}(\mu \,\|\, \pi)$ realised by independent particles
(Jordan, Kinderlehrer, Otto, SIAM J. Math. Anal. 1998).
For a Gaussian $\pi = \mathcal N(m, \Sigma)$ and a Gaussian start it is an Ornstein-Uhlenbeck
process, with mean $m + e^{-\Sigma^{-1}t}(m_0 - m)$ and covariance
$\Sigma + e^{-\Sigma^{-1}t}(S_0 - \Sigma)e^{-\Sigma^{-1}t}$: the SDE test oracle.
Euler-Maruyama on it (`diffrax.Euler()` with `dt0`) is the unadjusted Langevin algorithm
(Roberts and Tweedie, Bernoulli 1996).
"""

from __future__ import annotations

import jax.numpy as jnp

from .._checks import check_bool, check_positive
from ..core.flow import Diagnostic
from ..core.sde import AbstractAdditiveNoiseFlow
from ..targets import AbstractTarget
from .base import AbstractDensityTargetFlow, check_target_with_score


class LangevinFlow(AbstractDensityTargetFlow, AbstractAdditiveNoiseFlow):
    r"""Langevin SDE $dX = \nabla\log\pi(X)\,dt + \sqrt{2}\,dW$ for a batch of independent particles.

    **Arguments:**
    - `target`: a target with a density (`flows.targets.Gaussian`, `GaussianMixture`, ...).
    - `brownian_tolerance`: the Brownian tree's time resolution (default $(t_1 - t_0)2^{-16}$).
    - `levy_area`: whether the Brownian tree carries space-time Lévy area (default True, needed by
      `ShARK`, `SEA`, `SRA1`); False is several times cheaper and enough for `Euler` and `Heun`.

    Needs `simulate(..., key=...)` and a diffrax solver with a fixed step (`dt0`): `diffrax.Euler()`
    (Euler-Maruyama / ULA), `diffrax.Heun()`, or the additive-noise `diffrax.ShARK()`, `SEA()`, `SRA1()`.
    **Diagnostics:** `mean_log_prob` ($\frac1N\sum_i \log\pi(x_i)$).
    """

    target: AbstractTarget
    brownian_tolerance: float | None = None
    levy_area: bool = True
    sde_name = "Langevin dynamics"
    euler_hint = "dt0=0.01 (the unadjusted Langevin algorithm)."

    def __init__(self, target: AbstractTarget, brownian_tolerance: float | None = None, levy_area: bool = True):
        self.target = check_target_with_score(target)
        if brownian_tolerance is not None:
            check_positive("brownian_tolerance", brownian_tolerance)
        self.brownian_tolerance = brownian_tolerance
        self.levy_area = check_bool("levy_area", levy_area)

    def drift(self, t, y, args):
        return self.score(y)

    def noise_scale(self, t):
        """The diffusion coefficient $\\sqrt 2$."""
        return jnp.sqrt(2.0)

    def diagnostics(self) -> dict[str, Diagnostic]:
        return {"mean_log_prob": self.mean_log_prob}
