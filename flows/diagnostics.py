r"""Convergence diagnostics.

In-loop diagnostics are `equinox` modules called as `(t, y, args) -> value`, so `simulate`
evaluates them inside the compiled loop (pass them in `simulate(..., diagnostics={...})`).
Post-hoc checks read a finished `Trajectory`.

- `MMD2(target, kernel)`: MMD² between the particles and fixed target samples, with any kernel
  (e.g. a multi-bandwidth `SumKernel` besides the flow's own).
- `EnergyDistance(target)`: the energy distance to the target.
- `dissipation_check(trajectory)`: the integrated energy identity
  $F(t_{k+1}) - F(t_k) = -\int_{t_k}^{t_{k+1}} D\,dt$ (`MATH.md` section 3), with the integral by the
  trapezoidal rule, as a relative residual.
"""

from __future__ import annotations

import equinox as eqx
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._checks import check_points
from .kernels import AbstractKernel, EnergyKernel
from .mmd import mmd2_unchecked
from .trajectory import Trajectory


class MMD2(eqx.Module):
    """In-loop diagnostic: MMD² between the state (particles) and `target` under `kernel`."""

    target: Float[Array, "m d"]
    kernel: AbstractKernel
    unbiased: bool = eqx.field(static=True, default=False)

    def __init__(self, target: Float[ArrayLike, "m d"], kernel: AbstractKernel, unbiased: bool = False):
        self.target = check_points("target", target)
        self.kernel = kernel
        self.unbiased = unbiased

    def __call__(self, t, y, args):
        return mmd2_unchecked(y, self.target.astype(y.dtype), self.kernel, self.unbiased)


class EnergyDistance(MMD2):
    """In-loop diagnostic: the energy distance between the state (particles) and `target`."""

    def __init__(self, target: Float[ArrayLike, "m d"], unbiased: bool = False):
        super().__init__(target, EnergyKernel(1.0), unbiased)


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
