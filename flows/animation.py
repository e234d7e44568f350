"""Animations of particle trajectories: GIF (Pillow) or MP4 (ffmpeg), through `imageio`.

Each frame shows the particles over the target samples and, beside them, the convergence curve
of one diagnostic with a marker at the frame's time. Frames are drawn one at a time on a single
matplotlib figure (Agg canvas, no pyplot state) and handed to the writer as they are drawn;
the MP4 writer streams them to ffmpeg. The file is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ._io import atomic_path
from .trajectory import Trajectory

_FORMATS = {".gif", ".mp4"}


def _frame_indices(n_saved: int, frames: int | None) -> np.ndarray:
    if frames is None or frames >= n_saved:
        return np.arange(n_saved)
    if frames < 1:
        raise ValueError(f"`frames` must be at least 1, got {frames}.")
    return np.unique(np.round(np.linspace(0, n_saved - 1, frames)).astype(int))


def _limits(points: Sequence[np.ndarray], margin: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]]:
    stacked = np.concatenate([p.reshape(-1, p.shape[-1]) for p in points])
    stacked = stacked[np.all(np.isfinite(stacked), axis=1)]
    lo, hi = stacked.min(axis=0), stacked.max(axis=0)
    pad = margin * np.maximum(hi - lo, 1e-12)
    return (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])


def animate_particles(
    trajectory: Trajectory,
    path: str | os.PathLike,
    *,
    target: np.ndarray | None = None,
    diagnostic: str | None = "mmd2",
    dims: tuple[int, int] = (0, 1),
    fps: int = 15,
    frames: int | None = None,
    figsize: tuple[float, float] = (8.0, 4.0),
    dpi: int = 100,
    title: str | None = None,
) -> Path:
    """Write an animation of a particle trajectory to `path` (`.gif` or `.mp4`); return the path.

    **Arguments:**
    - `trajectory`: a `Trajectory` whose states are particle clouds (T, N, d), d >= 2.
    - `target`: target samples (M, d) drawn behind the particles (optional).
    - `diagnostic`: the diagnostic plotted beside the particles (log scale), or None for none.
    - `dims`: the two coordinates shown.
    - `fps`: frames per second; `frames`: how many saved times to show (evenly spaced; default all).
    - `figsize`, `dpi`: the frame size in inches and dots per inch.
    """
    path = Path(path)
    if path.suffix.lower() not in _FORMATS:
        raise ValueError(f"`path` must end in one of {sorted(_FORMATS)}, got {path.name!r}.")
    ys = np.asarray(trajectory.ys)
    if ys.ndim != 3 or ys.shape[-1] < 2:
        raise ValueError(f"the trajectory's states must be particle clouds (T, N, d) with d >= 2, got shape {ys.shape}.")
    if not all(0 <= d < ys.shape[-1] for d in dims) or dims[0] == dims[1]:
        raise ValueError(f"`dims` must be two different coordinates in [0, {ys.shape[-1]}), got {dims}.")
    if diagnostic is not None and diagnostic not in trajectory.diagnostics:
        raise ValueError(f"`diagnostic` {diagnostic!r} is not in the trajectory; it has {sorted(trajectory.diagnostics)}.")
    if fps < 1:
        raise ValueError(f"`fps` must be a positive integer, got {fps}.")
    shown = ys[..., list(dims)]
    tgt = None if target is None else np.asarray(target)[:, list(dims)]
    xlim, ylim = _limits([shown] + ([tgt] if tgt is not None else []))

    figure = Figure(figsize=figsize, dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    ax_particles, ax_curve = figure.subplots(1, 2) if diagnostic else (figure.subplots(1, 1), None)
    if tgt is not None:
        ax_particles.scatter(tgt[:, 0], tgt[:, 1], s=6, c="tab:orange", alpha=0.35, label="target")
    cloud = ax_particles.scatter(shown[0, :, 0], shown[0, :, 1], s=6, c="tab:blue", label="particles")
    ax_particles.set(xlim=xlim, ylim=ylim, xlabel=f"x{dims[0]}", ylabel=f"x{dims[1]}")
    ax_particles.set_aspect("equal", adjustable="box")
    ax_particles.legend(loc="upper right", fontsize=8)
    heading = ax_particles.set_title("")
    marker = None
    if ax_curve is not None:
        values = np.asarray(trajectory.diagnostics[diagnostic], dtype=float)
        ax_curve.plot(trajectory.ts, values, c="tab:blue")
        if np.all(values[np.isfinite(values)] > 0):
            ax_curve.set_yscale("log")
        ax_curve.set(xlabel="t", ylabel=diagnostic, title=title or diagnostic)
        (marker,) = ax_curve.plot([trajectory.ts[0]], [values[0]], "o", c="tab:red")
    figure.tight_layout()

    with atomic_path(path) as tmp:
        kwargs = {"duration": 1000.0 / fps, "loop": 0} if path.suffix.lower() == ".gif" else {"fps": fps, "macro_block_size": 1}
        with imageio.get_writer(tmp, **kwargs) as writer:
            for i in _frame_indices(len(trajectory), frames):
                cloud.set_offsets(shown[i])
                heading.set_text(f"t = {trajectory.ts[i]:.3g}")
                if marker is not None:
                    marker.set_data([trajectory.ts[i]], [values[i]])
                canvas.draw()
                writer.append_data(np.asarray(canvas.buffer_rgba())[..., :3])
    return path
