r"""What a kernel is: a small `equinox` module $k(x, y)$ on $\mathbb{R}^d$ (a pytree, so its
parameters can be traced, vmapped and differentiated)."""

from __future__ import annotations

import abc

import equinox as eqx
from jaxtyping import Array, Float


class AbstractKernel(eqx.Module):
    """A positive (or conditionally positive) definite kernel $k(x, y)$ on $\\mathbb{R}^d$."""

    @abc.abstractmethod
    def __call__(self, x: Float[Array, " d"], y: Float[Array, " d"]) -> Float[Array, ""]:
        """The kernel at one pair of points."""
