r"""The parametric MMD gradient flow: gradient descent on a generator's parameters."""

from __future__ import annotations

import optax

from .base import AbstractParametricFlow


class ParametricMMDFlow(AbstractParametricFlow):
    r"""Parametric MMD gradient flow $\dot\theta = -\nabla_\theta F(\theta)$, $F = \frac12\mathrm{MMD}^2(G_\theta\#p_z, \nu)$:
    what MMD-GAN generator training does without a critic (Mroueh & Nguyen, AISTATS 2021). With
    latents $z_a$, $x_a = G_\theta(z_a)$ and $J_a = \partial x_a/\partial\theta$,
    $\nabla_\theta F = \frac1m\sum_a J_a^\top\nabla f(x_a)$, $f$ the witness (model minus target).

    Run it with a diffrax solver (the ODE on the fixed latent batch), or with
    `flows.GradientDescent(step=lr)` / an optax optimizer: parametric MMD GD, with fresh latents
    per step when `fresh_latents` is set.

    **Arguments:** `generator`, `target` (samples (M, d), or a `flows.targets.Gaussian` for
    population mode), `kernel`, `latents`, `fresh_latents`, `backend` (see
    `AbstractParametricFlow`).

    **Diagnostics:** `mmd2`, `energy`, `dissipation` ($\|\nabla F\|^2$); `dissipation_residual` when
    asked for.
    """

    def velocity(self, params, latents=None):
        gradient = self.linearize(params, latents).gradient
        return optax.tree_utils.tree_scale(-1.0, gradient), gradient
