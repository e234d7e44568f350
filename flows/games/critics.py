r"""Critics $u: \mathbb R^d \to \mathbb R$ for the adversarial games (`flows.games.game`): the
discriminator of a GAN, the witness estimate of an MMD GAN, the potential of a WGAN.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PyTree

from .._checks import check_choice, check_int, check_positive, check_positive_int


class AbstractCritic(eqx.Module):
    """A critic $u: \\mathbb R^d \\to \\mathbb R$, called on one point; `trainable()` says which arrays the game trains."""

    @abc.abstractmethod
    def __call__(self, x: Float[Array, " d"]) -> Float[Array, ""]:
        """$u(x)$."""

    def trainable(self) -> PyTree[bool]:
        """Filter spec for `eqx.partition`: True on the trained arrays (default: every float array)."""
        return jax.tree_util.tree_map(eqx.is_inexact_array, self)


class RandomFeatureCritic(AbstractCritic):
    r"""$u_w(x) = \sqrt{2/D}\,\sum_r w_r\cos(\omega_r\cdot x + b_r)$, $\omega_r \sim \mathcal N(0, \sigma^{-2}I)$,
    $b_r \sim U[0, 2\pi)$: random Fourier features of the Gaussian kernel of bandwidth $\sigma$
    (Rahimi & Recht 2007). Only the weights $w$ are trained.

    **Arguments:** `dim` ($d$), `num_features` ($D$), `bandwidth` ($\sigma$), `key`, `dtype`.
    """

    frequencies: Float[Array, "D d"]
    phases: Float[Array, " D"]
    weights: Float[Array, " D"]

    def __init__(self, dim: int, num_features: int, bandwidth: float, *, key: Array, dtype=jnp.float32):
        check_positive_int("dim", dim)
        check_positive_int("num_features", num_features)
        check_positive("bandwidth", bandwidth)
        k_freq, k_phase = jax.random.split(key)
        self.frequencies = jax.random.normal(k_freq, (num_features, dim), dtype) / bandwidth
        self.phases = jax.random.uniform(k_phase, (num_features,), dtype, 0.0, 2 * jnp.pi)
        self.weights = jnp.zeros(num_features, dtype)

    def __call__(self, x):
        features = jnp.sqrt(2.0 / self.weights.shape[0]) * jnp.cos(self.frequencies.astype(x.dtype) @ x + self.phases.astype(x.dtype))
        return features @ self.weights.astype(x.dtype)

    def trainable(self):
        spec = jax.tree_util.tree_map(lambda _: False, self)
        return eqx.tree_at(lambda c: c.weights, spec, True)


class MLPCritic(AbstractCritic):
    """A small MLP critic $\\mathbb R^d \\to \\mathbb R$ (`eqx.nn.MLP`; `activation` `"relu"`, `"tanh"` or `"softplus"`)."""

    mlp: eqx.nn.MLP

    def __init__(self, dim: int, *, width: int = 64, depth: int = 2, activation: str = "softplus", key: Array, dtype=None):
        activations = {"relu": jax.nn.relu, "tanh": jnp.tanh, "softplus": jax.nn.softplus}
        check_positive_int("dim", dim)
        check_positive_int("width", width)
        check_int("depth", depth, 0)
        check_choice("activation", activation, activations)
        self.mlp = eqx.nn.MLP(dim, "scalar", width, depth, activation=activations[activation], key=key, dtype=dtype)

    def __call__(self, x):
        return self.mlp(x)
