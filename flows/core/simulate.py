"""`simulate`: one entry point over two engines that return the same `Trajectory`.

- a diffrax solver (`diffrax.Tsit5()`, `diffrax.Euler()`, ...) integrates the flow's ODE (or
  SDE) with `diffrax.diffeqsolve`, fixed step or adaptive;
- a discrete solver (`flows.GradientDescent`, or any `optax` optimizer) iterates the discrete
  scheme GAN training runs, with a compiled `lax.scan`.

Either way diagnostics are computed inside the compiled loop at every saved time, the solve is
checked for blow-up, and a run that diverged raises `FlowDivergedError` saying when, instead of
returning a half-valid trajectory.

How a call is put together: the arguments are checked once into a frozen `_Run` (flow, initial
state, solver, interval, diagnostics, args, key, progress, checkpoint) and an engine plan
(`_ODEPlan`: step-size controller, save times, `dt0`, `max_steps`; `_DiscretePlan`: the saved
iterations). Each engine turns them into its compiled program's fixed part (`ODEProblem`,
`DiscreteProblem`), runs it chunk by chunk (`run_in_chunks`; one chunk without a checkpoint),
each chunk returning its saves, statistics, carry and failure (if any); the joined chunks are
checked for divergence and returned as a `Trajectory`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Callable, Mapping

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import ArrayLike, PyTree
from tqdm.auto import tqdm

from .checkpoint import Checkpoint, Chunk, ChunkedRun, fingerprint, run_in_chunks
from .discrete_engine import DiscreteProblem, run_discrete
from .flow import AbstractFlow, Diagnostic
from .ode_engine import ODEProblem, run_ode
from .progress import progress_bar
from .sde import AbstractAdditiveNoiseFlow
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


def solves_sdes(solver) -> bool:
    """Whether `solver` is a diffrax solver that converges to an SDE's solution (Itô or
    Stratonovich: the same for the additive noise of `AbstractAdditiveNoiseFlow`)."""
    return isinstance(solver, (diffrax.AbstractItoSolver, diffrax.AbstractStratonovichSolver))


def check_solver_fits(flow: AbstractFlow, y0: PyTree, solver, t0: float, t1: float, dt0, stepsize_controller,
                      progress) -> None:
    """The pairings of flow, state, solver, step and controller that diffrax or the compiled loop
    would refuse deep inside, with messages that do not say what to pass; each `ValueError` names
    the argument and what to set (the command line words the same rules in its keys).

    - an SDE flow (`AbstractAdditiveNoiseFlow`) needs a diffrax solver that converges to an SDE's
      solution (`solves_sdes`: `Euler`, `Heun`, `ShARK`, ...), not an ODE-only one (`Tsit5`) or
      a discrete scheme;
    - a diffrax solver without an error estimate (`Euler`) takes a fixed step: `dt0` is required,
      and an adaptive `stepsize_controller` is refused;
    - the discrete engine updates the state in place, so its leaves must be floating point;
    - `progress` is a bool or a non-empty label.
    """
    if not (isinstance(progress, bool) or (isinstance(progress, str) and progress)):
        raise ValueError(f"`progress` must be True, False or the bar's label (a non-empty string), got {progress!r}.")
    name = type(solver).__name__
    if isinstance(flow, AbstractAdditiveNoiseFlow) and not solves_sdes(solver):
        ode_only = isinstance(solver, diffrax.AbstractSolver)
        what = f"diffrax.{name} solves ODEs only" if ode_only else f"{name} is discrete"
        raise ValueError(
            f"`solver`: {flow.sde_name} is an SDE and {what}; pass a diffrax SDE solver with a fixed step, "
            f"e.g. solver=diffrax.Euler(), {flow.euler_hint}"
        )
    if isinstance(solver, AbstractDiscreteSolver):
        for leaf in jax.tree_util.tree_leaves(y0):
            if not jnp.issubdtype(jnp.result_type(leaf), jnp.inexact):
                raise ValueError(
                    f"`y0` must be floating point for {name}, which updates it in place (y + step * v), got "
                    f"{jnp.result_type(leaf)}: pass y0.astype(jnp.float32) (or float64)."
                )
        return
    if isinstance(solver, diffrax.AbstractAdaptiveSolver):
        return
    if dt0 is None:
        raise ValueError(
            f"`dt0` is required: diffrax.{name} has no error estimate, so it takes a fixed step; pass dt0=... "
            f"(e.g. dt0={(t1 - t0) / 100:g}: 100 steps), or an adaptive solver such as diffrax.Tsit5()."
        )
    if stepsize_controller is not None and not isinstance(stepsize_controller, diffrax.ConstantStepSize):
        raise ValueError(
            f"`stepsize_controller`: diffrax.{name} has no error estimate to adapt its step with; leave "
            f"stepsize_controller out (a constant step dt0), or use an adaptive solver such as diffrax.Tsit5()."
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
    progress: bool | str = False,
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
    - `progress`: show a progress bar; a string is the bar's label (default label: the solver's
      class name).
    - `checkpoint`: `flows.Checkpoint(folder, every=K, resume=...)` to integrate in chunks of K
      saved times, write each chunk to disk atomically, and resume a killed run exactly (see
      `flows.checkpoint`); `max_steps` then applies to each chunk.

    **Raises:** `ValueError` for bad arguments; `FlowDivergedError` if the state becomes NaN/inf
    (or the solver fails), saying at what time.
    """
    if not isinstance(flow, AbstractFlow):
        raise ValueError(f"`flow` must be a flows flow (e.g. flows.MMDFlow), got {type(flow).__name__}.")
    t0, t1 = check_interval(t0, t1)
    y0, solver = flow.check_state(y0), _resolve_solver(solver)
    check_solver_fits(flow, y0, solver, t0, t1, dt0, stepsize_controller, progress)
    run = _Run(
        flow=flow,
        y0=y0,
        solver=solver,
        t0=t0,
        t1=t1,
        diagnostics=dict(flow.diagnostics() if diagnostics is None else diagnostics),
        args=args,
        key=key,
        progress=bool(progress),
        label=progress if isinstance(progress, str) else type(solver).__name__,
        checkpoint=checkpoint,
    )
    started = time.perf_counter()
    if isinstance(run.solver, AbstractDiscreteSolver):
        trajectory = _discrete_trajectory(run, _DiscretePlan.checked(run, ts))
    else:
        trajectory = _ode_trajectory(run, _ODEPlan.checked(run, ts, dt0, stepsize_controller, max_steps))
    trajectory.metadata["wall_time_s"] = time.perf_counter() - started
    return trajectory


