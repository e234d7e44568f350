r"""f-GAN games (Nowozin, Cseke, Tomioka, "f-GAN: Training Generative Neural Samplers using Variational
Divergence Minimization", NeurIPS 2016): the generator minimizes a variational lower bound on an
f-divergence between the data $P$ and the generated distribution $Q$.

For a convex $f$ with $f(1) = 0$, $D_f(P\,\|\,Q) = \int q\, f(p/q)\,dx$. With the convex conjugate
$f^*(t) = \sup_u\,(ut - f(u))$, Fenchel's inequality $f(u) \ge ut - f^*(t)$ at $u = p(x)/q(x)$, integrated
against $q$, gives for every $T$

$$D_f(P\,\|\,Q) \;\ge\; \mathbb E_P\,T(x) - \mathbb E_Q\,f^*(T(x)),$$

with equality at $T^* = f'(p/q)$ (Nguyen, Wainwright, Jordan, IEEE Trans. Inf. Theory 2010). The critic
outputs $v = V_\omega(x) \in \mathbb R$ and $T = g_f(v)$, an output activation onto the domain of $f^*$
(Nowozin et al., Table 2). The critic ascends
$$F(\omega) = \mathbb E_P\, g_f(V_\omega(y)) - \mathbb E_Q\, f^*(g_f(V_\omega(x))).$$

| divergence | $f(u)$ | $f^*(t)$ | $g_f(v)$ | $f^*(g_f(v))$ |
|---|---|---|---|---|
| `KullbackLeibler`: $\mathrm{KL}(P\|Q)$ | $u\ln u$ | $e^{t-1}$ | $v$ | $e^{v-1}$ |
| `ReverseKullbackLeibler`: $\mathrm{KL}(Q\|P)$ | $-\ln u$ | $-1-\ln(-t)$, $t<0$ | $-e^{-v}$ | $v - 1$ |
| `PearsonChiSquared`: $\int (p-q)^2/q$ | $(u-1)^2$ | $t^2/4 + t$ | $v$ | $v^2/4 + v$ |
| `SquaredHellinger`: $\int(\sqrt p-\sqrt q)^2$ | $(\sqrt u-1)^2$ | $t/(1-t)$, $t<1$ | $1-e^{-v}$ | $e^v - 1$ |
| `JensenShannon`: $2\,\mathrm{JSD}(P,Q)$ | $u\ln u-(u+1)\ln\frac{u+1}2$ | $-\ln(2-e^t)$, $t<\ln 2$ | $\ln 2-\ln(1+e^{-v})$ | $\mathrm{softplus}(v) - \ln 2$ |

(With this $f$, $D_f = \mathrm{KL}(P\|M) + \mathrm{KL}(Q\|M) = 2\,\mathrm{JSD}$, $M = (P+Q)/2$, and $F$ is
$2\ln 2$ plus the original GAN value $V(D, G)$ with $D = \sigma(v)$. The Pearson conjugate is Nowozin et
al.'s $t^2/4 + t$ for every $t$, which is $\ge$ the conjugate over $u \ge 0$, so the bound still holds.)
The last column is computed in that closed form (`conjugate_of_activation`), finite for every $v$.

The generator has two losses (`loss`):
- `"saddle"`: $-\mathbb E_Q f^*(g_f(V(x)))$, the generator's part of $F$ (the saddle point problem as written);
- `"non_saturating"` (default): $-\mathbb E_Q\, g_f(V(x))$, the generator maximizes the critic's output, as
  Nowozin et al. (Section 3.2) do, generalizing the non-saturating GAN loss; the same stationary points.

The game loop is `flows.games.game`; the critic is any `AbstractCritic` (its output is $v$).
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_choice
from .critics import AbstractCritic
from .game import AbstractAdversarialGame, check_game_arguments

_LOSSES = ("non_saturating", "saddle")
_LN2 = 0.6931471805599453


class AbstractFDivergence(eqx.Module):
    """A divergence $D_f(P\\|Q) = \\int q\\,f(p/q)$: its generator $f$, $f'$, the conjugate $f^*$ and the
    output activation $g_f$ (module docstring)."""

    @abc.abstractmethod
    def f(self, u: Array) -> Array:
        """$f(u)$, $u = p/q > 0$."""

    @abc.abstractmethod
    def derivative(self, u: Array) -> Array:
        """$f'(u)$: the optimal critic is $T^* = f'(p/q)$."""

    @abc.abstractmethod
    def conjugate(self, t: Array) -> Array:
        """$f^*(t)$ on its domain."""

    @abc.abstractmethod
    def activation(self, v: Array) -> Array:
        """$g_f(v)$: maps the critic's output onto the domain of $f^*$."""

    def conjugate_of_activation(self, v: Array) -> Array:
        """$f^*(g_f(v))$ (the divergences override it with a closed form finite for every $v$)."""
        return self.conjugate(self.activation(v))


