"""Two-dimensional views of d-dimensional particles for plots and animations: two coordinates,
or the target's first two principal components (PCA fitted once, so the axes never move).
"""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Projection:
    """An affine view of $\\mathbb{R}^d$ on a plane: $u = (x - c) P$ with orthonormal columns $P$
    (d, 2); `lift` maps plane coordinates back to points of the plane through `base`."""

    centre: np.ndarray
    basis: np.ndarray
    base: np.ndarray
    labels: tuple[str, str]

    @classmethod
    def coordinates(cls, d: int, dims: tuple[int, int], through: np.ndarray | None = None) -> "Projection":
        """Two coordinates `dims`; the other coordinates of lifted points are those of `through`."""
        if len(dims) != 2 or not all(0 <= i < d for i in dims) or dims[0] == dims[1]:
            raise ValueError(f"`dims` must be two different coordinates in [0, {d}), got {tuple(dims)}.")
        basis = np.zeros((d, 2))
        basis[dims[0], 0] = basis[dims[1], 1] = 1.0
        through = np.zeros(d) if through is None else np.asarray(through, float)
        base = through - (through @ basis) @ basis.T
        return cls(np.zeros(d), basis, base, (f"x{dims[0]}", f"x{dims[1]}"))

    @classmethod
    def pca(cls, samples: np.ndarray) -> "Projection":
        """The first two principal components of `samples`, through their mean."""
        samples = np.asarray(samples, float)
        if samples.ndim != 2 or samples.shape[1] < 2:
            raise ValueError(f"PCA needs target samples of shape (M, d) with d >= 2, got {samples.shape}.")
        mean = samples.mean(axis=0)
        _, _, vt = np.linalg.svd(samples - mean, full_matrices=False)
        return cls(mean, vt[:2].T, mean, ("PC 1", "PC 2"))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, float) - self.centre) @ self.basis

    def lift(self, u: np.ndarray) -> np.ndarray:
        return self.base + np.asarray(u, float) @ self.basis.T


def view_for(d: int, dims: tuple[int, int], projection: str | None, target: np.ndarray | None) -> Projection:
    """The view an exporter uses: coordinates `dims` (through the target's mean), or PCA of `target`."""
    if projection is None:
        return Projection.coordinates(d, dims, None if target is None else np.mean(target, axis=0))
    if projection == "pca":
        if target is None:
            raise ValueError('`projection` = "pca" is fitted on the target: pass `target` samples.')
        return Projection.pca(target)
    raise ValueError(f'`projection` must be None (use `dims`) or "pca", got {projection!r}.')
