"""The command line: `flows run | animate | compare | list` (also `python -m flows ...`).

    flows run CONFIG.toml --out DIR [--resume | --overwrite]   simulate a config, write results to DIR
    flows animate RUN_DIR [--format gif|mp4]     (re)draw a finished run's animation
    flows compare RUN_DIR RUN_DIR ... --out DIR  one convergence plot and one table for several runs
    flows list [SECTION]                         the targets, kernels, flows, solvers, diagnostics, ...
    flows --version

A bad config or output folder stops with an error naming the key (or argument), the bad value
and what to set (exit status 2) before anything runs or is written; a run that diverges exits
with status 1.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._io import atomic_path
from ..analysis.rates import fit_rate
from ..core.simulate import FlowDivergedError
from ..export.plots import plot_convergence
from . import config as config_module
from .entries import ALL
from .registry import ConfigError
from .runner import animate, check_output_folder, execute, load_run

_EXIT_CONFIG = 2
_EXIT_DIVERGED = 1
_EXIT_CLOSED_PIPE = 128 + 13  # what a shell reports for a process ended by SIGPIPE (`yes | head`)
DISTRIBUTION = "flows-jax"
"""The package's name on the package index (`pip install flows-jax`); the import name is `flows`."""


def _cmd_run(options) -> int:
    out = Path(options.out)
    check_output_folder(out, resume=options.resume, overwrite=options.overwrite)
    config = config_module.load(options.config)
    config_module.set_precision(config)
    run = config_module.build(config)
    trajectory = execute(run, out, resume=options.resume, overwrite=options.overwrite, progress=not options.no_progress)
    last = {k: float(v[-1]) for k, v in trajectory.diagnostics.items() if np.ndim(v) == 1}
    summary = ", ".join(f"{k} = {v:.4g}" for k, v in last.items())
    print(f"{run.config['name']}: t = {trajectory.ts[-1]:g}, {summary}. Results in {out}/")
    return 0


def _cmd_animate(options) -> int:
    run, trajectory = load_run(Path(options.run_dir))
    fmt = options.format or run.config["output"]["animation"] or "gif"
    path = Path(options.out) if options.out else Path(options.run_dir) / f"animation.{fmt}"
    progress = not options.no_progress
    animate(run, trajectory, path, progress=progress, fps=options.fps, frames=options.frames, dpi=options.dpi)
    print(f"wrote {path}")
    return 0


def _cmd_compare(options) -> int:
    runs = {}
    for run_dir in options.run_dirs:
        run, trajectory = load_run(Path(run_dir))
        label = run.config["name"]
        if label in runs:
            label = f"{label} ({run_dir})"
        runs[label] = trajectory
    out = Path(options.out)
    diagnostic = options.diagnostic
    plot_convergence(runs, out / "compare.png", diagnostic=diagnostic, title=f"{diagnostic}: {len(runs)} runs")
    rows = {}
    for label, trajectory in runs.items():
        values = np.asarray(trajectory.diagnostics[diagnostic], dtype=float)
        row = {"t_end": float(trajectory.ts[-1]), f"{diagnostic}_start": float(values[0]), f"{diagnostic}_end": float(values[-1])}
        try:
            fit = fit_rate(trajectory, diagnostic)
            row.update(rate_model=fit.model, rate=fit.rate, rate_r_squared=fit.r_squared)
        except ValueError:
            row.update(rate_model="", rate=float("nan"), rate_r_squared=float("nan"))
        row["wall_time_s"] = float(trajectory.metadata.get("wall_time_s", float("nan")))
        row["solver_steps"] = int(trajectory.stats.get("num_steps", -1))
        rows[label] = row
    _write_summary(rows, out / "compare.csv")
    print(f"wrote {out / 'compare.png'} and {out / 'compare.csv'}")
    return 0


def _write_summary(rows: dict[str, dict], path: Path) -> None:
    header = ["run", *next(iter(rows.values()))]
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows({"run": label, **row} for label, row in rows.items())


def _cmd_list(options) -> int:
    for section, reg in ALL.items():
        if options.section and section != options.section:
            continue
        print(f"{section}: {reg.description}")
        converters = {}
        for entry in reg:
            print(f"  {entry.signature_text():<48} {entry.description}")
            for name, key in entry.keys().items():
                if key.converter is not None:
                    converters.setdefault((name, key.converter.name), key.converter)
        for (name, _), converter in sorted(converters.items()):
            unset = f"; left out: {converter.unset}" if converter.unset else ""
            print(f"    `{name}`: {converter.accepts}{unset}")
        print()
    return 0


def _version() -> str:
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return f"(not installed as {DISTRIBUTION}: python -m pip install -e .)"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="flows", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    main.add_argument("--version", action="version", version=f"flows {_version()}", help="print the version and exit")
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="simulate a config and write its results to a folder")
    run.add_argument("config", help="a .toml (or .json) run config")
    run.add_argument("--out", required=True, help="the output folder (created if missing)")
    existing = run.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume", action="store_true",
        help="continue the run in --out from its last checkpoint, or write the outputs a finished run is missing",
    )
    existing.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    run.set_defaults(handler=_cmd_run)

    anim = commands.add_parser("animate", help="draw a finished run's animation")
    anim.add_argument("run_dir", help="a finished run's folder (written by flows run)")
    anim.add_argument("--format", choices=["gif", "mp4"], help="the file format (default: the config's, else gif)")
    anim.add_argument("--out", help="the file to write (default RUN_DIR/animation.FORMAT)")
    anim.add_argument("--fps", type=_positive_int, help="frames per second (default: the config's output.fps)")
    anim.add_argument(
        "--frames", type=_positive_int, help="how many saved times to draw (default: the config's, else all)"
    )
    anim.add_argument("--dpi", type=_positive_int, help="dots per inch (default: the config's output.dpi)")
    anim.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    anim.set_defaults(handler=_cmd_animate)

    comp = commands.add_parser("compare", help="one convergence plot and one table for several runs")
    comp.add_argument("run_dirs", nargs="+", metavar="run_dir", help="finished run folders (written by flows run)")
    comp.add_argument("--out", default=".", help="folder for compare.png and compare.csv (default: .)")
    comp.add_argument("--diagnostic", default="mmd2", help="the diagnostic to compare (default mmd2)")
    comp.set_defaults(handler=_cmd_compare)

    lst = commands.add_parser("list", help="the kernels, flows, targets, solvers and diagnostics a config may name")
    lst.add_argument("section", nargs="?", choices=list(ALL), help="only this section (default: all)")
    lst.set_defaults(handler=_cmd_list)
    return main


def main(argv: Sequence[str] | None = None) -> int:
    # the MP4 writer starts ffmpeg with fork + exec at once; JAX's warning about fork does not apply
    warnings.filterwarnings("ignore", r"os\.fork\(\) was called", RuntimeWarning)
    options = parser().parse_args(argv)
    try:
        return options.handler(options)
    except (ConfigError, ValueError) as error:  # bad config or bad request: say what, no traceback
        print(f"flows {options.command}: error: {error}", file=sys.stderr)
        return _EXIT_CONFIG
    except FlowDivergedError as error:
        print(f"flows {options.command}: the run diverged: {error}", file=sys.stderr)
        return _EXIT_DIVERGED
    except BrokenPipeError:  # the reader left (`flows list | head`): stop quietly, as shell tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the interpreter's last flush at exit does not fail again
        return _EXIT_CLOSED_PIPE


if __name__ == "__main__":
    sys.exit(main())