@dataclasses.dataclass(frozen=True)
class _Run:
    """One `simulate` call after its checks: what either engine integrates."""

    flow: AbstractFlow
    y0: PyTree
    solver: diffrax.AbstractSolver | AbstractDiscreteSolver
    t0: float
    t1: float
    diagnostics: dict[str, Diagnostic]
    args: PyTree
    key: jax.Array | None
    progress: bool
    label: str
    checkpoint: Checkpoint | None

    def as_time(self, value) -> jax.Array:
        """`value` as a device array in the state's dtype (the dtype the solve's clock runs in)."""
        return jnp.asarray(value, dtype=jax.tree_util.tree_leaves(self.y0)[0].dtype)

    def fingerprint(self, *parts) -> str:
        """The hash checkpoints are matched on: `parts` with the checkpoint's tag, its `every` and
        the diagnostics' names ("" without a checkpoint)."""
        if self.checkpoint is None:
            return ""
        tag = f"{self.checkpoint.tag}|every={self.checkpoint.every}|{sorted(self.diagnostics)}"
        return fingerprint(*parts, tag=tag)

    def metadata(self, **engine) -> dict:
        """The trajectory's metadata: flow, solver, interval, then the engine's own facts."""
        return {"flow": type(self.flow).__name__, "solver": type(self.solver).__name__, "t0": self.t0, "t1": self.t1,
                **engine}


def _chunk_shapes(solve: Callable, every: int, n_saves: int) -> Callable[[], tuple[PyTree, PyTree]]:
    """For reading chunk files back: a function giving the shapes of the states and the carry of
    a first chunk of `every` saves, `solve(0, every, None)` evaluated abstractly (no work)."""

    def shapes():
        chunk = eqx.filter_eval_shape(solve, 0, min(every, n_saves), None)
        return chunk.ys, chunk.carry

    return shapes


