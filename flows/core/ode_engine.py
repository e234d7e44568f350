"""The ODE/SDE engine: one compiled `diffrax.diffeqsolve`, diagnostics computed while saving.

`SaveAt(ts=..., fn=...)` stores the state and every diagnostic at each saved time inside the
solver's loop, so nothing is re-run afterwards. The solve never throws: `simulate` reads the
result and the saved states and reports a failure with the time it happened.

A long run is integrated in chunks (`flows.checkpoint`): each solve also returns its exact final
state with the solver's and the step-size controller's states, and the next chunk starts from
them, so the chunked solution does not depend on where a run was interrupted.
"""

from __future__ import annotations

from typing import NamedTuple

import diffrax
import equinox as eqx
import jax
from jaxtyping import Array, PyTree

from .diagnostic_groups import DiagnosticRecorder
from .flow import AbstractFlow


class ODEProblem(eqx.Module):
    """What every chunk of one diffrax run shares (device side).

    **Fields:** the `flow`, the diffrax `solver` and `stepsize_controller`, the initial step `dt0`
    (None for an adaptive controller's own guess), `span` the whole run's interval $(t_0, t_1)$
    (the terms, e.g. an SDE's Brownian motion, are built on it, whatever the chunk), the
    `diagnostics` (a `DiagnosticRecorder`: `(t, y, args) -> {name: array}`), the flow's `args`, the noise `key`,
    `max_steps` per chunk and the diffrax `progress_meter`.
    """

    flow: AbstractFlow
    solver: diffrax.AbstractSolver
    stepsize_controller: diffrax.AbstractStepSizeController
    dt0: Array | None
    span: tuple[Array, Array]
    diagnostics: DiagnosticRecorder
    args: PyTree
    key: Array | None
    max_steps: int = eqx.field(static=True)
    progress_meter: diffrax.AbstractProgressMeter


class ODECarry(NamedTuple):
    """The loop's state at the end of a chunk, from which the next chunk continues exactly."""

    y: PyTree
    solver_state: PyTree
    controller_state: PyTree
    made_jump: Array


class ODEChunk(NamedTuple):
    """One solve: states and diagnostics at its save times (leading axis), diffrax's `stats` and
    `result`, and the `carry` to continue from."""

    ys: PyTree
    diagnostics: dict
    stats: dict
    result: diffrax.RESULTS
    carry: ODECarry


@eqx.filter_jit
def run_ode(problem: ODEProblem, y0: PyTree, t0: Array, t1: Array, ts: Array, carry: ODECarry | None = None) -> ODEChunk:
    """Integrate `problem` from `y0` at `t0` to `t1`, saving at `ts`.

    `carry` is the previous chunk's (None for the first): the solver, controller and jump states
    are passed back into `diffeqsolve` (`y0` is then `carry.y`, chosen by the caller).
    """
    def save(t, y, args):
        return y, problem.diagnostics(t, y, args)

    solver_state, controller_state, made_jump = (None, None, None) if carry is None else carry[1:]
    solution = diffrax.diffeqsolve(
        problem.flow.terms(*problem.span, problem.key, y0),
        problem.solver,
        t0,
        t1,
        problem.dt0,
        y0,
        problem.args,
        saveat=diffrax.SaveAt(
            subs=(diffrax.SubSaveAt(ts=ts, fn=save), diffrax.SubSaveAt(t1=True)),
            solver_state=True,
            controller_state=True,
            made_jump=True,
        ),
        stepsize_controller=problem.stepsize_controller,
        max_steps=problem.max_steps,
        throw=False,
        progress_meter=problem.progress_meter,
        solver_state=solver_state,
        controller_state=controller_state,
        made_jump=made_jump,
    )
    (ys, diags), final = solution.ys
    y_end = jax.tree_util.tree_map(lambda leaf: leaf[-1], final)
    carry_out = ODECarry(y_end, solution.solver_state, solution.controller_state, solution.made_jump)
    return ODEChunk(ys, diags, solution.stats, solution.result, carry_out)
