"""Small operations on pytrees (equinox modules, parameter trees) that several modules need."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, PyTree


def cast_floats(tree: PyTree, dtype) -> PyTree:
    """`tree` with its floating-point arrays in `dtype`; every other leaf unchanged."""
    return jax.tree_util.tree_map(lambda a: a.astype(dtype) if eqx.is_inexact_array(a) else a, tree)


def tree_dot(a: PyTree, b: PyTree) -> Array:
    """$\\sum$ over leaves of $\\langle a, b\\rangle$."""
    return sum(jnp.vdot(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))