def _with_drift_evaluations(stats: dict, solver) -> dict:
    """`stats` with `num_drift_evaluations` where the solver's count follows from its steps."""
    evaluations = drift_evaluations(solver, stats["num_steps"])
    return stats if evaluations is None else {**stats, "num_drift_evaluations": evaluations}


@contextlib.contextmanager
def _chunk_bar(show: bool, total: int, description: str):
    """A bar over saved times, advanced after each checkpointed chunk (None when not shown)."""
    if not show:
        yield None
        return
    with tqdm(total=total, desc=description, unit="save") as bar:
        yield bar


@dataclasses.dataclass(frozen=True)
class _ODEPlan:
    """A diffrax solve's settings after their checks: the step-size `controller`, the save times
    `ts`, the first step `dt0` (None: the controller's guess) and `max_steps` per chunk."""

    controller: diffrax.AbstractStepSizeController
    ts: np.ndarray
    dt0: float | None
    max_steps: int

    @classmethod
    def checked(cls, run: _Run, ts, dt0, controller, max_steps) -> _ODEPlan:
        ts = ode_save_times(run.t0, run.t1, ts=ts)
        if controller is None:
            controller = diffrax.ConstantStepSize() if dt0 is not None else diffrax.PIDController(rtol=1e-4, atol=1e-6)
        if dt0 is None and isinstance(controller, diffrax.ConstantStepSize):
            raise ValueError("`dt0` is required with a constant step size (diffrax.ConstantStepSize).")
        if dt0 is not None and not (math.isfinite(float(dt0)) and float(dt0) > 0):
            raise ValueError(f"`dt0` must be a finite positive number, got {dt0!r}.")
        return cls(controller=controller, ts=ts, dt0=dt0, max_steps=int(max_steps))


def _ode_problem(run: _Run, plan: _ODEPlan) -> ODEProblem:
    """The compiled solve's fixed part; diffrax's own progress meter only for a single chunk."""
    show_meter = run.progress and run.checkpoint is None
    return ODEProblem(
        flow=run.flow,
        solver=run.solver,
        stepsize_controller=plan.controller,
        dt0=None if plan.dt0 is None else run.as_time(plan.dt0),
        span=(run.as_time(run.t0), run.as_time(run.t1)),
        diagnostics=run.diagnostics,
        args=run.args,
        key=run.key,
        max_steps=plan.max_steps,
        progress_meter=diffrax.TqdmProgressMeter() if show_meter else diffrax.NoProgressMeter(),
    )


def _ode_trajectory(run: _Run, plan: _ODEPlan) -> Trajectory:
    """Integrate `run` with diffrax, chunk by chunk; raise `FlowDivergedError` on failure."""
    problem = _ode_problem(run, plan)
    ts, n_saves = run.as_time(plan.ts), len(plan.ts)

    def solve(lo: int, hi: int, carry):
        start = problem.span[0] if lo == 0 else ts[lo - 1]
        end = problem.span[1] if hi == n_saves else ts[hi - 1]
        return run_ode(problem, run.y0 if carry is None else carry.y, start, end, ts[lo:hi], carry)

    def chunk(lo: int, hi: int, carry) -> Chunk:
        solved = solve(lo, hi, carry)
        failure = None if solved.result == diffrax.RESULTS.successful else solved.result
        return Chunk(solved.ys, solved.diagnostics, solved.stats, solved.carry, failure)

    fprint = run.fingerprint(
        "ode", run.flow, run.solver, plan.controller, run.y0, run.args, run.key, plan.ts, plan.dt0, plan.max_steps
    )
    shapes = None if run.checkpoint is None else _chunk_shapes(solve, run.checkpoint.every, n_saves)
    with _chunk_bar(run.progress and run.checkpoint is not None, n_saves, run.label) as bar:
        on_chunk = None if bar is None else (lambda hi: bar.update(hi - bar.n))
        chunked = run_in_chunks(chunk, n_saves, run.checkpoint, fprint, shapes, on_chunk)
    _raise_if_ode_failed(chunked, run, plan)
    stats = chunked.stats
    if type(run.flow).terms is AbstractFlow.terms:  # an ODE (an SDE flow overrides `terms`)
        stats = _with_drift_evaluations(stats, run.solver)
    metadata = run.metadata(engine="diffrax", controller=type(plan.controller).__name__,
                            dt0=None if plan.dt0 is None else float(plan.dt0))
    return Trajectory(ts=plan.ts, ys=chunked.ys, diagnostics=chunked.diagnostics, stats=stats, result="successful",
                      metadata=metadata)


