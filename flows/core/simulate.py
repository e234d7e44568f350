"""`simulate`: one entry point over two engines that return the same `Trajectory`.

- a diffrax solver (`diffrax.Tsit5()`, `diffrax.Euler()`, ...) integrates the flow's ODE (or
  SDE) with `diffrax.diffeqsolve`, fixed step or adaptive;
- a discrete solver (`flows.GradientDescent`, or any `optax` optimizer) iterates the discrete
  scheme GAN training runs, with a compiled `lax.scan`.

Either way diagnostics are computed inside the compiled loop at every saved time, the solve is
checked for blow-up, and a run that diverged raises `FlowDivergedError` saying when, instead of
returning a half-valid trajectory.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Mapping

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import ArrayLike, PyTree
from tqdm.auto import tqdm

from .checkpoint import Checkpoint, fingerprint, run_in_chunks
from .discrete_engine import run_discrete
from .flow import AbstractFlow, Diagnostic
from .ode_engine import run_ode
from .progress import progress_bar
from .solver_cost import drift_evaluations
from .solvers import AbstractDiscreteSolver, GradientDescent
from .time_grid import check_interval, discrete_save_steps, ode_save_times
from .trajectory import Trajectory


class FlowDivergedError(FloatingPointError):
    """The state became NaN or inf during a simulation (or the solver could not go on)."""


def _resolve_solver(solver):
    if solver is None:
        return diffrax.Tsit5()
    if isinstance(solver, optax.GradientTransformation):
        return GradientDescent(optimizer=solver)
    if isinstance(solver, (diffrax.AbstractSolver, AbstractDiscreteSolver)):
        return solver
    raise ValueError(
        "`solver` must be a diffrax solver (e.g. diffrax.Tsit5()), flows.GradientDescent(step=...), "
        f"or an optax optimizer, got {type(solver).__name__}."
    )


def _nonfinite_saves(ys: PyTree) -> np.ndarray:
    """Boolean per saved time: does the state hold a NaN or inf?"""
    flags = [~np.isfinite(np.asarray(leaf)).reshape(leaf.shape[0], -1).all(axis=1) for leaf in jax.tree_util.tree_leaves(ys)]
    return np.any(np.stack(flags), axis=0)


def simulate(
    flow: AbstractFlow,
    y0: PyTree[ArrayLike],
    *,
    t1: float,
    t0: float = 0.0,
    ts: ArrayLike | None = None,
    solver=None,
    dt0: float | None = None,
    stepsize_controller: diffrax.AbstractStepSizeController | None = None,
    diagnostics: Mapping[str, Diagnostic] | None = None,
    args: PyTree = None,
    key: jax.Array | None = None,
    max_steps: int = 100_000,
    progress: bool = False,
    checkpoint: Checkpoint | None = None,
) -> Trajectory:
    """Simulate `flow` from `y0` over [t0, t1] and return the `Trajectory` saved at `ts`.

    **Arguments:**
    - `flow`: the flow (e.g. `flows.MMDFlow(target, kernel)`).
    - `y0`: the initial state (particles (N, d), or a generator's parameters).
    - `t1`, `t0`: the time interval (t1 > t0).
    - `ts`: times to save at, in [t0, t1]; default 101 evenly spaced (ODE) or up to 101 points on
      the iteration grid (discrete). For the discrete engine each must be `t0 + k * step`.
    - `solver`: a diffrax solver (default `diffrax.Tsit5()`), `flows.GradientDescent(...)`, or
      an `optax` optimizer (wrapped as `GradientDescent(optimizer=..., step=1.0)`).
    - `dt0`: the initial (or, with a constant step, the only) step size of a diffrax solver.
    - `stepsize_controller`: a diffrax controller; default `PIDController(rtol=1e-4, atol=1e-6)`
      when `dt0` is None, else `ConstantStepSize()`.
    - `diagnostics`: name -> function `(t, y, args)`, recorded at every saved time; default the
      flow's own (`flow.diagnostics()`). A mapping given here replaces the defaults.
    - `args`: passed to the flow's drift and to every diagnostic.
    - `key`: a `jax.random` key, for flows with noise (SDEs, noise injection, fresh latents).
    - `max_steps`: the most solver steps a diffrax solve may take.
    - `progress`: show a progress bar.
    - `checkpoint`: `flows.Checkpoint(folder, every=K, resume=...)` to integrate in chunks of K
      saved times, write each chunk to disk atomically, and resume a killed run exactly (see
      `flows.checkpoint`); `max_steps` then applies to each chunk.

    **Raises:** `ValueError` for bad arguments; `FlowDivergedError` if the state becomes NaN/inf
    (or the solver fails), saying at what time.
    """
    if not isinstance(flow, AbstractFlow):
        raise ValueError(f"`flow` must be a flows flow (e.g. flows.MMDFlow), got {type(flow).__name__}.")
    t0, t1 = check_interval(t0, t1)
    y0 = flow.check_state(y0)
    solver = _resolve_solver(solver)
    diagnostics = dict(flow.diagnostics() if diagnostics is None else diagnostics)
    metadata = {"flow": type(flow).__name__, "solver": type(solver).__name__, "t0": t0, "t1": t1}
    started = time.perf_counter()
    if isinstance(solver, AbstractDiscreteSolver):
        trajectory = _simulate_discrete(
            flow, solver, y0, t0, t1, ts, diagnostics, args, key, progress, metadata, checkpoint
        )
    else:
        trajectory = _simulate_ode(
            flow, solver, y0, t0, t1, ts, dt0, stepsize_controller, diagnostics, args, key, max_steps, progress,
            metadata, checkpoint,
        )
    trajectory.metadata["wall_time_s"] = time.perf_counter() - started
    return trajectory


def _run_fingerprint(checkpoint, *parts, diagnostics) -> str:
    if checkpoint is None:
        return ""
    return fingerprint(*parts, tag=f"{checkpoint.tag}|every={checkpoint.every}|{sorted(diagnostics)}")


@contextlib.contextmanager
def _chunk_bar(show: bool, total: int, description: str):
    """A bar over saved times, advanced after each checkpointed chunk (None when not shown)."""
    if not show:
        yield None
        return
    with tqdm(total=total, desc=description, unit="save") as bar:
        yield bar


def _simulate_ode(
    flow, solver, y0, t0, t1, ts, dt0, controller, diagnostics, args, key, max_steps, progress, metadata, checkpoint
):
    ts = ode_save_times(t0, t1, ts=ts)
    if controller is None:
        controller = diffrax.ConstantStepSize() if dt0 is not None else diffrax.PIDController(rtol=1e-4, atol=1e-6)
    if dt0 is None and isinstance(controller, diffrax.ConstantStepSize):
        raise ValueError("`dt0` is required with a constant step size (diffrax.ConstantStepSize).")
    if dt0 is not None and not (math.isfinite(float(dt0)) and float(dt0) > 0):
        raise ValueError(f"`dt0` must be a finite positive number, got {dt0!r}.")
    dtype = jax.tree_util.tree_leaves(y0)[0].dtype
    as_time = lambda v: jnp.asarray(v, dtype=dtype)
    chunked = checkpoint is not None
    meter = diffrax.TqdmProgressMeter() if progress and not chunked else diffrax.NoProgressMeter()
    span = (as_time(t0), as_time(t1))
    ts_dev, dt0_dev = as_time(ts), None if dt0 is None else as_time(dt0)
    outcome = {"result": diffrax.RESULTS.successful}

    def ode_chunk(lo, hi, carry):
        start = span[0] if lo == 0 else ts_dev[lo - 1]
        end = span[1] if hi == len(ts) else ts_dev[hi - 1]
        y_start, state = (y0, None) if carry is None else (carry[0], carry[1:])
        return run_ode(
            flow, solver, controller, y_start, start, end, dt0_dev, ts_dev[lo:hi], diagnostics, args, key,
            int(max_steps), meter, state, span,
        )

    def run_chunk(lo, hi, carry):
        ys, diags, stats, result, carry = ode_chunk(lo, hi, carry)
        outcome["result"] = result
        return ys, diags, stats, result == diffrax.RESULTS.successful, carry

    def shapes():
        ys, _, _, _, carry = eqx.filter_eval_shape(ode_chunk, 0, min(checkpoint.every, len(ts)), None)
        return ys, carry

    fprint = _run_fingerprint(
        checkpoint, "ode", flow, solver, controller, y0, args, key, ts, dt0, max_steps, diagnostics=diagnostics
    )
    with _chunk_bar(progress and chunked, len(ts), type(solver).__name__) as bar:
        on_chunk = None if bar is None else (lambda hi: bar.update(hi - bar.n))
        ys, diags, stats, _ = run_in_chunks(run_chunk, len(ts), checkpoint, fprint, shapes, on_chunk)
    result = outcome["result"]
    bad = _nonfinite_saves(ys)
    failed = result != diffrax.RESULTS.successful
    if failed or bad.any():
        first = int(np.argmax(bad)) if bad.any() else len(ts) - 1
        last_good = ts[first - 1] if first > 0 else t0
        cause = f"the solver stopped: {_result_message(result)}" if failed else "the state became NaN or inf"
        raise FlowDivergedError(
            f"{cause} (between t = {last_good:g}, the last finite saved state, and t = {ts[first]:g}). "
            "Try a smaller step (dt0) or an adaptive step-size controller, e.g. "
            f"stepsize_controller=diffrax.PIDController(rtol=1e-4, atol=1e-6); max_steps is {max_steps}."
        )
    metadata.update(engine="diffrax", controller=type(controller).__name__, dt0=None if dt0 is None else float(dt0))
    evaluations = drift_evaluations(solver, stats["num_steps"]) if type(flow).terms is AbstractFlow.terms else None
    if evaluations is not None:  # an ODE (an SDE flow overrides `terms`)
        stats = {**stats, "num_drift_evaluations": evaluations}
    return Trajectory(ts=ts, ys=ys, diagnostics=diags, stats=stats, result="successful", metadata=metadata)


def _result_message(result) -> str:
    """diffrax's own explanation of a solve's result."""
    return str(diffrax.RESULTS[result])


def _simulate_discrete(flow, solver, y0, t0, t1, ts, diagnostics, args, key, progress, metadata, checkpoint):
    step = float(solver.step)
    save_steps = discrete_save_steps(t0, t1, solver.step, ts=ts)
    save_steps_dev = jnp.asarray(save_steps, dtype=jnp.int32)
    t0_dev = jnp.asarray(t0, dtype=jax.tree_util.tree_leaves(y0)[0].dtype)
    outcome = {"first_bad": -1}

    def discrete_chunk(lo, hi, carry):
        return run_discrete(flow, solver, y0, t0_dev, save_steps_dev[lo:hi], diagnostics, args, key, progress, carry)

    def run_chunk(lo, hi, carry):
        ys, diags, first_bad, carry = discrete_chunk(lo, hi, carry)
        outcome["first_bad"] = int(first_bad)
        return ys, diags, {}, outcome["first_bad"] < 0, carry

    def shapes():
        ys, _, _, carry = eqx.filter_eval_shape(discrete_chunk, 0, min(checkpoint.every, len(save_steps)), None)
        return ys, carry

    fprint = _run_fingerprint(checkpoint, "discrete", flow, solver, y0, args, key, save_steps, diagnostics=diagnostics)
    bar = progress_bar(int(save_steps[-1]), type(solver).__name__) if progress else contextlib.nullcontext()
    with bar:
        ys, diags, _, _ = run_in_chunks(run_chunk, len(save_steps), checkpoint, fprint, shapes)
    first_bad = outcome["first_bad"]
    if first_bad >= 0:
        raise FlowDivergedError(
            f"the state became NaN or inf at iteration {first_bad} (t = {t0 + first_bad * step:g}). "
            f"The step size {step:g} is too large for this flow: try a smaller `step`, or an adaptive diffrax "
            "solver (diffrax.Tsit5() with diffrax.PIDController) for the continuous flow."
        )
    metadata.update(engine="discrete", step=step)
    stats = {"num_steps": int(save_steps[-1])}
    evaluations = drift_evaluations(solver, stats["num_steps"])
    if evaluations is not None:
        stats["num_drift_evaluations"] = evaluations
    return Trajectory(
        ts=t0 + save_steps * step, ys=ys, diagnostics=diags, stats=stats,
        result="successful", metadata=metadata,
    )
