"""The discrete engine: a compiled `lax.scan` over saved times, stepping a discrete solver.

Between two saved times it iterates `solver.update` in a `lax.while_loop`; at each saved time it
records the state and the diagnostics, inside the same compiled program. It tracks the first
iteration whose state is not finite and stops iterating from there, so a diverging run costs
nothing more and its blow-up time is exact.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PyTree

from .flow import AbstractFlow
from .progress import report_progress
from .solvers import AbstractDiscreteSolver


def tree_all_finite(tree: PyTree) -> Array:
    """True when every entry of every leaf is finite."""
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


@eqx.filter_jit
def run_discrete(
    flow: AbstractFlow,
    solver: AbstractDiscreteSolver,
    y0: PyTree,
    t0: Array,
    save_steps: Array,
    diagnostics: dict,
    args: PyTree,
    key: Array | None,
    progress: bool,
    carry: tuple | None = None,
):
    """Iterate `solver` from `y0` and save at the iteration counts `save_steps` (non-decreasing).

    Returns `(ys, diagnostics, first_bad_step, carry)`: states and diagnostics with a leading
    axis per saved time, the first iteration whose state was not finite (-1 if none), and the
    loop's final `(iteration, y, solver_state, first_bad_step)`. Passing that `carry` back (with
    later `save_steps`) continues the same iteration exactly: a run in chunks (`flows.checkpoint`).
    """

    def iterate(carry, stop):
        def cond(c):
            i, _, _, bad = c
            return (i < stop) & (bad < 0)

        def body(c):
            i, y, state, bad = c
            step_key = None if key is None else jax.random.fold_in(key, i)
            y, state = solver.update(flow, t0 + i * solver.step.astype(t0.dtype), y, state, args, step_key)
            bad = jnp.where(tree_all_finite(y), bad, i + 1)
            return i + 1, y, state, bad

        i, y, state, bad = jax.lax.while_loop(cond, body, carry)
        t = t0 + stop * solver.step.astype(t0.dtype)
        if progress:
            report_progress(stop)
        saved = (y, {name: fn(t, y, args) for name, fn in diagnostics.items()})
        return (i, y, state, bad), saved

    if carry is None:
        carry = (jnp.asarray(0, save_steps.dtype), y0, solver.init(flow, y0), jnp.asarray(-1, save_steps.dtype))
    carry, (ys, diags) = jax.lax.scan(iterate, carry, save_steps)
    return ys, diags, carry[3], carry
