"""Static plots of trajectories: convergence curves of several runs on one figure.

Built on `matplotlib.figure.Figure` with the Agg canvas (no pyplot state, runs headless); the
image file is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ._io import atomic_path
from .trajectory import Trajectory


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
    Returns the matplotlib `Figure`.
    """
    if not trajectories:
        raise ValueError("`trajectories` must hold at least one trajectory.")
    figure = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    for label, trajectory in trajectories.items():
        if diagnostic not in trajectory.diagnostics:
            raise ValueError(
                f"trajectory {label!r} has no diagnostic {diagnostic!r}; it has {sorted(trajectory.diagnostics)}."
            )
        ax.plot(trajectory.ts, np.asarray(trajectory.diagnostics[diagnostic], dtype=float), label=label)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel="t", ylabel=diagnostic, title=title or f"{diagnostic} along the flow")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    figure.tight_layout()
    if path is not None:
        path = Path(path)
        with atomic_path(path) as tmp:
            figure.savefig(tmp, format=path.suffix.lstrip(".") or "png")
    return figure
