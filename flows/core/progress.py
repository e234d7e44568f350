"""A `tqdm` progress bar for the discrete engine (the ODE engine uses diffrax's own meter).

The compiled loop reports the iteration count at each saved time through an ordered host
callback; the bar it updates is the one `progress_bar` opened, so the compiled program does not
depend on the bar and is traced once.
"""

from __future__ import annotations

import contextlib

import jax
import numpy as np
from tqdm.auto import tqdm

_active_bar: list[tqdm] = []


def _update(count) -> None:
    if _active_bar:
        bar = _active_bar[-1]
        bar.update(int(np.asarray(count)) - bar.n)


def report_progress(count) -> None:
    """From inside a compiled loop: the run has reached iteration `count`."""
    jax.debug.callback(_update, count, ordered=True)


@contextlib.contextmanager
def progress_bar(total: int, description: str):
    """Open a bar of `total` iterations for the compiled loop to update."""
    bar = tqdm(total=total, desc=description, unit="it")
    _active_bar.append(bar)
    try:
        yield bar
    finally:
        _active_bar.pop()
        bar.close()
