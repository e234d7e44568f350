r"""The diffrax terms of an SDE with additive (state-independent) diagonal noise,

$$dY = v(t, Y)\,dt + g(t)\,dW_t,$$

shared by the stochastic flows (Langevin, the diffusion MMD flow). The Brownian motion is a
`diffrax.VirtualBrownianTree` drawn from an explicit key and shaped like the state, with
space-time Lévy area by default, so every diffrax SDE solver runs on it: `Euler`
(Euler-Maruyama), `Heun`, and the additive-noise stochastic Runge-Kutta methods `ShARK`, `SEA`,
`SRA1`. `levy_area=False` gives a tree of Brownian increments only: enough for `Euler` and
`Heun`, and several times cheaper per step (about 3× on the diffusion MMD flow of
`experiments/noise_injection.py`). The same key gives the same Brownian path at every step size,
which is what strong-order measurements need; the two kinds of tree give different paths.
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, PyTree

from .flow import AbstractFlow


def require_key(key: Array | None, flow_name: str) -> Array:
    """Raise a `ValueError` naming `key` when a stochastic flow is run without one."""
    if key is None:
        raise ValueError(
            f"`key` is required: {flow_name} is stochastic. Pass simulate(..., key=jax.random.PRNGKey(0)); "
            "the same key gives the same trajectory."
        )
    return key


def additive_noise_terms(
    drift: Callable[[Array, PyTree, PyTree], PyTree],
    noise_scale: Callable[[Array], Array],
    t0: Array,
    t1: Array,
    key: Array,
    y0: Array,
    tolerance: float | None,
    levy_area: bool = True,
) -> diffrax.MultiTerm:
    """`MultiTerm(ODETerm(drift), ControlTerm(g(t) I, W))` with $W$ a virtual Brownian tree on [t0, t1].

    **Arguments:**
    - `drift`: $v(t, y, \\text{args})$.
    - `noise_scale`: $g(t)$, a scalar for each time (the same on every coordinate).
    - `key`: the key the Brownian path is drawn from.
    - `y0`: the initial state (fixes the Brownian motion's shape and dtype).
    - `tolerance`: the tree's resolution in time; default $(t_1 - t_0)\\,2^{-16}$. Keep it below
      the smallest step.
    - `levy_area`: whether the tree also carries space-time Lévy area (needed by `ShARK`, `SEA`,
      `SRA1`); False: increments only, for `Euler` and `Heun`.
    """
    tol = (t1 - t0) * 2.0**-16 if tolerance is None else tolerance
    brownian = diffrax.VirtualBrownianTree(
        t0, t1, tol=tol, shape=jax.ShapeDtypeStruct(y0.shape, y0.dtype), key=key,
        levy_area=diffrax.SpaceTimeLevyArea if levy_area else diffrax.BrownianIncrement,
    )
    return diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(_DiagonalNoise(noise_scale), brownian))


class _DiagonalNoise(eqx.Module):
    """The diffusion vector field $(t, y) \\mapsto g(t) I$ as a diagonal linear operator."""

    noise_scale: Callable[[Array], Array]

    def __call__(self, t, y, args):
        return lx.DiagonalLinearOperator(jnp.full_like(y, self.noise_scale(t)))


class AbstractAdditiveNoiseFlow(AbstractFlow):
    r"""A flow that is an SDE with additive noise, $dY = v(t, Y)\,dt + g(t)\,dW_t$: its diffrax terms
    are `additive_noise_terms` and it has no gradient-descent scheme.

    Subclasses give `noise_scale` ($g$), the fields `brownian_tolerance` and `levy_area` (see
    `additive_noise_terms`), and the class variables `sde_name` (for messages) and `euler_hint`
    (how to run it with Euler-Maruyama).
    """

    brownian_tolerance: eqx.AbstractVar[float | None]
    levy_area: eqx.AbstractVar[bool]
    sde_name: eqx.AbstractClassVar[str]
    euler_hint: eqx.AbstractClassVar[str]

    @abc.abstractmethod
    def noise_scale(self, t: Array) -> Array:
        """The diffusion coefficient $g(t)$."""

    def terms(self, t0, t1, key, y0):
        key = require_key(key, self.sde_name)
        return additive_noise_terms(self.drift, self.noise_scale, t0, t1, key, y0, self.brownian_tolerance, self.levy_area)

    def discrete_drift(self, t, y, args, key):
        raise ValueError(
            f"`solver`: {self.sde_name} is an SDE; integrate it with a diffrax solver and a fixed step, "
            f"e.g. solver=diffrax.Euler(), {self.euler_hint}"
        )
