"""Static plots of trajectories: convergence curves of several runs on one figure (flow vs GD),
a panel per diagnostic, and the final state over the target.

Built on `matplotlib.figure.Figure` with the Agg canvas (no pyplot state, runs headless); the
image file is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .._io import atomic_path
from ..core.trajectory import Trajectory
from .projection import view_for

_LINESTYLES = ("-", "--", "-.", ":")
_MARKERS = ("o", "s", "^", "D", "v", "x", "P", "*")
_MARKS_PER_CURVE = 8


def curve_style(k: int, runs: int, points: int) -> dict:
    """Line style and markers of the `k`-th of `runs` curves of `points` points each, so that
    curves lying on top of each other stay apart: each run its own dash pattern and hollow
    marker, about `_MARKS_PER_CURVE` markers per curve, staggered so no two runs mark the same
    saved time."""
    every = max(runs, points // _MARKS_PER_CURVE, 1)  # at least one saved time per run between marks
    return {
        "linestyle": _LINESTYLES[k % len(_LINESTYLES)],
        "marker": _MARKERS[k % len(_MARKERS)],
        "markevery": ((k * every) // max(runs, 1) % every, every),
        "fillstyle": "none",
        "markersize": 5,
    }


def plot_convergence(
    trajectories: Mapping[str, Trajectory],
    path: str | os.PathLike | None = None,
    *,
    diagnostic: str = "mmd2",
    logy: bool = True,
    title: str | None = None,
    figsize: tuple[float, float] = (5.5, 4.0),
    dpi: int = 120,
) -> Figure:
    """Plot `diagnostic` against time for each labelled trajectory (e.g. flow vs GD).

    **Arguments:**
    - `trajectories`: label -> `Trajectory`.
    - `path`: where to save the figure (format from the suffix: `.png`, `.pdf`, `.svg`), or None.
    - `diagnostic`: the diagnostic to plot; `logy`: logarithmic y axis.
    Each run has its own colour, dash pattern and markers (`curve_style`), so curves that
    coincide are still told apart. Returns the matplotlib `Figure`.
    """
    if not trajectories:
        raise ValueError("`trajectories` must hold at least one trajectory.")
    figure = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    for k, (label, trajectory) in enumerate(trajectories.items()):
        if diagnostic not in trajectory.diagnostics:
            raise ValueError(
                f"trajectory {label!r} has no diagnostic {diagnostic!r}; it has {sorted(trajectory.diagnostics)}."
            )
        style = curve_style(k, len(trajectories), len(trajectory.ts))
        ax.plot(trajectory.ts, np.asarray(trajectory.diagnostics[diagnostic], dtype=float), label=label, **style)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel="t", ylabel=diagnostic, title=title or f"{diagnostic} along the flow")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    figure.tight_layout()
    _save(figure, path)
    return figure


def _save(figure: Figure, path: str | os.PathLike | None) -> None:
    if path is not None:
        path = Path(path)
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=path.suffix.lstrip(".") or "png")


def plot_diagnostics(
    trajectories: Trajectory | Mapping[str, Trajectory],
    path: str | os.PathLike | None = None,
    *,
    names: Sequence[str] | None = None,
    columns: int = 3,
    panel_size: tuple[float, float] = (3.6, 2.8),
    dpi: int = 100,
) -> Figure:
    """One panel per scalar diagnostic against time, every trajectory in each panel.

    **Arguments:**
    - `trajectories`: a `Trajectory`, or label -> `Trajectory`.
    - `names`: the diagnostics to show (default: every scalar diagnostic of the first trajectory).
    - `columns`: panels per row. A panel is log-scaled when all its values are positive.
    """
    runs = {"run": trajectories} if isinstance(trajectories, Trajectory) else dict(trajectories)
    if not runs:
        raise ValueError("`trajectories` must hold at least one trajectory.")
    first = next(iter(runs.values()))
    if names is None:
        names = [n for n, v in first.diagnostics.items() if np.ndim(v) == 1]
    if not names:
        raise ValueError("there is no scalar diagnostic to plot.")
    rows = -(-len(names) // columns)
    cols = min(columns, len(names))
    figure = Figure(figsize=(panel_size[0] * cols, panel_size[1] * rows), dpi=dpi)
    FigureCanvasAgg(figure)
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False).ravel())
    for ax, name in zip(axes, names):
        positive = True
        for k, (label, trajectory) in enumerate(runs.items()):
            if name not in trajectory.diagnostics:
                raise ValueError(f"trajectory {label!r} has no diagnostic {name!r}; it has {sorted(trajectory.diagnostics)}.")
            values = np.asarray(trajectory.diagnostics[name], dtype=float)
            if values.ndim != 1:
                raise ValueError(f"diagnostic {name!r} is not scalar (shape {values.shape[1:]} per time).")
            positive &= bool(np.all(values[np.isfinite(values)] > 0))
            style = curve_style(k, len(runs), len(values)) if len(runs) > 1 else {}
            ax.plot(trajectory.ts, values, label=label, **style)
        if positive:
            ax.set_yscale("log")
        ax.set(xlabel="t", title=name)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes[len(names):]:
        ax.set_visible(False)
    if len(runs) > 1:
        axes[0].legend(fontsize=8)
    figure.tight_layout()
    _save(figure, path)
    return figure


def plot_final_state(
    trajectory: Trajectory,
    path: str | os.PathLike | None = None,
    *,
    target: np.ndarray | None = None,
    dims: tuple[int, int] = (0, 1),
    projection: str | None = None,
    figsize: tuple[float, float] = (4.5, 4.5),
    dpi: int = 120,
) -> Figure:
    """Scatter of the initial and final particles over the target samples (coordinates `dims`,
    or `projection="pca"` fitted on the target)."""
    first, last = np.asarray(trajectory.state(0)), np.asarray(trajectory.final_state)
    if last.ndim != 2 or last.shape[1] < 2:
        raise ValueError(f"the trajectory's states must be particle clouds (T, N, d) with d >= 2, got {last.shape}.")
    tgt = None if target is None else np.asarray(target, float)
    view = view_for(last.shape[1], dims, projection, tgt)
    figure = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    if tgt is not None:
        ax.scatter(*view(tgt).T, s=6, c="tab:orange", alpha=0.35, label="target")
    ax.scatter(*view(first).T, s=6, c="tab:gray", alpha=0.4, label=f"t = {trajectory.ts[0]:.3g}")
    ax.scatter(*view(last).T, s=6, c="tab:blue", label=f"t = {trajectory.ts[-1]:.3g}")
    ax.set(xlabel=view.labels[0], ylabel=view.labels[1], title="final state")
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(fontsize=8)
    figure.tight_layout()
    _save(figure, path)
    return figure
