r"""What the particle flows share: a cloud of $N$ particles in $\mathbb{R}^d$ (the state, an (N, d)
array) moving toward a target in $\mathbb{R}^d$, given by samples $y_1..y_M$ or by a density $\pi$
known through its score $\nabla\log\pi$; for the kernel flows, a kernel $k$ and the backend that
computes its sums (`flows.kernels.kernel_sum`, `kernel_grad_sum`, `kernel_hessian_sum`).

```
AbstractParticleFlow                 check_state: an (N, d) array with the target's d
├── AbstractSampleTargetFlow         target samples (M, d): SinkhornFlow, SlicedWassersteinFlow
│   └── AbstractWitnessFlow *        the MMD witness gradient, `mmd2`: MMDFlow, KernelSobolevFlow,
│       └── AbstractNoisyMMDFlow     (noisy_mmd.py) NoiseInjectedMMDFlow, DiffusionMMDFlow
├── AbstractDensityTargetFlow        a target with a score: LangevinFlow
│   └── AbstractSteinFlow *          a radial kernel, `ksd2`: SVGDFlow, KSDFlow
└── AbstractKernelFlow               a kernel and the backend of all its sums (* derive from it too)
```

The witness flows record MMD², the energy and the squared witness gradient from one pass over the
pairs (`WitnessDiagnostics`, a diagnostic group). The gradient flows among them also derive from
`AbstractGradientFlow` (energy, dissipation), the
SDEs from `AbstractAdditiveNoiseFlow`. Every particle flow measures how far its cloud reaches
against its target (`spread`: $\max_i\|x_i - c\|$ about the target's mean $c$, the target's own
reach as the reference), which `simulate` watches for divergence. The abstract classes declare their fields with
`eqx.AbstractVar`; every concrete flow is final, with its own fields and `__init__`, whose
arguments go through the checks below.
"""

from __future__ import annotations

import abc
from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_points
from ..core.diagnostic_groups import AbstractDiagnosticGroup
from ..core.divergence import PointCloudSpread
from ..core.flow import AbstractFlow
from ..discrepancies.ksd import ksd2
from ..discrepancies.mmd import mmd2_unchecked, witness_grad_unchecked
from ..kernels.backends import AbstractSumBackend
from ..kernels.base import AbstractKernel
from ..kernels.radial import AbstractRadialKernel
from ..kernels.sums import kernel_sum, kernel_value_grad_sum
from ..targets import AbstractTarget

SPREAD_SAMPLES = 4096
"""Target samples that fix a density target's centre and reach, for `simulate`'s divergence check."""


def check_sample_target(target) -> Float[Array, "m d"]:
    """Target samples: a non-empty, finite (M, d) array (raise a `ValueError` naming `target`)."""
    return check_points("target", target)


def check_target_with_score(target) -> AbstractTarget:
    """The flows toward a known density need `target.score`: raise a `ValueError` otherwise."""
    if not isinstance(target, AbstractTarget):
        raise ValueError(f"`target` must be a flows target (e.g. flows.targets.Gaussian), got {type(target).__name__}.")
    if not target.has_density:
        raise ValueError(
            f"`target` must have a density (a score), but {type(target).__name__} can only be sampled; "
            "use a sample-based flow (MMDFlow, SinkhornFlow, SlicedWassersteinFlow) for it."
        )
    return target


def check_kernel(kernel) -> AbstractKernel:
    """Raise a `ValueError` naming `kernel` unless it is a flows kernel."""
    if not isinstance(kernel, AbstractKernel):
        raise ValueError(f"`kernel` must be a flows kernel (e.g. GaussianKernel), got {type(kernel).__name__}.")
    return kernel


def check_radial_kernel(kernel) -> AbstractRadialKernel:
    """The Stein flows rely on $\\nabla_y k(x, y) = -\\nabla_x k(x, y)$: a radial kernel is required."""
    if not isinstance(kernel, AbstractRadialKernel):
        raise ValueError(
            f"`kernel` must be a radial flows kernel (GaussianKernel, IMQKernel, ...), got {type(kernel).__name__}."
        )
    return kernel


