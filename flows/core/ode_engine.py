"""The ODE/SDE engine: one compiled `diffrax.diffeqsolve`, diagnostics computed while saving.

`SaveAt(ts=..., fn=...)` stores the state and every diagnostic at each saved time inside the
solver's loop, so nothing is re-run afterwards. The solve never throws: `simulate` reads the
result and the saved states and reports a failure with the time it happened.

A long run is integrated in chunks (`flows.checkpoint`): each solve also returns its exact final
state with the solver's and the step-size controller's states, and the next chunk starts from
them, so the chunked solution does not depend on where a run was interrupted.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
import jax
from jaxtyping import Array, PyTree

from .flow import AbstractFlow


@eqx.filter_jit
def run_ode(
    flow: AbstractFlow,
    solver: diffrax.AbstractSolver,
    stepsize_controller: diffrax.AbstractStepSizeController,
    y0: PyTree,
    t0: Array,
    t1: Array,
    dt0: Array | None,
    ts: Array,
    diagnostics: dict,
    args: PyTree,
    key: Array | None,
    max_steps: int,
    progress_meter: diffrax.AbstractProgressMeter,
    carry: tuple | None = None,
    span: tuple[Array, Array] | None = None,
):
    """Integrate `flow.terms(*span, key, y0)` from `t0` to `t1`; return
    `(ys, diagnostics, stats, result, carry)`.

    `carry` is `(solver_state, controller_state, made_jump)` from the previous chunk (None for the
    first); the returned carry is `(y(t1), solver_state, controller_state, made_jump)`. `span` is
    the whole run's interval, which the terms (an SDE's Brownian motion) are built on (default
    `(t0, t1)`).
    """

    def save(t, y, args):
        return y, {name: fn(t, y, args) for name, fn in diagnostics.items()}

    solver_state, controller_state, made_jump = (None, None, None) if carry is None else carry
    solution = diffrax.diffeqsolve(
        flow.terms(*((t0, t1) if span is None else span), key, y0),
        solver,
        t0,
        t1,
        dt0,
        y0,
        args,
        saveat=diffrax.SaveAt(
            subs=(diffrax.SubSaveAt(ts=ts, fn=save), diffrax.SubSaveAt(t1=True)),
            solver_state=True,
            controller_state=True,
            made_jump=True,
        ),
        stepsize_controller=stepsize_controller,
        max_steps=max_steps,
        throw=False,
        progress_meter=progress_meter,
        solver_state=solver_state,
        controller_state=controller_state,
        made_jump=made_jump,
    )
    (ys, diags), final = solution.ys
    y_end = jax.tree_util.tree_map(lambda leaf: leaf[-1], final)
    carry_out = (y_end, solution.solver_state, solution.controller_state, solution.made_jump)
    return ys, diags, solution.stats, solution.result, carry_out
