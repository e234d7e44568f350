"""Run configs: a TOML (or JSON) file that describes a whole simulation, checked before anything runs.

```toml
name = "mmd-gaussian"          # optional label
seed = 0                       # keys: fold_in(PRNGKey(seed), i), i = 0 target, 1 initial, 2 run, 3 diagnostics
dtype = "float32"              # or "float64"

[target]                       # flows list: targets
kind = "gaussian"
mean = [2.0, 2.0]
std = 0.5
n = 300

[initial]                      # flows list: initial
kind = "gaussian"
n = 200
std = 1.0

[kernel]                       # flows list: kernels
kind = "gaussian"
bandwidth = "median"

[flow]                         # flows list: flows
kind = "mmd"

[solver]                       # flows list: solvers (diffrax or discrete)
kind = "tsit5"
stepsize_controller = { kind = "pid", rtol = 1e-4, atol = 1e-6 }

[time]
t0 = 0.0
t1 = 20.0
saves = 41                     # saved times, evenly spaced (on the iteration grid for discrete solvers)

[diagnostics]                  # name = {kind = ..., params}; or a list of kinds; the flow's own are always kept
sinkhorn = { kind = "sinkhorn", epsilon = 0.05 }
velocity = { kind = "velocity_norm" }

[checkpoint]
every = 10                     # saved times per checkpoint (the run is integrated in chunks of this many)

[output]
animation = "gif"              # "gif", "mp4" or false
fps = 12
frames = 40                    # how many saved times to draw (default all)
size = [8.0, 4.0]              # inches
dpi = 80
witness = true                 # witness heat map behind the particles (kernel flows)
arrows = false                 # velocity arrows
projection = "pca"             # for d > 2: "pca" (fitted on the target) or two coordinates [i, j]
diagnostic = "mmd2"            # the curve beside the particles
```

Each table's keys are the named class's constructor parameters with its own defaults
(`flows.cli.registry`). `resolve` fills in every default, nested tables' too, so the resolved
config written beside a run's results describes it completely and runs again as it is. Every error is a `ConfigError` naming the key,
the bad value and the valid choices.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from .._checks import check_bool, check_int, check_positive_int
from .._trees import cast_floats
from ..core.sde import AbstractAdditiveNoiseFlow
from ..core.simulate import check_solver_fits, simulate, solves_sdes
from ..core.solvers import AbstractDiscreteSolver
from ..core.time_grid import DEFAULT_SAVES, check_interval, discrete_save_steps, ode_save_times
from ..parametric.base import AbstractParametricFlow
from .entries import DIAGNOSTICS, FLOWS, INITIALS, KERNELS, SOLVERS, TARGETS
from .registry import ConfigError, RunContext

DEFAULTS: dict[str, Any] = {
    "name": "run",
    "seed": 0,
    "dtype": "float32",
    "kernel": {"kind": "gaussian", "bandwidth": "median"},
    "flow": {"kind": "mmd"},
    "solver": {"kind": "tsit5"},
    "time": {"t0": inspect.signature(simulate).parameters["t0"].default, "saves": DEFAULT_SAVES},
    "diagnostics": {},
    "checkpoint": {"every": 10},
    "output": {
        "animation": False,
        "fps": 15,
        "frames": None,
        "size": [8.0, 4.0],
        "dpi": 80,
        "witness": True,
        "arrows": False,
        "projection": "pca",
        "diagnostic": "mmd2",
    },
}
REQUIRED = ("target", "initial", "time")
_TIME_KEYS = {"t0", "t1", "saves"}
_DTYPES = ("float32", "float64")
_ANIMATIONS = ("gif", "mp4", False)


def load(path: str | Path) -> dict:
    """Read a config file (`.toml` or `.json`); relative data paths become paths from its folder."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist.")
    text = path.read_text()
    try:
        config = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as error:
        raise ConfigError(f"config file {str(path)!r} is not valid {path.suffix.lstrip('.').upper()}: {error}") from error
    for section in ("target", "initial"):  # data files are found relative to the config file
        table = config.get(section)
        if isinstance(table, dict) and isinstance(table.get("path"), str) and not Path(table["path"]).expanduser().is_absolute():
            table["path"] = str((path.parent / table["path"]).resolve())
    return config


