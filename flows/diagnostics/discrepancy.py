r"""Kernel discrepancies to fixed target samples, as in-loop diagnostics.

With particles $x_1..x_N$, target samples $y_1..y_M$ and a kernel $k$ (Gretton, Borgwardt, Rasch,
Schölkopf, Smola, JMLR 2012),
$\mathrm{MMD}^2 = \mathbb{E}\,k(x, x') + \mathbb{E}\,k(y, y') - 2\,\mathbb{E}\,k(x, y)$, estimated by
the V-statistic (all pairs, $i = j$ included; biased, $\ge 0$) or the U-statistic (pairs $i \ne j$
only; unbiased).

- `MMD2(target, kernel)`: MMD² between the particles and the target under any kernel;
  `MMD2.multiscale(target)` uses a sum of Gaussian kernels at several multiples of the median
  distance, the usual choice when no single bandwidth is right for the whole run.
- `EnergyDistance(target)`: the energy distance
  $2\,\mathbb{E}\|x - y\| - \mathbb{E}\|x - x'\| - \mathbb{E}\|y - y'\|$ (Székely and Rizzo, 2004),
  which is MMD² with the Riesz kernel $-\|x - y\|$ (Sejdinovic, Sriperumbudur, Gretton, Fukumizu,
  Annals of Statistics 2013).

Both take `backend=` (`flows.kernels.resolve_backend`; default `"auto"`, exact), which computes
their kernel sums.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_bool, check_points
from ..discrepancies.mmd import mmd2_unchecked
from ..kernels.backends import AbstractSumBackend, Backend, resolve_backend
from ..kernels.bandwidth import median_bandwidth
from ..kernels.base import AbstractKernel
from ..kernels.radial import EnergyKernel, SumKernel

MULTISCALE_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)


class AbstractKernelDiscrepancy(eqx.Module):
    """In-loop diagnostic: MMD² (V- or U-statistic) between the state (particles) and `target`
    under `kernel`, its sums computed by `backend`."""

    target: eqx.AbstractVar[Float[Array, "m d"]]
    kernel: eqx.AbstractVar[AbstractKernel]
    unbiased: eqx.AbstractVar[bool]
    backend: eqx.AbstractVar[AbstractSumBackend]

    def __call__(self, t, y, args):
        return mmd2_unchecked(y, self.target.astype(y.dtype), self.kernel, self.unbiased, self.backend)


class MMD2(AbstractKernelDiscrepancy):
    """In-loop diagnostic: MMD² between the state (particles) and `target` under `kernel`.

    **Arguments:**
    - `target`: target samples (M, d).
    - `kernel`: any flows kernel.
    - `unbiased`: the U-statistic instead of the V-statistic (default False).
    - `backend`: how kernel sums are computed (default `"auto"`, exact).
    """

    target: Float[Array, "m d"]
    kernel: AbstractKernel
    unbiased: bool = eqx.field(static=True)
    backend: AbstractSumBackend

    def __init__(
        self, target: Float[ArrayLike, "m d"], kernel: AbstractKernel, unbiased: bool = False, backend: Backend = "auto"
    ):
        self.target = check_points("target", target)
        self.kernel = kernel
        self.unbiased = check_bool("unbiased", unbiased)
        self.backend = resolve_backend(backend)

    @classmethod
    def multiscale(
        cls,
        target: Float[ArrayLike, "m d"],
        factors: Sequence[float] = MULTISCALE_FACTORS,
        unbiased: bool = False,
        backend: Backend = "auto",
    ) -> MMD2:
        r"""MMD² under $\sum_i k_{\sigma_i}$, Gaussian kernels with bandwidths $\sigma_i = c_i\,\sigma_{med}$
        ($\sigma_{med}$ the median distance between target samples, `flows.kernels.median_bandwidth`;
        default $c_i \in \{1/4, 1/2, 1, 2, 4\}$): sensitive to both coarse and fine mismatch."""
        target = check_points("target", target)
        scale = median_bandwidth(target)
        return cls(target, SumKernel.gaussians([c * scale for c in factors]), unbiased, backend)


class EnergyDistance(AbstractKernelDiscrepancy):
    """In-loop diagnostic: the energy distance between the state (particles) and `target`, MMD²
    with the Riesz kernel `EnergyKernel(1.0)` (arguments as in `MMD2`, without `kernel`)."""

    target: Float[Array, "m d"]
    kernel: EnergyKernel
    unbiased: bool = eqx.field(static=True)
    backend: AbstractSumBackend

    def __init__(self, target: Float[ArrayLike, "m d"], unbiased: bool = False, backend: Backend = "auto"):
        self.target = check_points("target", target)
        self.kernel = EnergyKernel(1.0)
        self.unbiased = check_bool("unbiased", unbiased)
        self.backend = resolve_backend(backend)
