r"""The MMD flow with noise (Arbel, Korba, Salim, Gretton, "Maximum mean discrepancy gradient flow",
NeurIPS 2019).

The plain MMD flow $\dot x = -\nabla f_{\mu_t,\nu}(x)$, with the witness
$f_{\mu,\nu}(z) = \frac1N\sum_l k(x_l, z) - \frac1M\sum_j k(y_j, z)$, can stall in local minima. Their
fix evaluates the witness gradient at *noisy* positions:

$$X_{n+1} = X_n - \gamma\, \nabla f_{\mu_n,\nu}(X_n + \beta_n U_n), \qquad U_n \sim \mathcal N(0, I),$$

with a schedule $\beta_n$ (e.g. $\beta_0 = 1$ halved every $K$ steps, or $\beta = 10$ then 0). While
$8L^2\beta_n^2 F(\mu_n) \le \mathbb{E}\|\nabla f_{\mu_n,\nu}(X_n + \beta_n U_n)\|^2$ ($L$ a Lipschitz
constant of the kernel's gradient) the energy $F = \frac12\mathrm{MMD}^2$ decreases, and if moreover
$\sum_n \beta_n^2 = \infty$, $F \to 0$.
Two continuous-time counterparts:

- `NoiseInjectedMMDFlow`: the discrete engine runs the scheme above
  (`GradientDescent(step=γ)`); a diffrax solver integrates its *averaged drift*
  $\dot x = -\mathbb{E}_u \nabla f(x + \beta(t) u)$. For a Gaussian kernel of bandwidth $\sigma$
  the average is again a witness gradient, under a Gaussian kernel of variance
  $\sigma^2 + \beta^2$ rescaled by $(\sigma^2 / (\sigma^2 + \beta^2))^{d/2}$:
  $\mathbb{E}_u\, k_\sigma(x + \beta u, z) = (\tfrac{\sigma^2}{\sigma^2 + \beta^2})^{d/2} k_{\sqrt{\sigma^2+\beta^2}}(x, z)$.
- `DiffusionMMDFlow`: the SDE $dX = -\nabla f_{\mu_t,\nu}(X)\,dt + \sqrt{2\beta(t)}\,dW_t$, for the
  diffrax SDE solvers (Euler-Maruyama, Heun, `ShARK`, ...).

Randomness comes only from the `key` given to `simulate`: same key, same trajectory.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_bool, check_positive
from ..core.flow import Diagnostic
from ..core.sde import AbstractAdditiveNoiseFlow, require_key
from ..kernels.backends import AbstractSumBackend, Backend, resolve_backend
from ..kernels.base import AbstractKernel
from ..kernels.radial import GaussianKernel, SumKernel
from .base import AbstractWitnessFlow, check_kernel, check_sample_target
from .noise_schedules import NoiseSchedule, as_schedule


def gaussian_smoothed_kernel(kernel: AbstractKernel, beta: Array, dim: int) -> SumKernel:
    r"""The kernel $\tilde k(x, z) = \mathbb{E}_{u \sim \mathcal N(0, I_d)}\, k(x + \beta u, z)$ for a
    kernel with Gaussian components $k = \sum_i c_i k_{\sigma_i}$ (`kernel.gaussian_components()`:
    a Gaussian kernel or a sum of them): each $c_i k_{\sigma_i}$ becomes
    $c_i\,(\sigma_i^2/(\sigma_i^2+\beta^2))^{d/2}\, k_{\sqrt{\sigma_i^2+\beta^2}}$."""
    try:
        components = kernel.gaussian_components()
    except ValueError as error:
        raise ValueError(
            f"{error} The averaged (ODE) drift of noise injection needs them; run the discrete scheme "
            "with flows.GradientDescent instead."
        ) from None
    smoothed, scaled = [], []
    for w, bandwidth in components:
        variance = bandwidth**2 + beta**2
        smoothed.append(GaussianKernel(jnp.sqrt(variance)))
        scaled.append(w * (bandwidth**2 / variance) ** (dim / 2))
    return SumKernel(smoothed, scaled)


class AbstractNoisyMMDFlow(AbstractWitnessFlow):
    """What the two noisy MMD flows share: target samples, a kernel and its sum backend, a noise
    level $\\beta(t)$, and their diagnostics `mmd2` (V-statistic to the target) and `noise_level`
    $\\beta(t)$."""

    noise: eqx.AbstractVar[NoiseSchedule]

    def noise_level(self, t, y, args):
        """$\\beta(t)$."""
        return jnp.asarray(self.noise(t), y.dtype)

    def diagnostics(self) -> dict[str, Diagnostic]:
        return {"mmd2": self.witness_diagnostics().member("mmd2"), "noise_level": self.noise_level}


class NoiseInjectedMMDFlow(AbstractNoisyMMDFlow):
    r"""Noise-injected MMD flow (Arbel et al., NeurIPS 2019): the discrete engine steps
    $x \leftarrow x - \gamma \nabla f(x + \beta(t) u)$ with fresh $u \sim \mathcal N(0, I)$ from the
    per-iteration key; a diffrax solver integrates the averaged drift
    $-\mathbb{E}_u \nabla f(x + \beta(t) u)$ (Gaussian kernels only, closed form).

    **Arguments:**
    - `target`: target samples, shape (M, d).
    - `kernel`: the kernel $k$ (Gaussian or a sum of Gaussians for the averaged drift; any for the
      discrete scheme).
    - `noise`: the noise level $\beta(t)$: a number, a schedule (`ConstantSchedule`,
      `StepDecaySchedule`, `PiecewiseConstantSchedule`) or any traceable `t -> beta`.
    - `backend`: how kernel sums are computed (`flows.kernels.resolve_backend`; default `"auto"`,
      exact), for the averaged drift, the discrete scheme and `mmd2`.

    **Diagnostics:** `mmd2` (V-statistic to the target) and `noise_level` $\beta(t)$.
    """

    target: Float[Array, "m d"]
    kernel: AbstractKernel
    noise: NoiseSchedule
    backend: AbstractSumBackend

    def __init__(self, target: Float[ArrayLike, "m d"], kernel: AbstractKernel, noise, backend: Backend = "auto"):
        self.target = check_sample_target(target)
        self.kernel = check_kernel(kernel)
        self.noise = as_schedule("noise", noise)
        self.backend = resolve_backend(backend)

    def drift(self, t, y, args):
        smoothed = gaussian_smoothed_kernel(self.kernel, self.noise(t), y.shape[1])
        return -self.witness_grad(y, y, smoothed)

    def discrete_drift(self, t, y, args, key):
        key = require_key(key, "the noise-injected MMD flow's discrete scheme")
        u = jax.random.normal(key, y.shape, y.dtype)
        return -self.witness_grad(y + self.noise(t) * u, y)


class DiffusionMMDFlow(AbstractNoisyMMDFlow, AbstractAdditiveNoiseFlow):
    r"""The diffusion MMD flow $dX = -\nabla f_{\mu_t,\nu}(X)\,dt + \sqrt{2\beta(t)}\,dW_t$, an SDE
    with additive noise for diffrax's SDE solvers: the MMD flow with Brownian noise added to the
    positions, where Arbel et al.'s noise injection (NeurIPS 2019) perturbs the witness's argument.

    **Arguments:**
    - `target`: target samples, shape (M, d).
    - `kernel`: the kernel $k$.
    - `noise`: the temperature $\beta(t) \ge 0$: a number, a schedule, or a traceable `t -> beta`.
    - `brownian_tolerance`: the Brownian tree's time resolution (default $(t_1 - t_0) 2^{-16}$).
    - `levy_area`: whether the Brownian tree carries space-time Lévy area (default True, needed by
      `ShARK`, `SEA`, `SRA1`); False is several times cheaper and enough for `Euler` and `Heun`.
    - `backend`: how kernel sums are computed (`flows.kernels.resolve_backend`; default `"auto"`,
      exact), for the drift and `mmd2`.

    Needs `simulate(..., key=...)` and a diffrax solver with a fixed step (`dt0`), e.g.
    `diffrax.Euler()` (Euler-Maruyama), `diffrax.Heun()` or `diffrax.ShARK()`.
    **Diagnostics:** `mmd2` and `noise_level` $\beta(t)$.
    """

    target: Float[Array, "m d"]
    kernel: AbstractKernel
    noise: NoiseSchedule
    backend: AbstractSumBackend
    brownian_tolerance: float | None = None
    levy_area: bool = True
    sde_name = "the diffusion MMD flow"
    euler_hint = ("dt0=0.1 (Euler-Maruyama). For Arbel et al.'s discrete noisy scheme use NoiseInjectedMMDFlow "
                  "with flows.GradientDescent.")

    def __init__(
        self, target: Float[ArrayLike, "m d"], kernel: AbstractKernel, noise, brownian_tolerance=None,
        levy_area: bool = True, backend: Backend = "auto",
    ):
        self.target = check_sample_target(target)
        self.kernel = check_kernel(kernel)
        self.noise = as_schedule("noise", noise)
        if brownian_tolerance is not None:
            check_positive("brownian_tolerance", brownian_tolerance)
        self.brownian_tolerance = brownian_tolerance
        self.levy_area = check_bool("levy_area", levy_area)
        self.backend = resolve_backend(backend)

    def drift(self, t, y, args):
        return -self.witness_grad(y, y)

    def noise_scale(self, t):
        """The diffusion coefficient $\\sqrt{2\\beta(t)}$."""
        return jnp.sqrt(2 * self.noise(t))
