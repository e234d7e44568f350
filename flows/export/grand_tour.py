r"""A grand tour: a smooth path of 2-D views of $\mathbb R^m$ through chosen planes (Asimov, SIAM J.
Sci. Stat. Comput. 1985; the geodesic interpolation of Buja, Cook, Asimov, Hurley, "Computational
methods for high-dimensional rotations in data visualization", Handbook of Statistics 24, 2005).

A view is a 2-frame $F \in \mathbb R^{m \times 2}$ with orthonormal columns; a point $x$ is drawn at
$F^\top x$. Between two planes spanned by frames $A$ and $B$ the tour moves along the Grassmann
geodesic: with the singular value decomposition $A^\top B = U \operatorname{diag}(\cos\theta) V^\top$
(principal angles $\theta_1, \theta_2 \in [0, \pi/2]$), the principal directions $A' = AU$,
$B' = BV$ and $G_i = (B'_i - \cos\theta_i A'_i) / \sin\theta_i$ (orthonormal, orthogonal to $A'$),

$$F(s) = \big(A' \cos(s\theta) + G \sin(s\theta)\big)\,U^\top, \qquad s \in [0, 1].$$

Every $F(s)$ has orthonormal columns, $F(0) = A$ (so consecutive segments join without a jump)
and $F(1) = B V U^\top$ spans $B$'s plane (the view arrives rotated within that plane). Each
principal angle turns at a constant rate, so equal steps in $s$ are equal rotations: no sudden
jumps between frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from jaxtyping import ArrayLike, Float


def _plane(index: int, spanning: ArrayLike, dim: int | None) -> np.ndarray:
    """An orthonormal frame of the plane spanned by the two columns of `spanning` (QR, signs fixed so
    the first axis points along the first column)."""
    spanning = np.asarray(spanning, dtype=np.float64)
    if spanning.ndim != 2 or spanning.shape[1] != 2 or spanning.shape[0] < 2:
        raise ValueError(f"`planes[{index}]` must have shape (m, 2) with m >= 2, got {spanning.shape}.")
    if dim is not None and spanning.shape[0] != dim:
        raise ValueError(f"`planes[{index}]` must have m = {dim} rows like `planes[0]`, got {spanning.shape}.")
    if not np.all(np.isfinite(spanning)):
        raise ValueError(f"`planes[{index}]` must be finite.")
    q, r = np.linalg.qr(spanning)
    if abs(r[1, 1]) <= 1e-10 * max(abs(r[0, 0]), 1e-300):
        raise ValueError(f"`planes[{index}]` must have two linearly independent columns (they span no plane).")
    return q * np.sign(np.diag(r))


def _geodesic(start: np.ndarray, end: np.ndarray, steps: int) -> np.ndarray:
    """Frames $F(s)$ at $s = 1/\\text{steps}, ..., 1$ from the frame `start` to the plane of `end` (module docstring)."""
    u, cosines, vt = np.linalg.svd(start.T @ end)
    angles = np.arccos(np.clip(cosines, -1.0, 1.0))
    a, b = start @ u, end @ vt.T
    sines = np.sin(angles)
    moving = sines > 1e-12  # a principal direction shared by both planes stays put
    g = np.where(moving, (b - np.cos(angles) * a) / np.where(moving, sines, 1.0), 0.0)
    s = np.arange(1, steps + 1)[:, None, None] / steps
    return (a * np.cos(s * angles) + g * np.sin(s * angles)) @ u.T


def grand_tour(planes: Sequence[Float[ArrayLike, "m 2"]], frames_per_segment: int) -> Float[np.ndarray, "T m 2"]:
    """The frames of a tour through `planes` in turn, along Grassmann geodesics (module docstring).

    **Arguments:**
    - `planes`: at least two (m, 2) matrices; each stands for the plane its two columns span
      (orthonormalised; e.g. `[e_0, e_1]`, or a Gaussian matrix for a uniformly random plane).
    - `frames_per_segment`: frames from one plane to the next (at least 1).

    **Returns:** shape `(1 + (len(planes) - 1) * frames_per_segment, m, 2)`, float64 frames with
    orthonormal columns. Frame 0 is `planes[0]` orthonormalised; frame `k * frames_per_segment`
    spans `planes[k]`. Project points with `points @ frame`.
    """
    if isinstance(frames_per_segment, bool) or not isinstance(frames_per_segment, int) or frames_per_segment < 1:
        raise ValueError(f"`frames_per_segment` must be an integer >= 1, got {frames_per_segment!r}.")
    if isinstance(planes, np.ndarray) and planes.ndim == 3:
        planes = list(planes)
    if not isinstance(planes, Sequence) or len(planes) < 2:
        raise ValueError("`planes` must be a sequence of at least two (m, 2) matrices.")
    first = _plane(0, planes[0], None)
    frames = [first[None]]
    for index, spanning in enumerate(planes[1:], start=1):
        frames.append(_geodesic(frames[-1][-1], _plane(index, spanning, first.shape[0]), frames_per_segment))
    return np.concatenate(frames)
