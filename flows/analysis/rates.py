r"""Convergence rates fitted to a diagnostic along a trajectory.

Two models, each a straight line after taking logs, fitted by least squares:

- exponential, $v(t) \approx C e^{-\lambda t}$: $\log v = \log C - \lambda t$ (the rate under
  noise injection: Arbel, Korba, Salim, Gretton, NeurIPS 2019, show that the noisy scheme
  $x_{n+1} = x_n - \gamma \nabla f_{\mu_n,\nu}(x_n + \beta_n u_n)$, $u_n \sim \mathcal N(0, I)$,
  drives $F(\mu_n) = \frac12 \mathrm{MMD}^2(\mu_n, \nu)$ to 0 exponentially when
  $\sum_n \beta_n^2 = \infty$ and $8L^2\beta_n^2 F(\mu_n) \le \mathbb E\|\nabla f_{\mu_n,\nu}(x_n + \beta_n u_n)\|^2$,
  $L$ a Lipschitz constant of the kernel's gradient);
- power law, $v(t) \approx C t^{-\alpha}$: $\log v = \log C - \alpha \log t$ (the same paper's
  bound $F(\mu_t) \le C/(C F(\mu_0)^{-1} + 4t)$ for the MMD flow, while the negative Sobolev
  distance $\|\mu_t - \nu\|_{\dot H^{-1}(\mu_t)}$ stays $\le C$, is $\alpha = 1$ for large t).

The fit's quality is $R^2$ of the line in log space; `model="auto"` returns the better of the two.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..core.trajectory import Trajectory

_MODELS = ("exponential", "power", "auto")


@dataclasses.dataclass(frozen=True)
class RateFit:
    r"""A fitted convergence rate $v(t) \approx C e^{-\lambda t}$ or $C t^{-\alpha}$.

    **Fields:**
    - `model`: `"exponential"` or `"power"`.
    - `rate`: $\lambda$ or $\alpha$ (positive when the diagnostic decreases).
    - `prefactor`: $C$.
    - `r_squared`: $R^2$ of the straight line fitted in log space.
    - `t_range`: the first and last times fitted.
    - `n_points`: how many (time, value) pairs were fitted.
    """

    model: str
    rate: float
    prefactor: float
    r_squared: float
    t_range: tuple[float, float]
    n_points: int

    def predict(self, t) -> np.ndarray:
        """The fitted curve at times `t`."""
        t = np.asarray(t, dtype=float)
        if self.model == "exponential":
            return self.prefactor * np.exp(-self.rate * t)
        return self.prefactor * t ** (-self.rate)


def _line(x: np.ndarray, z: np.ndarray) -> tuple[float, float, float]:
    slope, intercept = np.polyfit(x, z, 1)
    residual = z - (slope * x + intercept)
    spread = np.sum((z - z.mean()) ** 2)
    r2 = 1.0 - np.sum(residual**2) / spread if spread > 0 else 1.0
    return float(slope), float(intercept), float(r2)


def fit_rate(
    trajectory: Trajectory | None = None,
    diagnostic: str = "mmd2",
    *,
    ts=None,
    values=None,
    model: str = "auto",
    t_min: float | None = None,
    t_max: float | None = None,
) -> RateFit:
    """Fit $v(t) = Ce^{-\\lambda t}$ or $Ct^{-\\alpha}$ to a diagnostic over $[t_{min}, t_{max}]$.

    **Arguments:**
    - `trajectory`, `diagnostic`: the trajectory and the name of the diagnostic to fit; or
    - `ts`, `values`: the times and values directly.
    - `model`: `"exponential"`, `"power"`, or `"auto"` (the larger $R^2$).
    - `t_min`, `t_max`: the time window (the power law uses only t > 0).
    Non-positive or non-finite values are left out (logs are taken).
    """
    if model not in _MODELS:
        raise ValueError(f"`model` must be one of {list(_MODELS)}, got {model!r}.")
    if trajectory is not None:
        if diagnostic not in trajectory.diagnostics:
            raise ValueError(f"`diagnostic` {diagnostic!r} is not in the trajectory; it has {sorted(trajectory.diagnostics)}.")
        ts, values = trajectory.ts, trajectory.diagnostics[diagnostic]
    if ts is None or values is None:
        raise ValueError("pass a `trajectory`, or both `ts` and `values`.")
    ts = np.asarray(ts, dtype=float)
    values = np.asarray(values, dtype=float)
    if ts.shape != values.shape or ts.ndim != 1:
        raise ValueError(f"`ts` and `values` must be 1-D of one length, got shapes {ts.shape} and {values.shape}.")
    keep = np.isfinite(values) & (values > 0) & np.isfinite(ts)
    if t_min is not None:
        keep &= ts >= t_min
    if t_max is not None:
        keep &= ts <= t_max
    if model == "auto":
        fits = [fit_rate(ts=ts[keep], values=values[keep], model=m) for m in ("exponential", "power")]
        return max(fits, key=lambda f: f.r_squared)
    if model == "power":
        keep &= ts > 0
    if keep.sum() < 3:
        raise ValueError(f"need at least 3 positive finite values in the time window to fit a rate, got {int(keep.sum())}.")
    t, z = ts[keep], np.log(values[keep])
    x = t if model == "exponential" else np.log(t)
    slope, intercept, r2 = _line(x, z)
    return RateFit(model, -slope, float(np.exp(intercept)), r2, (float(t[0]), float(t[-1])), int(keep.sum()))
