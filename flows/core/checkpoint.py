"""Checkpoints: long runs integrated in chunks, each chunk written to disk, resumable exactly.

With `simulate(..., checkpoint=Checkpoint(folder, every=K))` the run is integrated in chunks of
`K` saved times. After each chunk, the saved states and diagnostics of that chunk and the full
state of the loop at its end are written atomically to `folder/chunk_00000.npz`,
`chunk_00001.npz`, ...: for diffrax, the state, the solver's state (e.g. Tsit5's first-same-as-
last evaluation), the step-size controller's state and the jump flag (`SaveAt(solver_state=True,
controller_state=True, made_jump=True)`, passed back into `diffeqsolve`); for the discrete engine,
the iteration count, the state, the optimizer's state and the divergence flag (the per-iteration
key is `fold_in(key, iteration)`, so it needs no carrying).

A run that is killed loses at most the chunk in progress. `Checkpoint(..., resume=True)` reads
the chunks on disk, checks that they belong to the same run (a fingerprint of the flow's,
solver's, state's and times' arrays), and continues from the last one. A chunk file that cannot
be read back (cut short or damaged on disk) is not fatal: it and the chunks after it are deleted,
with a warning, and recomputed. Because an uninterrupted
checkpointed run stops and restarts the solver at the same chunk boundaries, and the carried
state is passed through the same conversion either way, the resumed run's arrays are identical
to an uninterrupted run's, bit for bit. (A run with `checkpoint=None` is a single chunk; its
adaptive steps are not cut at chunk boundaries, so it can differ from a chunked run at the level
of the solver's tolerance.)

Each chunk file holds only its own saved times, so writing checkpoints costs O(T) in all; the
chunk files are deleted once the whole trajectory has been returned.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import PyTree

from .._io import atomic_path
from .trajectory import CorruptFileError, read_archive

_FORMAT = "flows.Checkpoint/1"
_PATTERN = "chunk_{:05d}.npz"


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """Where and how often `simulate` writes checkpoints, and whether it resumes from them.

    **Arguments:**
    - `path`: a folder for the chunk files (created if missing).
    - `every`: write a checkpoint every `every` saved times (K >= 1).
    - `resume`: continue from the chunks already in `path` (they must come from the same run);
      if False, any chunk files there are removed first and the run starts afresh.
    - `tag`: a string mixed into the run's fingerprint (e.g. a hash of a config file), for what
      the arrays do not show (an optax optimizer's learning rate is a closure constant).
    - `keep`: keep the chunk files after the run finishes (default: delete them).
    """

    path: str | os.PathLike
    every: int
    resume: bool = False
    tag: str = ""
    keep: bool = False

    def __post_init__(self):
        if isinstance(self.every, bool) or not isinstance(self.every, (int, np.integer)) or self.every < 1:
            raise ValueError(f"`every` must be a positive integer (saved times per checkpoint), got {self.every!r}.")

    @property
    def folder(self) -> Path:
        return Path(self.path)

    def chunk_files(self) -> list[Path]:
        """The chunk files on disk, in order."""
        return sorted(self.folder.glob("chunk_*.npz")) if self.folder.is_dir() else []


def chunk_bounds(n_saves: int, every: int | None) -> list[tuple[int, int]]:
    """Half-open index ranges [lo, hi) of saved times, `every` per chunk (one chunk if None)."""
    if every is None:
        return [(0, n_saves)]
    return [(lo, min(lo + every, n_saves)) for lo in range(0, n_saves, every)]


def fingerprint(*parts, tag: str = "") -> str:
    """A hash of the arrays (values, shapes, dtypes) and type names in `parts`, and `tag`."""
    digest = hashlib.sha256(tag.encode())
    for part in parts:
        digest.update(type(part).__name__.encode())
        for leaf in jax.tree_util.tree_leaves(eqx.filter(part, eqx.is_array_like)):
            arr = np.asarray(leaf)
            digest.update(f"{arr.dtype}{arr.shape}".encode())
            digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()


def normalise_carry(carry):
    """The carried loop state as device arrays of fixed dtype, exactly as it reads back from a
    file: both an uninterrupted and a resumed run pass this form to the next chunk, so both run
    the same compiled program on the same bits."""
    return jax.tree_util.tree_map(lambda leaf: jnp.asarray(np.asarray(leaf)), carry)


def _write_chunk(checkpoint: Checkpoint, index: int, fprint: str, ys, diags, stats: dict, carry) -> None:
    arrays = {}
    for group, tree in (("ys", ys), ("carry", carry)):
        arrays.update({f"{group}/{i}": np.asarray(leaf) for i, leaf in enumerate(jax.tree_util.tree_leaves(tree))})
    arrays.update({f"diagnostics/{name}": np.asarray(v) for name, v in diags.items()})
    meta = {"format": _FORMAT, "fingerprint": fprint, "index": index, "diagnostics": list(diags), "stats": stats}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with atomic_path(checkpoint.folder / _PATTERN.format(index)) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)


def _read_chunks(checkpoint: Checkpoint, fprint: str, ys_like, carry_like):
    """The chunks on disk as `[(ys, diags, stats)]` and the carry after the last one.

    A chunk file that cannot be read (truncated or corrupt on disk) is deleted with every later
    one, with a warning: the run resumes from the chunk before it and recomputes the rest. A
    readable file that is not the next chunk of this run is refused."""
    pieces, carry = [], None
    ys_def = jax.tree_util.tree_structure(ys_like)
    carry_def = jax.tree_util.tree_structure(carry_like)
    files = checkpoint.chunk_files()
    for expected, file in enumerate(files):
        try:
            with read_archive(file, "`checkpoint` chunk", "a flows checkpoint chunk") as (data, meta):
                if meta.get("format") != _FORMAT or meta.get("index") != expected:
                    raise ValueError(
                        f"`checkpoint` folder {str(checkpoint.folder)!r} holds {file.name}, which is not chunk "
                        f"{expected} of a flows run; remove it, or pass resume=False to start afresh."
                    )
                if meta["fingerprint"] != fprint:
                    raise ValueError(
                        f"`checkpoint` folder {str(checkpoint.folder)!r} holds chunks of a different run "
                        "(its flow, solver, initial state or times differ); resume only the run that wrote them, "
                        "or pass resume=False to start afresh."
                    )
                ys = jax.tree_util.tree_unflatten(ys_def, [data[f"ys/{i}"] for i in range(ys_def.num_leaves)])
                diags = {name: data[f"diagnostics/{name}"] for name in meta["diagnostics"]}
                carry_leaves = [data[f"carry/{i}"] for i in range(carry_def.num_leaves)]
                last = jax.tree_util.tree_unflatten(carry_def, carry_leaves)
                stats = meta["stats"]
        except CorruptFileError as error:
            warnings.warn(f"{error} Recomputing chunk {expected} and the chunks after it.", RuntimeWarning,
                          stacklevel=2)
            for later in files[expected:]:
                later.unlink()
            break
        pieces.append((ys, diags, stats))
        carry = last
    return pieces, carry


def _clear_stale(checkpoint: Checkpoint) -> None:
    """Remove temporary files left by a run killed while writing a chunk."""
    if checkpoint.folder.is_dir():
        for stale in checkpoint.folder.glob(".chunk_*.tmp*"):
            stale.unlink()


def _clear(checkpoint: Checkpoint) -> None:
    for file in checkpoint.chunk_files():
        file.unlink()
    _clear_stale(checkpoint)


class Chunk(NamedTuple):
    """What running one chunk gives `run_in_chunks`: its saved states and diagnostics (leading
    axis: its saved times), solver statistics, the carry to continue from, and `failure`: None
    when the chunk ran through, else the engine's account of what stopped it."""

    ys: PyTree
    diagnostics: dict
    stats: dict
    carry: PyTree
    failure: Any = None


class ChunkedRun(NamedTuple):
    """The chunks of a run joined: states and diagnostics at every saved time (after a failed
    chunk, the saves never reached are inf), the summed statistics, and the last chunk's
    `failure` (None when the run finished)."""

    ys: PyTree
    diagnostics: dict
    stats: dict
    failure: Any


def run_in_chunks(
    run_chunk: Callable[[int, int, PyTree], Chunk],
    n_saves: int,
    checkpoint: Checkpoint | None,
    fprint: str,
    shapes: Callable[[], tuple[PyTree, PyTree]] | None,
    on_chunk: Callable[[int], None] | None = None,
) -> ChunkedRun:
    """Run `run_chunk(lo, hi, carry)` over the chunks [lo, hi) of saved times (carry None for the
    first), writing and resuming checkpoints; `on_chunk(hi)` after each. `shapes()` gives
    `(ys_like, carry_like)` of one chunk, for reading files back (None without a checkpoint).
    After a failed chunk the rest are not run.
    """
    bounds = chunk_bounds(n_saves, None if checkpoint is None else checkpoint.every)
    pieces, carry = [], None
    if checkpoint is not None:
        if checkpoint.resume:
            _clear_stale(checkpoint)
            if checkpoint.chunk_files():
                pieces, carry = _read_chunks(checkpoint, fprint, *shapes())
                pieces = pieces[: len(bounds)]
        else:
            _clear(checkpoint)
    failure = None
    for index in range(len(pieces), len(bounds)):
        lo, hi = bounds[index]
        chunk = run_chunk(lo, hi, carry)
        carry, failure = normalise_carry(chunk.carry), chunk.failure
        stats = {k: int(v) for k, v in chunk.stats.items()}
        pieces.append((jax.tree_util.tree_map(np.asarray, chunk.ys), {k: np.asarray(v) for k, v in chunk.diagnostics.items()}, stats))
        if on_chunk is not None:
            on_chunk(hi)
        if failure is not None:
            break
        if checkpoint is not None and index < len(bounds) - 1:
            _write_chunk(checkpoint, index, fprint, chunk.ys, chunk.diagnostics, stats, carry)
    ys = jax.tree_util.tree_map(lambda *leaves: np.concatenate(leaves), *[p[0] for p in pieces])
    diags = {name: np.concatenate([p[1][name] for p in pieces]) for name in pieces[0][1]}
    missing = n_saves - len(jax.tree_util.tree_leaves(ys)[0]) if jax.tree_util.tree_leaves(ys) else 0
    if missing:
        def pad(a):
            fill = np.inf if a.dtype.kind in "fc" else 0
            return np.concatenate([a, np.full((missing,) + a.shape[1:], fill, a.dtype)])

        ys = jax.tree_util.tree_map(pad, ys)
        diags = {k: pad(v) for k, v in diags.items()}
    stats = {k: sum(p[2].get(k, 0) for p in pieces) for k in pieces[0][2] if k != "max_steps"}
    if checkpoint is not None and failure is None and not checkpoint.keep:
        _clear(checkpoint)
        if checkpoint.folder.is_dir() and not any(checkpoint.folder.iterdir()):
            checkpoint.folder.rmdir()
    return ChunkedRun(ys, diags, stats, failure)
