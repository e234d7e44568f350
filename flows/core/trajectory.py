"""`Trajectory`: what `simulate` returns, and the file format that brings it back.

A trajectory holds the saved times, the states at those times (any pytree with a leading time
axis: a particle array (T, N, d), or a generator's parameters), the diagnostics by name, the
solver's statistics and its result. Arrays are NumPy arrays: plots, animations and files are
made on the NumPy side.

File format: one `.npz` archive holding every array plus a JSON document with the metadata
(statistics, result, the state's tree paths). It is written atomically: to a temporary file in
the same folder, flushed to disk, then renamed over the target, so a crash never leaves a
half-written file under the real name. A file that is not such an archive (another program's
`.npz`, a `.npy`, a file cut short by a failing disk) is refused with a `CorruptFileError` naming
it (`read_archive`, which checkpoint chunks share).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import numpy as np
from jaxtyping import PyTree

from .._io import atomic_path

_FORMAT = "flows.Trajectory/1"


class CorruptFileError(ValueError):
    """A file meant to be a flows archive (a trajectory, a checkpoint chunk) cannot be read as one:
    not an `.npz` archive, no metadata record, or truncated or corrupt."""


@contextlib.contextmanager
def read_archive(path: Path, name: str, what: str) -> Iterator[tuple[np.lib.npyio.NpzFile, dict]]:
    """Open the `.npz` archive at `path`, written with a JSON `__meta__` record; yield `(data, meta)`.

    Anything that keeps it from being read, on opening or while members are read inside the
    block, raises `CorruptFileError` naming the argument `name` and `path` and saying it is not
    `what`; a missing file raises `FileNotFoundError`.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{name} {str(path)!r} does not exist.")

    def refuse(reason: str) -> CorruptFileError:
        return CorruptFileError(f"{name} {str(path)!r} is not {what}: {reason}.")

    try:
        data = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise refuse(f"it is not an .npz archive, or it is truncated ({type(error).__name__}: {error})") from None
    if not isinstance(data, np.lib.npyio.NpzFile):
        raise refuse("it holds a single array (.npy), not an archive")
    with data:
        try:
            meta = json.loads(data["__meta__"].tobytes().decode())
        except KeyError:
            raise refuse("it has no `__meta__` record") from None
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise refuse(f"its `__meta__` record cannot be read ({type(error).__name__}: {error})") from None
        if not isinstance(meta, dict):
            raise refuse("its `__meta__` record is not a JSON object")
        try:
            yield data, meta
        except (KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as error:
            raise refuse(f"it is truncated or corrupt ({type(error).__name__}: {error})") from None


def _as_numpy(tree: PyTree) -> PyTree:
    return jax.tree_util.tree_map(np.asarray, tree)


@dataclasses.dataclass(frozen=True)
class Trajectory:
    """A simulated trajectory.

    **Fields:**
    - `ts`: saved times, shape (T,).
    - `ys`: the states at `ts`: a pytree whose leaves have a leading axis of length T.
    - `diagnostics`: name -> values at `ts` (leading axis T).
    - `stats`: solver statistics (e.g. `num_steps`, `num_accepted_steps`).
    - `result`: `"successful"`, or what stopped the solver.
    - `metadata`: JSON-serialisable facts about the run (flow, solver, t0, t1, ...).
    """

    ts: np.ndarray
    ys: PyTree
    diagnostics: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    stats: dict[str, Any] = dataclasses.field(default_factory=dict)
    result: str = "successful"
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "ts", np.asarray(self.ts))
        object.__setattr__(self, "ys", _as_numpy(self.ys))
        object.__setattr__(self, "diagnostics", {k: np.asarray(v) for k, v in self.diagnostics.items()})

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def state(self, index: int) -> PyTree:
        """The state at saved time `ts[index]` (negative indices count from the end)."""
        return jax.tree_util.tree_map(lambda leaf: leaf[index], self.ys)

    @property
    def final_state(self) -> PyTree:
        """The state at the last saved time."""
        return self.state(-1)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the trajectory to `path` (an `.npz` file) atomically; return the path."""
        path = Path(path)
        leaves_with_paths, _ = jax.tree_util.tree_flatten_with_path(self.ys)
        arrays = {"ts": self.ts}
        if isinstance(self.ys, np.ndarray):
            ys_paths = None
            arrays["ys"] = self.ys
        else:
            ys_paths = [jax.tree_util.keystr(p) for p, _ in leaves_with_paths]
            arrays.update({f"ys/{i}": leaf for i, (_, leaf) in enumerate(leaves_with_paths)})
        arrays.update({f"diagnostics/{name}": value for name, value in self.diagnostics.items()})
        meta = {
            "format": _FORMAT,
            "ys_paths": ys_paths,
            "diagnostics": list(self.diagnostics),
            "stats": self.stats,
            "result": self.result,
            "metadata": self.metadata,
        }
        arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, like: PyTree | None = None) -> "Trajectory":
        """Read a trajectory written by `save`.

        **Arguments:**
        - `path`: the `.npz` file.
        - `like`: for a state that is a pytree (a generator's parameters), any pytree of the
          same structure (e.g. the initial state): the saved leaves are put back into it.
          Without it such a state comes back as a dict from tree path to array.
        """
        path = Path(path)
        with read_archive(path, "`path`", "a flows trajectory file (written by Trajectory.save)") as (data, meta):
            if meta.get("format") != _FORMAT:
                raise ValueError(
                    f"`path` {str(path)!r} is not a flows trajectory file (format {meta.get('format')!r}, "
                    f"expected {_FORMAT!r})."
                )
            if meta["ys_paths"] is None:
                ys = data["ys"]
            else:
                leaves = [data[f"ys/{i}"] for i in range(len(meta["ys_paths"]))]
                if like is None:
                    ys = dict(zip(meta["ys_paths"], leaves))
                else:
                    treedef = jax.tree_util.tree_structure(like)
                    if treedef.num_leaves != len(leaves):
                        raise ValueError(
                            f"`like` has {treedef.num_leaves} leaves but the file holds {len(leaves)}."
                        )
                    ys = jax.tree_util.tree_unflatten(treedef, leaves)
            diagnostics = {name: data[f"diagnostics/{name}"] for name in meta["diagnostics"]}
            return cls(
                ts=data["ts"],
                ys=ys,
                diagnostics=diagnostics,
                stats=meta["stats"],
                result=meta["result"],
                metadata=meta["metadata"],
            )
