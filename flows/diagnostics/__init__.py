r"""Convergence diagnostics.

In-loop diagnostics are `equinox` modules (or pure functions) called as `(t, y, args) -> value`,
so `simulate` evaluates them inside the compiled loop: pass them in
`simulate(..., diagnostics={"name": ...})`. Post-hoc checks read a finished `Trajectory`.

| module | in-loop diagnostics / functions |
|---|---|
| `discrepancy` | `MMD2(target, kernel)` (any kernel; `MMD2.multiscale(target)`), `EnergyDistance(target)` |
| `transport` (ott-jax) | `SinkhornDivergence`, `Wasserstein2`, `SlicedWasserstein` |
| `gaussian` | `gaussian_w2`, `gaussian_kl` (closed forms); `GaussianW2`, `GaussianKL`, `GaussianMMD2` |
| `dynamics` | `VelocityNorm(flow)`, `RelativeDissipationResidual(flow)` |
| `modes` | `ModeCoverage(centres, radius, min_share)`, `ModeMass(centres, radius)` |
| `rates` | `fit_rate(trajectory, "mmd2", model="exponential" | "power" | "auto")` -> `RateFit` |
| `energy_identity` | `dissipation_check(trajectory)` |
"""

from .discrepancy import MMD2, EnergyDistance
from .dynamics import RelativeDissipationResidual, VelocityNorm
from .energy_identity import dissipation_check
from .gaussian import GaussianKL, GaussianMMD2, GaussianW2, gaussian_kl, gaussian_w2
from .modes import ModeCoverage, ModeMass
from .rates import RateFit, fit_rate
from .transport import SinkhornDivergence, SlicedWasserstein, Wasserstein2

__all__ = [
    "MMD2",
    "EnergyDistance",
    "GaussianKL",
    "GaussianMMD2",
    "GaussianW2",
    "ModeCoverage",
    "ModeMass",
    "RateFit",
    "RelativeDissipationResidual",
    "SinkhornDivergence",
    "SlicedWasserstein",
    "VelocityNorm",
    "Wasserstein2",
    "dissipation_check",
    "fit_rate",
    "gaussian_kl",
    "gaussian_w2",
]
