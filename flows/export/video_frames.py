r"""What every animation exporter shares: the output checks, the frame choice, the axis limits, and
a writer that streams matplotlib canvases into a GIF (Pillow) or MP4 (ffmpeg) through `imageio`.

The file is written atomically (`flows.atomic_path`): an interrupted export leaves no partial
file. The MP4 writer streams frames to ffmpeg, so memory stays bounded; Pillow's GIF encoder
keeps every frame until the file is closed, so a GIF's memory grows with the frame count.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import imageio.v2 as imageio
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg

from .._io import atomic_path

FORMATS = {".gif", ".mp4"}


def check_video_path(path: str | os.PathLike, fps: int) -> Path:
    """`path` as a `Path`, after checking its suffix (.gif or .mp4) and `fps` (a positive int)."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"`path` must end in one of {sorted(FORMATS)}, got {path.name!r}.")
    if not (isinstance(fps, int) and fps >= 1):
        raise ValueError(f"`fps` must be a positive integer, got {fps!r}.")
    return path


def frame_indices(n_saved: int, frames: int | None) -> np.ndarray:
    """`frames` indices evenly spread over `n_saved` saved times (all of them when None)."""
    if frames is not None and frames < 1:
        raise ValueError(f"`frames` must be at least 1, got {frames}.")
    if frames is None or frames >= n_saved:
        return np.arange(n_saved)
    return np.unique(np.round(np.linspace(0, n_saved - 1, frames)).astype(int))


def view_limits(points: Sequence[np.ndarray], margin: float = 0.05) -> tuple[tuple[float, float], tuple[float, float]]:
    """(xlim, ylim) holding every finite 2-D point of `points`, with a `margin` on each side."""
    stacked = np.concatenate([p.reshape(-1, p.shape[-1]) for p in points])
    stacked = stacked[np.all(np.isfinite(stacked), axis=1)]
    lo, hi = stacked.min(axis=0), stacked.max(axis=0)
    pad = margin * np.maximum(hi - lo, 1e-12)
    return (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1])


@contextlib.contextmanager
def video_frames(path: Path, fps: int, canvas: FigureCanvasAgg) -> Iterator[Callable[[], None]]:
    """Yield `add()`, which draws `canvas` and appends it as the next frame of the video at `path`."""
    kwargs = {"duration": 1000.0 / fps, "loop": 0} if path.suffix.lower() == ".gif" else {"fps": fps, "macro_block_size": 1}
    with atomic_path(path) as tmp, imageio.get_writer(tmp, **kwargs) as writer:

        def add() -> None:
            canvas.draw()
            writer.append_data(np.asarray(canvas.buffer_rgba())[..., :3])

        yield add
