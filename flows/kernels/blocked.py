r"""Blocked online reductions: kernel sums in memory O((N + M) · block), never N × M.

The rows $x_i$ are cut into blocks of `row_block` rows and mapped over with `lax.map`; inside a
row block the columns $(y_j, w_j)$ stream through in blocks of `col_block` with `lax.scan`,
adding each tile's partial sum $\sum_{j \in \text{tile}} (\cdot)$ to an accumulator of the
row block's size. Only one (row_block × col_block) tile exists at a time.

Reverse-mode autodiff (for parametric flows, or a kernel bandwidth) goes through
`jax.checkpoint` on the tile: the backward pass recomputes each tile instead of storing it, so
gradients stay O((N + M) · block) as well (checked in the tests with XLA's memory analysis).

Padding: the last blocks are padded with zero rows and zero-weight columns; a zero weight (or
zero vector) makes a padded column contribute exactly 0, and padded rows are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
from jaxtyping import Array

# Entries of one tile when the block sizes are chosen automatically: 2^18 entries (1 MiB in
# float32) keep a tile and its few temporaries in cache (measured best on the 2-core CI CPU).
TILE_ENTRIES = 2**18
_MAX_COL_BLOCK = 1024
_MIN_ROW_BLOCK = 8


def block_sizes(n: int, m: int, row_block: int | None, col_block: int | None) -> tuple[int, int]:
    """(row_block, col_block) for an (n, m) sum: the given sizes, or ones that keep a tile near
    `TILE_ENTRIES` entries, never larger than the problem."""
    if col_block is None:
        col_block = min(m, _MAX_COL_BLOCK)
    if row_block is None:
        row_block = max(_MIN_ROW_BLOCK, TILE_ENTRIES // col_block)
    return min(row_block, n), min(col_block, m)


def _pad_to(a: Array, length: int) -> Array:
    extra = length - a.shape[0]
    if extra == 0:
        return a
    return jnp.concatenate([a, jnp.zeros((extra,) + a.shape[1:], a.dtype)])


def chunk_length(n: int, target: int) -> int:
    """Rows per chunk for n rows: a divisor of n in [target / 2, target] where there is one (the
    chunks are then a reshape, not a padded copy of the rows), else `target` (at most n)."""
    target = max(1, min(n, target))
    for length in range(target, (target + 1) // 2 - 1, -1):
        if n % length == 0:
            return length
    return target


def chunk_rows(a: Array, chunk: int) -> Array:
    """`a` zero-padded to a multiple of `chunk` rows and cut into (chunks, chunk, ...)."""
    return _pad_to(a, math.ceil(a.shape[0] / chunk) * chunk).reshape((-1, chunk) + a.shape[1:])


def blocked_row_sums(
    tile_fn: Callable[..., Array],
    x: Array,
    columns: tuple[Array, ...],
    *,
    row_block: int | None = None,
    col_block: int | None = None,
) -> Array:
    """$\\sum_{\\text{column tiles}}$ `tile_fn(x_tile, *column_tiles)` for every row of `x`.

    `tile_fn` must be linear in its last column argument (weights or vectors), so zero-padded
    columns add nothing. `columns` share their leading axis (length M).
    """
    n, m = x.shape[0], columns[0].shape[0]
    br, bc = block_sizes(n, m, row_block, col_block)
    n_rows, n_cols = math.ceil(n / br), math.ceil(m / bc)
    tiles = tuple(_pad_to(c, n_cols * bc).reshape((n_cols, bc) + c.shape[1:]) for c in columns)
    tile = jax.checkpoint(tile_fn)

    def row_sums(x_tile: Array) -> Array:
        first = tile(x_tile, *(c[0] for c in tiles))
        if n_cols == 1:
            return first

        def add_tile(acc, column_tile):
            return acc + tile(x_tile, *column_tile), None

        total, _ = jax.lax.scan(add_tile, first, tuple(c[1:] for c in tiles))
        return total

    if n_rows == 1:
        return row_sums(x)
    rows = _pad_to(x, n_rows * br).reshape(n_rows, br, x.shape[1])
    out = jax.lax.map(row_sums, rows)
    return out.reshape((n_rows * br,) + out.shape[2:])[:n]
