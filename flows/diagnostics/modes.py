r"""Mode coverage of a mixture target: which modes the particles found, and how much mass each got.

Each particle is assigned to its nearest mode centre, and only if it lies within `radius` of it
(particles farther from every centre count for no mode). The share of mode $k$ is the fraction
of particles assigned to it; a mode is *covered* when its share is at least `min_share`
(default: half the fair share, $1/(2K)$ for $K$ modes). Mode collapse, the failure MMD GANs and
their flows are studied for, shows as coverage below 1 with the mass piled on a few modes.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_in_range, check_points, check_positive
from ..kernels.distances import squared_distances


class ModeMass(eqx.Module):
    """In-loop diagnostic: the share of particles at each mode, shape (K,) (sums to at most 1).

    **Arguments:**
    - `centres`: the mode centres, (K, d).
    - `radius`: a particle counts for its nearest mode only within this distance (default: any).
    """

    centres: Float[Array, "k d"]
    radius: float | None = eqx.field(static=True)

    def __init__(self, centres: Float[ArrayLike, "k d"], radius: float | None = None):
        if radius is not None:
            check_positive("radius", radius)
        self.centres = check_points("centres", centres)
        self.radius = None if radius is None else float(radius)

    def __call__(self, t, y, args):
        sq = squared_distances(y, self.centres.astype(y.dtype))
        nearest = jnp.argmin(sq, axis=1)
        inside = jnp.ones(y.shape[0], bool) if self.radius is None else jnp.min(sq, axis=1) <= self.radius**2
        counts = jnp.zeros(self.centres.shape[0], y.dtype).at[nearest].add(inside.astype(y.dtype))
        return counts / y.shape[0]


class ModeCoverage(eqx.Module):
    """In-loop diagnostic: the fraction of modes holding at least `min_share` of the particles.

    **Arguments:**
    - `centres`, `radius`: as in `ModeMass`.
    - `min_share`: the share that makes a mode covered, in (0, 1] (default $1/(2K)$).
    """

    mass: ModeMass
    min_share: float = eqx.field(static=True)

    def __init__(self, centres: Float[ArrayLike, "k d"], radius: float | None = None, min_share: float | None = None):
        self.mass = ModeMass(centres, radius)
        k = self.mass.centres.shape[0]
        if min_share is not None:
            check_in_range("min_share", min_share, 0.0, 1.0, inclusive=True)
            check_positive("min_share", min_share)
        self.min_share = 0.5 / k if min_share is None else float(min_share)

    def __call__(self, t, y, args):
        # compare whole particle counts, so a share of exactly `min_share` counts despite rounding
        needed = math.ceil(self.min_share * y.shape[0] - 1e-9)
        counts = jnp.round(self.mass(t, y, args) * y.shape[0])
        return jnp.mean((counts >= needed).astype(y.dtype))