def _raise_if_ode_failed(chunked: ChunkedRun, run: _Run, plan: _ODEPlan) -> None:
    """`FlowDivergedError` if the solver stopped or a saved state is not finite, naming the two
    saved times that bracket the failure."""
    bad = _nonfinite_saves(chunked.ys)
    failed = chunked.failure is not None
    if not (failed or bad.any()):
        return
    ts = plan.ts
    first = int(np.argmax(bad)) if bad.any() else len(ts) - 1
    last_good = ts[first - 1] if first > 0 else run.t0
    cause = f"the solver stopped: {_result_message(chunked.failure)}" if failed else "the state became NaN or inf"
    raise FlowDivergedError(
        f"{cause} (between t = {last_good:g}, the last finite saved state, and t = {ts[first]:g}). "
        "Try a smaller step (dt0) or an adaptive step-size controller, e.g. "
        f"stepsize_controller=diffrax.PIDController(rtol=1e-4, atol=1e-6); max_steps is {plan.max_steps}."
    )


def _result_message(result) -> str:
    """diffrax's own explanation of a solve's result."""
    return str(diffrax.RESULTS[result])


@dataclasses.dataclass(frozen=True)
class _DiscretePlan:
    """The discrete engine's saved iterations (int64, non-decreasing), after their checks."""

    save_steps: np.ndarray

    @classmethod
    def checked(cls, run: _Run, ts) -> _DiscretePlan:
        return cls(save_steps=discrete_save_steps(run.t0, run.t1, run.solver.step, ts=ts))


def _discrete_trajectory(run: _Run, plan: _DiscretePlan) -> Trajectory:
    """Iterate `run`'s discrete solver, chunk by chunk; raise `FlowDivergedError` on blow-up."""
    problem = DiscreteProblem(
        flow=run.flow, solver=run.solver, y0=run.y0, t0=run.as_time(run.t0), diagnostics=run.diagnostics,
        args=run.args, key=run.key, progress=run.progress,
    )
    save_steps, n_saves = jnp.asarray(plan.save_steps, dtype=jnp.int32), len(plan.save_steps)

    def iterate(lo: int, hi: int, carry):
        return run_discrete(problem, save_steps[lo:hi], carry)

    def chunk(lo: int, hi: int, carry) -> Chunk:
        iterated = iterate(lo, hi, carry)
        first_bad = int(iterated.carry.first_bad)
        return Chunk(iterated.ys, iterated.diagnostics, {}, iterated.carry, None if first_bad < 0 else first_bad)

    fprint = run.fingerprint("discrete", run.flow, run.solver, run.y0, run.args, run.key, plan.save_steps)
    shapes = None if run.checkpoint is None else _chunk_shapes(iterate, run.checkpoint.every, n_saves)
    total = int(plan.save_steps[-1])
    with progress_bar(total, run.label) if run.progress else contextlib.nullcontext():
        chunked = run_in_chunks(chunk, n_saves, run.checkpoint, fprint, shapes)
    step = float(run.solver.step)
    if chunked.failure is not None:
        raise FlowDivergedError(
            f"the state became NaN or inf at iteration {chunked.failure} (t = {run.t0 + chunked.failure * step:g}). "
            f"The step size {step:g} is too large for this flow: try a smaller `step`, or an adaptive diffrax "
            "solver (diffrax.Tsit5() with diffrax.PIDController) for the continuous flow."
        )
    return Trajectory(
        ts=run.t0 + plan.save_steps * step, ys=chunked.ys, diagnostics=chunked.diagnostics,
        stats=_with_drift_evaluations({"num_steps": total}, run.solver), result="successful",
        metadata=run.metadata(engine="discrete", step=step),
    )
