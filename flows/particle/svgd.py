r"""Stein variational gradient descent (Liu and Wang, NeurIPS 2016).

Particles move along the kernelized Stein direction

$$\dot x_i = \phi(x_i), \qquad
  \phi(x) = \frac1N\sum_j \big[k(x_j, x)\,\nabla\log\pi(x_j) + \nabla_{x_j} k(x_j, x)\big],$$

the steepest descent direction of $\mathrm{KL}(\mu\,\|\,\pi)$ in the RKHS: an attraction toward high
density smoothed by the kernel, plus a repulsion that keeps particles apart. Along the
mean-field flow $\frac{d}{dt}\mathrm{KL} = -\mathrm{KSD}^2$, recorded as the `ksd2` diagnostic.
For a radial kernel $\nabla_{x_j}k(x_j, x_i) = -\nabla_{x_i}k(x_i, x_j)$, so
$\phi(x_i) = \frac1N[\sum_j k(x_i, x_j) s_j - \sum_j \nabla_x k(x_i, x_j)]$: two kernel sums.
The discrete engine with `GradientDescent(step=ε)` is the usual SVGD iteration; an `optax`
optimizer (as in blackjax's SVGD) also works.
"""

from __future__ import annotations

from ..core.flow import Diagnostic
from ..kernels.backends import AbstractSumBackend, Backend, resolve_backend
from ..kernels.base import AbstractKernel
from ..kernels.radial import AbstractRadialKernel
from ..kernels.sums import kernel_grad_sum, kernel_sum
from ..targets import AbstractTarget
from .base import AbstractSteinFlow, check_radial_kernel, check_target_with_score


class SVGDFlow(AbstractSteinFlow):
    r"""SVGD: $\dot x_i = \frac1N\sum_j [k(x_j, x_i)\nabla\log\pi(x_j) + \nabla_{x_j}k(x_j, x_i)]$.

    **Arguments:**
    - `target`: a target with a score (`flows.targets.Gaussian`, `GaussianMixture`, ...).
    - `kernel`: a radial kernel (e.g. `GaussianKernel(bandwidth)`, bandwidth by
      `flows.kernels.median_bandwidth`).
    - `backend`: how kernel sums are computed (`flows.kernels.resolve_backend`; default `"auto"`,
      exact), for both sums of the drift and for `ksd2`.

    **Diagnostics:** `ksd2` (the KL dissipation rate of the mean-field flow) and `mean_log_prob`.
    """

    target: AbstractTarget
    kernel: AbstractRadialKernel
    backend: AbstractSumBackend

    def __init__(self, target: AbstractTarget, kernel: AbstractKernel, backend: Backend = "auto"):
        self.target = check_target_with_score(target)
        self.kernel = check_radial_kernel(kernel)
        self.backend = resolve_backend(backend)

    def drift(self, t, y, args):
        score = self.score(y)
        attraction = kernel_sum(self.kernel, y, y, score, backend=self.backend)
        repulsion = kernel_grad_sum(self.kernel, y, y, backend=self.backend)
        return (attraction - repulsion) / y.shape[0]

    def diagnostics(self) -> dict[str, Diagnostic]:
        return {"ksd2": self.ksd2, "mean_log_prob": self.mean_log_prob}