def resolve(config: Mapping[str, Any]) -> dict:
    """The config with every default filled in; checks the keys that need no building."""
    known = set(DEFAULTS) | set(REQUIRED)
    for key in config:
        if key not in known:
            raise ConfigError(f"`{key}` is not a config section or key; valid: {', '.join(sorted(known))}.")
    for key in REQUIRED:
        if key not in config:
            raise ConfigError(f"`{key}` is missing: a run needs {', '.join(REQUIRED)}.")
    resolved = copy.deepcopy(dict(config))
    for key, default in DEFAULTS.items():
        if isinstance(default, dict) and key in resolved and key not in ("kernel", "flow", "solver", "diagnostics"):
            if not isinstance(resolved[key], Mapping):
                raise ConfigError(f"`{key}` must be a table, got {resolved[key]!r}.")
            resolved[key] = {**default, **resolved[key]}
        else:
            resolved.setdefault(key, copy.deepcopy(default))
    _check_top(resolved)
    resolved["diagnostics"] = _diagnostic_tables(resolved["diagnostics"])
    for section, reg in (("target", TARGETS), ("initial", INITIALS), ("kernel", KERNELS), ("flow", FLOWS), ("solver", SOLVERS)):
        reg.fill_defaults(resolved[section])
    for table in resolved["diagnostics"].values():
        DIAGNOSTICS.fill_defaults(table)
    return resolved


def _checked(check, *args):
    """Run a `flows._checks` check; its `ValueError` becomes a `ConfigError`."""
    try:
        return check(*args)
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _check_top(c: dict) -> None:
    _checked(check_int, "seed", c["seed"], 0)
    if c["dtype"] not in _DTYPES:
        raise ConfigError(f"`dtype` = {c['dtype']!r} is not valid; valid choices: {', '.join(_DTYPES)}.")
    time = c["time"]
    for key in time:
        if key not in _TIME_KEYS:
            raise ConfigError(f"`time.{key}` is not a time key; valid keys: {', '.join(sorted(_TIME_KEYS))}.")
    if "t1" not in time:
        raise ConfigError("`time.t1` is missing: the end time of the run.")
    try:
        check_interval(time["t0"], time["t1"])  # simulate's rule: finite numbers (not booleans), t1 > t0
    except ValueError as error:
        raise ConfigError(f"`time`: {error}") from None
    _checked(check_int, "time.saves", time["saves"], 2)
    if set(c["checkpoint"]) != {"every"}:
        raise ConfigError(f"`checkpoint` takes one key, `every`; got {sorted(c['checkpoint'])}.")
    _checked(check_positive_int, "checkpoint.every", c["checkpoint"]["every"])
    out = c["output"]
    for key in out:
        if key not in DEFAULTS["output"]:
            raise ConfigError(f"`output.{key}` is not an output option; valid keys: {', '.join(DEFAULTS['output'])}.")
    if out["animation"] not in _ANIMATIONS:
        raise ConfigError(f"`output.animation` = {out['animation']!r} is not valid; valid choices: \"gif\", \"mp4\", false.")
    for key in ("fps", "dpi"):
        _checked(check_positive_int, f"output.{key}", out[key])
    if out["frames"] is not None:
        _checked(check_positive_int, "output.frames", out["frames"])
    size = out["size"]
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in size)):
        raise ConfigError(f"`output.size` must be [width, height] in inches, got {size!r}.")
    for key in ("witness", "arrows"):
        _checked(check_bool, f"output.{key}", out[key])
    projection = out["projection"]
    if projection != "pca" and not (
        isinstance(projection, list) and len(projection) == 2 and all(isinstance(i, int) and not isinstance(i, bool) for i in projection)
    ):
        raise ConfigError(f"`output.projection` = {projection!r} is not valid; valid: \"pca\" or two coordinates [i, j].")


