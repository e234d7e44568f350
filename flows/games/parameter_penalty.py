r"""The MMD GAN whose critic is penalized through the generator's parameters: the game whose
exact-critic limit is the parametric kernelized gradient flow (PKGF; Mroueh & Nguyen, "On the
Convergence of Gradient Descent in GANs: MMD GAN As a Gradient Flow", AISTATS 2021).

With latents $z_1..z_m$, $x_a = G_\theta(z_a)$, $J_a = \partial x_a/\partial\theta$ and target samples
$y_1..y_M$, the critic ascends
$$L(w) = \tfrac1M\textstyle\sum_j u_w(y_j) - \tfrac1m\sum_a u_w(x_a) - \tfrac12\|A_\theta u_w\|^2 - \tfrac\lambda2\|w\|^2,
\qquad A_\theta u = \nabla_\theta\,\tfrac1m\textstyle\sum_a u(G_\theta(z_a)) = \tfrac1m\sum_a J_a^\top\nabla u(x_a),$$
a penalty on how fast the critic's mean over the generated samples changes with the generator's
parameters, and the generator descends $-\frac1m\sum_a u_w(G_\theta(z_a))$, whose gradient is
$-A_\theta u_w$: a generator step of size $h$ is $\theta \leftarrow \theta + h\,A_\theta u_w$.

**Exact limit.** For a critic ranging over an RKHS $\mathcal H$ with $\|u\|_{\mathcal H} = \|w\|$ (e.g.
`flows.games.KernelFeatureCritic`, the RKHS of a random-feature kernel $k_D$) the objective is
$\langle\eta, u\rangle - \frac12\|A_\theta u\|^2 - \frac\lambda2\|u\|^2$ with $\eta = \varphi_\nu - \varphi_q$ the
difference of the mean embeddings, maximized by $u^* = (A_\theta^*A_\theta + \lambda)^{-1}\eta$. Then
$$A_\theta u^* = (A_\theta A_\theta^* + \lambda)^{-1}A_\theta\eta = -(\Gamma_\theta + \lambda)^{-1}\nabla_\theta F,$$
since $A_\theta A_\theta^* = \frac1{m^2}\sum_{a,b}J_a^\top\nabla_x\nabla_y k(x_a, x_b)J_b = \Gamma_\theta$ (the pull-back
of the RKHS metric) and $A_\theta\eta = \frac1m\sum_a J_a^\top\nabla\eta(x_a) = -\nabla_\theta F$ for
$F = \frac12\mathrm{MMD}^2$: the generator step at the exact critic is the PKGF step,
`PKGF(..., penalty="parameter")` with the critic's kernel on the same latents and targets
(`tests/games/test_parameter_penalty.py` checks it to 1e-8 in float64). The x-space penalty
$\frac12\mathbb{E}_q\|\nabla_x u\|^2$ of `flows.games.MMDGAN` gives `PKGF(..., penalty="x")` instead.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

from .._checks import check_non_negative
from ..parametric.generators import push_forward
from .critics import AbstractCritic
from .game import AbstractAdversarialGame, check_game_arguments


class ParameterPenaltyMMDGAN(AbstractAdversarialGame):
    r"""The parameter-penalty MMD GAN game as a discrete solver (module docstring): `n_critic`
    ascent steps on $L(w)$, then one generator step on $-\mathbb{E}_z u_w(G_\theta(z))$.

    **Arguments:**
    - `critic`: the initial critic (`KernelFeatureCritic` for the exact-limit comparison with
      PKGF; any `AbstractCritic`).
    - `generator_optimizer`, `critic_optimizer`: optax optimizers (`optax.sgd(h)` for the
      generator makes a step $\theta \leftarrow \theta + h A_\theta u_w$).
    - `n_critic`: critic ascent steps per generator step.
    - `reg`: $\lambda$, the weight of $\frac12\|w\|^2$.
    - `step`: the time one iteration stands for (default 1: time counts generator steps).
    """

    step: Array
    critic: AbstractCritic
    generator_optimizer: optax.GradientTransformation
    critic_optimizer: optax.GradientTransformation
    n_critic: int = eqx.field(static=True)
    reg: Array

    def __init__(
        self,
        critic: AbstractCritic,
        generator_optimizer: optax.GradientTransformation,
        critic_optimizer: optax.GradientTransformation,
        *,
        n_critic: int = 5,
        reg: float = 1e-3,
        step: float = 1.0,
    ):
        check_game_arguments(critic, generator_optimizer, critic_optimizer, n_critic, step)
        check_non_negative("reg", reg)
        self.critic, self.generator_optimizer, self.critic_optimizer = critic, generator_optimizer, critic_optimizer
        self.n_critic, self.reg, self.step = n_critic, jnp.asarray(reg), jnp.asarray(step)

    def critic_objective(self, weights, x, y, key=None):
        r"""The part of $L(w)$ the samples alone determine, $\frac1M\sum_j u_w(y_j) - \frac1m\sum_a u_w(x_a)
        - \frac\lambda2\|w\|^2$; `step_critic_objective` subtracts the parameter penalty."""
        critic = self.critic_from(weights)
        norm = 0.5 * self.reg.astype(x.dtype) * sum(jnp.sum(w**2) for w in jax.tree_util.tree_leaves(weights))
        return jnp.mean(jax.vmap(critic)(y)) - jnp.mean(jax.vmap(critic)(x)) - norm

    def step_critic_objective(self, flow, y, z, target):
        r"""$L(w)$ at the generator parameters `y` and latents `z`: the generator is linearized once
        per step, and $A_\theta u_w = J^\top(\nabla u_w(x_a)/m)_a$ is one transposed Jacobian product."""
        x, jvp = jax.linearize(lambda p: push_forward(flow.generator(p), z), y)
        transpose = jax.linear_transpose(jvp, y)
        x = jax.lax.stop_gradient(x)

        def objective(weights, key):
            gradients = jax.vmap(jax.grad(self.critic_from(weights)))(x)
            tangent = transpose(gradients / x.shape[0])[0]
            return self.critic_objective(weights, x, target, key) - 0.5 * optax.tree_utils.tree_vdot(tangent, tangent)

        return objective

    def generator_objective(self, critic, x):
        """$-\\mathbb{E}_q u(x)$: its gradient in $\\theta$ is $-A_\\theta u$."""
        return -jnp.mean(jax.vmap(critic)(x))
