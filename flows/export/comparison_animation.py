r"""Side-by-side animations: several runs (a flow and the gradient descent that approximates it, a
GAN game and PKGF, plain and noisy flows) drawn in one frame, one panel each, over the same
target and axes, with their convergence curves overlaid in a last panel.

Two clocks: `clock="time"` shows every run at equal time $t$ (each run's last saved state at or
before $t$, so a run saved sparsely holds its state; frame times are the runs' pooled saved
times, spread evenly over that list, so a run saved on a log grid keeps its early frames), the
comparison of a flow with its time discretisation (GD with step $h$ at iteration $k$ sits at
$t = kh$). `clock="index"` shows saved state $k$ of every run, for runs whose clocks are not
comparable (a GAN's iterations and a flow's time); all runs then need the same number of saved
states. Frames are drawn one at a time and streamed to the writer (`flows.video_frames`).

Particles in one dimension (d = 1) are drawn as histograms (densities on a fixed grid of bins,
over the target's histogram in grey) instead of point clouds.

The work is split in four: the arguments are checked (`_check_runs`), the panels' kind is chosen
(`_ScatterPanels` for d >= 2, `_HistogramPanels` for d = 1: each computes its axis limits, draws
its panels with their ticks and updates one panel per frame; the first panel's legend names the
grey target), the figure is laid out (`_layout`, with the curves
of `_CurvePanel`), and the frames are drawn.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..core.trajectory import Trajectory
from .plots import curve_style
from .projection import Projection, view_for
from .video_frames import check_video_path, frame_indices, video_frames, view_limits

_CLOCKS = ("time", "index")
_BINS_1D = 48  # histogram bins across the x range of 1-D runs
# one colour per run; the target is grey behind every panel
_COLOURS = ("tab:blue", "tab:red", "tab:green", "tab:purple", "tab:brown", "tab:orange", "tab:pink", "tab:olive", "tab:cyan")


def _frame_states(trajectories: list[Trajectory], clock: str, frames: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(frame clocks, (frames, runs) saved index shown by each run in each frame)."""
    if clock == "index":
        lengths = {len(t) for t in trajectories}
        if len(lengths) != 1:
            raise ValueError(f'`clock="index"` needs runs with the same number of saved states, got {sorted(lengths)}.')
        shown = frame_indices(lengths.pop(), frames)
        return shown.astype(float), np.repeat(shown[:, None], len(trajectories), axis=1)
    pooled = np.unique(np.concatenate([np.asarray(t.ts, float) for t in trajectories]))
    times = pooled[frame_indices(len(pooled), frames)]
    columns = [np.clip(np.searchsorted(np.asarray(t.ts, float), times, side="right") - 1, 0, len(t) - 1) for t in trajectories]
    return times, np.stack(columns, axis=1)


def _first_coordinate(x: np.ndarray) -> np.ndarray:
    """The view of 1-D particles: their coordinate as an (n, 1) array."""
    return np.asarray(x, float)[:, :1]


