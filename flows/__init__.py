"""flows: gradient flows of probability distributions, the dynamics behind MMD GANs.

A flow is a vector field on a state (a particle cloud, or a generator's parameters); `simulate`
integrates it with a diffrax solver or steps it with the gradient descent GAN training runs, and
returns a `Trajectory` with diagnostics computed along the way.
"""

from . import diagnostics, targets
from .animation import animate_particles
from .comparison_animation import animate_comparison
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
from ._io import atomic_path

# parametric flows (generators, parametric MMD flow, PKGF, MMD GAN game)
from .generators import AffineGenerator, GaussianMixtureGenerator, MLPGenerator, push_forward
from .adversarial_game import AbstractAdversarialGame
from .critics import AbstractCritic, MLPCritic, RandomFeatureCritic
from .mmd_gan import MMDGAN
from .parametric_flow import AbstractParametricFlow, GaussianTarget, ParametricMMDFlow
from .pkgf import PKGF
# diagnostics, exporters, checkpoints, the command line
from . import registry
from .checkpoint import Checkpoint
from .plots import plot_diagnostics, plot_final_state
from .projection import Projection
from .tables import diagnostics_table, write_csv, write_json
# Noisy and stochastic flows, kernel Sobolev descent, neighbouring flows (issue 4).
from .kernel_sums import kernel_hessian_matrix
from .ksd_flow import KSDFlow, ksd2
from .langevin_flow import LangevinFlow
from .noise_schedules import ConstantSchedule, PiecewiseConstantSchedule, StepDecaySchedule
from .noisy_mmd_flow import DiffusionMMDFlow, NoiseInjectedMMDFlow
from .sinkhorn_flow import SinkhornFlow
from .sliced_wasserstein_flow import SlicedWassersteinFlow, sliced_wasserstein2, wasserstein2_1d
from .sobolev_flow import KernelSobolevFlow
from .svgd_flow import SVGDFlow
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
# issue 7, benign-landscape experiment: the WGAN-GP game, multi-start landscapes, mixture closed form
from .closed_forms import gaussian_mixture_mmd2
from .generators import SymmetricMixtureGenerator
from .landscape import MultiStartGradientFlow, hessian_spectra
from .wgan_gp import WGANGP, gradient_norm_penalty, gradient_penalty

# issue 7 (experiments): solver cost and the gradient-descent stability threshold
from .linear_stability import drift_jacobian, max_stable_step
from .solver_cost import drift_evaluations

# issue 7 (experiments): kernels with an explicit feature map, the mean-field network kernel
from .feature_kernels import AbstractFeatureKernel, NetworkKernel
# issue 7, experiment 3: PRG generators, two-sample tests, W1 bounds for sign mixtures
from .prg_generator import (
    AbstractSignPatternGenerator,
    GoldreichPRGGenerator,
    RepeatedBitsGenerator,
    goldreich_predicate,
    sign_pattern_biases,
)
from .two_sample_tests import (
    ClassifierTestResult,
    LogisticRegression,
    PermutationTestResult,
    classifier_two_sample_test,
    mmd_permutation_test,
    wgan_gp_critic_test,
)
from .wasserstein_bounds import (
    W1Bounds,
    distance_to_orthants,
    independent_sign_coupling_cost,
    sign_mixture_w1_bounds,
    sinkhorn_w1,
)

# issue 7: the JS-GAN game (experiment "GAN objectives")
from .js_gan import JSGAN, js_gan_value

# issue 7, experiment 3 (animation): a grand tour of 2-D views of R^m
from .grand_tour import grand_tour

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
    "animate_comparison",
    "animate_particles",
    "atomic_path",
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
    # parametric flows
    "AbstractAdversarialGame",
    "AbstractCritic",
    "AbstractParametricFlow",
    "AffineGenerator",
    "GaussianMixtureGenerator",
    "GaussianTarget",
    "MLPCritic",
    "MLPGenerator",
    "MMDGAN",
    "ParametricMMDFlow",
    "PKGF",
    "RandomFeatureCritic",
    "push_forward",
    # diagnostics, exporters, checkpoints, the command line
    "Checkpoint",
    "Projection",
    "diagnostics_table",
    "plot_diagnostics",
    "plot_final_state",
    "registry",
    "write_csv",
    "write_json",
    # issue 4
    "ConstantSchedule",
    "DiffusionMMDFlow",
    "KSDFlow",
    "KernelSobolevFlow",
    "LangevinFlow",
    "NoiseInjectedMMDFlow",
    "PiecewiseConstantSchedule",
    "SVGDFlow",
    "SinkhornFlow",
    "SlicedWassersteinFlow",
    "StepDecaySchedule",
    "kernel_hessian_matrix",
    "ksd2",
    "sliced_wasserstein2",
    "targets",
    "wasserstein2_1d",
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
    # issue 7, benign landscape
    "MultiStartGradientFlow",
    "SymmetricMixtureGenerator",
    "WGANGP",
    "gaussian_mixture_mmd2",
    "hessian_spectra",
    # issue 7 (experiments)
    "drift_evaluations",
    "drift_jacobian",
    "max_stable_step",
    # issue 7 (experiments)
    "AbstractFeatureKernel",
    "NetworkKernel",
    # issue 7, experiment 3
    "AbstractSignPatternGenerator",
    "ClassifierTestResult",
    "GoldreichPRGGenerator",
    "LogisticRegression",
    "PermutationTestResult",
    "RepeatedBitsGenerator",
    "W1Bounds",
    "classifier_two_sample_test",
    "distance_to_orthants",
    "goldreich_predicate",
    "gradient_norm_penalty",
    "gradient_penalty",
    "independent_sign_coupling_cost",
    "mmd_permutation_test",
    "sign_mixture_w1_bounds",
    "sign_pattern_biases",
    "sinkhorn_w1",
    "wgan_gp_critic_test",
    # issue 7: the JS-GAN game
    "JSGAN",
    "js_gan_value",
    # issue 7, experiment 3 (animation)
    "grand_tour",
]
