r"""Kernels and kernel sums: the hot path, one owner.

- Kernels (`equinox` modules, so bandwidths can be traced and differentiated): `GaussianKernel`,
  `IMQKernel`, `LaplaceKernel`, `MaternKernel`, `EnergyKernel` (Riesz), `SumKernel`, the feature-map kernels
  (`NetworkKernel`), and `median_bandwidth`. What a kernel can do is a method of its class
  (`base.py` lists them): the tile formulas of the exact sums (`prepare`, `gram_tile`,
  `sum_tile`, `grad_sum_tile`, `value_grad_sum_tile`, `hessian_sum_tile`, `hessian_matrix_tile`,
  `diagonal`; autodiff of `__call__` by default, matrix products for radial kernels, feature
  passes for feature kernels) and the capabilities `spectral_sample` (random features) and `gaussian_components`
  (Gaussian closed forms), which raise a `ValueError` naming the kernel where it lacks them.
- Kernel sums $\sum_j k(x_i, y_j) w_j$, $\sum_j w_j \nabla_x k(x_i, y_j)$ and
  $\sum_j \nabla_x\nabla_y k(x_i, y_j) v_j$ (`kernel_sum`, `kernel_grad_sum`, `kernel_hessian_sum`;
  `kernel_value_grad_sum` for values and gradients in one pass), computed by a backend:
  `DenseSums`, `BlockedSums` (memory O((N + M) · block)), `AutoSums` (the default),
  `SlicedRieszApproximation`, `RandomFeatureApproximation`, `ShardedSums` (devices),
  `FourierApproximation` (non-uniform FFTs, d <= 3, within `rtol`) and `SlicedFourierApproximation`
  (1-D Fourier sums along P directions, any d).
"""

from .backends import (
    AbstractSumBackend,
    AutoSums,
    Backend,
    BlockedSums,
    DenseSums,
    FourierApproximation,
    RandomFeatureApproximation,
    SlicedFourierApproximation,
    SlicedRieszApproximation,
    resolve_backend,
)
from .bandwidth import median_bandwidth
from .base import AbstractKernel
from .distances import squared_distances
from .features import AbstractFeatureKernel, NetworkKernel
from .fourier_bounds import FourierPlan
from .radial import (
    AbstractRadialKernel,
    EnergyKernel,
    GaussianKernel,
    IMQKernel,
    LaplaceKernel,
    MaternKernel,
    SumKernel,
)
from .sharding import ShardedSums, particle_sharding, shard_particles
from .sums import (
    kernel_grad_sum,
    kernel_hessian_matrix,
    kernel_hessian_sum,
    kernel_matrix,
    kernel_sum,
    kernel_value_grad_sum,
)

__all__ = [
    "AbstractFeatureKernel",
    "AbstractKernel",
    "AbstractRadialKernel",
    "AbstractSumBackend",
    "AutoSums",
    "Backend",
    "BlockedSums",
    "DenseSums",
    "EnergyKernel",
    "FourierApproximation",
    "FourierPlan",
    "GaussianKernel",
    "IMQKernel",
    "LaplaceKernel",
    "MaternKernel",
    "NetworkKernel",
    "RandomFeatureApproximation",
    "ShardedSums",
    "SlicedFourierApproximation",
    "SlicedRieszApproximation",
    "SumKernel",
    "kernel_grad_sum",
    "kernel_hessian_matrix",
    "kernel_hessian_sum",
    "kernel_matrix",
    "kernel_sum",
    "kernel_value_grad_sum",
    "median_bandwidth",
    "particle_sharding",
    "resolve_backend",
    "shard_particles",
    "squared_distances",
]