def _density(points: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Histogram of 1-D `points` (n, 1) on `edges` as a density of all n points (points outside
    the bins count in n but in no bin)."""
    counts, _ = np.histogram(points[:, 0], bins=edges)
    return counts / (len(points) * np.diff(edges))


@dataclasses.dataclass(frozen=True)
class _Runs:
    """The runs to draw, checked: their `names`, trajectories, sample functions (state -> (n, d)
    float array) and first clouds, all of one dimension `d`."""

    names: list[str]
    trajectories: list[Trajectory]
    draws: list[Callable[[object], np.ndarray]]
    firsts: list[np.ndarray]

    @property
    def d(self) -> int:
        return self.firsts[0].shape[1]

    def cloud(self, k: int, index: int) -> np.ndarray:
        """Run `k`'s samples at saved index `index`."""
        return self.draws[k](self.trajectories[k].state(int(index)))


def _check_limits(xlim, ylim) -> None:
    for name, lim in (("xlim", xlim), ("ylim", ylim)):
        if lim is not None and not (len(lim) == 2 and np.all(np.isfinite(lim)) and lim[0] < lim[1]):
            raise ValueError(f"`{name}` must be (low, high) with low < high, got {lim!r}.")


def _check_runs(trajectories, samples, diagnostic: str | None, clock: str, projection: str | None, xlim, ylim) -> _Runs:
    """Every argument check of `animate_comparison` but the path's, before any drawing."""
    if not isinstance(trajectories, Mapping) or not trajectories:
        raise ValueError("`trajectories` must be a non-empty mapping name -> Trajectory.")
    if clock not in _CLOCKS:
        raise ValueError(f"`clock` must be one of {_CLOCKS}, got {clock!r}.")
    names = list(trajectories)
    runs = [trajectories[name] for name in names]
    if diagnostic is not None:
        missing = [name for name, run in zip(names, runs) if diagnostic not in run.diagnostics]
        if missing:
            raise ValueError(f"`diagnostic` {diagnostic!r} is missing from the runs {missing}.")
    if isinstance(samples, Mapping):
        unknown = sorted(set(samples) - set(names))
        if unknown:
            raise ValueError(f"`samples` names runs that are not in `trajectories`: {unknown}.")
        draws = [samples.get(name) for name in names]
    else:
        draws = [samples] * len(names)
    draws = [(lambda s: np.asarray(s, float)) if f is None else (lambda s, f=f: np.asarray(f(s), float)) for f in draws]
    firsts = [draw(run.state(0)) for draw, run in zip(draws, runs)]
    for name, first in zip(names, firsts):
        if first.ndim != 2 or first.shape[1] < 1:
            raise ValueError(f"run {name!r}: states must be particle clouds (N, d), or pass `samples`; got {first.shape}.")
    d = firsts[0].shape[1]
    if any(first.shape[1] != d for first in firsts):
        raise ValueError(f"every run must have the same dimension d, got {[first.shape[1] for first in firsts]}.")
    if d == 1 and projection is not None:
        raise ValueError(
            f"`projection` needs d >= 2; these runs are 1-D (drawn as histograms), got {projection!r}."
        )
    _check_limits(xlim, ylim)
    return _Runs(names, runs, draws, firsts)


def _held_points(runs: _Runs, view: Callable, target: np.ndarray | None) -> list[np.ndarray]:
    """What the default axis limits hold: the target, every run's first state and the central 99%
    of every run's last state (so one diverging run does not shrink the others to a point)."""
    lasts = [view(runs.cloud(k, len(run) - 1)) for k, run in enumerate(runs.trajectories)]
    lasts = [p[np.all(np.isfinite(p), axis=1)] for p in lasts]
    central = [np.percentile(p, [0.5, 99.5], axis=0) for p in lasts if len(p)]
    return [view(f) for f in runs.firsts] + central + ([view(target)] if target is not None else [])


@dataclasses.dataclass(frozen=True)
class _ScatterPanels:
    """Runs with d >= 2: point clouds in a 2-D view, over the target's in grey."""

    runs: _Runs
    view: Projection
    target: np.ndarray | None
    shown: np.ndarray
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    @classmethod
    def build(cls, runs: _Runs, target, shown, dims, projection, xlim, ylim) -> _ScatterPanels:
        view = view_for(runs.d, dims, projection, target)
        default_xlim, default_ylim = view_limits(_held_points(runs, view, target))
        return cls(runs, view, target, shown, default_xlim if xlim is None else xlim, default_ylim if ylim is None else ylim)

    def draw(self, ax: Axes, k: int, colour: str) -> Artist:
        if self.target is not None:
            ax.scatter(*self.view(self.target).T, s=5, c="0.55", alpha=0.35, label="target")
        cloud = ax.scatter(*self.view(self.runs.firsts[k]).T, s=5, c=colour)
        ax.set(xlim=self.xlim, ylim=self.ylim)
        ax.set_aspect("equal", adjustable="box")
        ax.tick_params(labelsize=7)
        return cloud

    @property
    def has_target(self) -> bool:
        return self.target is not None

    def update(self, cloud: Artist, k: int, frame: int) -> None:
        cloud.set_offsets(self.view(self.runs.cloud(k, self.shown[frame, k])))


@dataclasses.dataclass(frozen=True)
class _HistogramPanels:
    """Runs with d = 1: densities on `edges` (`heights[k][frame]`, all computed up front: the
    density axis must hold the highest), over the target's in grey."""

    edges: np.ndarray
    heights: list[list[np.ndarray]]
    target_height: np.ndarray | None
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    @classmethod
    def build(cls, runs: _Runs, target, shown, xlim, ylim) -> _HistogramPanels:
        if xlim is None:  # the x range only: view_limits takes 2-D points, so give it the coordinate twice
            xlim = view_limits([np.repeat(p, 2, axis=1) for p in _held_points(runs, _first_coordinate, target)])[0]
        edges = np.linspace(*xlim, _BINS_1D + 1)
        heights = [[_density(_first_coordinate(runs.cloud(k, i)), edges) for i in shown[:, k]]
                   for k in range(len(runs.names))]
        target_height = None if target is None else _density(_first_coordinate(target), edges)
        top = 1.05 * max(np.max(heights), 0.0 if target is None else target_height.max())
        return cls(edges, heights, target_height, xlim, (0.0, top or 1.0) if ylim is None else ylim)

    def draw(self, ax: Axes, k: int, colour: str) -> Artist:
        if self.target_height is not None:
            ax.stairs(self.target_height, self.edges, fill=True, color="0.8", label="target")
        bars = ax.stairs(self.heights[k][0], self.edges, color=colour, lw=1.4)
        ax.set(xlim=self.xlim, ylim=self.ylim, yticks=[])
        ax.tick_params(labelsize=7)
        return bars

    @property
    def has_target(self) -> bool:
        return self.target_height is not None

    def update(self, bars: Artist, k: int, frame: int) -> None:
        bars.set_data(self.heights[k][frame])


@dataclasses.dataclass(frozen=True)
class _CurvePanel:
    """The last panel: every run's `diagnostic` against time (or saved index), a marker per run
    at its shown state."""

    markers: list[tuple[Artist, np.ndarray, np.ndarray]]

    @classmethod
    def draw(cls, ax: Axes, runs: _Runs, colours: list[str], diagnostic: str, clock: str) -> _CurvePanel:
        curves = [np.asarray(run.diagnostics[diagnostic], float) for run in runs.trajectories]
        xs = [np.asarray(run.ts, float) if clock == "time" else np.arange(len(run), dtype=float) for run in runs.trajectories]
        markers = []
        for k, (name, x, values, colour) in enumerate(zip(runs.names, xs, curves, colours)):
            linestyle = curve_style(k, len(runs.names), len(x))["linestyle"]  # curves on top of each other stay apart
            ax.plot(x, values, c=colour, lw=1.2, ls=linestyle, label=name)
            markers.append((ax.plot([x[0]], [values[0]], "o", c=colour, ms=4)[0], x, values))
        finite = np.concatenate([v[np.isfinite(v)] for v in curves])
        if finite.size and np.all(finite > 0):
            ax.set_yscale("log")
        ax.set(xlabel="t" if clock == "time" else "saved state", title=diagnostic)
        ax.legend(fontsize=7)
        return cls(markers)

    def update(self, row: np.ndarray) -> None:
        for (marker, x, values), i in zip(self.markers, row):
            marker.set_data([x[i]], [values[i]])


@dataclasses.dataclass(frozen=True)
class _Layout:
    """The figure and the artists each frame updates."""

    canvas: FigureCanvasAgg
    clouds: list[Artist]
    headings: list[Artist]
    curves: _CurvePanel | None


def _layout(runs: _Runs, panels, diagnostic: str | None, clock: str, panel_size: float, dpi: int, title: str | None) -> _Layout:
    """One panel per run (in `runs.names` order, one colour each) and the curve panel."""
    count = len(runs.names) + (diagnostic is not None)
    figure = Figure(figsize=(panel_size * count, panel_size + (0.3 if title else 0.0)), dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    axes = np.atleast_1d(figure.subplots(1, count))
    colours = [_COLOURS[i % len(_COLOURS)] for i in range(len(runs.names))]
    clouds, headings = [], []
    for k, (ax, name, colour) in enumerate(zip(axes, runs.names, colours)):
        clouds.append(panels.draw(ax, k, colour))
        headings.append(ax.set_title(name, fontsize=9, color=colour))
    if panels.has_target:  # what the grey is, once, on the first panel
        axes[0].legend(loc="upper right", fontsize=7, markerscale=2)
    curves = None if diagnostic is None else _CurvePanel.draw(axes[-1], runs, colours, diagnostic, clock)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    return _Layout(canvas, clouds, headings, curves)


def animate_comparison(
    trajectories: Mapping[str, Trajectory],
    path: str | os.PathLike,
    *,
    target: np.ndarray | None = None,
    samples: Callable | Mapping[str, Callable] | None = None,
    diagnostic: str | None = "mmd2",
    clock: str = "time",
    dims: tuple[int, int] = (0, 1),
    projection: str | None = None,
    fps: int = 10,
    frames: int | None = None,
    panel_size: float = 3.0,
    dpi: int = 80,
    title: str | None = None,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> Path:
    """Write an animation of several runs side by side to `path` (`.gif` or `.mp4`); return the path.

    **Arguments:**
    - `trajectories`: name -> `Trajectory` (at least one), one panel each, in this order.
    - `target`: target samples (M, d) drawn behind every panel (optional).
    - `samples`: a function state -> (n, d) samples for states that are not particle clouds (a
      generator's parameters), or a mapping name -> function; runs it does not name are clouds.
    - `diagnostic`: the diagnostic whose curves are overlaid in a last panel (log scale when
      positive), with a marker at each run's shown state; None for no curve panel. Every run
      must have it.
    - `clock`: "time" (equal times) or "index" (equal saved index), see the module docstring.
    - `dims`, `projection`: the view for d > 2, as in `flows.animate_particles`. States with
      d = 1 are drawn as histograms (no `projection`).
    - `fps`: frames per second; `frames`: how many frames (evenly spread; default all).
    - `panel_size`: inches per panel side; `dpi`: dots per inch; `title`: a title over the frame.
    - `xlim`, `ylim`: the panels' axis limits in the view's coordinates (for 1-D runs `xlim` is
      also the histograms' range, `ylim` their density axis); default below.

    By default the axis limits hold the target, every run's first state and the central 99% of
    every run's last state, so one diverging run does not shrink the others to a point.
    """
    path = check_video_path(path, fps)
    runs = _check_runs(trajectories, samples, diagnostic, clock, projection, xlim, ylim)
    tgt = None if target is None else np.asarray(target, float)
    _, shown = _frame_states(runs.trajectories, clock, frames)
    if runs.d == 1:
        panels = _HistogramPanels.build(runs, tgt, shown, xlim, ylim)
    else:
        panels = _ScatterPanels.build(runs, tgt, shown, dims, projection, xlim, ylim)
    layout = _layout(runs, panels, diagnostic, clock, panel_size, dpi, title)

    with video_frames(path, fps, layout.canvas) as add_frame:
        for f, row in enumerate(shown):
            for k, (cloud, heading) in enumerate(zip(layout.clouds, layout.headings)):
                panels.update(cloud, k, f)
                heading.set_text(f"{runs.names[k]}\nt = {runs.trajectories[k].ts[row[k]]:.3g}")
            if layout.curves is not None:
                layout.curves.update(row)
            add_frame()
    return path
