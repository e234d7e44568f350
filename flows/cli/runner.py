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

A folder that already holds a run is refused unless `resume` (continue it, or write whatever
output a finished run is missing, e.g. an animation it was killed while drawing) or `overwrite`
(delete it and start afresh). Temporary files of a write that was killed are removed at the next
start, and an animation the config no longer asks for is removed with the run it belonged to.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import jax
from tqdm.auto import tqdm

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
CHECKPOINTS = "checkpoints"
ANIMATION_STEM = "animation"
TABLES = ("metrics.csv", "metrics.json")
FIGURES = ("diagnostics.png", "final_state.png")
_STEMS = ("config", "trajectory", "metrics", "diagnostics", "final_state", ANIMATION_STEM)
"""The stems of the files a run writes (their temporary files are `.STEM.*.tmp*`, `flows._io`)."""


def write_config(config: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(config, indent=2) + "\n")


def check_output_folder(out: Path, *, resume: bool = False, overwrite: bool = False) -> None:
    """Raise `ConfigError` unless `out` can take this run: a folder (or a path one can be made
    at) that can be written, holding no run unless `resume` or `overwrite` says what to do with it.
    Writes nothing."""
    out = Path(out)
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other: continue the run in the folder, or replace it.")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"`--out` {str(out)!r} is a file, not a folder: give a folder (it is created if missing).")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"`--out` {str(out)!r} cannot be created: {str(existing)!r} is a file, not a folder.")
    try:
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise ConfigError(
            f"`--out` {str(out)!r} is not writable ({error.strerror}: {str(existing)!r}); "
            "give a folder you can write to."
        ) from None
    if (out / CONFIG_FILE).is_file() and not (resume or overwrite):
        if (out / TRAJECTORY_FILE).is_file():
            raise ConfigError(
                f"`--out` {str(out)!r} holds a finished run: pass --resume to write any output it is missing, "
                "--overwrite to replace it, or give another --out."
            )
        raise ConfigError(
            f"`--out` {str(out)!r} holds an unfinished run: pass --resume to continue it from its checkpoints, "
            "--overwrite to start afresh, or give another --out."
        )


def _clear_temporary(out: Path) -> None:
    """Remove the temporary files of writes that were killed (`.STEM.XXXX.tmp.SUFFIX`)."""
    for stem in _STEMS:
        for stale in out.glob(f".{stem}.*.tmp*"):
            stale.unlink()


def _remove_run(out: Path) -> None:
    """Delete what a run writes in `out` (nothing else there is touched)."""
    for name in (CONFIG_FILE, TRAJECTORY_FILE, *TABLES, *FIGURES):
        (out / name).unlink(missing_ok=True)
    for animation in out.glob(f"{ANIMATION_STEM}.*"):
        animation.unlink()
    if (out / CHECKPOINTS).is_dir():
        shutil.rmtree(out / CHECKPOINTS)


def execute(
    run: config_module.Run, out: Path, *, resume: bool = False, overwrite: bool = False, progress: bool = True
) -> Trajectory:
    """Simulate a built run with checkpoints in `out/checkpoints` and write every output to `out`.

    `resume`: continue the run in `out` from its checkpoints, or, if it finished, write only the
    outputs it is missing (all of them if `output` changed). `overwrite`: replace the run in
    `out`. Without either, a folder holding a run is refused (`check_output_folder`)."""
    out = Path(out)
    check_output_folder(out, resume=resume, overwrite=overwrite)
    fprint = config_module.fingerprint(run.config)
    previous = json.loads((out / CONFIG_FILE).read_text()) if resume and (out / CONFIG_FILE).is_file() else None
    if previous is not None and config_module.fingerprint(previous) != fprint:
        raise ConfigError(
            f"--resume: the config differs from the one the run in {str(out)!r} started with "
            f"({out / CONFIG_FILE}); resume with that config, or pass --overwrite to start afresh."
        )
    if out.is_dir():
        _clear_temporary(out)
    if not resume and out.is_dir():
        _remove_run(out)
    finished = previous is not None and (out / TRAJECTORY_FILE).is_file()
    if previous != json.loads(json.dumps(run.config)):  # (a resumed run's file is already this config)
        write_config(run.config, out / CONFIG_FILE)
    if finished:
        trajectory = Trajectory.load(out / TRAJECTORY_FILE, like=None if hasattr(run.y0, "shape") else run.y0)
    else:
        checkpoint = Checkpoint(out / CHECKPOINTS, every=run.config["checkpoint"]["every"], resume=resume, tag=fprint)
        label = run.config["solver"]["kind"] if progress else False
        trajectory = simulate(run.flow, run.y0, progress=label, checkpoint=checkpoint, **run.simulate_kwargs)
        trajectory.metadata["name"] = run.config["name"]
        trajectory.save(out / TRAJECTORY_FILE)
    only_missing = finished and previous.get("output") == run.config["output"]
    write_outputs(run, trajectory, out, only_missing=only_missing, progress=progress)
    return trajectory


def write_outputs(
    run: config_module.Run, trajectory: Trajectory, out: Path, *, only_missing: bool = False, progress: bool = False
) -> None:
    """Tables, figures and (if the config asks) the animation of a finished run; an animation
    the config does not ask for is removed. `only_missing`: keep the files already written."""
    options = run.config["output"]
    animation = out / f"{ANIMATION_STEM}.{options['animation']}" if options["animation"] else None
    for stale in out.glob(f"{ANIMATION_STEM}.*"):
        if stale != animation:
            stale.unlink()
    target = run.context.target_samples
    projection, dims = _view(options, target.shape[1])
    writers = {
        "metrics.csv": lambda path: write_csv(trajectory, path),
        "metrics.json": lambda path: write_json(trajectory, path),
        "diagnostics.png": lambda path: plot_diagnostics(trajectory, path),
        "final_state.png": lambda path: plot_final_state(
            particle_view(run, trajectory), path, target=target, projection=projection, dims=dims
        ),
    }
    if animation is not None:
        writers[animation.name] = lambda path: animate(run, trajectory, path, progress=progress)
    todo = [name for name in writers if not (only_missing and (out / name).is_file())]
    with tqdm(todo, desc="outputs", unit="file", disable=not progress) as bar:
        for name in bar:
            bar.set_postfix_str(name)
            writers[name](out / name)


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


def animate(run: config_module.Run, trajectory: Trajectory, path: Path, *, progress: bool = False, **overrides) -> Path:
    """The animation `output` describes (keys of `overrides` replace its options); `progress`:
    a bar over the frames."""
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
        progress=progress,
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
