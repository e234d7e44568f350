r"""The parametric MMD gradient flow: gradient descent on a generator's parameters."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .base import AbstractParametricFlow


class ParametricMMDFlow(AbstractParametricFlow):
    r"""Parametric MMD gradient flow $\dot\theta = -\nabla_\theta F(\theta)$, $F = \frac12\mathrm{MMD}^2(G_\theta\#p_z, \nu)$:
    what MMD-GAN generator training does without a critic (`MATH.md` section 5).

    Run it with a diffrax solver (the ODE on the fixed latent batch), or with
    `flows.GradientDescent(step=lr)` / an optax optimizer: parametric MMD GD, with fresh latents
    per step when `fresh_latents` is set.

    **Arguments:**
    - `generator`: an equinox generator (e.g. `AffineGenerator`, `MLPGenerator`, any module
      mapping one latent (k,) to one sample (d,)); its static part is kept by the flow.
    - `target`: target samples (M, d), or a `GaussianTarget` for population mode.
    - `kernel`: the kernel $k$ (Gaussian or sums of Gaussians in population mode).
    - `latents`: the fixed latent batch (m, k) (not in population mode).
    - `fresh_latents`: draw this many fresh latents per discrete step (needs `simulate(key=...)`).

    **Diagnostics:** `mmd2`, `energy`, `dissipation` ($\|\nabla F\|^2$), `dissipation_residual`.
    """

    def velocity(self, params, latents=None):
        gradient = self.linearize(params, latents).gradient
        return jax.tree_util.tree_map(jnp.negative, gradient), gradient