def _diagnostic_tables(value) -> dict[str, dict]:
    """`[...]` of kinds or `{name: {kind, params}}` -> `{name: {kind, params}}`."""
    if isinstance(value, list):
        tables = {}
        for i, kind in enumerate(value):
            if not isinstance(kind, str):
                raise ConfigError(f"`diagnostics[{i}]` must be a diagnostic name, got {kind!r}; valid choices: {', '.join(DIAGNOSTICS.names())}.")
            tables[kind] = {"kind": kind}
        return tables
    if not isinstance(value, Mapping):
        raise ConfigError(f"`diagnostics` must be a list of names or a table of tables, got {value!r}.")
    return {name: (dict(t) if isinstance(t, Mapping) else t) for name, t in value.items()}


@dataclasses.dataclass
class Run:
    """A built run: everything `simulate` needs, and the context the exporters draw from."""

    config: dict
    context: RunContext
    simulate_kwargs: dict

    @property
    def flow(self):
        return self.context.flow

    @property
    def y0(self):
        return self.context.y0


def fingerprint(config: Mapping[str, Any]) -> str:
    """A hash of the resolved config, minus the outputs (which do not change the trajectory)."""
    relevant = {k: v for k, v in config.items() if k not in ("output", "name")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()


def set_precision(config: Mapping[str, Any]) -> None:
    """Enable float64 in JAX when the config asks for it (before any array is made)."""
    if config.get("dtype") == "float64" and not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)


def build(config: Mapping[str, Any]) -> Run:
    """Resolve `config` and build every object of the run (raises `ConfigError`; runs nothing)."""
    c = resolve(config)
    set_precision(c)
    dtype = jnp.dtype(c["dtype"])
    if dtype == jnp.float64 and not jax.config.jax_enable_x64:
        raise ConfigError("`dtype` = \"float64\" needs JAX's float64 mode (jax_enable_x64).")
    ctx = RunContext(key=jax.random.PRNGKey(c["seed"]))
    ctx.target = TARGETS.build(ctx, c["target"], "target")
    ctx.target.samples = np.asarray(ctx.target.samples, dtype=dtype)
    _check_view(c, ctx.target.samples.shape[1])
    ctx.y0 = _as_dtype(INITIALS.build(ctx, c["initial"], "initial"), dtype)
    ctx.kernel = KERNELS.build(ctx, c["kernel"], "kernel")
    ctx.flow = FLOWS.build(ctx, c["flow"], "flow")
    try:
        ctx.y0 = ctx.flow.check_state(ctx.y0)
    except ValueError as error:
        raise ConfigError(f"`initial` does not fit the flow: {error}") from error
    solver = SOLVERS.build(ctx, c["solver"], "solver")
    # a discrete solver in the run's dtype: its step is then known to that precision, as in Python
    solver = {**solver, "solver": cast_floats(solver["solver"], dtype)}
    _check_pairing(c, ctx, solver)
    diagnostics = dict(ctx.flow.diagnostics())
    for name, table in c["diagnostics"].items():
        diagnostic = DIAGNOSTICS.build(ctx, table, f"diagnostics.{name}")
        if isinstance(ctx.flow, AbstractParametricFlow) and table["kind"] not in STATE_DIAGNOSTICS:
            diagnostic = OnGeneratedSamples(diagnostic, ctx.flow, display_latents(ctx))
        diagnostics[name] = diagnostic
    t0, t1, saves = float(c["time"]["t0"]), float(c["time"]["t1"]), c["time"]["saves"]
    ts = _save_times(t0, t1, saves, solver)
    kwargs = dict(solver, t0=t0, t1=t1, ts=ts, diagnostics=diagnostics, key=ctx.subkey(2))
    return Run(config=c, context=ctx, simulate_kwargs=kwargs)


