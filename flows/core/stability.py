r"""When does gradient descent on a flow stop following it? Linear stability of the explicit step.

Near a state $y$ the step $y \leftarrow y + h\,v(y)$ acts on a perturbation $e$ as
$e \leftarrow (I + hJ)e$, $J = \partial v/\partial y$ (the drift's Jacobian, by autodiff). It
contracts along an eigenvector of $J$ with eigenvalue $\lambda$ iff $|1 + h\lambda| < 1$, i.e.
$h < -2\,\mathrm{Re}\,\lambda/|\lambda|^2$; for a gradient flow ($J = -\nabla^2 F$ up to the
flow's metric, real eigenvalues $-\mu \le 0$) that is the classical $h < 2/\mu_{\max}$.
At an equilibrium $y^*$ this is the exact threshold beyond which gradient descent cannot converge
to $y^*$; along a path it is a local estimate (the descent lemma's $2/L$ with the local
curvature), not a guarantee. Eigenvalues with $\mathrm{Re}\,\lambda \ge 0$ (unstable or neutral
directions of the flow itself) impose no bound.

The Jacobian is dense, (p, p) for p state entries: for particle clouds of a few hundred points or
small generators. `simulate` uses it before a run of an explicit scheme (plain
`GradientDescent(step=h)`, or diffrax's `Euler` with a constant step `dt0 = h`) where it is cheap
next to the run, and warns when $h$ is above the limit at the initial state
(`warn_if_step_unstable`). The same functions are `flows.analysis.drift_jacobian` and
`flows.analysis.max_stable_step`.
"""

from __future__ import annotations

import warnings

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, PyTree

from .flow import AbstractFlow

STEP_CHECK_MAX_ENTRIES = 1024
"""The largest state (entries) whose Jacobian `simulate` forms to check an explicit step."""
STEP_CHECK_STEPS_PER_ENTRY = 20
"""Steps the run must have per state entry for `simulate` to check its step (see `warn_if_step_unstable`)."""
_TANGENT_BATCH = 64  # Jacobian columns per batch: bounds the memory of the forward-mode pass


@eqx.filter_jit
def _jacobian(flow: AbstractFlow, y: PyTree, t: Array, args: PyTree) -> Array:
    flat, unravel = ravel_pytree(y)

    def column(tangent):
        return jax.jvp(lambda z: ravel_pytree(flow.drift(t, unravel(z), args))[0], (flat,), (tangent,))[1]

    batch = min(_TANGENT_BATCH, flat.size)
    padded = -(-flat.size // batch) * batch  # zero tangents pad the last batch: one compiled batch body
    basis = jnp.eye(padded, flat.size, dtype=flat.dtype)
    return jax.lax.map(column, basis, batch_size=batch)[: flat.size].T


def _check_flow(flow) -> AbstractFlow:
    if not isinstance(flow, AbstractFlow):
        raise ValueError(f"`flow` must be a flows flow (e.g. flows.MMDFlow), got {type(flow).__name__}.")
    if not flow.forward_differentiable:
        raise ValueError(
            f"`flow`: the drift of {type(flow).__name__} has no forward-mode derivative (jax.jvp), so its "
            "Jacobian is not available."
        )
    return flow


def drift_jacobian(flow: AbstractFlow, y: PyTree, t: float = 0.0, args: PyTree = None) -> Array:
    """$J = \\partial v(t, y)/\\partial y$ as a dense (p, p) matrix over the flattened state
    (`jax.flatten_util.ravel_pytree` order), by forward-mode autodiff. `y` is a state `simulate`
    accepts (checked)."""
    y = _check_flow(flow).check_state(y)
    dtype = jax.tree_util.tree_leaves(y)[0].dtype
    return _jacobian(flow, y, jnp.asarray(t, dtype), args)


def _stable_step(jacobian: Array) -> float:
    eigenvalues = np.linalg.eigvals(np.asarray(jacobian, dtype=np.float64))
    decaying = eigenvalues[eigenvalues.real < 0]
    if decaying.size == 0:
        return float("inf")
    return float(np.min(-2.0 * decaying.real / np.abs(decaying) ** 2))


def max_stable_step(flow: AbstractFlow, y: PyTree, t: float = 0.0, args: PyTree = None) -> float:
    """The largest step $h$ with $|1 + h\\lambda| \\le 1$ for every eigenvalue $\\lambda$ of the drift's
    Jacobian at `y`: $\\min_{\\mathrm{Re}\\lambda < 0} -2\\,\\mathrm{Re}\\lambda/|\\lambda|^2$ (inf if none).
    At an equilibrium, gradient descent with a larger step cannot converge to it."""
    return _stable_step(drift_jacobian(flow, y, t, args))


def warn_if_step_unstable(
    flow: AbstractFlow, y0: PyTree, step: float, steps: int, t0: float, args: PyTree, setting: str
) -> None:
    """Before a run of `steps` steps of the explicit scheme $y \\leftarrow y + h\\,v(t, y)$ with
    $h$ = `step`: a `RuntimeWarning` naming `setting` (the argument that sets $h$) when $h$ exceeds
    `max_stable_step` at the initial state `y0` (already checked). Only where it is cheap next to
    the run: the Jacobian takes one forward-mode drift derivative (about two drift evaluations)
    per state entry, so it is formed for states of at most `STEP_CHECK_MAX_ENTRIES` entries and at
    most `steps / STEP_CHECK_STEPS_PER_ENTRY` (a tenth of the run's drift evaluations), and for
    flows with a forward-mode derivative."""
    size = sum(int(np.size(leaf)) for leaf in jax.tree_util.tree_leaves(y0))
    if size > min(STEP_CHECK_MAX_ENTRIES, steps // STEP_CHECK_STEPS_PER_ENTRY) or not flow.forward_differentiable:
        return
    dtype = jax.tree_util.tree_leaves(y0)[0].dtype
    limit = _stable_step(_jacobian(flow, y0, jnp.asarray(t0, dtype), args))
    if step > limit:
        warnings.warn(
            f"`{setting}` = {step:g} is above the linear-stability limit of the explicit step at the initial "
            f"state, {limit:.4g} (flows.analysis.max_stable_step: 2/mu_max of the drift's Jacobian): the scheme "
            f"amplifies perturbations there and may diverge or oscillate. Use `{setting}` < {limit:.4g} to follow "
            "the flow (or an adaptive diffrax solver, e.g. diffrax.Tsit5()).",
            RuntimeWarning,
            stacklevel=3,
        )
