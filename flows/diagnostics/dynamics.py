r"""Diagnostics of the dynamics itself: how fast the particles move, and whether the energy
decreases at the rate the flow claims, $\frac{dF}{dt} = -D$ (for the MMD flow
$D = \mathbb{E}_{\mu_t}\|\nabla f_{\mu_t,\nu}\|^2$, Arbel, Korba, Salim, Gretton, NeurIPS 2019).

- `VelocityNorm(flow)`: the root-mean-square speed $\big(\frac1N\sum_i \|v(t, x_i)\|^2\big)^{1/2}$;
  for the MMD flow its square is the dissipation $\mathbb{E}\|\nabla f\|^2$, and it goes to 0 at
  a stationary point (the target, or a spurious one where the flow stalls).
- `RelativeDissipationResidual(flow)`: $|dF/dt + D| / D$ with $dF/dt = \langle\nabla F, v\rangle$
  by forward autodiff: a scale-free check of the flow's drift against its energy (0 to rounding).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from ..core.flow import AbstractFlow, AbstractGradientFlow


class VelocityNorm(eqx.Module):
    """In-loop diagnostic: the RMS speed of the particles, or the norm of the velocity of a
    pytree state divided by the square root of its leading dimension."""

    flow: AbstractFlow

    def __init__(self, flow: AbstractFlow):
        if not isinstance(flow, AbstractFlow):
            raise ValueError(f"`flow` must be a flows flow, got {type(flow).__name__}.")
        self.flow = flow

    def __call__(self, t, y, args):
        velocity = self.flow.drift(t, y, args)
        leaves = jax.tree_util.tree_leaves(velocity)
        total = sum(jnp.sum(leaf**2) for leaf in leaves)
        count = leaves[0].shape[0] if leaves[0].ndim else 1
        return jnp.sqrt(total / count)


class RelativeDissipationResidual(eqx.Module):
    """In-loop diagnostic: $|dF/dt + D| / D$ for a gradient flow (0 where $D = 0$)."""

    flow: AbstractGradientFlow

    def __init__(self, flow: AbstractGradientFlow):
        if not isinstance(flow, AbstractGradientFlow):
            raise ValueError(f"`flow` must be a gradient flow (with energy and dissipation), got {type(flow).__name__}.")
        self.flow = flow

    def __call__(self, t, y, args):
        residual = self.flow.dissipation_residual(t, y, args)
        dissipation = self.flow.dissipation(t, y, args)
        return jnp.where(dissipation > 0, jnp.abs(residual) / jnp.where(dissipation > 0, dissipation, 1.0), 0.0)
