r"""The original GAN game (Goodfellow et al., NeurIPS 2014): the discriminator $D = \mathrm{sigmoid}(u)$
against the generator, on the value
$$V(D, G) = \mathbb{E}_P \ln D(y) + \mathbb{E}_{z} \ln\big(1 - D(G(z))\big).$$

The discriminator ascends $V$. For a fixed generator with density $q$ and data density $p$ the
best discriminator is $D^* = p/(p + q)$ (logit $u^* = \ln p - \ln q$), where
$$\max_D V(D, G) = -2\ln 2 + \mathrm{KL}\big(p \,\|\, \tfrac{p+q}2\big) + \mathrm{KL}\big(q \,\|\, \tfrac{p+q}2\big)
 = -2\ln 2 + 2\,\mathrm{JSD}(p, q),$$
so a generator facing the optimal discriminator minimizes the Jensen-Shannon divergence.

The generator has two losses:
- `"minimax"`: $\mathbb{E}_z \ln(1 - D(G(z)))$, the game as written. It saturates: where $D$
  rejects the samples confidently ($D \to 0$, early in training) its gradient
  $-D\,\nabla u$ vanishes.
- `"non_saturating"` (default, what practice uses; Goodfellow et al. 2014, section 3):
  $-\mathbb{E}_z \ln D(G(z))$, the same fixed points, with gradient $-(1 - D)\nabla u$, strong
  where $D$ rejects. Its expected gradient at $D^*$ is that of $\mathrm{KL}(q\|p) - 2\,\mathrm{JSD}$
  (Arjovsky & Bottou 2017), a mode-seeking objective: the usual suspect for mode collapse.

With $\ln D = \ln\sigma(u)$ and $\ln(1 - D) = \ln\sigma(-u)$ every term is a log-sigmoid of the
critic's logit (`jax.nn.log_sigmoid`), finite for any logit. The critic is any `AbstractCritic`
(its output is the logit $u$), e.g. `MLPCritic`; the game loop is `flows.games.game`.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from .._checks import check_choice
from .critics import AbstractCritic
from .game import AbstractAdversarialGame, check_game_arguments

_LOSSES = ("non_saturating", "minimax")


def js_gan_value(critic: AbstractCritic, x: Float[Array, "n d"], y: Float[Array, "M d"]) -> Float[Array, ""]:
    r"""$V(D, G) = \frac1M\sum_j \ln\sigma(u(y_j)) + \frac1n\sum_a \ln\sigma(-u(x_a))$ for the
    discriminator $D = \sigma(u)$ of logit `critic`, generated samples `x` and data samples `y`."""
    return jnp.mean(jax.nn.log_sigmoid(jax.vmap(critic)(y))) + jnp.mean(jax.nn.log_sigmoid(-jax.vmap(critic)(x)))


class JSGAN(AbstractAdversarialGame):
    r"""The JS-GAN game (module docstring) as a discrete solver: `n_critic` ascent steps of the
    discriminator on $V(D, G)$, then one generator step on its loss.

    **Arguments:**
    - `critic`: the discriminator's logit $u$ (`MLPCritic`, or any `AbstractCritic`); $D = \sigma(u)$.
    - `generator_optimizer`, `critic_optimizer`: optax optimizers (e.g. `optax.adam(1e-3)`).
    - `n_critic`: discriminator steps per generator step (default 1, as in Goodfellow et al.).
    - `loss`: the generator's loss, `"non_saturating"` ($-\mathbb{E}\ln D(G(z))$, default) or
      `"minimax"` ($\mathbb{E}\ln(1 - D(G(z)))$).
    - `step`: the time one iteration stands for (default 1: time counts generator steps).
    """

    step: Array
    critic: AbstractCritic
    generator_optimizer: optax.GradientTransformation
    critic_optimizer: optax.GradientTransformation
    n_critic: int = eqx.field(static=True)
    loss: str = eqx.field(static=True)

    def __init__(
        self,
        critic: AbstractCritic,
        generator_optimizer: optax.GradientTransformation,
        critic_optimizer: optax.GradientTransformation,
        *,
        n_critic: int = 1,
        loss: str = "non_saturating",
        step: float = 1.0,
    ):
        check_game_arguments(critic, generator_optimizer, critic_optimizer, n_critic, step)
        check_choice("loss", loss, _LOSSES)
        self.critic, self.generator_optimizer, self.critic_optimizer = critic, generator_optimizer, critic_optimizer
        self.n_critic, self.loss, self.step = n_critic, loss, jnp.asarray(step)

    def critic_objective(self, weights, x, y, key=None):
        """$V(D, G)$ on generated samples `x` and data samples `y` (the discriminator maximizes it)."""
        return js_gan_value(self.critic_from(weights), x, y)

    def generator_objective(self, critic, x):
        r"""$-\frac1n\sum_a\ln\sigma(u(x_a))$ (non-saturating) or $\frac1n\sum_a\ln\sigma(-u(x_a))$ (minimax)."""
        logits = jax.vmap(critic)(x)
        if self.loss == "minimax":
            return jnp.mean(jax.nn.log_sigmoid(-logits))
        return -jnp.mean(jax.nn.log_sigmoid(logits))
