"""Tables of diagnostics: one row per saved time, written to CSV or JSON (atomically).

A scalar diagnostic is one column; a vector-valued one (e.g. `ModeMass`, shape (T, K)) becomes
columns `name[0]`, `name[1]`, ... Several trajectories go into one table with a `run` column.
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from .._io import atomic_path
from ..core.trajectory import Trajectory


def diagnostics_table(trajectory: Trajectory) -> dict[str, np.ndarray]:
    """Column name -> values (length T): `t`, then every diagnostic, vector ones split by index."""
    columns = {"t": np.asarray(trajectory.ts, dtype=float)}
    for name, values in trajectory.diagnostics.items():
        values = np.asarray(values)
        flat = values.reshape(values.shape[0], -1)
        if values.ndim == 1:
            columns[name] = values
        else:
            for j in range(flat.shape[1]):
                index = ",".join(str(i) for i in np.unravel_index(j, values.shape[1:]))
                columns[f"{name}[{index}]"] = flat[:, j]
    return columns


def _rows(trajectories: Mapping[str, Trajectory]) -> tuple[list[str], list[dict]]:
    header, rows = ["run"], []
    for label, trajectory in trajectories.items():
        columns = diagnostics_table(trajectory)
        header += [c for c in columns if c not in header]
        for i in range(len(trajectory)):
            rows.append({"run": label, **{c: _scalar(v[i]) for c, v in columns.items()}})
    return header, rows


def _scalar(value):
    value = value.item() if hasattr(value, "item") else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _as_mapping(trajectories) -> Mapping[str, Trajectory]:
    if isinstance(trajectories, Trajectory):
        return {"run": trajectories}
    if not trajectories:
        raise ValueError("`trajectories` must hold at least one trajectory.")
    return trajectories


def write_csv(trajectories: Trajectory | Mapping[str, Trajectory], path: str | os.PathLike) -> Path:
    """Write the diagnostics of one trajectory, or of several (label -> trajectory), as CSV."""
    header, rows = _rows(_as_mapping(trajectories))
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_json(trajectories: Trajectory | Mapping[str, Trajectory], path: str | os.PathLike) -> Path:
    """Write the diagnostics as JSON: `{label: {column: [values...]}}` (NaN/inf as null)."""
    document = {
        label: {c: [_scalar(v) for v in values] for c, values in diagnostics_table(t).items()}
        for label, t in _as_mapping(trajectories).items()
    }
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w") as f:
        json.dump(document, f, indent=1)
    return path
