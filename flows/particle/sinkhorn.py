r"""The Sinkhorn divergence flow (Feydy, Séjourné, Vialard, Amari, Trouvé, Peyré, AISTATS 2019), through
`ott-jax`.

$S_\varepsilon(\mu, \nu) = \mathrm{OT}_\varepsilon(\mu, \nu) - \frac12\mathrm{OT}_\varepsilon(\mu, \mu)
- \frac12\mathrm{OT}_\varepsilon(\nu, \nu)$ with the entropic optimal transport cost
$\mathrm{OT}_\varepsilon$ for the squared Euclidean cost $\|x - y\|^2$. It interpolates between
$W_2^2$ ($\varepsilon \to 0$) and an MMD with kernel $-\|x - y\|^2$ ($\varepsilon \to \infty$), is
positive and convex in each argument, so its flow does not stall the way an MMD flow can. Values
and gradients come from ott-jax (`flows.discrepancies.sinkhorn_divergence`: Sinkhorn iterations,
gradients by implicit differentiation); particles move by $\dot x_i = -N\,\partial S_\varepsilon/\partial x_i$.
A Sinkhorn solve that stops at `max_iterations` unconverged makes the drift and the energy NaN,
with a warning naming `threshold` and `max_iterations`, so `simulate` stops there.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_positive, check_positive_int
from ..core.convergence import nan_unless_converged
from ..core.flow import AbstractGradientFlow, Diagnostic
from ..discrepancies.transport import NAN, not_converged_message, sinkhorn_divergence_solve
from .base import AbstractSampleTargetFlow, check_sample_target


class SinkhornFlow(AbstractSampleTargetFlow, AbstractGradientFlow):
    r"""Sinkhorn divergence flow $\dot x_i = -N\,\partial_{x_i} S_\varepsilon(\mu_N, \nu)$.

    **Arguments:**
    - `target`: target samples, shape (M, d).
    - `epsilon`: the entropic regularization $\varepsilon > 0$ (in units of squared distance).
    - `threshold`: Sinkhorn's stopping tolerance on the marginals (default 1e-6).
    - `max_iterations`: the most Sinkhorn iterations per evaluation (default 2000); an
      unconverged evaluation is NaN (with a warning naming both settings).

    **Diagnostics:** `sinkhorn_divergence` ($S_\varepsilon$), `energy`, `dissipation`;
    `dissipation_residual` when asked for.
    """

    target: Float[Array, "m d"]
    epsilon: float | Array
    threshold: float = 1e-6
    max_iterations: int = 2000
    forward_differentiable = False  # ott's Sinkhorn differentiates by a custom VJP only

    def __init__(self, target: Float[ArrayLike, "m d"], epsilon: float, threshold: float = 1e-6, max_iterations: int = 2000):
        self.target = check_sample_target(target)
        check_positive("epsilon", epsilon)
        check_positive("threshold", threshold)
        self.epsilon = epsilon
        self.threshold = threshold
        self.max_iterations = check_positive_int("max_iterations", max_iterations)

    def _divergence(self, y: Array) -> tuple[Array, Array]:
        """$S_\\varepsilon$ and whether its Sinkhorn solves converged."""
        return sinkhorn_divergence_solve(
            y, self.target, self.epsilon, threshold=self.threshold, max_iterations=self.max_iterations
        )

    def _unless_unconverged(self, value, converged):
        message = not_converged_message("SinkhornFlow", self.threshold, self.max_iterations, recorded=NAN)
        return nan_unless_converged(value, converged, message)

    def energy(self, y):
        return self._unless_unconverged(*self._divergence(y))

    def drift(self, t, y, args):
        gradient, converged = jax.grad(self._divergence, has_aux=True)(y)
        return self._unless_unconverged(-y.shape[0] * gradient, converged)

    def dissipation(self, t, y, args):
        velocity = self.drift(t, y, args)
        return jnp.mean(jnp.sum(velocity**2, axis=1))

    def dissipation_residual(self, t, y, args):
        """$\\frac{dF}{dt} + D$ with $\\frac{dF}{dt} = \\langle\\nabla F, v\\rangle$ by reverse-mode autodiff
        (ott's Sinkhorn has a custom VJP, so the forward-mode default does not apply)."""
        velocity = self.drift(t, y, args)
        return jnp.sum(jax.grad(self.energy)(y) * velocity) + self.dissipation(t, y, args)

    def sinkhorn_divergence(self, t, y, args):
        """$S_\\varepsilon$ between the particles and the target."""
        return self.energy(y)

    def diagnostics(self) -> dict[str, Diagnostic]:
        return {"sinkhorn_divergence": self.sinkhorn_divergence, **super().diagnostics()}