class AbstractParticleFlow(AbstractFlow):
    """A flow of a particle cloud, an (N, d) array, toward a target in $\\mathbb{R}^d$."""

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """The dimension $d$ of the target, which the particles must share."""

    def check_state(self, y0):
        return check_points("y0", y0, dim=self.dim, dim_name="target")


class AbstractSampleTargetFlow(AbstractParticleFlow):
    """A particle flow toward target samples $y_1..y_M$, an (M, d) array."""

    target: eqx.AbstractVar[Float[Array, "m d"]]

    @property
    def dim(self) -> int:
        return self.target.shape[1]

    def target_like(self, y: Array) -> Array:
        """The target samples in the particles' dtype."""
        return self.target.astype(y.dtype)

    def spread(self) -> PointCloudSpread:
        """The spread about the target samples' mean, their own as the reference."""
        return PointCloudSpread.about(self.target)


class AbstractDensityTargetFlow(AbstractParticleFlow):
    """A particle flow toward a density $\\pi$ known through its score $s = \\nabla\\log\\pi$."""

    target: eqx.AbstractVar[AbstractTarget]

    @property
    def dim(self) -> int:
        return self.target.dim

    def score(self, y: Array) -> Array:
        """$s(x_i) = \\nabla\\log\\pi(x_i)$ at the particles, in their dtype."""
        return self.target.score(y).astype(y.dtype)

    def spread(self) -> PointCloudSpread:
        """The spread about the mean of `SPREAD_SAMPLES` target samples (drawn with
        `jax.random.PRNGKey(0)`), theirs as the reference."""
        return PointCloudSpread.about(self.target.sample(jax.random.PRNGKey(0), SPREAD_SAMPLES))

    def mean_log_prob(self, t, y, args):
        """$\\frac1N\\sum_i \\log\\pi(x_i)$."""
        return jnp.mean(self.target.log_prob(y))


class AbstractKernelFlow(AbstractParticleFlow):
    """A particle flow driven by kernel sums: a kernel $k$ and the backend that computes every sum
    of the flow (`flows.kernels.resolve_backend`; the default `"auto"` is exact)."""

    kernel: eqx.AbstractVar[AbstractKernel]
    backend: eqx.AbstractVar[AbstractSumBackend]


class AbstractWitnessFlow(AbstractSampleTargetFlow, AbstractKernelFlow):
    r"""A kernel flow toward target samples through the MMD witness
    $f_{\mu,\nu}(z) = \frac1N\sum_l k(x_l, z) - \frac1M\sum_j k(y_j, z)$ (model minus target), with the
    `mmd2` diagnostic: the V-statistic
    $\mathrm{MMD}^2 = \frac1{N^2}\sum_{i,l} k(x_i, x_l) + \frac1{M^2}\sum_{j,j'} k(y_j, y_{j'})
    - \frac2{NM}\sum_{i,j} k(x_i, y_j) = \|f_{\mu,\nu}\|_{\mathcal H}^2$."""

    def witness_grad(self, z: Array, y: Array, kernel: AbstractKernel | None = None) -> Array:
        """$\\nabla f_{\\mu,\\nu}(z_i)$ for the particles $y$ (under `kernel`, default the flow's)."""
        kernel = self.kernel if kernel is None else kernel
        return witness_grad_unchecked(z, y, self.target_like(y), kernel, self.backend)

    def mean_squared_witness_grad(self, y: Array) -> Array:
        """$\\frac1N\\sum_i \\|\\nabla f_{\\mu,\\nu}(x_i)\\|^2$ over the particles $x_i$, the rows of `y`
        (the MMD flow's dissipation)."""
        return jnp.mean(jnp.sum(self.witness_grad(y, y) ** 2, axis=1))

    def mmd2(self, t, y, args):
        """MMD² (V-statistic, the flow's kernel) between the particles and the target."""
        return mmd2_unchecked(y, self.target_like(y), self.kernel, backend=self.backend)

    def witness_diagnostics(self) -> WitnessDiagnostics:
        """The diagnostic group of MMD², ½ MMD² and $\\mathbb{E}\\|\\nabla f\\|^2$ from one witness pass,
        with the target's self-term computed now, once (`WitnessDiagnostics`)."""
        target = self.target
        self_term = jnp.sum(kernel_sum(self.kernel, target, target, backend=self.backend)) / target.shape[0] ** 2
        return WitnessDiagnostics(self, self_term)


