"""Flows of a generator's parameters: generators (affine, mixtures, MLP, sign-pattern PRGs), the
parametric MMD flow and the parametric kernelized gradient flow (PKGF)."""

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
from .pkgf import PKGF
from .prg_generators import (
    AbstractSignPatternGenerator,
    GoldreichPRGGenerator,
    RepeatedBitsGenerator,
    goldreich_predicate,
    sign_pattern_biases,
)

__all__ = [
    "AbstractParametricFlow",
    "AbstractSignPatternGenerator",
    "AffineGenerator",
    "GaussianMixtureGenerator",
    "GoldreichPRGGenerator",
    "MLPGenerator",
    "PKGF",
    "ParametricMMDFlow",
    "RepeatedBitsGenerator",
    "SymmetricMixtureGenerator",
    "goldreich_predicate",
    "push_forward",
    "sign_pattern_biases",
    "trainable_parameters",
]
