r"""Overdamped Langevin dynamics toward a known density $\pi$ (`MATH.md` section 8):

$$dX_t = \nabla \log \pi(X_t)\,dt + \sqrt{2}\,dW_t,$$

the Wasserstein gradient flow of $\mathrm{KL}(\mu \,\|\, \pi)$ realised by independent particles.
For a Gaussian $\pi = \mathcal N(m, \Sigma)$ and a Gaussian start it is an Ornstein-Uhlenbeck
process, with mean $m + e^{-\Sigma^{-1}t}(m_0 - m)$ and covariance
$\Sigma + e^{-\Sigma^{-1}t}(S_0 - \Sigma)e^{-\Sigma^{-1}t}$: the SDE test oracle.
Euler-Maruyama on it (`diffrax.Euler()` with `dt0`) is the unadjusted Langevin algorithm.
"""

from __future__ import annotations

import jax.numpy as jnp

from .._checks import check_points, check_positive
from ..core.flow import Diagnostic
from ..core.sde import AbstractAdditiveNoiseFlow
from ..targets import AbstractTarget


def check_target_with_score(target) -> AbstractTarget:
    """The flows toward a known density need `target.score`: raise a `ValueError` otherwise."""
    if not isinstance(target, AbstractTarget):
        raise ValueError(f"`target` must be a flows target (e.g. flows.targets.Gaussian), got {type(target).__name__}.")
    if not target.has_density:
        raise ValueError(
            f"`target` must have a density (a score), but {type(target).__name__} can only be sampled; "
            "use a sample-based flow (MMDFlow, SinkhornFlow, SlicedWassersteinFlow) for it."
        )
    return target


class LangevinFlow(AbstractAdditiveNoiseFlow):
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
        if not isinstance(levy_area, bool):
            raise ValueError(f"`levy_area` must be True or False, got {levy_area!r}.")
        self.levy_area = levy_area

    def check_state(self, y0):
        return check_points("y0", y0, dim=self.target.dim, dim_name="target")

    def drift(self, t, y, args):
        return self.target.score(y).astype(y.dtype)

    def noise_scale(self, t):
        """The diffusion coefficient $\\sqrt 2$."""
        return jnp.sqrt(2.0)


    def mean_log_prob(self, t, y, args):
        """$\\frac1N\\sum_i \\log\\pi(x_i)$."""
        return jnp.mean(self.target.log_prob(y))

    def diagnostics(self) -> dict[str, Diagnostic]:
        return {"mean_log_prob": self.mean_log_prob}
