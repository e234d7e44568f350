r"""The gradient-regularized MMD GAN: the discrete min-max game PKGF is compared with
(`MATH.md` section 5; Arbel et al. 2018, Mroueh et al. 2019).

Each iteration, with latents $z$ (fresh per step or the fixed batch), $x = G_\theta(z)$ and target
samples $y$:

1. `n_critic` ascent steps (an optax optimizer) on the critic's objective
   $$L(w) = \mathbb{E}_\nu u_w - \mathbb{E}_q u_w - \tfrac{\rho}{2}\mathbb{E}_q\|\nabla_x u_w\|^2 - \tfrac\lambda2\|w\|^2;$$
2. one generator step (an optax optimizer) on $-\mathbb{E}_z u_w(G_\theta(z))$.

Critics: `RandomFeatureCritic` ($u_w(x) = w^\top\varphi(x)$, random Fourier features of the
Gaussian kernel: an RKHS critic, so $L$ is the section-4 objective in feature space) and
`MLPCritic` (a small network). `MMDGAN` is a discrete solver for `simulate`: its state holds the
critic and both optimizer states, it runs on the `lax.scan` engine and returns a `Trajectory` of
generator parameters with the flow's diagnostics (pass a `ParametricMMDFlow` in sample mode).
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float, PyTree

from ._checks import check_choice, check_positive
from .generators import push_forward
from .gradient_descent import AbstractDiscreteSolver
from .parametric_flow import AbstractParametricFlow


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
        for name, value in (("dim", dim), ("num_features", num_features)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer, got {value!r}.")
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
        check_choice("activation", activation, activations)
        self.mlp = eqx.nn.MLP(dim, "scalar", width, depth, activation=activations[activation], key=key, dtype=dtype)

    def __call__(self, x):
        return self.mlp(x)


class MMDGAN(AbstractDiscreteSolver):
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
        if not isinstance(critic, AbstractCritic):
            raise ValueError(f"`critic` must be a flows critic (RandomFeatureCritic, MLPCritic), got {type(critic).__name__}.")
        for name, value in (("generator_optimizer", generator_optimizer), ("critic_optimizer", critic_optimizer)):
            if not isinstance(value, optax.GradientTransformation):
                raise ValueError(f"`{name}` must be an optax optimizer, got {type(value).__name__}.")
        if not isinstance(n_critic, int) or n_critic < 1:
            raise ValueError(f"`n_critic` must be a positive integer, got {n_critic!r}.")
        check_positive("step", step)
        for name, value in (("gradient_penalty", gradient_penalty), ("reg", reg)):
            if not value >= 0:
                raise ValueError(f"`{name}` must be a non-negative number, got {value!r}.")
        self.critic, self.generator_optimizer, self.critic_optimizer = critic, generator_optimizer, critic_optimizer
        self.n_critic = n_critic
        self.gradient_penalty, self.reg, self.step = jnp.asarray(gradient_penalty), jnp.asarray(reg), jnp.asarray(step)

    def init(self, flow, y0):
        if not isinstance(flow, AbstractParametricFlow) or flow.population:
            raise ValueError("`flow` must be a parametric flow with target samples (e.g. ParametricMMDFlow) for MMDGAN.")
        dtype = jax.tree_util.tree_leaves(y0)[0].dtype
        critic = jax.tree_util.tree_map(lambda a: a.astype(dtype) if eqx.is_inexact_array(a) else a, self.critic)
        weights, _ = eqx.partition(critic, self.critic.trainable())
        return weights, self.critic_optimizer.init(weights), self.generator_optimizer.init(y0)

    def critic_objective(self, weights: PyTree, x: Array, y: Array) -> Array:
        """$L(w)$ on generated samples `x` and target samples `y` (to be maximized)."""
        _, static = eqx.partition(self.critic, self.critic.trainable())
        critic = eqx.combine(weights, static)
        grads = jax.vmap(jax.grad(critic))(x)
        penalty = 0.5 * self.gradient_penalty.astype(x.dtype) * jnp.mean(jnp.sum(grads**2, axis=1))
        norm = 0.5 * self.reg.astype(x.dtype) * sum(jnp.sum(w**2) for w in jax.tree_util.tree_leaves(weights))
        return jnp.mean(jax.vmap(critic)(y)) - jnp.mean(jax.vmap(critic)(x)) - penalty - norm

    def update(self, flow, t, y, state, args, key):
        weights, critic_state, generator_state = state
        dtype = jax.tree_util.tree_leaves(y)[0].dtype
        z = flow.step_latents(key, dtype)
        target = flow.target.astype(dtype)
        x = jax.lax.stop_gradient(push_forward(flow.generator(y), z))

        def ascent(_, carry):
            w, s = carry
            grads = jax.grad(lambda w_: -self.critic_objective(w_, x, target))(w)
            updates, s = self.critic_optimizer.update(grads, s, w)
            return optax.apply_updates(w, updates), s

        weights, critic_state = jax.lax.fori_loop(0, self.n_critic, ascent, (weights, critic_state))
        critic = eqx.combine(weights, eqx.partition(self.critic, self.critic.trainable())[1])
        generator_loss = lambda p: -jnp.mean(jax.vmap(critic)(push_forward(flow.generator(p), z)))
        updates, generator_state = self.generator_optimizer.update(jax.grad(generator_loss)(y), generator_state, y)
        return optax.apply_updates(y, updates), (weights, critic_state, generator_state)
