"""Inner iterative solvers that say when they did not converge, from inside compiled code.

A flow's drift or a diagnostic may run an iterative solver (conjugate gradient for a kernel
Sobolev or PKGF direction, Sinkhorn for a transport cost) inside `simulate`'s compiled loop,
where nothing can be raised. An unconverged solve must not pass for a result: its value becomes
NaN, so `simulate` stops with `FlowDivergedError` at that time, and a `RuntimeWarning` naming
the setting to change is emitted when it happens (`nan_unless_converged`; `conjugate_gradient`
for the linear solves).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import lineax as lx
import optax
from jaxtyping import Array, PyTree


def shown(value) -> str:
    """A setting's value for a message: the number, or "its value" when it is traced."""
    return f"{float(value):g}" if isinstance(value, (int, float)) else "its value"


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


def conjugate_gradient(
    matvec: Callable[[PyTree], PyTree],
    rhs: PyTree,
    shift: Array,
    *,
    rtol: float,
    atol: float | Array,
    max_steps: int | None,
    message: str,
    normwise: bool = False,
) -> PyTree:
    r"""Solve `matvec(v) + shift * v = rhs` (`matvec` symmetric positive semi-definite, shift > 0)
    with `lineax.CG`; NaN, with a `RuntimeWarning` carrying `message`, if CG stops unconverged.

    The system is scaled by $s/\text{shift}$, $s = \max(1, 10^3\,\varepsilon\, n)$ (same solution), so
    its Rayleigh quotients are at least $s$ and lineax's breakdown test (it stops when
    $p^\top Ap \le 100\,\varepsilon\, n\, r^\top r$) cannot fire on this positive definite system, even
    in float32 with $10^4$ unknowns. The stopping rule is lineax's, on the scaled system
    $A'v = b'$: $|r'_i| \le$ `atol` + `rtol` $|b'_i|$ for every entry. With `normwise=True` it is instead
    $\|r\|_\infty \le$ `atol` + `rtol` $\|\text{rhs}\|_\infty$ on the unscaled residual: relative to the
    largest entry of the right-hand side, so an entry of `rhs` near zero does not ask for a
    residual below what the arithmetic resolves there (which made float32 solves run out of
    steps). `max_steps` None: 10 × the number of unknowns.
    """
    leaves = jax.tree_util.tree_leaves(rhs)
    size = sum(leaf.size for leaf in leaves)
    floor = max(1.0, 1e3 * float(jnp.finfo(leaves[0].dtype).eps) * size)
    scale = floor / shift
    operator = lx.FunctionLinearOperator(
        lambda v: optax.tree_utils.tree_add_scale(optax.tree_utils.tree_scale(scale, matvec(v)), floor, v),
        jax.eval_shape(lambda: rhs),
        tags=(lx.symmetric_tag, lx.positive_semidefinite_tag),
    )
    vector = optax.tree_utils.tree_scale(scale, rhs)
    if normwise:
        largest = jnp.max(jnp.stack([jnp.max(jnp.abs(leaf)) for leaf in jax.tree_util.tree_leaves(vector)]))
        tolerance = jax.lax.stop_gradient(scale * atol + rtol * largest)  # a stopping rule, not differentiated
        solver = lx.CG(rtol=0.0, atol=tolerance, max_steps=max_steps)
    else:
        solver = lx.CG(rtol=rtol, atol=atol, max_steps=max_steps)
    solution = lx.linear_solve(operator, vector, solver, throw=False)
    return nan_unless_converged(solution.value, solution.result == lx.RESULTS.successful, message)