class KullbackLeibler(AbstractFDivergence):
    """$f(u) = u\\ln u$: $D_f = \\mathrm{KL}(P\\|Q)$ (mode covering)."""

    def f(self, u):
        return u * jnp.log(u)

    def derivative(self, u):
        return 1 + jnp.log(u)

    def conjugate(self, t):
        return jnp.exp(t - 1)

    def activation(self, v):
        return v

    def conjugate_of_activation(self, v):
        return jnp.exp(v - 1)


class ReverseKullbackLeibler(AbstractFDivergence):
    """$f(u) = -\\ln u$: $D_f = \\mathrm{KL}(Q\\|P)$ (mode seeking)."""

    def f(self, u):
        return -jnp.log(u)

    def derivative(self, u):
        return -1 / u

    def conjugate(self, t):
        return -1 - jnp.log(-t)

    def activation(self, v):
        return -jnp.exp(-v)

    def conjugate_of_activation(self, v):
        return v - 1


class PearsonChiSquared(AbstractFDivergence):
    """$f(u) = (u - 1)^2$: $D_f = \\int (p - q)^2 / q$."""

    def f(self, u):
        return (u - 1) ** 2

    def derivative(self, u):
        return 2 * (u - 1)

    def conjugate(self, t):
        return t**2 / 4 + t

    def activation(self, v):
        return v

    def conjugate_of_activation(self, v):
        return v**2 / 4 + v


class SquaredHellinger(AbstractFDivergence):
    """$f(u) = (\\sqrt u - 1)^2$: $D_f = \\int (\\sqrt p - \\sqrt q)^2$."""

    def f(self, u):
        return (jnp.sqrt(u) - 1) ** 2

    def derivative(self, u):
        return 1 - 1 / jnp.sqrt(u)

    def conjugate(self, t):
        return t / (1 - t)

    def activation(self, v):
        return 1 - jnp.exp(-v)

    def conjugate_of_activation(self, v):
        return jnp.expm1(v)


class JensenShannon(AbstractFDivergence):
    """$f(u) = u\\ln u - (u + 1)\\ln\\frac{u + 1}2$: $D_f = 2\\,\\mathrm{JSD}(P, Q)$."""

    def f(self, u):
        return u * jnp.log(u) - (u + 1) * jnp.log((u + 1) / 2)

    def derivative(self, u):
        return jnp.log(2 * u / (1 + u))

    def conjugate(self, t):
        return -jnp.log(2 - jnp.exp(t))

    def activation(self, v):
        return _LN2 - jax.nn.softplus(-v)

    def conjugate_of_activation(self, v):
        return jax.nn.softplus(v) - _LN2


F_DIVERGENCES: dict[str, AbstractFDivergence] = {
    "kl": KullbackLeibler(),
    "reverse_kl": ReverseKullbackLeibler(),
    "pearson": PearsonChiSquared(),
    "hellinger": SquaredHellinger(),
    "js": JensenShannon(),
}
"""The divergences an `FGAN` names."""


