"""The discrete engine: a compiled `lax.scan` over saved times, stepping a discrete solver.

Between two saved times it iterates `solver.update` in a `lax.while_loop`; at each saved time it
records the state and the diagnostics, inside the same compiled program. It tracks the first
iteration whose state is not finite, or is past the run's spread bound
(`flows.core.divergence.SpreadBound`), and stops iterating from there, so a diverging run costs
nothing more and its blow-up time is exact.
"""

from __future__ import annotations

from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PyTree

from .diagnostic_groups import DiagnosticRecorder
from .divergence import SpreadBound
from .flow import AbstractFlow
from .progress import report_progress
from .solvers import AbstractDiscreteSolver


def tree_all_finite(tree: PyTree) -> Array:
    """True when every entry of every leaf is finite."""
    leaves = jax.tree_util.tree_leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in leaves]))


class DiscreteProblem(eqx.Module):
    """What every chunk of one discrete run shares (device side).

    **Fields:** the `flow`, the discrete `solver`, the initial state `y0` (the first chunk starts
    from it), the start time `t0` (iteration $k$ is at $t_0 + k\\,\\text{step}$), the
    `diagnostics` (a `DiagnosticRecorder`: `(t, y, args) -> {name: array}`), the flow's `args`, the noise `key` (iteration
    $k$ draws with `fold_in(key, k)`), `progress` (report the iteration count to the bar) and the
    spread `bound` (None: only NaN and inf stop the loop).
    """

    flow: AbstractFlow
    solver: AbstractDiscreteSolver
    y0: PyTree
    t0: Array
    diagnostics: DiagnosticRecorder
    args: PyTree
    key: Array | None
    progress: bool = eqx.field(static=True)
    bound: SpreadBound | None = None


class DiscreteCarry(NamedTuple):
    """The loop's state after a chunk: the iteration count, the state, the solver's state, and
    the first iteration whose state was not finite or past the spread bound (-1 if none)."""

    iteration: Array
    y: PyTree
    solver_state: PyTree
    first_bad: Array


class DiscreteChunk(NamedTuple):
    """One chunk: states and diagnostics at its saved iterations (leading axis), and the `carry`
    to continue from (`carry.first_bad` says whether and where the run diverged)."""

    ys: PyTree
    diagnostics: dict
    carry: DiscreteCarry


@eqx.filter_jit
def run_discrete(problem: DiscreteProblem, save_steps: Array, carry: DiscreteCarry | None = None) -> DiscreteChunk:
    """Iterate `problem.solver` and save at the iteration counts `save_steps` (non-decreasing),
    from `problem.y0` (`carry` None) or from the previous chunk's `carry`. Passing the returned
    carry back (with later `save_steps`) continues the same iteration exactly: a run in chunks
    (`flows.checkpoint`).
    """
    flow, solver, t0, args, key = problem.flow, problem.solver, problem.t0, problem.args, problem.key

    def iterate(carry, stop):
        def cond(c):
            return (c.iteration < stop) & (c.first_bad < 0)

        def body(c):
            i, y, state, bad = c
            step_key = None if key is None else jax.random.fold_in(key, i)
            y, state = solver.update(flow, t0 + i * solver.step.astype(t0.dtype), y, state, args, step_key)
            good = tree_all_finite(y) if problem.bound is None else tree_all_finite(y) & ~problem.bound.exceeded(y)
            bad = jnp.where(good, bad, i + 1)
            return DiscreteCarry(i + 1, y, state, bad)

        carry = jax.lax.while_loop(cond, body, carry)
        t = t0 + stop * solver.step.astype(t0.dtype)
        if problem.progress:
            report_progress(stop)
        saved = (carry.y, problem.diagnostics(t, carry.y, args))
        return carry, saved

    if carry is None:
        zero = jnp.asarray(0, save_steps.dtype)
        carry = DiscreteCarry(zero, problem.y0, solver.init(flow, problem.y0), jnp.asarray(-1, save_steps.dtype))
    carry, (ys, diags) = jax.lax.scan(iterate, carry, save_steps)
    return DiscreteChunk(ys, diags, carry)
