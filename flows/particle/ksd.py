r"""Kernel Stein discrepancy descent (Korba, Aubin-Frankowski, Majewski, Ablin, ICML 2021).

For a target $\pi$ known through its score $s = \nabla\log\pi$ and a radial kernel $k$, the Stein
kernel is

$$k_\pi(x, y) = s(x)^\top s(y)\,k(x, y) + s(x)^\top \nabla_y k(x, y) + \nabla_x k(x, y)^\top s(y)
  + \operatorname{tr}\nabla_x\nabla_y k(x, y),$$

and $\mathrm{KSD}^2(\mu \,|\, \pi) = \mathbb{E}_{x, x' \sim \mu}\, k_\pi(x, x')$ (V-statistic over the
particles). KSD descent is the Wasserstein gradient flow of $F = \frac12\mathrm{KSD}^2$: with
particles, $\dot x_i = -N\,\partial F/\partial x_i$ (autodiff), so
$\frac{dF}{dt} = -\frac1N\sum_i\|\dot x_i\|^2$. Unlike SVGD (Liu and Wang, NeurIPS 2016) it
descends an objective that can be evaluated, KSD² itself; unlike the MMD flow it needs only the
score, not target samples; unlike Langevin it is deterministic.

The sums are kernel sums (`flows.discrepancies.ksd2`): for a radial kernel $\nabla_y k = -\nabla_x k$,
so both cross terms equal $-\sum_i s(x_i)\cdot\sum_j \nabla_x k(x_i, x_j)$, and the trace term is the
mixed Hessian sum applied to the coordinate vectors.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from ..core.flow import AbstractGradientFlow, Diagnostic
from ..discrepancies.ksd import ksd2
from ..kernels.backends import AbstractSumBackend, Backend, resolve_backend
from ..kernels.base import AbstractKernel
from ..kernels.radial import AbstractRadialKernel
from ..targets import AbstractTarget
from .base import AbstractSteinFlow, check_radial_kernel, check_target_with_score


class KSDFlow(AbstractSteinFlow, AbstractGradientFlow):
    r"""KSD descent: $\dot x_i = -N\,\partial_{x_i}\tfrac12\mathrm{KSD}^2(\mu_N \,|\, \pi)$.

    **Arguments:**
    - `target`: a target with a score (`flows.targets.Gaussian`, `GaussianMixture`, ...).
    - `kernel`: a radial kernel (IMQ is the usual choice: Gaussian-kernel KSD does not detect
      non-convergence, Gorham and Mackey, ICML 2017).
    - `backend`: how the kernel sums of KSD² (and so of its gradient, the drift) are computed
      (`flows.kernels.resolve_backend`; default `"auto"`, exact; not `"sliced"`).

    **Diagnostics:** `ksd2`, `energy` ($\frac12$ KSD²), `dissipation`; `dissipation_residual` when
    asked for.
    """

    target: AbstractTarget
    kernel: AbstractRadialKernel
    backend: AbstractSumBackend

    def __init__(self, target: AbstractTarget, kernel: AbstractKernel, backend: Backend = "auto"):
        self.target = check_target_with_score(target)
        self.kernel = check_radial_kernel(kernel)
        self.backend = resolve_backend(backend)

    def energy(self, y):
        return 0.5 * ksd2(y, self.score(y), self.kernel, backend=self.backend)

    def drift(self, t, y, args):
        return -y.shape[0] * jax.grad(self.energy)(y)

    def dissipation(self, t, y, args):
        velocity = self.drift(t, y, args)
        return jnp.mean(jnp.sum(velocity**2, axis=1))

    def diagnostics(self) -> dict[str, Diagnostic]:
        return {"ksd2": self.ksd2, **super().diagnostics()}
