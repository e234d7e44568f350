r"""Convergence diagnostics.

In-loop diagnostics are `equinox` modules (or pure functions) called as `(t, y, args) -> value`,
so `simulate` evaluates them inside the compiled loop: pass them in
`simulate(..., diagnostics={"name": ...})`. Checks of a finished `Trajectory` are in `flows.analysis`.

| module | in-loop diagnostics / functions |
|---|---|
| `discrepancy` | `MMD2(target, kernel)` (any kernel; `MMD2.multiscale(target)`), `EnergyDistance(target)`; `backend=` for their kernel sums |
| `transport` (ott-jax) | `SinkhornDivergence`, `Wasserstein2`, `SlicedWasserstein` |
| `gaussian` | `GaussianW2`, `GaussianKL`, `GaussianMMD2` |
| `dynamics` | `VelocityNorm(flow)`, `RelativeDissipationResidual(flow)` |
| `modes` | `ModeCoverage(centres, radius, min_share)`, `ModeMass(centres, radius)` |
"""

from .discrepancy import MMD2, AbstractKernelDiscrepancy, EnergyDistance
from .dynamics import RelativeDissipationResidual, VelocityNorm
from .gaussian import GaussianKL, GaussianMMD2, GaussianW2
from .modes import ModeCoverage, ModeMass
from .transport import SinkhornDivergence, SlicedWasserstein, Wasserstein2

__all__ = [
    "MMD2",
    "AbstractKernelDiscrepancy",
    "EnergyDistance",
    "GaussianKL",
    "GaussianMMD2",
    "GaussianW2",
    "ModeCoverage",
    "ModeMass",
    "RelativeDissipationResidual",
    "SinkhornDivergence",
    "SlicedWasserstein",
    "VelocityNorm",
    "Wasserstein2",
]
