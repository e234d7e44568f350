r"""Kernel discrepancies to fixed target samples, as in-loop diagnostics (`MATH.md` section 2).

- `MMD2(target, kernel)`: MMD² between the particles and the target under any kernel;
  `MMD2.multiscale(target)` uses a sum of Gaussian kernels at several multiples of the median
  distance, the usual choice when no single bandwidth is right for the whole run.
- `EnergyDistance(target)`: the energy distance, MMD² with the Riesz kernel $-\|x - y\|$.
"""

from __future__ import annotations

from collections.abc import Sequence

import equinox as eqx
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_points
from ..discrepancies.mmd import mmd2_unchecked
from ..kernels.bandwidth import median_bandwidth
from ..kernels.base import AbstractKernel
from ..kernels.radial import EnergyKernel, SumKernel

MULTISCALE_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)


class MMD2(eqx.Module):
    """In-loop diagnostic: MMD² between the state (particles) and `target` under `kernel`."""

    target: Float[Array, "m d"]
    kernel: AbstractKernel
    unbiased: bool = eqx.field(static=True, default=False)

    def __init__(self, target: Float[ArrayLike, "m d"], kernel: AbstractKernel, unbiased: bool = False):
        self.target = check_points("target", target)
        self.kernel = kernel
        self.unbiased = unbiased

    def __call__(self, t, y, args):
        return mmd2_unchecked(y, self.target.astype(y.dtype), self.kernel, self.unbiased)

    @classmethod
    def multiscale(
        cls, target: Float[ArrayLike, "m d"], factors: Sequence[float] = MULTISCALE_FACTORS, unbiased: bool = False
    ) -> "MMD2":
        r"""MMD² under $\sum_i k_{\sigma_i}$, Gaussian kernels with bandwidths $\sigma_i = c_i\,\sigma_{med}$
        ($\sigma_{med}$ the median distance between target samples, `flows.median_bandwidth`;
        default $c_i \in \{1/4, 1/2, 1, 2, 4\}$): sensitive to both coarse and fine mismatch."""
        target = check_points("target", target)
        scale = median_bandwidth(target)
        return cls(target, SumKernel.gaussians([c * scale for c in factors]), unbiased)


class EnergyDistance(MMD2):
    """In-loop diagnostic: the energy distance between the state (particles) and `target`."""

    def __init__(self, target: Float[ArrayLike, "m d"], unbiased: bool = False):
        super().__init__(target, EnergyKernel(1.0), unbiased)
