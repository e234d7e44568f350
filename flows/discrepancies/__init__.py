"""Discrepancies between distributions, each computed in one place: MMD (V/U statistics), the
witness and its gradient, the energy distance, closed forms for Gaussians (MMD², W₂, KL), the
kernel Stein discrepancy, sliced W₂ by sorting, and the Sinkhorn divergence / entropic W₂
through ott-jax."""

from .gaussian import (
    gaussian_kernel_expectation,
    gaussian_kl,
    gaussian_mixture_mmd2,
    gaussian_mmd2,
    gaussian_w2,
)
from .ksd import ksd2
from .mmd import energy_distance, mmd2, witness, witness_grad
from .sliced import sliced_wasserstein2, wasserstein2_1d
from .transport import SinkhornNotConvergedError, entropic_w2, sinkhorn_divergence, sinkhorn_w1, w2_tolerance

__all__ = [
    "SinkhornNotConvergedError",
    "energy_distance",
    "entropic_w2",
    "gaussian_kernel_expectation",
    "gaussian_kl",
    "gaussian_mixture_mmd2",
    "gaussian_mmd2",
    "gaussian_w2",
    "ksd2",
    "mmd2",
    "sinkhorn_divergence",
    "sinkhorn_w1",
    "sliced_wasserstein2",
    "w2_tolerance",
    "wasserstein2_1d",
    "witness",
    "witness_grad",
]
