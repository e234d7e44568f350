r"""What a flow is: a vector field on a state pytree, and for gradient flows the functional it
decreases.

A flow is an `equinox` module (a pytree: its target samples and kernel bandwidths are traced, not
baked into the compiled code). `simulate` integrates `drift` with a diffrax solver, or steps it
with the discrete engine; diagnostics are pure functions of `(t, y, args)` evaluated inside the
compiled loop.

A *gradient flow* also knows its energy $F$ and the dissipation it claims,
$D(y) = -\frac{d}{dt}F(y_t)$, so that the identity $\frac{dF}{dt} + D = 0$ can be checked along
any trajectory. For the MMD flow of particles $dX/dt = -\nabla f_{\mu_t,\nu}(X)$, with
$F = \frac12 \mathrm{MMD}^2(\mu_t, \nu)$ and the witness
$f_{\mu,\nu}(z) = \mathbb E_{x\sim\mu} k(x, z) - \mathbb E_{y\sim\nu} k(y, z)$, it reads
$dF/dt = -\mathbb E_{\mu_t}\|\nabla f_{\mu_t,\nu}\|^2$ (Arbel, Korba, Salim, Gretton, "Maximum
Mean Discrepancy Gradient Flow", NeurIPS 2019).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import diffrax
import equinox as eqx
import jax
from jaxtyping import Array, PyTree

if TYPE_CHECKING:
    from .divergence import PointCloudSpread

Diagnostic = Callable[[Array, PyTree, PyTree], Array]
"""A diagnostic: a pure function `(t, y, args) -> array`, evaluated at every saved time."""


class AbstractFlow(eqx.Module):
    """A vector field $\\dot y = v(t, y)$ on a state pytree."""

    forward_differentiable: ClassVar[bool] = True
    """Whether `jax.jvp` applies to the drift (its Jacobian, `flows.analysis.max_stable_step`, and
    `simulate`'s step check need it); False for a drift through a solver with only a custom VJP."""

    @abc.abstractmethod
    def drift(self, t: Array, y: PyTree, args: PyTree) -> PyTree:
        """The velocity $v(t, y)$, a pytree like `y`."""

    def check_state(self, y0: PyTree) -> PyTree:
        """Validate an initial state (raise `ValueError` naming `y0`); return it as arrays."""
        return jax.tree_util.tree_map(jax.numpy.asarray, y0)

    def terms(self, t0: Array, t1: Array, key: Array | None, y0: PyTree) -> PyTree[diffrax.AbstractTerm]:
        """The diffrax terms to integrate over [t0, t1] from `y0`: an ODE term of the drift (SDE
        flows return a `MultiTerm` with a Brownian motion shaped like `y0`, drawn from `key`)."""
        return diffrax.ODETerm(self.drift)

    def discrete_drift(self, t: Array, y: PyTree, args: PyTree, key: Array | None) -> PyTree:
        """The direction the discrete engine steps along (the drift, unless a flow's scheme
        differs from its ODE, as noise injection does)."""
        return self.drift(t, y, args)

    def spread(self) -> PointCloudSpread | None:
        """How far a state reaches, measured against the flow's target, which `simulate` watches
        for divergence (`flows.core.divergence`); None (the default): the flow has no such notion,
        and only NaN or inf is caught."""
        return None

    def diagnostics(self) -> dict[str, Diagnostic]:
        """The diagnostics `simulate` records by default, by name.

        Return bound methods or `equinox` modules, not closures: they are pytrees, so the
        flow's arrays stay traced and one compilation serves every call."""
        return {}


class AbstractGradientFlow(AbstractFlow):
    """A flow that decreases an energy $F$ at the rate $D = -dF/dt \\ge 0$."""

    @abc.abstractmethod
    def energy(self, y: PyTree) -> Array:
        """The functional $F(y)$ the flow decreases."""

    @abc.abstractmethod
    def dissipation(self, t: Array, y: PyTree, args: PyTree) -> Array:
        """The claimed dissipation rate $D(t, y) = -\\frac{d}{dt}F(y_t) \\ge 0$."""

    def energy_at(self, t: Array, y: PyTree, args: PyTree) -> Array:
        """$F(y)$ as a diagnostic `(t, y, args) -> F(y)`."""
        return self.energy(y)

    def dissipation_residual(self, t: Array, y: PyTree, args: PyTree) -> Array:
        """$\\frac{dF}{dt} + D$, with $\\frac{dF}{dt} = \\langle \\nabla F(y), v(t, y)\\rangle$ by forward
        autodiff: zero (to rounding) when the drift and the dissipation are consistent with $F$."""
        velocity = self.drift(t, y, args)
        _, dF_dt = jax.jvp(self.energy, (y,), (velocity,))
        return dF_dt + self.dissipation(t, y, args)

    def diagnostics(self) -> dict[str, Diagnostic]:
        """`energy` and `dissipation`. `dissipation_residual` (a check of the drift against the
        energy by autodiff, costing about two drift evaluations) is recorded only when asked for:
        `diagnostics={**flow.diagnostics(), "dissipation_residual": flow.dissipation_residual}`."""
        return {"energy": self.energy_at, "dissipation": self.dissipation}
