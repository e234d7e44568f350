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
small generators.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, PyTree

from ..core.flow import AbstractFlow


@eqx.filter_jit
def _jacobian(flow: AbstractFlow, y: PyTree, t: Array, args: PyTree) -> Array:
    flat, unravel = ravel_pytree(y)
    return jax.jacfwd(lambda z: ravel_pytree(flow.drift(t, unravel(z), args))[0])(flat)


def drift_jacobian(flow: AbstractFlow, y: PyTree, t: float = 0.0, args: PyTree = None) -> Array:
    """$J = \\partial v(t, y)/\\partial y$ as a dense (p, p) matrix over the flattened state
    (`jax.flatten_util.ravel_pytree` order). `y` is a state `simulate` accepts (checked)."""
    if not isinstance(flow, AbstractFlow):
        raise ValueError(f"`flow` must be a flows flow (e.g. flows.MMDFlow), got {type(flow).__name__}.")
    y = flow.check_state(y)
    dtype = jax.tree_util.tree_leaves(y)[0].dtype
    return _jacobian(flow, y, jnp.asarray(t, dtype), args)


def max_stable_step(flow: AbstractFlow, y: PyTree, t: float = 0.0, args: PyTree = None) -> float:
    """The largest step $h$ with $|1 + h\\lambda| \\le 1$ for every eigenvalue $\\lambda$ of the drift's
    Jacobian at `y`: $\\min_{\\mathrm{Re}\\lambda < 0} -2\\,\\mathrm{Re}\\lambda/|\\lambda|^2$ (inf if none).
    At an equilibrium, gradient descent with a larger step cannot converge to it."""
    eigenvalues = np.linalg.eigvals(np.asarray(drift_jacobian(flow, y, t, args), dtype=np.float64))
    decaying = eigenvalues[eigenvalues.real < 0]
    if decaying.size == 0:
        return float("inf")
    return float(np.min(-2.0 * decaying.real / np.abs(decaying) ** 2))
