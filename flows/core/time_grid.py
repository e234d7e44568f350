"""The times a run is saved at: the one place the interval, the save times and the discrete
engine's iteration grid are checked and computed (`simulate` and the command line both use it).

The discrete engine advances time by `step` per iteration, so it can only save at
$t_0 + k\\,\\text{step}$. A step stored in float32 (0.05 is 0.0500000007...) is only known to its
own precision, so "on the grid" allows 8 ulps of the step's dtype (and at least 1e-9), relative
to the number of steps.
"""

from __future__ import annotations

import math

import numpy as np

DEFAULT_SAVES = 101
GRID_TOLERANCE = 1e-9


def check_interval(t0, t1) -> tuple[float, float]:
    """`(t0, t1)` as floats; raise `ValueError` unless both are finite numbers with t1 > t0."""
    for name, value in (("t0", t0), ("t1", t1)):
        if isinstance(value, bool) or not (isinstance(value, (int, float, np.number)) or np.ndim(value) == 0):
            raise ValueError(f"`{name}` must be a finite number, got {value!r}.")
        if not math.isfinite(float(value)):
            raise ValueError(f"`{name}` must be a finite number, got {value!r}.")
    t0, t1 = float(t0), float(t1)
    if not t1 > t0:
        raise ValueError(f"`t1` must be greater than `t0` = {t0}, got t1 = {t1}.")
    return t0, t1


def _rounding(values) -> float:
    """A few roundings (8 eps) of `values`' float type; 0 for None and non-float values."""
    dtype = None if values is None else np.asarray(values).dtype
    return 8 * float(np.finfo(dtype).eps) if dtype is not None and np.issubdtype(dtype, np.floating) else 0.0


def check_save_times(ts, t0: float, t1: float) -> np.ndarray:
    """`ts` as a float array clipped to [t0, t1]: non-empty, 1-D, finite, non-decreasing, inside the
    interval up to `GRID_TOLERANCE` of its scale, or a few roundings of `ts`'s own float type (a
    float32 `jnp.linspace(0, 0.2, 3)` ends at 0.2000000030)."""
    rounding = _rounding(ts)
    ts = np.asarray(ts).astype(float)
    if ts.ndim != 1 or ts.size == 0:
        raise ValueError(f"`ts` must be a non-empty 1-D array of times, got shape {ts.shape}.")
    if not np.all(np.isfinite(ts)):
        raise ValueError("`ts` must be finite.")
    if np.any(np.diff(ts) < 0):
        raise ValueError("`ts` must be non-decreasing.")
    span = max(GRID_TOLERANCE, rounding) * max(1.0, abs(t0), abs(t1))
    if ts[0] < t0 - span or ts[-1] > t1 + span:
        raise ValueError(f"`ts` must lie in [t0, t1] = [{t0}, {t1}], got [{ts[0]}, {ts[-1]}].")
    return np.clip(ts, t0, t1)


def ode_save_times(t0: float, t1: float, *, ts=None, saves: int = DEFAULT_SAVES) -> np.ndarray:
    """The save times of a diffrax solve: `ts` (checked), or `saves` evenly spaced times."""
    return np.linspace(t0, t1, saves) if ts is None else check_save_times(ts, t0, t1)


def discrete_save_steps(t0: float, t1: float, step, *, ts=None, saves: int = DEFAULT_SAVES) -> np.ndarray:
    """The iteration counts (int64, non-decreasing) at which the discrete engine saves.

    `t1 - t0` must be a whole number of steps. With `ts`, every time must be on the iteration grid
    $t_0 + k\\,\\text{step}$; otherwise up to `saves` evenly spread iterations, 0 and the last included.

    **Raises:** `ValueError` naming `t1` or `ts` when they are off the grid.
    """
    step_value = float(step)
    tolerance = max(GRID_TOLERANCE, _rounding(step), _rounding(ts))
    total = (t1 - t0) / step_value
    n_steps = round(total)
    if n_steps < 1 or abs(total - n_steps) > tolerance * max(1.0, total):
        raise ValueError(
            f"`t1` - `t0` = {t1 - t0:g} must be a whole number of solver steps (step = {step_value:g}) "
            "for the discrete engine."
        )
    if ts is None:
        return np.unique(np.round(np.linspace(0, n_steps, min(saves, n_steps + 1))).astype(np.int64))
    ts = check_save_times(ts, t0, t1)
    exact = (ts - t0) / step_value
    counts = np.round(exact).astype(np.int64)
    off = np.abs(exact - counts) > tolerance * np.maximum(1.0, exact)
    if off.any():
        raise ValueError(
            f"`ts` must be on the iteration grid t0 + k * step (step = {step_value:g}) for the discrete engine; "
            f"{ts[off][0]:g} is not."
        )
    return counts
