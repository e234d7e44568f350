r"""The energy-dissipation identity checked along a finished trajectory (`MATH.md` section 3).

A gradient flow decreases its energy at the rate it dissipates, $dF/dt = -D$; integrated over a
saved interval, $F(t_{k+1}) - F(t_k) = -\int_{t_k}^{t_{k+1}} D\,dt$.
"""

from __future__ import annotations

import numpy as np

from ..core.trajectory import Trajectory


def dissipation_check(
    trajectory: Trajectory, energy: str = "energy", dissipation: str = "dissipation"
) -> dict[str, float | np.ndarray]:
    """Check $dF/dt = -D$ along a trajectory from its saved energy $F$ and dissipation $D$.

    Over each saved interval, the energy drop $\\Delta F_k$ is compared with
    $-\\int D\\,dt$ (trapezoidal rule, error $O(h^3)$ per interval).

    Returns a dict with `relative_residual` $= \\sum_k |\\Delta F_k + I_k| / \\sum_k |\\Delta F_k|$,
    and the per-interval `energy_drops` and `integrated_dissipation`.
    """
    for name in (energy, dissipation):
        if name not in trajectory.diagnostics:
            raise ValueError(
                f"the trajectory has no diagnostic {name!r}; it has {sorted(trajectory.diagnostics)}."
            )
    ts = np.asarray(trajectory.ts, dtype=float)
    f = np.asarray(trajectory.diagnostics[energy], dtype=float)
    d = np.asarray(trajectory.diagnostics[dissipation], dtype=float)
    drops = np.diff(f)
    integrals = 0.5 * (d[1:] + d[:-1]) * np.diff(ts)
    total = np.sum(np.abs(drops))
    residual = np.sum(np.abs(drops + integrals)) / total if total > 0 else 0.0
    return {"relative_residual": float(residual), "energy_drops": drops, "integrated_dissipation": -integrals}
