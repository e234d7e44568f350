r"""The energy-dissipation identity checked along a finished trajectory.

A gradient flow decreases its energy at the rate it dissipates, $dF/dt = -D$; integrated over a
saved interval, $F(t_{k+1}) - F(t_k) = -\int_{t_k}^{t_{k+1}} D\,dt$. For the MMD flow of particles
$dX/dt = -\nabla f_{\mu_t,\nu}(X)$, with $F = \frac12 \mathrm{MMD}^2(\mu_t, \nu)$ and the witness
$f_{\mu,\nu}(z) = \mathbb E_{x\sim\mu} k(x, z) - \mathbb E_{y\sim\nu} k(y, z)$, the dissipation is
$D = \mathbb E_{\mu_t} \|\nabla f_{\mu_t,\nu}\|^2$ (Arbel, Korba, Salim, Gretton, "Maximum Mean
Discrepancy Gradient Flow", NeurIPS 2019). A gradient flow (`flows.core.AbstractGradientFlow`)
records its own $F$ and $D$ as the `energy` and `dissipation` diagnostics.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core.trajectory import Trajectory


@dataclasses.dataclass(frozen=True)
class DissipationCheck:
    r"""How well a trajectory satisfies $dF/dt = -D$.

    **Fields:**
    - `relative_residual`: $\sum_k |\Delta F_k + I_k| / \sum_k |\Delta F_k|$ (0 when the energy
      does not move), with $\Delta F_k = F(t_{k+1}) - F(t_k)$ and $I_k$ the trapezoidal
      $\int_{t_k}^{t_{k+1}} D\,dt$.
    - `energy_drops`: $\Delta F_k$ per saved interval, shape (T - 1,).
    - `integrated_dissipation`: $-I_k$ per saved interval (what `energy_drops` should equal).
    """

    relative_residual: float
    energy_drops: np.ndarray
    integrated_dissipation: np.ndarray


def dissipation_check(trajectory: Trajectory, energy: str = "energy", dissipation: str = "dissipation") -> DissipationCheck:
    """Check $dF/dt = -D$ along a trajectory from its saved energy $F$ and dissipation $D$.

    Over each saved interval, the energy drop $\\Delta F_k$ is compared with
    $-\\int D\\,dt$ (trapezoidal rule, error $O(h^3)$ per interval).

    **Arguments:** the `trajectory`, and the names of its `energy` and `dissipation` diagnostics.
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
    return DissipationCheck(relative_residual=float(residual), energy_drops=drops, integrated_dissipation=-integrals)
