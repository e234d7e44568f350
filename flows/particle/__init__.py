"""Flows of particle clouds (N, d): the MMD flow and its noisy variants, kernel Sobolev descent,
and the neighbours researchers compare against (Langevin, SVGD, KSD descent, sliced Wasserstein,
Sinkhorn), with the noise schedules of the noisy flows."""

from .ksd import KSDFlow
from .langevin import LangevinFlow
from .mmd import MMDFlow
from .noise_schedules import (
    ConstantSchedule,
    PiecewiseConstantSchedule,
    StepDecaySchedule,
)
from .noisy_mmd import DiffusionMMDFlow, NoiseInjectedMMDFlow
from .sinkhorn import SinkhornFlow
from .sliced_wasserstein import SlicedWassersteinFlow
from .sobolev import KernelSobolevFlow
from .svgd import SVGDFlow

__all__ = [
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
