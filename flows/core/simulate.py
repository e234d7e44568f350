"""`simulate`: one entry point over two engines that return the same `Trajectory`.

- a diffrax solver (`diffrax.Tsit5()`, `diffrax.Euler()`, ...) integrates the flow's ODE (or
  SDE) with `diffrax.diffeqsolve`, fixed step or adaptive;
- a discrete solver (`flows.GradientDescent`, or any `optax` optimizer) iterates the discrete
  scheme GAN training runs, with a compiled `lax.scan`.

Either way diagnostics are computed inside the compiled loop at every saved time (the members of
one diagnostic group, such as a flow's own MMD², energy and dissipation, from one shared pass:
`flows.core.diagnostic_groups`), the solve is
checked for blow-up, and a run that diverged raises `FlowDivergedError` saying when, instead of
returning a half-valid trajectory: a NaN or inf state, a state spread past `divergence_scale`
times its target's scale, or a NaN or inf diagnostic (`flows.core.divergence`). Before an
explicit scheme (plain gradient descent, or diffrax's `Euler` with a constant step) on a small
state, a step above the linear-stability limit at the initial state is warned about
(`flows.core.stability`).

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
from .discrete_engine import DiscreteProblem, run_discrete, tree_all_finite
from .divergence import (
    DEFAULT_DIVERGENCE_SCALE,
    FlowDivergedError,
    SpreadBound,
    check_divergence_scale,
    first_bad_diagnostic,
    nonfinite_rows,
    spread_bound,
)
from .diagnostic_groups import DiagnosticRecorder
from .flow import AbstractFlow, Diagnostic
from .ode_engine import ODEProblem, run_ode
from .progress import progress_bar
from .sde import AbstractAdditiveNoiseFlow
from .solver_cost import drift_evaluations
from .solvers import AbstractDiscreteSolver, GradientDescent
from .stability import warn_if_step_unstable
from .time_grid import check_interval, discrete_save_steps, ode_save_times
from .trajectory import Trajectory


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
    divergence_scale: float | None = DEFAULT_DIVERGENCE_SCALE,
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
    - `divergence_scale`: a particle cloud that reaches farther from its target's centre than
      this many times the reference (the larger of the target's reach and the initial cloud's,
      as $\\max_i \\|x_i - c\\|$) has diverged (default 100; None turns this check off). Flows
      without a target scale (`flow.spread()` is None: parametric flows, your own) are checked
      for NaN and inf only.

    **Raises:** `ValueError` for bad arguments; `FlowDivergedError`, saying at what time and what
    to change, if the state becomes NaN/inf or spreads past `divergence_scale`, if a diagnostic
    becomes NaN/inf, or if the solver fails. **Warns** (`RuntimeWarning`), before the run, when
    the step of an explicit scheme (`GradientDescent(step=h)` without an optimizer, or
    `diffrax.Euler()` with a constant `dt0`) is above `flows.analysis.max_stable_step` at `y0`
    (where the Jacobian is cheap next to the run: `flows.core.stability.warn_if_step_unstable`).
    """
    if not isinstance(flow, AbstractFlow):
        raise ValueError(f"`flow` must be a flows flow (e.g. flows.MMDFlow), got {type(flow).__name__}.")
    t0, t1 = check_interval(t0, t1)
    scale = check_divergence_scale(divergence_scale)
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
        bound=spread_bound(flow.spread(), y0, scale),
    )
    started = time.perf_counter()
    if isinstance(run.solver, AbstractDiscreteSolver):
        plan = _DiscretePlan.checked(run, ts)
        if isinstance(run.solver, GradientDescent) and run.solver.optimizer is None:
            warn_if_step_unstable(flow, run.y0, float(run.solver.step), int(plan.save_steps[-1]), t0, args, "step")
        trajectory = _discrete_trajectory(run, plan)
    else:
        plan = _ODEPlan.checked(run, ts, dt0, stepsize_controller, max_steps)
        if isinstance(run.solver, diffrax.Euler) and isinstance(plan.controller, diffrax.ConstantStepSize):
            steps = math.ceil((t1 - t0) / float(plan.dt0) - 1e-9)
            warn_if_step_unstable(flow, run.y0, float(plan.dt0), steps, t0, args, "dt0")
        trajectory = _ode_trajectory(run, plan)
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
    bound: SpreadBound | None

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
        diagnostics=DiagnosticRecorder.of(run.diagnostics),
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
        if failure is None and _first_bad_save(run, solved.ys, solved.diagnostics) is not None:
            failure = _DIVERGED  # found on the host: the later chunks are not run
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


