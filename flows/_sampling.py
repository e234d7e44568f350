"""Random directions, the one sampler the sliced sums and sliced distances share."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


def sphere_directions(key: Array, count: int, dim: int, dtype=float) -> Float[Array, "p d"]:
    """`count` directions uniform on the unit sphere $S^{d-1}$ (normalized Gaussians)."""
    z = jax.random.normal(key, (count, dim), dtype)
    return z / jnp.linalg.norm(z, axis=1, keepdims=True)
