r"""The Wasserstein GAN with gradient penalty (WGAN-GP; Gulrajani, Ahmed, Arjovsky, Dumoulin,
Courville, NeurIPS 2017): the adversarial baseline of the landscape experiments.

The critic ascends the Kantorovich-Rubinstein dual objective with a soft 1-Lipschitz constraint,
$$L(w) = \mathbb{E}_\nu u_w - \mathbb{E}_q u_w - \lambda\,\mathbb{E}_{\hat x}\big(\|\nabla_x u_w(\hat x)\| - 1\big)^2,
\qquad \hat x = \varepsilon x + (1 - \varepsilon) y,\ \varepsilon \sim U[0, 1],$$
on random interpolates of generated samples $x$ and target samples $y$ (drawn with the step's
key); the generator descends $-\mathbb{E}_z u_w(G_\theta(z))$. At the critic's optimum $L$ is
(close to) $W_1(q_\theta, \nu)$. The game loop is `flows.games.game`.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .._checks import check_non_negative
from .critics import AbstractCritic
from .game import AbstractAdversarialGame, check_game_arguments


def gradient_norm_penalty(critic: Callable[[Array], Array], points: Float[Array, "n d"]) -> Float[Array, ""]:
    r"""$\mathrm{mean}_i (\|\nabla u(p_i)\| - 1)^2$ over the rows $p_i$ of `points`."""
    grads = jax.vmap(jax.grad(critic))(points)
    # sqrt(|g|^2 + tiny): the norm's derivative stays finite where the gradient vanishes
    norms = jnp.sqrt(jnp.sum(grads**2, axis=1) + jnp.finfo(points.dtype).tiny)
    return jnp.mean((norms - 1) ** 2)


def gradient_penalty(
    critic: Callable[[Array], Array], x: Float[Array, "b d"], y: Float[Array, "b d"], key: Array
) -> Float[Array, ""]:
    r"""$\mathbb E(\|\nabla u(\hat x)\| - 1)^2$ at $\hat x = t x + (1 - t) y$, $t \sim U[0, 1]$ per pair of
    rows (Gulrajani et al., NeurIPS 2017, Algorithm 1)."""
    t = jax.random.uniform(key, (x.shape[0], 1), x.dtype)
    return gradient_norm_penalty(critic, t * x + (1 - t) * y)


class WGANGP(AbstractAdversarialGame):
    r"""The WGAN-GP game as a discrete solver (module docstring). Needs `simulate(..., key=...)`:
    the interpolates are random.

    **Arguments:**
    - `critic`: the initial critic (`MLPCritic` is the usual choice; any `AbstractCritic`).
    - `generator_optimizer`, `critic_optimizer`: optax optimizers (Gulrajani et al. use
      `optax.adam(1e-4, b1=0.5, b2=0.9)` for both).
    - `n_critic`: critic ascent steps per generator step (5 in the paper).
    - `gradient_penalty`: $\lambda$ (10 in the paper).
    - `step`: the time one iteration stands for (default 1: time counts generator steps).
    """

    step: Array
    critic: AbstractCritic
    generator_optimizer: optax.GradientTransformation
    critic_optimizer: optax.GradientTransformation
    n_critic: int = eqx.field(static=True)
    gradient_penalty: Array

    def __init__(
        self,
        critic: AbstractCritic,
        generator_optimizer: optax.GradientTransformation,
        critic_optimizer: optax.GradientTransformation,
        *,
        n_critic: int = 5,
        gradient_penalty: float = 10.0,
        step: float = 1.0,
    ):
        check_game_arguments(critic, generator_optimizer, critic_optimizer, n_critic, step)
        check_non_negative("gradient_penalty", gradient_penalty)
        self.critic, self.generator_optimizer, self.critic_optimizer = critic, generator_optimizer, critic_optimizer
        self.n_critic = n_critic
        self.gradient_penalty, self.step = jnp.asarray(gradient_penalty), jnp.asarray(step)

    def interpolates(self, x: Float[Array, "m d"], y: Float[Array, "M d"], key: Array | None) -> Float[Array, "m d"]:
        r"""$\hat x_i = \varepsilon_i x_i + (1 - \varepsilon_i) y_{j_i}$, $\varepsilon_i \sim U[0, 1]$ from `key`;
        $j_i = i$ when the two batches have the same size, else uniform over the target samples."""
        if key is None:
            raise ValueError("`key` is required: WGAN-GP draws random interpolates; pass simulate(..., key=jax.random.PRNGKey(0)).")
        k_mix, k_pair = jax.random.split(key)
        if y.shape[0] != x.shape[0]:
            y = y[jax.random.randint(k_pair, (x.shape[0],), 0, y.shape[0])]
        eps = jax.random.uniform(k_mix, (x.shape[0], 1), x.dtype)
        return eps * x + (1 - eps) * y

    def penalty(self, critic: AbstractCritic, points: Float[Array, "n d"]) -> Array:
        r"""$\lambda\,\mathrm{mean}_i (\|\nabla u(\hat x_i)\| - 1)^2$ at the rows of `points`."""
        return self.gradient_penalty.astype(points.dtype) * gradient_norm_penalty(critic, points)

    def critic_objective(self, weights, x, y, key=None):
        """$L(w)$ on generated samples `x` and target samples `y` (to be maximized)."""
        critic = self.critic_from(weights)
        gap = jnp.mean(jax.vmap(critic)(y)) - jnp.mean(jax.vmap(critic)(x))
        return gap - self.penalty(critic, self.interpolates(x, y, key))

    def generator_objective(self, critic, x):
        """$-\\mathbb{E}_q u(x)$: the generator moves its samples up the critic."""
        return -jnp.mean(jax.vmap(critic)(x))