def variational_divergence_bound(
    divergence: AbstractFDivergence, critic_p: Float[ArrayLike, " n"], critic_q: Float[ArrayLike, " m"]
) -> Float[Array, ""]:
    r"""$\frac1n\sum_i g_f(v_i) - \frac1m\sum_j f^*(g_f(v'_j))$ for critic outputs $v_i = V(y_i)$ on samples of $P$
    and $v'_j = V(x_j)$ on samples of $Q$: a lower bound on $D_f(P\|Q)$ in expectation (module docstring)."""
    if not isinstance(divergence, AbstractFDivergence):
        raise ValueError(f"`divergence` must be an AbstractFDivergence (e.g. KullbackLeibler()), got {type(divergence).__name__}.")
    return jnp.mean(divergence.activation(jnp.asarray(critic_p))) - jnp.mean(divergence.conjugate_of_activation(jnp.asarray(critic_q)))


class FGAN(AbstractAdversarialGame):
    r"""The f-GAN game (module docstring) as a discrete solver: `n_critic` ascent steps of the critic on
    $F(\omega) = \mathbb E_P\,g_f(V(y)) - \mathbb E_Q\,f^*(g_f(V(x)))$, then one generator step on its loss.

    **Arguments:**
    - `critic`: the critic $V$ (`MLPCritic`, or any `AbstractCritic`).
    - `generator_optimizer`, `critic_optimizer`: optax optimizers (e.g. `optax.adam(1e-3)`).
    - `divergence`: `"kl"`, `"reverse_kl"`, `"pearson"`, `"hellinger"` or `"js"` (default; `F_DIVERGENCES`).
    - `n_critic`: critic steps per generator step (default 1, Nowozin et al.'s single-step method).
    - `loss`: `"non_saturating"` ($-\mathbb E_Q\,g_f(V)$, default) or `"saddle"` ($-\mathbb E_Q\,f^*(g_f(V))$).
    - `step`: the time one iteration stands for (default 1: time counts generator steps).
    """

    step: Array
    critic: AbstractCritic
    generator_optimizer: optax.GradientTransformation
    critic_optimizer: optax.GradientTransformation
    divergence: AbstractFDivergence
    n_critic: int = eqx.field(static=True)
    loss: str = eqx.field(static=True)

    def __init__(
        self,
        critic: AbstractCritic,
        generator_optimizer: optax.GradientTransformation,
        critic_optimizer: optax.GradientTransformation,
        *,
        divergence: str = "js",
        n_critic: int = 1,
        loss: str = "non_saturating",
        step: float = 1.0,
    ):
        check_game_arguments(critic, generator_optimizer, critic_optimizer, n_critic, step)
        check_choice("divergence", divergence, tuple(F_DIVERGENCES))
        check_choice("loss", loss, _LOSSES)
        self.critic, self.generator_optimizer, self.critic_optimizer = critic, generator_optimizer, critic_optimizer
        self.divergence = F_DIVERGENCES[divergence]
        self.n_critic, self.loss, self.step = n_critic, loss, jnp.asarray(step)

    def critic_objective(self, weights, x, y, key=None):
        """$F$ on generated samples `x` ($Q$) and data samples `y` ($P$), to be maximized."""
        critic = self.critic_from(weights)
        return variational_divergence_bound(self.divergence, jax.vmap(critic)(y), jax.vmap(critic)(x))

    def generator_objective(self, critic, x):
        r"""$-\frac1n\sum_a g_f(V(x_a))$ (non-saturating) or $-\frac1n\sum_a f^*(g_f(V(x_a)))$ (saddle)."""
        outputs = jax.vmap(critic)(x)
        if self.loss == "saddle":
            return -jnp.mean(self.divergence.conjugate_of_activation(outputs))
        return -jnp.mean(self.divergence.activation(outputs))
