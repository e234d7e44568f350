r"""Animations of trajectories: GIF (Pillow) or MP4 (ffmpeg), through `imageio`.

Each frame shows the particles (or, for a parametric flow, samples from the generator) over the
target, optionally with the witness function $f_{\mu_t,\nu}$ as a heat map and the particles'
velocities as arrows, and beside them the convergence curve of one diagnostic with a marker at
the frame's time. For d > 2 the view is a projection: two chosen coordinates, or the target's
first two principal components (PCA fitted on the target samples, so the axes stay fixed while
the particles move). Heat map and density contours are drawn on the plane of the view through
the target's mean.

Frames are drawn one at a time on a single matplotlib figure (Agg canvas, no pyplot state) and
handed to the writer as they are drawn; the MP4 writer streams them to ffmpeg, so memory stays
bounded however long the run. Pillow's GIF encoder keeps every frame until the file is closed (it
stores only what changes between frames), so a GIF's memory grows with `frames` x frame size: cap
it with `frames=`, or write MP4 for long runs. The file is written atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..core.trajectory import Trajectory
from ..discrepancies.mmd import witness_unchecked
from .projection import view_for
from .video_frames import check_video_path, frame_indices, video_frames, view_limits


@eqx.filter_jit
def _velocity(flow, t, y, args):
    return flow.drift(t, y, args)


def animate_particles(
    trajectory: Trajectory,
    path: str | os.PathLike,
    *,
    target: np.ndarray | None = None,
    diagnostic: str | None = "mmd2",
    dims: tuple[int, int] = (0, 1),
    projection: str | None = None,
    fps: int = 15,
    frames: int | None = None,
    figsize: tuple[float, float] = (8.0, 4.0),
    dpi: int = 100,
    title: str | None = None,
    flow=None,
    witness: bool = False,
    arrows: bool = False,
    samples: Callable | None = None,
    target_log_density: Callable | None = None,
    args=None,
    grid: int = 60,
) -> Path:
    """Write an animation of a trajectory to `path` (`.gif` or `.mp4`); return the path.

    **Arguments:**
    - `trajectory`: a `Trajectory` whose states are particle clouds (T, N, d), d >= 2; or, with
      `samples`, any states (e.g. a generator's parameters).
    - `target`: target samples (M, d) drawn behind the particles (optional).
    - `diagnostic`: the diagnostic plotted beside the particles (log scale), or None for none.
    - `dims`: the two coordinates shown; or `projection="pca"` for the target's first two
      principal components (needs `target`).
    - `fps`: frames per second; `frames`: how many saved times to show (evenly spaced; default all).
    - `figsize`, `dpi`: the frame size in inches and dots per inch (pixels = figsize * dpi).
    - `flow`: the flow, for `witness` (a heat map of $f_{\\mu_t,\\nu}$; needs a flow with `target`
      and `kernel`, as `MMDFlow`) and `arrows` (the velocity $v(t, x_i)$ of each particle).
    - `samples`: a function state -> (n, d) samples, for states that are not particle clouds.
    - `target_log_density`: a function (n, d) -> (n,) log-density, drawn as contours.
    - `args`: passed to the flow's drift; `grid`: heat-map resolution per axis.
    """
    path = check_video_path(path, fps)
    if diagnostic is not None and diagnostic not in trajectory.diagnostics:
        raise ValueError(f"`diagnostic` {diagnostic!r} is not in the trajectory; it has {sorted(trajectory.diagnostics)}.")
    if (witness or arrows) and flow is None:
        raise ValueError("`witness` and `arrows` need the `flow`.")
    if witness and not (hasattr(flow, "kernel") and hasattr(flow, "target")):
        raise ValueError(f"`witness` needs a kernel flow with `target` and `kernel` (as MMDFlow), got {type(flow).__name__}.")
    if arrows and samples is not None:
        raise ValueError("`arrows` show particle velocities; they need particle states, not `samples`.")
    draw_samples = (lambda state: np.asarray(state)) if samples is None else (lambda state: np.asarray(samples(state)))
    first = draw_samples(trajectory.state(0))
    if first.ndim != 2 or first.shape[1] < 2:
        raise ValueError(
            f"the trajectory's states must be particle clouds (T, N, d) with d >= 2 (or pass `samples`), got {first.shape}."
        )
    d = first.shape[1]
    tgt = None if target is None else np.asarray(target, float)
    view = view_for(d, dims, projection, tgt)
    indices = frame_indices(len(trajectory), frames)
    # axis limits from the target, the first and the last frame (states are not all held in memory)
    extent = [view(first), view(draw_samples(trajectory.state(int(indices[-1]))))] + ([view(tgt)] if tgt is not None else [])
    xlim, ylim = view_limits(extent)

    figure = Figure(figsize=figsize, dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    ax_particles, ax_curve = figure.subplots(1, 2) if diagnostic else (figure.subplots(1, 1), None)
    gx, gy = np.meshgrid(np.linspace(*xlim, grid), np.linspace(*ylim, grid))
    plane = view.lift(np.stack([gx.ravel(), gy.ravel()], axis=1))
    if target_log_density is not None:
        density = np.exp(np.asarray(target_log_density(jnp.asarray(plane))).reshape(gx.shape))
        ax_particles.contour(gx, gy, density, levels=6, colors="tab:orange", linewidths=0.8)
    if tgt is not None:
        shown_target = view(tgt)
        ax_particles.scatter(shown_target[:, 0], shown_target[:, 1], s=6, c="tab:orange", alpha=0.35, label="target")
    heat = None
    if witness:
        heat = ax_particles.imshow(
            np.zeros_like(gx), extent=(*xlim, *ylim), origin="lower", cmap="RdBu_r", alpha=0.55, aspect="auto", zorder=0
        )
        figure.colorbar(heat, ax=ax_particles, fraction=0.046, pad=0.02, label="witness f")
    shown = view(first)
    cloud = ax_particles.scatter(shown[:, 0], shown[:, 1], s=6, c="tab:blue", label="samples" if samples else "particles")
    quiver = None
    if arrows:
        quiver = ax_particles.quiver(shown[:, 0], shown[:, 1], np.zeros(len(shown)), np.zeros(len(shown)),
                                     color="tab:green", angles="xy", width=0.004)
    ax_particles.set(xlim=xlim, ylim=ylim, xlabel=view.labels[0], ylabel=view.labels[1])
    if not witness:
        ax_particles.set_aspect("equal", adjustable="box")
    ax_particles.legend(loc="upper right", fontsize=8)
    heading = ax_particles.set_title("")
    marker = values = None
    if ax_curve is not None:
        values = np.asarray(trajectory.diagnostics[diagnostic], dtype=float)
        ax_curve.plot(trajectory.ts, values, c="tab:blue")
        if np.all(values[np.isfinite(values)] > 0):
            ax_curve.set_yscale("log")
        ax_curve.set(xlabel="t", ylabel=diagnostic, title=title or diagnostic)
        (marker,) = ax_curve.plot([trajectory.ts[0]], [values[0]], "o", c="tab:red")
    figure.tight_layout()

    with video_frames(path, fps, canvas) as add_frame:
        for i in indices:
            state = trajectory.state(int(i))
            points = draw_samples(state)
            shown = view(points)
            cloud.set_offsets(shown)
            if heat is not None:
                y = jnp.asarray(points)
                f = witness_unchecked(jnp.asarray(plane, y.dtype), y, flow.target.astype(y.dtype), flow.kernel)
                f = np.asarray(f).reshape(gx.shape)
                bound = max(float(np.abs(f).max()), 1e-12)
                heat.set_data(f)
                heat.set_clim(-bound, bound)
            if quiver is not None:
                v = np.asarray(_velocity(flow, jnp.asarray(trajectory.ts[i]), jnp.asarray(points), args))
                quiver.set_offsets(shown)
                quiver.set_UVC(*(v @ view.basis).T)
            heading.set_text(f"t = {trajectory.ts[i]:.3g}")
            if marker is not None:
                marker.set_data([trajectory.ts[i]], [values[i]])
            add_frame()
    return path
