"""Flows of particle clouds (N, d): the MMD flow and its noisy variants, kernel Sobolev descent,
and the neighbours researchers compare against (Langevin, SVGD, KSD descent, sliced Wasserstein,
Sinkhorn), with the noise schedules of the noisy flows.

The abstract bases (`flows.particle.base`) say what the flows share: the state check, the
target (samples, or a density with a score), and for the kernel flows a kernel and the `backend`
that computes every kernel sum.
"""

from .base import (
    AbstractDensityTargetFlow,
    AbstractKernelFlow,
    AbstractParticleFlow,
    AbstractSampleTargetFlow,
    AbstractSteinFlow,
    AbstractWitnessFlow,
)
from .ksd import KSDFlow
from .langevin import LangevinFlow
from .mmd import MMDFlow
from .noise_schedules import (
    ConstantSchedule,
    PiecewiseConstantSchedule,
    StepDecaySchedule,
)
from .noisy_mmd import AbstractNoisyMMDFlow, DiffusionMMDFlow, NoiseInjectedMMDFlow
from .sinkhorn import SinkhornFlow
from .sliced_wasserstein import SlicedWassersteinFlow
from .sobolev import KernelSobolevFlow
from .svgd import SVGDFlow

__all__ = [
    "AbstractDensityTargetFlow",
    "AbstractKernelFlow",
    "AbstractNoisyMMDFlow",
    "AbstractParticleFlow",
    "AbstractSampleTargetFlow",
    "AbstractSteinFlow",
    "AbstractWitnessFlow",
    "ConstantSchedule",
    "DiffusionMMDFlow",
    "KSDFlow",
    "KernelSobolevFlow",
    "LangevinFlow",
    "MMDFlow",
    "NoiseInjectedMMDFlow",
    "PiecewiseConstantSchedule",
    "SVGDFlow",
    "SinkhornFlow",
    "SlicedWassersteinFlow",
    "StepDecaySchedule",
]