_DIVERGED = "diverged"  # an ODE chunk's failure when its saves, not the solver, show the divergence
_NAN_DIAGNOSTIC = "the diagnostic {!r} became NaN or inf (the state is finite there)"
_INNER_SOLVERS = (" If a warning above says an inner solver (conjugate gradient, Sinkhorn) did not converge, "
                  "change the setting it names.")


@dataclasses.dataclass(frozen=True)
class _BadSave:
    """The first saved time at which a run shows divergence: its `index`, the `kind` ("state":
    NaN or inf, "spread": past the bound, "diagnostic": NaN or inf) and a description."""

    index: int
    kind: str
    what: str


def _first_bad_save(run: _Run, ys: PyTree, diagnostics: dict) -> _BadSave | None:
    """The first saved time whose state is NaN/inf or past the spread bound, or one of whose
    diagnostics is NaN/inf (in that order of precedence at one saved time), or None."""
    found = []
    bad_state = nonfinite_rows(ys)
    if bad_state.any():
        found.append(_BadSave(int(np.argmax(bad_state)), "state", "the state became NaN or inf"))
    if run.bound is not None:
        spread = run.bound.spread.of_saves(ys)
        past = ~(spread <= float(run.bound.bound)) & ~bad_state
        if past.any():
            index = int(np.argmax(past))
            found.append(_BadSave(index, "spread", run.bound.message(spread[index])))
    diagnostic = first_bad_diagnostic({k: np.asarray(v) for k, v in diagnostics.items()})
    if diagnostic is not None:
        index, name = diagnostic
        found.append(_BadSave(index, "diagnostic", _NAN_DIAGNOSTIC.format(name)))
    return min(found, key=lambda bad: bad.index) if found else None  # min keeps the first listed on ties


def _raise_if_ode_failed(chunked: ChunkedRun, run: _Run, plan: _ODEPlan) -> None:
    """`FlowDivergedError` if the solver stopped or a saved time shows divergence, naming the two
    saved times that bracket the failure and what to change."""
    failed = chunked.failure is not None and not (isinstance(chunked.failure, str) and chunked.failure == _DIVERGED)
    bad = _first_bad_save(run, chunked.ys, chunked.diagnostics)
    if not (failed or bad is not None):
        return
    ts = plan.ts
    first = len(ts) - 1 if bad is None else bad.index
    last_good = ts[first - 1] if first > 0 else run.t0
    where = (f"between t = {last_good:g}, the last good saved state, and t = {ts[first]:g}" if first > 0
             else f"at t = {ts[0]:g}")
    smaller = ("Try a smaller step (dt0) or an adaptive step-size controller, e.g. "
               "stepsize_controller=diffrax.PIDController(rtol=1e-4, atol=1e-6)")
    if failed:
        message = (f"the solver stopped: {_result_message(chunked.failure)} ({where}). {smaller}; "
                   f"max_steps is {plan.max_steps}.")
    elif bad.kind == "state":
        message = f"{bad.what} ({where}). {smaller}; max_steps is {plan.max_steps}.{_INNER_SOLVERS}"
    elif bad.kind == "spread":
        message = (f"{bad.what} ({where}): the run is diverging. {smaller}, or pass "
                   "simulate(..., divergence_scale=...) a larger value (None turns this check off) if the cloud "
                   "is meant to reach that far.")
    else:
        message = (f"{bad.what} ({where}).{_INNER_SOLVERS} Otherwise the run is diverging: "
                   f"{smaller[0].lower()}{smaller[1:]}.")
    raise FlowDivergedError(message)


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
        flow=run.flow, solver=run.solver, y0=run.y0, t0=run.as_time(run.t0),
        diagnostics=DiagnosticRecorder.of(run.diagnostics),
        args=run.args, key=run.key, progress=run.progress, bound=run.bound,
    )
    save_steps, n_saves = jnp.asarray(plan.save_steps, dtype=jnp.int32), len(plan.save_steps)

    def iterate(lo: int, hi: int, carry):
        return run_discrete(problem, save_steps[lo:hi], carry)

    def chunk(lo: int, hi: int, carry) -> Chunk:
        iterated = iterate(lo, hi, carry)
        return Chunk(iterated.ys, iterated.diagnostics, {}, iterated.carry, _discrete_failure(run, plan, lo, iterated))

    fprint = run.fingerprint("discrete", run.flow, run.solver, run.y0, run.args, run.key, plan.save_steps)
    shapes = None if run.checkpoint is None else _chunk_shapes(iterate, run.checkpoint.every, n_saves)
    total = int(plan.save_steps[-1])
    with progress_bar(total, run.label) if run.progress else contextlib.nullcontext():
        chunked = run_in_chunks(chunk, n_saves, run.checkpoint, fprint, shapes)
    step = float(run.solver.step)
    if chunked.failure is not None:
        _raise_discrete_divergence(run, chunked.failure, step)
    return Trajectory(
        ts=run.t0 + plan.save_steps * step, ys=chunked.ys, diagnostics=chunked.diagnostics,
        stats=_with_drift_evaluations({"num_steps": total}, run.solver), result="successful",
        metadata=run.metadata(engine="discrete", step=step),
    )


