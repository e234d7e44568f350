"""flows: gradient flows of probability distributions, the dynamics behind MMD GANs.

A flow is a vector field on a state (a particle cloud, or a generator's parameters); `simulate`
integrates it with a diffrax solver or steps it with the gradient descent GAN training runs, and
returns a `Trajectory` with diagnostics computed along the way.
"""

from . import diagnostics
from .animation import animate_particles
from .closed_forms import gaussian_kernel_expectation, gaussian_mmd2
from .flow import AbstractFlow, AbstractGradientFlow
from .gradient_descent import AbstractDiscreteSolver, GradientDescent
from .kernel_sums import kernel_grad_sum, kernel_hessian_sum, kernel_matrix, kernel_sum
from .kernels import (
    AbstractKernel,
    AbstractRadialKernel,
    EnergyKernel,
    GaussianKernel,
    IMQKernel,
    LaplaceKernel,
    SumKernel,
    median_bandwidth,
)
from .mmd import energy_distance, mmd2, witness, witness_grad
from .mmd_flow import MMDFlow
from .plots import plot_convergence
from .simulate import FlowDivergedError, simulate
from .trajectory import Trajectory

# issue 3: kernel sums at scale (backends, sliced and random-feature sums, sharding)
from .sharding import ShardedSums, particle_sharding, shard_particles
from .sum_backends import (
    AbstractSumBackend,
    AutoSums,
    BlockedSums,
    DenseSums,
    RandomFeatureApproximation,
    SlicedRieszApproximation,
)

__version__ = "0.1.0"

__all__ = [
    "AbstractDiscreteSolver",
    "AbstractFlow",
    "AbstractGradientFlow",
    "AbstractKernel",
    "AbstractRadialKernel",
    "EnergyKernel",
    "FlowDivergedError",
    "GaussianKernel",
    "GradientDescent",
    "IMQKernel",
    "LaplaceKernel",
    "MMDFlow",
    "SumKernel",
    "Trajectory",
    "animate_particles",
    "diagnostics",
    "energy_distance",
    "gaussian_kernel_expectation",
    "gaussian_mmd2",
    "kernel_grad_sum",
    "kernel_hessian_sum",
    "kernel_matrix",
    "kernel_sum",
    "median_bandwidth",
    "mmd2",
    "plot_convergence",
    "simulate",
    "witness",
    "witness_grad",
    # issue 3
    "AbstractSumBackend",
    "AutoSums",
    "BlockedSums",
    "DenseSums",
    "RandomFeatureApproximation",
    "ShardedSums",
    "SlicedRieszApproximation",
    "particle_sharding",
    "shard_particles",
]
