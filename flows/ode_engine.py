"""The ODE/SDE engine: one compiled `diffrax.diffeqsolve`, diagnostics computed while saving.

`SaveAt(ts=..., fn=...)` stores the state and every diagnostic at each saved time inside the
solver's loop, so nothing is re-run afterwards. The solve never throws: `simulate` reads the
result and the saved states and reports a failure with the time it happened.
"""

from __future__ import annotations

import diffrax
import equinox as eqx
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
):
    """Integrate `flow.terms(t0, t1, key, y0)` from `t0` to `t1`; return `(ys, diagnostics, stats, result)`."""

    def save(t, y, args):
        return y, {name: fn(t, y, args) for name, fn in diagnostics.items()}

    solution = diffrax.diffeqsolve(
        flow.terms(t0, t1, key, y0),
        solver,
        t0,
        t1,
        dt0,
        y0,
        args,
        saveat=diffrax.SaveAt(ts=ts, fn=save),
        stepsize_controller=stepsize_controller,
        max_steps=max_steps,
        throw=False,
        progress_meter=progress_meter,
    )
    ys, diags = solution.ys
    return ys, diags, solution.stats, solution.result
