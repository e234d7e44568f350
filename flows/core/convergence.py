"""Inner iterative solvers that say when they did not converge, from inside compiled code.

A flow's drift or a diagnostic may run an iterative solver (conjugate gradient for a kernel
Sobolev or PKGF direction, Sinkhorn for a transport cost) inside `simulate`'s compiled loop,
where nothing can be raised. An unconverged solve must not pass for a result: its value becomes
NaN, so `simulate` stops with `FlowDivergedError` at that time, and a `RuntimeWarning` naming
the setting to change is emitted when it happens (`nan_unless_converged`).
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
from jaxtyping import Array, PyTree


def _warn(message: str) -> None:
    warnings.warn(message, RuntimeWarning, stacklevel=2)


def warn_unless(converged: Array, message: str) -> None:
    """At run time, a `RuntimeWarning` with `message` when the traced boolean `converged` is False
    (a host callback, taken only on that branch)."""
    jax.lax.cond(converged, lambda: None, lambda: jax.debug.callback(_warn, message))


def nan_unless_converged(tree: PyTree, converged: Array, message: str) -> PyTree:
    """`tree` where `converged`, else NaN in every floating leaf, with `warn_unless(converged, message)`."""
    warn_unless(converged, message)
    return jax.tree_util.tree_map(lambda leaf: jnp.where(converged, leaf, jnp.nan), tree)