def _check_view(c: dict, d: int) -> None:
    """The figures and the animation draw two coordinates of the target's space: d >= 2, and a
    `projection` of two different coordinates below d."""
    if d < 2:
        raise ConfigError(
            f"`target` is 1-D (samples of shape (n, {d})), and `flows run` draws two coordinates: give a target in "
            "d >= 2 dimensions (for a Gaussian, `target.mean` as a list, e.g. [2.0, 0.0])."
        )
    projection = c["output"]["projection"]
    if projection != "pca" and not (len(set(projection)) == 2 and all(0 <= i < d for i in projection)):
        raise ConfigError(
            f"`output.projection` = {projection!r} is not valid for this {d}-D target: two different coordinates "
            f"in 0..{d - 1} (e.g. [0, 1]), or \"pca\"."
        )


def _check_pairing(c: dict, ctx: RunContext, solver: dict) -> None:
    """`simulate`'s checks of the flow, state and solver together (`check_solver_fits`), in the
    config's words, so a mismatch stops before anything is written."""
    kind, flow_kind, integrator = c["solver"]["kind"], c["flow"]["kind"], solver["solver"]
    if isinstance(ctx.flow, AbstractAdditiveNoiseFlow) and not solves_sdes(integrator):
        raise ConfigError(
            f"`solver.kind` = {kind!r} cannot integrate `flow.kind` = {flow_kind!r}: {ctx.flow.sde_name} is an SDE. "
            'Set `solver.kind = "euler"` (Euler-Maruyama) or "heun", with a fixed step `solver.dt0`.'
        )
    t0, t1 = float(c["time"]["t0"]), float(c["time"]["t1"])
    try:
        check_solver_fits(
            ctx.flow, ctx.y0, integrator, t0, t1, solver.get("dt0"), solver.get("stepsize_controller"), True
        )
    except ValueError as error:
        raise ConfigError(f"`solver.kind` = {kind!r} does not fit `flow.kind` = {flow_kind!r}: {error}") from None


STATE_DIAGNOSTICS = ("velocity_norm", "relative_dissipation_residual")
"""Diagnostics of the flow's own state; for a parametric flow every other one sees generated samples."""
DISPLAY_SAMPLES = 500


class OnGeneratedSamples(eqx.Module):
    """A particle diagnostic of a parametric flow's generated samples $G_\\theta(z)$ (on `latents`,
    or the flow's fixed batch when None)."""

    diagnostic: Any
    flow: AbstractParametricFlow
    latents: jax.Array | None

    def __call__(self, t, y, args):
        return self.diagnostic(t, self.flow.samples(y, self.latents), args)


def display_latents(ctx: RunContext) -> jax.Array | None:
    """The latents a parametric flow's samples are drawn on for diagnostics and figures: None (its
    fixed batch), or in population mode `DISPLAY_SAMPLES` latents from key fold_in(key, 6)."""
    flow = ctx.flow
    if flow.latents is not None:
        return None
    k = flow.generator(ctx.y0).latent_dim
    return jax.random.normal(ctx.subkey(6), (DISPLAY_SAMPLES, k), ctx.target_samples.dtype)


def _as_dtype(y0, dtype):
    """Particles as a `dtype` array; a generator (an equinox module) with its float arrays in `dtype`."""
    if isinstance(y0, eqx.Module):
        return cast_floats(y0, dtype)
    return jnp.asarray(y0, dtype=dtype)


def _save_times(t0: float, t1: float, saves: int, solver: dict) -> np.ndarray:
    """`saves` evenly spaced times; for a discrete solver, on its iteration grid (`flows.core.time_grid`,
    the rule `simulate` applies)."""
    if not isinstance(solver["solver"], AbstractDiscreteSolver):
        return ode_save_times(t0, t1, saves=saves)
    step = solver["solver"].step
    try:
        counts = discrete_save_steps(t0, t1, step, saves=saves)
    except ValueError:
        raise ConfigError(
            f"`time.t1` - `time.t0` = {t1 - t0:g} must be a whole number of solver steps (`solver.step` = {float(step):g})."
        ) from None
    # on the grid as `simulate` reads it: iteration k at t0 + k (t1 - t0) / n, so the last is t1 exactly
    return t0 + counts * ((t1 - t0) / counts[-1])
