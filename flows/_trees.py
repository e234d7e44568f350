"""Small operations on pytrees (equinox modules, parameter trees) that several modules need;
pytree arithmetic is `optax.tree_utils`."""

from __future__ import annotations

import equinox as eqx
import jax
from jaxtyping import PyTree


def cast_floats(tree: PyTree, dtype) -> PyTree:
    """`tree` with its floating-point arrays in `dtype`; every other leaf unchanged."""
    return jax.tree_util.tree_map(lambda a: a.astype(dtype) if eqx.is_inexact_array(a) else a, tree)
