r"""The gradient-regularized MMD GAN: the discrete min-max game PKGF is compared with (Arbel,
Sutherland, Bińkowski, Gretton, NeurIPS 2018; Mroueh, Sercu, Raj, AISTATS 2019).

The critic ascends
$$L(w) = \mathbb{E}_\nu u_w - \mathbb{E}_q u_w - \tfrac{\rho}{2}\mathbb{E}_q\|\nabla_x u_w\|^2 - \tfrac\lambda2\|w\|^2,$$
the generator descends $-\mathbb{E}_z u_w(G_\theta(z))$ (the game loop is `flows.games.game`).
With `RandomFeatureCritic` ($u_w = w^\top\varphi$, random Fourier features of the Gaussian
kernel) $L$ is, in feature space, the kernel Sobolev critic's objective
$\mathbb{E}_\nu u - \mathbb{E}_q u - \frac12(\mathbb{E}_q\|\nabla u\|^2 + \lambda\|u\|^2_{\mathcal H})$ (with $\rho = 1$), and the
critic's maximizer is the gradient-regularized witness $u = (D_q + \lambda)^{-1}\eta$,
$\eta = \varphi_\nu - \varphi_q$ the difference of the mean embeddings and
$D_q = \mathbb{E}_q\sum_j\partial_j k(x, \cdot)\otimes\partial_j k(x, \cdot)$; `MLPCritic` gives the neural MMD GAN.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

from .._checks import check_non_negative
from .critics import AbstractCritic
from .game import AbstractAdversarialGame, check_game_arguments


class MMDGAN(AbstractAdversarialGame):
    r"""The gradient-regularized MMD GAN game as a discrete solver (module docstring).

    **Arguments:**
    - `critic`: the initial critic (`RandomFeatureCritic`, `MLPCritic`, or any `AbstractCritic`).
    - `generator_optimizer`, `critic_optimizer`: optax optimizers (e.g. `optax.sgd(1e-2)`).
    - `n_critic`: critic ascent steps per generator step.
    - `gradient_penalty`: $\rho$, the weight of $\frac12\mathbb{E}_q\|\nabla u\|^2$.
    - `reg`: $\lambda$, the weight of $\frac12\|w\|^2$.
    - `step`: the time one iteration stands for (default 1: time counts generator steps).
    """

    step: Array
    critic: AbstractCritic
    generator_optimizer: optax.GradientTransformation
    critic_optimizer: optax.GradientTransformation
    n_critic: int = eqx.field(static=True)
    gradient_penalty: Array
    reg: Array

    def __init__(
        self,
        critic: AbstractCritic,
        generator_optimizer: optax.GradientTransformation,
        critic_optimizer: optax.GradientTransformation,
        *,
        n_critic: int = 5,
        gradient_penalty: float = 1.0,
        reg: float = 1e-3,
        step: float = 1.0,
    ):
        check_game_arguments(critic, generator_optimizer, critic_optimizer, n_critic, step)
        check_non_negative("gradient_penalty", gradient_penalty)
        check_non_negative("reg", reg)
        self.critic, self.generator_optimizer, self.critic_optimizer = critic, generator_optimizer, critic_optimizer
        self.n_critic = n_critic
        self.gradient_penalty, self.reg, self.step = jnp.asarray(gradient_penalty), jnp.asarray(reg), jnp.asarray(step)

    def critic_objective(self, weights, x, y, key=None):
        """$L(w)$ on generated samples `x` and target samples `y` (to be maximized)."""
        critic = self.critic_from(weights)
        grads = jax.vmap(jax.grad(critic))(x)
        penalty = 0.5 * self.gradient_penalty.astype(x.dtype) * jnp.mean(jnp.sum(grads**2, axis=1))
        norm = 0.5 * self.reg.astype(x.dtype) * sum(jnp.sum(w**2) for w in jax.tree_util.tree_leaves(weights))
        return jnp.mean(jax.vmap(critic)(y)) - jnp.mean(jax.vmap(critic)(x)) - penalty - norm

    def generator_objective(self, critic, x):
        """$-\\mathbb{E}_q u(x)$: the generator moves its samples up the critic."""
        return -jnp.mean(jax.vmap(critic)(x))
