r"""Adversarial games as discrete solvers: the GAN training that flows are compared with.

Each iteration, with latents $z$ (fresh per step, or the flow's fixed batch), generated samples
$x = G_\theta(z)$ and target samples $y$:

1. `n_critic` ascent steps (an optax optimizer) on the critic's objective $L(w; x, y)$;
2. one generator step (an optax optimizer) on the generator's objective $\ell(u_w; G_\theta(z))$.

A game says only $L$ (`critic_objective`) and $\ell$ (`generator_objective`); this module runs
it on `simulate`'s `lax.scan` engine. The solver state holds the critic's trained arrays and both
optimizer states; the `Trajectory` holds the generator parameters with the flow's diagnostics
(pass a parametric flow with target samples, e.g. `ParametricMMDFlow(generator, samples, kernel,
latents=z)`: the game reads the target samples and each step's latents from the flow).
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import equinox as eqx
import jax
import optax
from jaxtyping import Array, PyTree

from .._checks import check_positive, check_positive_int
from .._trees import cast_floats
from ..core.solvers import AbstractDiscreteSolver
from ..parametric.base import AbstractParametricFlow
from ..parametric.generators import push_forward
from .critics import AbstractCritic


def check_game_arguments(critic, generator_optimizer, critic_optimizer, n_critic, step) -> None:
    """Raise `ValueError` naming the argument when a game's common arguments are malformed."""
    if not isinstance(critic, AbstractCritic):
        raise ValueError(f"`critic` must be a flows critic (RandomFeatureCritic, MLPCritic), got {type(critic).__name__}.")
    for name, value in (("generator_optimizer", generator_optimizer), ("critic_optimizer", critic_optimizer)):
        if not isinstance(value, optax.GradientTransformation):
            raise ValueError(f"`{name}` must be an optax optimizer, got {type(value).__name__}.")
    check_positive_int("n_critic", n_critic)
    check_positive("step", step)


class AbstractAdversarialGame(AbstractDiscreteSolver):
    """A two-player game (module docstring): subclasses give `critic_objective` and `generator_objective`."""

    critic: eqx.AbstractVar[AbstractCritic]
    generator_optimizer: eqx.AbstractVar[optax.GradientTransformation]
    critic_optimizer: eqx.AbstractVar[optax.GradientTransformation]
    n_critic: eqx.AbstractVar[int]

    @abc.abstractmethod
    def critic_objective(self, weights: PyTree, x: Array, y: Array, key: Array | None = None) -> Array:
        """$L(w; x, y)$, maximized by the critic: `weights` are its trained arrays, `x` generated and
        `y` target samples, `key` for objectives that sample (e.g. a gradient penalty's interpolates)."""

    @abc.abstractmethod
    def generator_objective(self, critic: AbstractCritic, x: Array) -> Array:
        """$\\ell(u; x)$, minimized by the generator through the generated samples `x`."""

    def step_critic_objective(
        self, flow: AbstractParametricFlow, y: PyTree, z: Array, target: Array
    ) -> Callable[[PyTree, Array | None], Array]:
        """The critic's objective at one step, as a function of (weights, key): $L(w; x, y)$
        (`critic_objective`) on the generated samples $x = G_\\theta(z)$ of the generator parameters
        `y` and the step's latents `z`. A game whose critic objective depends on the generator
        itself, not only on its samples, overrides this."""
        x = jax.lax.stop_gradient(push_forward(flow.generator(y), z))
        return lambda weights, key: self.critic_objective(weights, x, target, key)

    def critic_from(self, weights: PyTree) -> AbstractCritic:
        """The critic with trained arrays `weights`."""
        return eqx.combine(weights, eqx.partition(self.critic, self.critic.trainable())[1])

    def init(self, flow, y0):
        if not isinstance(flow, AbstractParametricFlow):
            raise ValueError(
                f"`flow` must be a parametric flow with target samples (e.g. ParametricMMDFlow) for {type(self).__name__}, "
                f"got {type(flow).__name__}."
            )
        flow.objective.check_sampled(f"`flow` must hold target samples for {type(self).__name__}")
        dtype = jax.tree_util.tree_leaves(y0)[0].dtype
        critic = cast_floats(self.critic, dtype)
        weights, _ = eqx.partition(critic, self.critic.trainable())
        return weights, self.critic_optimizer.init(weights), self.generator_optimizer.init(y0)

    def update(self, flow, t, y, state, args, key):
        weights, critic_state, generator_state = state
        dtype = jax.tree_util.tree_leaves(y)[0].dtype
        z = flow.step_latents(key, dtype)
        target = flow.objective.target_samples(dtype)
        objective = self.step_critic_objective(flow, y, z, target)

        def ascent(i, carry):
            w, s = carry
            k = None if key is None else jax.random.fold_in(key, i + 1)
            grads = jax.grad(lambda w_: -objective(w_, k))(w)
            updates, s = self.critic_optimizer.update(grads, s, w)
            return optax.apply_updates(w, updates), s

        weights, critic_state = jax.lax.fori_loop(0, self.n_critic, ascent, (weights, critic_state))
        critic = self.critic_from(weights)
        loss = lambda p: self.generator_objective(critic, push_forward(flow.generator(p), z))
        updates, generator_state = self.generator_optimizer.update(jax.grad(loss)(y), generator_state, y)
        return optax.apply_updates(y, updates), (weights, critic_state, generator_state)
