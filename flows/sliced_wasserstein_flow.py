r"""The sliced Wasserstein flow (Liutkus et al., ICML 2019; Bonneel et al. 2015), `MATH.md` section 8.

$F(\mu) = \frac12\mathrm{SW}_2^2(\mu, \nu) \approx \frac1{2P}\sum_{p=1}^P W_2^2(\theta_p\#\mu, \theta_p\#\nu)$
over $P$ random unit directions $\theta_p$. In one dimension optimal transport is monotone, so
$W_2^2$ between two empirical measures comes from sorting:
$W_2^2 = \int_0^1 |F_\mu^{-1}(u) - F_\nu^{-1}(u)|^2\,du$, and both quantile functions are step
functions, constant between the merged levels $\{i/N\} \cup \{j/M\}$ — exact for any $N$, $M$, at
$O(P(N + M)\log(N + M))$ cost. Particles move by $\dot x_i = -N\,\partial F/\partial x_i$ (autodiff
through the sort); for $N = M$ that is
$\dot x_i = -\frac1P\sum_p (\theta_p\cdot x_i - \theta_p\cdot y_{\sigma_p(i)})\,\theta_p$ with
$\sigma_p$ the sorting match.

With fixed directions (drawn once from `key`) this is the gradient flow of a fixed energy, for
any diffrax solver; `resample=True` draws fresh directions at every step of the discrete
engine (stochastic gradient descent on $\mathrm{SW}_2^2$).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._checks import check_points
from .flow import AbstractGradientFlow, Diagnostic
from .sde import require_key


def random_directions(key: Array, count: int, dim: int, dtype=float) -> Float[Array, "p d"]:
    """`count` directions uniform on the unit sphere $S^{d-1}$ (normalized Gaussians)."""
    z = jax.random.normal(key, (count, dim), dtype)
    return z / jnp.linalg.norm(z, axis=1, keepdims=True)


def wasserstein2_1d(x: Float[Array, "... n"], y: Float[Array, "... m"]) -> Float[Array, "..."]:
    """Exact $W_2^2$ between the uniform empirical measures on `x` and `y` (last axis), by sorting
    and integrating the squared difference of the two quantile step functions."""
    n, m = x.shape[-1], y.shape[-1]
    levels = np.sort(np.concatenate([np.arange(1, n + 1) / n, np.arange(1, m + 1) / m]))
    widths = np.diff(levels, prepend=0.0)
    keep = widths > 0
    levels, widths = levels[keep], widths[keep]
    mids = levels - widths / 2
    ix = np.minimum(np.floor(mids * n).astype(int), n - 1)
    iy = np.minimum(np.floor(mids * m).astype(int), m - 1)
    xs, ys = jnp.sort(x, axis=-1), jnp.sort(y, axis=-1)
    return jnp.sum(jnp.asarray(widths, x.dtype) * (xs[..., ix] - ys[..., iy]) ** 2, axis=-1)


def sliced_wasserstein2(x: Array, y: Array, directions: Float[Array, "p d"]) -> Array:
    """$\\frac1P\\sum_p W_2^2(\\theta_p\\#\\mu, \\theta_p\\#\\nu)$ for the particle clouds `x`, `y`."""
    return jnp.mean(wasserstein2_1d(directions @ x.T, directions @ y.T))


class SlicedWassersteinFlow(AbstractGradientFlow):
    r"""Sliced Wasserstein flow $\dot x_i = -N\,\partial_{x_i}\frac12\mathrm{SW}_2^2$ toward target samples.

    **Arguments:**
    - `target`: target samples, shape (M, d).
    - `n_projections`: the number $P$ of directions.
    - `key`: the `jax.random` key the directions are drawn from.
    - `resample`: draw fresh directions at every step of the discrete engine (needs
      `simulate(..., key=...)`); the ODE always uses the fixed ones.

    **Diagnostics:** `sw2` ($\mathrm{SW}_2^2$ over the fixed directions), `energy`, `dissipation`,
    `dissipation_residual`.
    """

    target: Float[Array, "m d"]
    directions: Float[Array, "p d"]
    resample: bool = False

    def __init__(self, target: Float[ArrayLike, "m d"], n_projections: int, key: Array, resample: bool = False):
        self.target = check_points("target", target)
        if isinstance(n_projections, bool) or not isinstance(n_projections, (int, np.integer)) or n_projections < 1:
            raise ValueError(f"`n_projections` must be a positive integer, got {n_projections!r}.")
        key = require_key(key, "the sliced Wasserstein flow (its directions are random)")
        self.directions = random_directions(key, int(n_projections), self.target.shape[1], self.target.dtype)
        self.resample = bool(resample)

    def check_state(self, y0):
        return check_points("y0", y0, dim=self.target.shape[1], dim_name="target")

    def _energy(self, y: Array, directions: Array) -> Array:
        return 0.5 * sliced_wasserstein2(y, self.target.astype(y.dtype), directions.astype(y.dtype))

    def energy(self, y):
        return self._energy(y, self.directions)

    def drift(self, t, y, args):
        return -y.shape[0] * jax.grad(self.energy)(y)

    def discrete_drift(self, t, y, args, key):
        if not self.resample:
            return self.drift(t, y, args)
        key = require_key(key, "the sliced Wasserstein flow with resample=True")
        directions = random_directions(key, self.directions.shape[0], y.shape[1], y.dtype)
        return -y.shape[0] * jax.grad(self._energy)(y, directions)

    def dissipation(self, t, y, args):
        velocity = self.drift(t, y, args)
        return jnp.mean(jnp.sum(velocity**2, axis=1))

    def sw2(self, t, y, args):
        """$\\mathrm{SW}_2^2$ over the flow's fixed directions."""
        return 2 * self.energy(y)

    def diagnostics(self) -> dict[str, Diagnostic]:
        return {"sw2": self.sw2, **super().diagnostics()}
