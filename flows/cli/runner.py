"""Run a config end to end and write its results to a folder; what `flows run` does.

The output folder holds:

| file | what |
|---|---|
| `config.json` | the resolved config (every default filled in); `flows run config.json` runs it again |
| `trajectory.npz` | the `Trajectory` (`flows.Trajectory.load`) |
| `metrics.csv`, `metrics.json` | every diagnostic at every saved time |
| `diagnostics.png`, `final_state.png` | a panel per diagnostic; the final particles over the target |
| `animation.gif` / `.mp4` | if `output.animation` asks for one |
| `checkpoints/` | chunk files while the run is in progress (removed when it finishes) |

The run is integrated in chunks of `checkpoint.every` saved times whether or not it is ever
interrupted, so a resumed run gives exactly the arrays of an uninterrupted one (`flows.checkpoint`).
"""

from __future__ import annotations

import json
from pathlib import Path

import jax

from .._io import atomic_path
from ..core.checkpoint import Checkpoint
from ..core.simulate import simulate
from ..core.trajectory import Trajectory
from ..export.animation import animate_particles
from ..export.plots import plot_diagnostics, plot_final_state
from ..export.tables import write_csv, write_json
from ..parametric.base import AbstractParametricFlow
from . import config as config_module
from .registry import ConfigError

CONFIG_FILE = "config.json"
TRAJECTORY_FILE = "trajectory.npz"


def write_config(config: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(config, indent=2) + "\n")


def execute(run: config_module.Run, out: Path, *, resume: bool = False, progress: bool = True) -> Trajectory:
    """Simulate a built run with checkpoints in `out/checkpoints` and write every output to `out`."""
    out = Path(out)
    fprint = config_module.fingerprint(run.config)
    if resume and (out / CONFIG_FILE).is_file():
        previous = json.loads((out / CONFIG_FILE).read_text())
        if config_module.fingerprint(previous) != fprint:
            raise ConfigError(
                f"--resume: the config differs from the one the run in {str(out)!r} started with "
                f"({out / CONFIG_FILE}); resume with that config, or run without --resume to start afresh."
            )
    if resume and (out / CONFIG_FILE).is_file() and (out / TRAJECTORY_FILE).is_file():
        return Trajectory.load(out / TRAJECTORY_FILE)  # the run had finished: nothing to resume
    if not resume:
        (out / TRAJECTORY_FILE).unlink(missing_ok=True)  # a finished trajectory means "this config, finished"
    write_config(run.config, out / CONFIG_FILE)
    checkpoint = Checkpoint(out / "checkpoints", every=run.config["checkpoint"]["every"], resume=resume, tag=fprint)
    trajectory = simulate(run.flow, run.y0, progress=progress, checkpoint=checkpoint, **run.simulate_kwargs)
    trajectory.metadata["name"] = run.config["name"]
    trajectory.save(out / TRAJECTORY_FILE)
    write_outputs(run, trajectory, out)
    return trajectory


def write_outputs(run: config_module.Run, trajectory: Trajectory, out: Path) -> None:
    """Tables, figures and (if the config asks) the animation of a finished run."""
    write_csv(trajectory, out / "metrics.csv")
    write_json(trajectory, out / "metrics.json")
    plot_diagnostics(trajectory, out / "diagnostics.png")
    options = run.config["output"]
    target = run.context.target_samples
    projection, dims = _view(options, target.shape[1])
    plot_final_state(particle_view(run, trajectory), out / "final_state.png", target=target, projection=projection, dims=dims)
    if options["animation"]:
        animate(run, trajectory, out / f"animation.{options['animation']}")


def _view(options: dict, d: int) -> tuple[str | None, tuple[int, int]]:
    """`(projection, dims)` for the exporters: PCA only where there is something to project."""
    if options["projection"] == "pca":
        return ("pca" if d > 2 else None), (0, 1)
    return None, tuple(options["projection"])


def particle_view(run: config_module.Run, trajectory: Trajectory) -> Trajectory:
    """The trajectory as particle clouds: for a parametric flow its generated samples at every
    saved time (`config.display_latents`)."""
    if not isinstance(run.flow, AbstractParametricFlow):
        return trajectory
    return run.flow.sample_trajectory(trajectory, config_module.display_latents(run.context))


def animate(run: config_module.Run, trajectory: Trajectory, path: Path, **overrides) -> Path:
    """The animation `output` describes (keys of `overrides` replace its options)."""
    options = {**run.config["output"], **{k: v for k, v in overrides.items() if v is not None}}
    flow = run.flow
    parametric = isinstance(flow, AbstractParametricFlow)  # drawn as generated samples, without arrows
    projection, dims = _view(options, run.context.target_samples.shape[1])
    diagnostic = options["diagnostic"] if options["diagnostic"] in trajectory.diagnostics else None
    return animate_particles(
        particle_view(run, trajectory),
        path,
        target=run.context.target_samples,
        diagnostic=diagnostic,
        dims=dims,
        projection=projection,
        fps=int(options["fps"]),
        frames=options["frames"],
        figsize=tuple(options["size"]),
        dpi=int(options["dpi"]),
        flow=flow,
        witness=bool(options["witness"]) and hasattr(flow, "kernel") and isinstance(getattr(flow, "target", None), jax.Array),
        arrows=bool(options["arrows"]) and not parametric,
    )


def load_run(run_dir: Path) -> tuple[config_module.Run, Trajectory]:
    """Rebuild a finished run's objects from its `config.json` (nothing is simulated) and load
    its trajectory."""
    run_dir = Path(run_dir)
    for name in (CONFIG_FILE, TRAJECTORY_FILE):
        if not (run_dir / name).is_file():
            raise ConfigError(f"{str(run_dir)!r} is not a finished run folder: {name} is missing.")
    run = config_module.build(config_module.load(run_dir / CONFIG_FILE))
    like = None if hasattr(run.y0, "shape") else run.y0
    return run, Trajectory.load(run_dir / TRAJECTORY_FILE, like=like)