class WitnessDiagnostics(AbstractDiagnosticGroup):
    r"""In-loop diagnostics of a witness flow's particles $x_1..x_N$ against its target
    $y_1..y_M$, from the kernel evaluations of one drift: `mmd2` (the V-statistic), `energy`
    ($\frac12\mathrm{MMD}^2$) and `mean_squared_witness_grad`
    ($\frac1N\sum_i\|\nabla f_{\mu,\nu}(x_i)\|^2$, the MMD flow's dissipation; Arbel, Korba, Salim,
    Gretton, NeurIPS 2019).

    Over the particles and over the target, `kernel_value_grad_sum` gives values and gradients
    from one set of kernel evaluations, with value weights $\frac1N$, $-\frac2M$ and gradient
    weights $\frac1N$, $-\frac1M$: $v_i = \frac1N\sum_l k(x_i, x_l) - \frac2M\sum_j k(x_i, y_j)$ and
    $\nabla f_{\mu,\nu}(x_i) = \frac1N\sum_l \nabla_x k(x_i, x_l) - \frac1M\sum_j \nabla_x k(x_i, y_j)$, and

    $$\mathrm{MMD}^2 = \frac1N\sum_i v_i + C, \qquad C = \frac1{M^2}\sum_{j,j'} k(y_j, y_{j'}),$$

    the target's self-term computed when the group is made (a third of MMD²'s kernel sums, not
    repeated at every saved time). The three together evaluate the kernel at the pairs the drift
    does, once. Asked for values only, the group makes value sums; for the gradient only, one
    witness-gradient pass.

    **Fields:** the `flow` and `self_term` ($C$).
    """

    quantities: ClassVar[tuple[str, ...]] = ("mmd2", "energy", "mean_squared_witness_grad")

    flow: AbstractWitnessFlow
    self_term: Array

    def __call__(self, t, y, args, names):
        flow = self.flow
        with_grad = "mean_squared_witness_grad" in names
        if not ("mmd2" in names or "energy" in names):
            return {"mean_squared_witness_grad": flow.mean_squared_witness_grad(y)}
        target = flow.target_like(y)
        n, m = y.shape[0], target.shape[0]
        values, grads = [], []
        for sources, value_weight, grad_weight in ((y, 1 / n, 1 / n), (target, -2 / m, -1 / m)):
            count = sources.shape[0]
            if with_grad:
                value, grad = kernel_value_grad_sum(flow.kernel, y, sources, jnp.full(count, value_weight, y.dtype),
                                                    jnp.full(count, grad_weight, y.dtype), backend=flow.backend)
                grads.append(grad)
            else:
                value = value_weight * kernel_sum(flow.kernel, y, sources, backend=flow.backend)
            values.append(value)
        mmd2 = jnp.mean(values[0] + values[1]) + self.self_term.astype(y.dtype)
        recorded = {"mmd2": mmd2, "energy": 0.5 * mmd2}
        if with_grad:
            recorded["mean_squared_witness_grad"] = jnp.mean(jnp.sum((grads[0] + grads[1]) ** 2, axis=1))
        return {name: recorded[name] for name in names}


class AbstractSteinFlow(AbstractDensityTargetFlow, AbstractKernelFlow):
    r"""A kernel flow toward a density through its score, with the `ksd2` diagnostic: the kernel
    Stein discrepancy (V-statistic)
    $\mathrm{KSD}^2(\mu_N \,|\, \pi) = \frac1{N^2}\sum_{i,j} k_\pi(x_i, x_j)$ with the Stein kernel
    $k_\pi(x, y) = s(x)^\top s(y)\,k(x, y) + s(x)^\top \nabla_y k + \nabla_x k^\top s(y)
    + \operatorname{tr}\nabla_x\nabla_y k$ (Liu, Lee, Jordan, ICML 2016; Chwialkowski, Strathmann,
    Gretton, ICML 2016). The kernel is radial, so that $\nabla_y k = -\nabla_x k$."""

    kernel: eqx.AbstractVar[AbstractRadialKernel]

    def ksd2(self, t, y, args):
        """KSD² (V-statistic) of the particles to the target under the flow's kernel."""
        return ksd2(y, self.score(y), self.kernel, backend=self.backend)
