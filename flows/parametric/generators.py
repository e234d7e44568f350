r"""Generators: `equinox` modules that push latent samples $z \sim p_z = \mathcal N(0, I_k)$ forward,
$x = G_\theta(z)$, so the model is $q_\theta = G_\theta \# p_z$ (the parametric flows move $\theta$).

A generator is any `eqx.Module` called on ONE latent vector, shape (k,), returning one sample,
shape (d,) (the `eqx.nn.MLP` convention); `push_forward` maps a batch. Its trainable parameters
$\theta$ are its inexact (floating-point) arrays, `eqx.partition(generator, eqx.is_inexact_array)`:
that pytree is the state the parametric flows integrate. Anything else (ints, activation
functions, arrays of integers) is static.

- `AffineGenerator`: $G(z) = Az + b$, $A \in \mathbb R^{d\times k}$; with $k < d$ a low-rank
  Gaussian $\mathcal N(b, AA^\top)$, with a closed-form MMD² (the low-rank model whose population
  MMD² landscape Alon, Globerson & Wiesel (2021, arXiv 2110.13452) study: it depends on $A$ only
  through $AA^\top$).
- `GaussianMixtureGenerator`: an equal-weight mixture $\frac1K\sum_c \mathcal N(\mu_c, s^2 I)$ with
  trainable means $\mu_c$; the latent $(z_0, \varepsilon)$ picks the component from $z_0$ and
  $x = \mu_c + s\,\varepsilon$.
- `SymmetricMixtureGenerator`: $\frac12\mathcal N(\theta, s^2 I) + \frac12\mathcal N(-\theta, s^2 I)$, one
  trainable mean $\theta$ (the symmetric mixture of Alon, Globerson & Wiesel 2021):
  $x = \operatorname{sign}(z_0)\,\theta + s\,\varepsilon$.
- `MLPGenerator`: a multilayer perceptron (ReLU or tanh hidden layers) from $\mathbb R^k$ to
  $\mathbb R^d$.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PyTree

from .._checks import check_choice, check_finite, check_int, check_positive, check_positive_int

_ACTIVATIONS: dict[str, Callable[[Array], Array]] = {"relu": jax.nn.relu, "tanh": jnp.tanh}


def push_forward(generator: Callable[[Array], Array], latents: Float[Array, "m k"]) -> Float[Array, "m d"]:
    """$G(z_a)$ for each row $z_a$ of `latents`."""
    return jax.vmap(generator)(latents)


def trainable_parameters(generator: PyTree) -> tuple[PyTree, PyTree]:
    """Split a generator into (trainable parameters, static part): `eqx.partition` on inexact arrays."""
    return eqx.partition(generator, eqx.is_inexact_array)


class AffineGenerator(eqx.Module):
    r"""$G(z) = Az + b$: pushes $\mathcal N(0, I_k)$ to $\mathcal N(b, AA^\top)$ (low rank when $k < d$).

    **Arguments:**
    - `matrix`: $A$, shape (d, k).
    - `offset`: $b$, shape (d,).
    """

    matrix: Float[Array, "d k"]
    offset: Float[Array, " d"]

    def __init__(self, matrix: Float[ArrayLike, "d k"], offset: Float[ArrayLike, " d"]):
        matrix, offset = jnp.asarray(matrix), jnp.asarray(offset)
        if matrix.ndim != 2:
            raise ValueError(f"`matrix` must have shape (d, k), got {tuple(matrix.shape)}.")
        if offset.shape != (matrix.shape[0],):
            raise ValueError(f"`offset` must have shape ({matrix.shape[0]},) to match `matrix`, got {tuple(offset.shape)}.")
        check_finite("matrix", matrix)
        check_finite("offset", offset)
        dtype = jnp.result_type(matrix.dtype, offset.dtype, jnp.float32)
        self.matrix = matrix.astype(dtype)
        self.offset = offset.astype(dtype)

    @property
    def latent_dim(self) -> int:
        return self.matrix.shape[1]

    @property
    def covariance(self) -> Float[Array, "d d"]:
        """$AA^\\top$, the covariance of the generated Gaussian."""
        return self.matrix @ self.matrix.T

    def __call__(self, z: Float[Array, " k"]) -> Float[Array, " d"]:
        return self.matrix @ z + self.offset


class GaussianMixtureGenerator(eqx.Module):
    r"""Equal-weight mixture $\frac1K\sum_c \mathcal N(\mu_c, s^2 I_d)$ with trainable means.

    The latent has dimension $d + 1$: $c = \lfloor K\,\Phi(z_0) \rfloor$ (so each component has
    probability $1/K$ under $z_0 \sim \mathcal N(0,1)$) and $x = \mu_c + s\,(z_1..z_d)$. The output is
    differentiable in the means, piecewise constant in $z_0$.

    **Arguments:**
    - `means`: $\mu_1..\mu_K$, shape (K, d).
    - `scale`: the components' standard deviation $s > 0$ (fixed, not trained).
    """

    means: Float[Array, "K d"]
    scale: float = eqx.field(static=True)

    def __init__(self, means: Float[ArrayLike, "K d"], scale: float):
        means = jnp.asarray(means)
        if means.ndim != 2:
            raise ValueError(f"`means` must have shape (K, d), got {tuple(means.shape)}.")
        check_finite("means", means)
        check_positive("scale", scale)
        self.means = means.astype(jnp.result_type(means.dtype, jnp.float32))
        self.scale = float(scale)

    @property
    def latent_dim(self) -> int:
        return self.means.shape[1] + 1

    def __call__(self, z: Float[Array, " k"]) -> Float[Array, " d"]:
        n_components = self.means.shape[0]
        u = jax.scipy.stats.norm.cdf(z[0])
        component = jnp.clip(jnp.floor(n_components * u).astype(jnp.int32), 0, n_components - 1)
        return self.means[component] + self.scale * z[1:]


class SymmetricMixtureGenerator(eqx.Module):
    r"""$\frac12\mathcal N(\theta, s^2 I_d) + \frac12\mathcal N(-\theta, s^2 I_d)$ (Alon, Globerson, Wiesel 2021,
    arXiv 2110.13452: with $s = 1$ its population MMD² under a Gaussian kernel has no spurious local
    minima, and at $d = 2$, $\sigma^2 = 2$ a ring of strict saddles): $x = \operatorname{sign}(z_0)\,\theta +
    s\,(z_1..z_d)$ for a latent of dimension $d + 1$, so the component is $\pm$ with probability 1/2
    each. Differentiable in $\theta$.

    **Arguments:**
    - `theta`: $\theta$, shape (d,).
    - `scale`: the components' standard deviation $s > 0$ (fixed, not trained).
    """

    theta: Float[Array, " d"]
    scale: float = eqx.field(static=True)

    def __init__(self, theta: Float[ArrayLike, " d"], scale: float = 1.0):
        theta = jnp.asarray(theta)
        if theta.ndim != 1:
            raise ValueError(f"`theta` must have shape (d,), got {tuple(theta.shape)}.")
        check_finite("theta", theta)
        check_positive("scale", scale)
        self.theta = theta.astype(jnp.result_type(theta.dtype, jnp.float32))
        self.scale = float(scale)

    @property
    def latent_dim(self) -> int:
        return self.theta.shape[0] + 1

    def __call__(self, z: Float[Array, " k"]) -> Float[Array, " d"]:
        return jnp.where(z[0] >= 0, 1.0, -1.0) * self.theta + self.scale * z[1:]


class MLPGenerator(eqx.Module):
    """A multilayer perceptron generator $\\mathbb R^k \\to \\mathbb R^d$ (`eqx.nn.MLP`).

    **Arguments:**
    - `latent_dim`, `dim`: $k$ and $d$.
    - `width`, `depth`: hidden width and number of hidden layers.
    - `activation`: `"relu"` or `"tanh"` for the hidden layers (the output layer is linear).
    - `key`: the `jax.random` key for the initial weights.
    - `dtype`: the parameters' dtype (default: JAX's default float).
    """

    mlp: eqx.nn.MLP

    def __init__(
        self,
        latent_dim: int,
        dim: int,
        *,
        width: int = 64,
        depth: int = 2,
        activation: str = "relu",
        key: Array,
        dtype=None,
    ):
        for name, value in (("latent_dim", latent_dim), ("dim", dim), ("width", width)):
            check_positive_int(name, value)
        check_int("depth", depth, 0)
        check_choice("activation", activation, _ACTIVATIONS)
        self.mlp = eqx.nn.MLP(
            latent_dim, dim, width, depth, activation=_ACTIVATIONS[activation], key=key, dtype=dtype
        )

    @property
    def latent_dim(self) -> int:
        return self.mlp.in_size

    def __call__(self, z: Float[Array, " k"]) -> Float[Array, " d"]:
        return self.mlp(z)
