"""Flows of a generator's parameters: generators (affine, mixtures, MLP, sign-pattern PRGs), the
parametric MMD flow and the parametric kernelized gradient flow (PKGF), and the two objectives
they evaluate (from samples, or exactly for an affine generator and a Gaussian target)."""

from .base import AbstractParametricFlow
from .generators import (
    AffineGenerator,
    GaussianMixtureGenerator,
    MLPGenerator,
    SymmetricMixtureGenerator,
    push_forward,
    trainable_parameters,
)
from .mmd import ParametricMMDFlow
from .objectives import AbstractParametricObjective, Linearization, PopulationObjective, SampledObjective
from .pkgf import PKGF
from .prg_generators import (
    AbstractSignPatternGenerator,
    GoldreichPRGGenerator,
    RepeatedBitsGenerator,
    goldreich_predicate,
)

__all__ = [
    "PKGF",
    "AbstractParametricFlow",
    "AbstractParametricObjective",
    "AbstractSignPatternGenerator",
    "AffineGenerator",
    "GaussianMixtureGenerator",
    "GoldreichPRGGenerator",
    "Linearization",
    "MLPGenerator",
    "ParametricMMDFlow",
    "PopulationObjective",
    "RepeatedBitsGenerator",
    "SampledObjective",
    "SymmetricMixtureGenerator",
    "goldreich_predicate",
    "push_forward",
    "trainable_parameters",
]
