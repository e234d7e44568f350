r"""Did a training curve oscillate, or is it only noisy? A criterion that sampling noise does not trip.

Gradient descent past its stability threshold, or a game whose critic lags, makes a loss curve
*rebound*: after falling to some level it climbs back, giving up much of what it had gained. A
run with fresh samples every step is noisy as well: once converged it fluctuates around a floor
set by the sampling (and the floor can sit above an early dip, while the noise accumulates in the
slow directions), so a pointwise rule such as "above twice the running minimum" fires on noise:
the running minimum of a noisy curve keeps finding lower outliers.

The criterion here works on *block medians*: the curve $v_0, v_1, \dots$ is cut into `blocks`
consecutive blocks of equal length, each summarized by its median $m_j$ (robust to single spikes).
With $\ell_j = \min_{i < j} m_i$ the lowest level reached before block $j$, the run oscillated iff
some block gives back more than a fraction $\phi$ (`fraction`) of the decrease achieved so far,
$$m_j - \ell_j > \phi\,(v_0 - \ell_j) \quad\text{and}\quad m_j > \text{floor},$$
(any rise counts when nothing was gained, $v_0 \le \ell_j$). A noise-free decreasing curve has
non-increasing medians and never trips it; a converged noisy run fluctuates around a floor a small
fraction of its initial excess above its lowest dip; an unstable step or a cycling game gives back
a large part of the descent, over a block or more. `floor` is the round-off level below which
nothing counts.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from jaxtyping import ArrayLike

from .._checks import check_in_range, check_non_negative, check_positive_int


@dataclasses.dataclass(frozen=True)
class OscillationCheck:
    """Whether a curve rebounded, by block medians (module docstring).

    **Fields:**
    - `oscillated`: some block gave back more than `fraction` of the decrease so far (and lies
      above `floor`); False for a curve that is not finite (see `finite`).
    - `finite`: every value is finite.
    - `largest_giveback`: the largest $(m_j - \\ell_j)/(v_0 - \\ell_j)$ over the blocks (0 for
      non-increasing medians, inf for a rise with nothing gained; NaN when not finite).
    - `block_medians`: the medians $m_j$, in order.
    - `block_length`: points per block (the last `len % blocks` points are left out).
    - `fraction`, `floor`: the thresholds used.
    """

    oscillated: bool
    finite: bool
    largest_giveback: float
    block_medians: np.ndarray
    block_length: int
    fraction: float
    floor: float


def oscillation_check(curve: ArrayLike, *, blocks: int = 10, fraction: float = 0.1, floor: float = 1e-10) -> OscillationCheck:
    """Judge `curve` (one value per iteration or saved time, in order, starting at the initial
    value) by block medians (module docstring).

    **Arguments:**
    - `curve`: the values, shape (n,), n >= 2 `blocks` (every block has two points or more).
    - `blocks`: how many consecutive blocks to cut it into.
    - `fraction`: $\\phi \\in (0, 1)$, the share of the decrease a rebound must give back.
    - `floor`: medians at or below it are round-off and never count as a rebound.
    """
    values = np.asarray(curve, dtype=float)
    blocks = check_positive_int("blocks", blocks)
    check_in_range("fraction", fraction, 0.0, 1.0)
    check_non_negative("floor", floor)
    if values.ndim != 1 or values.size < 2 * blocks:
        raise ValueError(f"`curve` must be a 1-D array of at least 2 * blocks = {2 * blocks} values, got shape {values.shape}.")
    length = values.size // blocks
    medians = np.median(values[: length * blocks].reshape(blocks, length), axis=1)
    if not np.all(np.isfinite(values)):
        return OscillationCheck(False, False, float("nan"), medians, int(length), float(fraction), float(floor))
    lowest = np.minimum.accumulate(medians)[:-1]
    rise, gained = medians[1:] - lowest, values[0] - lowest
    with np.errstate(divide="ignore", invalid="ignore"):
        giveback = np.where(gained > 0, rise / np.where(gained > 0, gained, 1.0), np.where(rise > 0, np.inf, 0.0))
    giveback = np.maximum(giveback, 0.0)
    oscillated = bool(np.any((giveback > fraction) & (medians[1:] > floor)))
    return OscillationCheck(
        oscillated=oscillated, finite=True, largest_giveback=float(giveback.max()) if giveback.size else 0.0,
        block_medians=medians, block_length=int(length), fraction=float(fraction), floor=float(floor),
    )