@dataclasses.dataclass(frozen=True)
class _DiscreteFailure:
    """Where a discrete run diverged: the `iteration` and what showed it (`kind` and `what` as in
    `_BadSave`)."""

    iteration: int
    kind: str
    what: str


def _discrete_failure(run: _Run, plan: _DiscretePlan, lo: int, iterated) -> _DiscreteFailure | None:
    """The chunk's first divergence: the loop's (a NaN/inf state, or one past the spread bound,
    at `carry.first_bad`) or a NaN/inf diagnostic at an earlier saved iteration."""
    failure = None
    first_bad = int(iterated.carry.first_bad)
    if first_bad >= 0:  # the loop stopped there: `carry.y` is that iteration's state
        if bool(tree_all_finite(iterated.carry.y)):
            reach = float(run.bound.spread(iterated.carry.y))
            failure = _DiscreteFailure(first_bad, "spread", run.bound.message(reach))
        else:
            failure = _DiscreteFailure(first_bad, "state", "the state became NaN or inf")
    diagnostic = first_bad_diagnostic({k: np.asarray(v) for k, v in iterated.diagnostics.items()})
    if diagnostic is not None:
        index, name = diagnostic
        iteration = int(plan.save_steps[lo + index])
        if failure is None or iteration < failure.iteration:
            failure = _DiscreteFailure(iteration, "diagnostic", _NAN_DIAGNOSTIC.format(name))
    return failure


def _raise_discrete_divergence(run: _Run, failure: _DiscreteFailure, step: float) -> None:
    where = f"at iteration {failure.iteration} (t = {run.t0 + failure.iteration * step:g})"
    smaller = (f"The step size {step:g} is too large for this flow: try a smaller `step`, or an adaptive diffrax "
               "solver (diffrax.Tsit5() with diffrax.PIDController) for the continuous flow.")
    if failure.kind == "state":
        message = f"{failure.what} {where}. {smaller}{_INNER_SOLVERS}"
    elif failure.kind == "spread":
        message = (f"{failure.what} {where}: the run is diverging. {smaller} If the cloud is meant to reach that far, "
                   "pass simulate(..., divergence_scale=...) a larger value (None turns this check off).")
    else:
        message = f"{failure.what} {where}.{_INNER_SOLVERS} Otherwise the run is diverging. {smaller}"
    raise FlowDivergedError(message)
