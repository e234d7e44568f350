r"""Animations of trajectories: GIF (Pillow) or MP4 (ffmpeg), through `imageio`.

Each frame shows the particles (or, for a parametric flow, samples from the generator) over the
target, optionally with the witness function $f_{\mu_t,\nu}$ as a heat map and the particles'
velocities as arrows, and beside them the convergence curve of one diagnostic with a marker at
the frame's time. For d > 2 the view is a projection: two chosen coordinates, or the target's
first two principal components (PCA fitted on the target samples, so the axes stay fixed while
the particles move). Heat map and density contours are drawn on the plane of the view through
the target's mean.

Frames are drawn one at a time on a single matplotlib figure (Agg canvas, no pyplot state) and
handed to the writer as they are drawn; the MP4 writer streams them to ffmpeg, so the rendered
frames never pile up (what they show, the viewed samples, heat maps and arrows, is computed first
and kept: a few times frames x (n + grid²) numbers). Pillow's GIF encoder keeps every frame until
the file is closed (it stores only what changes between frames), so a GIF's memory grows with
`frames` x frame size: cap it with `frames=`, or write MP4 for long runs. The file is written
atomically.

The work is split in four: the arguments are checked (`_check_options`); what each frame shows is
computed before any drawing (`_frame_data`: the view of every frame's particles, the witness heat
maps and the velocity arrows); the figure and its artists are laid out once (`_layout`); and each
frame only updates those artists (`_Artists.show`) before it is written.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from ..core.trajectory import Trajectory
from ..discrepancies.mmd import witness_unchecked
from .projection import Projection, view_for
from .video_frames import check_video_path, frame_indices, video_frames, view_limits


@eqx.filter_jit
def _velocity(flow, t, y, args):
    return flow.drift(t, y, args)


@eqx.filter_jit
def _witness_on_plane(flow, plane, y):
    r"""The witness $f_{\mu,\nu}(z) = \frac1N\sum_i k(x_i, z) - \frac1M\sum_j k(t_j, z)$ of the
    particles $x_1..x_N$ (`y`) against the target samples $t_1..t_M$ (`flow.target`) at each point $z$
    of `plane` (one compiled program per shape)."""
    return witness_unchecked(plane, y, flow.target.astype(y.dtype), flow.kernel)


def _check_options(trajectory: Trajectory, diagnostic, flow, witness: bool, arrows: bool, samples) -> None:
    """The checks of `animate_particles` that need no state."""
    if diagnostic is not None and diagnostic not in trajectory.diagnostics:
        raise ValueError(f"`diagnostic` {diagnostic!r} is not in the trajectory; it has {sorted(trajectory.diagnostics)}.")
    if (witness or arrows) and flow is None:
        raise ValueError("`witness` and `arrows` need the `flow`.")
    if witness and not (hasattr(flow, "kernel") and hasattr(flow, "target")):
        raise ValueError(f"`witness` needs a kernel flow with `target` and `kernel` (as MMDFlow), got {type(flow).__name__}.")
    if arrows and samples is not None:
        raise ValueError("`arrows` show particle velocities; they need particle states, not `samples`.")


@dataclasses.dataclass(frozen=True)
class _Plane:
    r"""The view's plane: limits, a `grid` x `grid` mesh `gx`, `gy` on them, and the mesh's points
    lifted to $\mathbb R^d$ (`points`, (grid², d)), where heat maps and densities are evaluated."""

    xlim: tuple[float, float]
    ylim: tuple[float, float]
    gx: np.ndarray
    gy: np.ndarray
    points: np.ndarray

    @classmethod
    def on(cls, view: Projection, xlim, ylim, grid: int) -> _Plane:
        gx, gy = np.meshgrid(np.linspace(*xlim, grid), np.linspace(*ylim, grid))
        return cls(xlim, ylim, gx, gy, view.lift(np.stack([gx.ravel(), gy.ravel()], axis=1)))


@dataclasses.dataclass(frozen=True)
class _FrameData:
    """What frame `f` shows: `times[f]`, the viewed points `shown[f]` (n, 2), the witness heat map
    `heat[f]` (grid, grid) and the particles' velocities in the view `arrows[f]` (N, 2) (None
    when not drawn)."""

    times: np.ndarray
    shown: list[np.ndarray]
    heat: list[np.ndarray] | None
    arrows: list[np.ndarray] | None


def _frame_data(trajectory, indices, draw_samples, view: Projection, plane: _Plane, flow, witness: bool, arrows: bool,
                args, tick: Callable[[], None]) -> _FrameData:
    """Every frame's data, before any drawing. Heat maps: one compiled `_witness_on_plane` call per
    frame, not one batched call: a batch would hold every frame's grid² x N kernel values at once
    (or stack all frames' particles first) and recompile for each frame count, while per frame the
    program is compiled once per shape and its call costs little next to rendering the frame. The
    per-frame results (grid² numbers each) are kept for the drawing loop. `tick()` after each
    frame's heat map and arrows (when there are any)."""
    times = np.asarray(trajectory.ts)[indices]
    points = [draw_samples(trajectory.state(int(i))) for i in indices]
    heat = [] if witness else None
    velocities = [] if arrows else None
    for t, cloud in zip(times, points):
        y = jnp.asarray(cloud)
        if witness:
            heat.append(np.asarray(_witness_on_plane(flow, jnp.asarray(plane.points, y.dtype), y)).reshape(plane.gx.shape))
        if arrows:
            velocities.append(np.asarray(_velocity(flow, jnp.asarray(t), y, args)) @ view.basis)
        if witness or arrows:
            tick()
    return _FrameData(times, [view(cloud) for cloud in points], heat, velocities)


@dataclasses.dataclass(frozen=True)
class _Artists:
    """What each frame updates: the particles, the heat map, the arrows, the title, and the
    diagnostic curve's marker with the curve's `values` (None where not drawn)."""

    canvas: FigureCanvasAgg
    cloud: Artist
    heat: Artist | None
    quiver: Artist | None
    heading: Artist
    marker: Artist | None
    values: np.ndarray | None

    def show(self, data: _FrameData, f: int, index: int) -> None:
        """Set every artist to frame `f` (saved index `index`)."""
        self.cloud.set_offsets(data.shown[f])
        if self.heat is not None:
            bound = max(float(np.abs(data.heat[f]).max()), 1e-12)
            self.heat.set_data(data.heat[f])
            self.heat.set_clim(-bound, bound)
        if self.quiver is not None:
            self.quiver.set_offsets(data.shown[f])
            self.quiver.set_UVC(*data.arrows[f].T)
        self.heading.set_text(f"t = {data.times[f]:.3g}")
        if self.marker is not None:
            self.marker.set_data([data.times[f]], [self.values[index]])


def _layout(trajectory, first_shown: np.ndarray, view: Projection, plane: _Plane, *, target, diagnostic, witness: bool,
            arrows: bool, samples, target_log_density, figsize, dpi, title) -> _Artists:
    """The figure: particles (with the target, density contours, heat map and arrows) and the
    diagnostic's curve beside them."""
    figure = Figure(figsize=figsize, dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    ax_particles, ax_curve = figure.subplots(1, 2) if diagnostic else (figure.subplots(1, 1), None)
    if target_log_density is not None:
        density = np.exp(np.asarray(target_log_density(jnp.asarray(plane.points))).reshape(plane.gx.shape))
        ax_particles.contour(plane.gx, plane.gy, density, levels=6, colors="tab:orange", linewidths=0.8)
    if target is not None:
        shown_target = view(target)
        ax_particles.scatter(shown_target[:, 0], shown_target[:, 1], s=6, c="tab:orange", alpha=0.35, label="target")
    heat = None
    if witness:
        heat = ax_particles.imshow(np.zeros_like(plane.gx), extent=(*plane.xlim, *plane.ylim), origin="lower",
                                   cmap="RdBu_r", alpha=0.55, aspect="auto", zorder=0)
        figure.colorbar(heat, ax=ax_particles, fraction=0.046, pad=0.02, label="witness f")
    cloud = ax_particles.scatter(first_shown[:, 0], first_shown[:, 1], s=6, c="tab:blue",
                                 label="samples" if samples else "particles")
    quiver = None
    if arrows:
        zeros = np.zeros(len(first_shown))
        quiver = ax_particles.quiver(first_shown[:, 0], first_shown[:, 1], zeros, zeros, color="tab:green", angles="xy",
                                     width=0.004)
    ax_particles.set(xlim=plane.xlim, ylim=plane.ylim, xlabel=view.labels[0], ylabel=view.labels[1])
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
    return _Artists(canvas, cloud, heat, quiver, heading, marker, values)


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
    progress: bool = False,
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
    - `progress`: a progress bar over the frames (their heat maps and arrows, then their drawing).

    The shown frames' samples, heat maps (grid² values each) and arrows are computed before
    drawing and held until the file is written.
    """
    path = check_video_path(path, fps)
    _check_options(trajectory, diagnostic, flow, witness, arrows, samples)
    draw_samples = (lambda state: np.asarray(state)) if samples is None else (lambda state: np.asarray(samples(state)))
    first = draw_samples(trajectory.state(0))
    if first.ndim != 2 or first.shape[1] < 2:
        raise ValueError(
            f"the trajectory's states must be particle clouds (T, N, d) with d >= 2 (or pass `samples`), got {first.shape}."
        )
    tgt = None if target is None else np.asarray(target, float)
    view = view_for(first.shape[1], dims, projection, tgt)
    indices = frame_indices(len(trajectory), frames)
    # axis limits from the target, the first and the last frame
    extent = [view(first), view(draw_samples(trajectory.state(int(indices[-1]))))] + ([view(tgt)] if tgt is not None else [])
    plane = _Plane.on(view, *view_limits(extent), grid)
    total = len(indices) * (2 if witness or arrows else 1)
    with tqdm(total=total, desc=path.name, unit="frame", disable=not progress) as bar:
        data = _frame_data(trajectory, indices, draw_samples, view, plane, flow, witness, arrows, args, bar.update)
        artists = _layout(trajectory, view(first), view, plane, target=tgt, diagnostic=diagnostic, witness=witness,
                          arrows=arrows, samples=samples, target_log_density=target_log_density, figsize=figsize,
                          dpi=dpi, title=title)
        with video_frames(path, fps, artists.canvas) as add_frame:
            for f, i in enumerate(indices):
                artists.show(data, f, int(i))
                add_frame()
                bar.update()
    return path
