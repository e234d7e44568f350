r"""Discrete solvers: the gradient descent that GAN training really runs.

`GradientDescent(step=h)` is the explicit scheme $y_{k+1} = y_k + h\,v(t_k, y_k)$ with the flow's
velocity $v$: for a gradient flow $v = -\nabla F$ (up to the flow's scaling), so this is gradient
descent, and it is exactly diffrax's `Euler` with `dt0 = h`. With an `optax` optimizer the
engine feeds $-v$ as the gradient: `GradientDescent(optimizer=optax.sgd(h), step=h)` is the same
scheme, and `optax.adam(...)` is Adam on the same objective. Each iteration advances the clock by
`step`, so trajectories from every engine share one time axis.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, PyTree

from .._checks import check_positive
from .flow import AbstractFlow


class AbstractDiscreteSolver(eqx.Module):
    """A discrete scheme run by `simulate`'s `lax.scan` engine: one `update` per iteration,
    each advancing time by `step`."""

    step: eqx.AbstractVar[float]

    @abc.abstractmethod
    def init(self, flow: AbstractFlow, y0: PyTree) -> PyTree:
        """The solver's state (e.g. an optimizer's moments) for initial state `y0`."""

    @abc.abstractmethod
    def update(
        self, flow: AbstractFlow, t: Array, y: PyTree, state: PyTree, args: PyTree, key: Array | None
    ) -> tuple[PyTree, PyTree]:
        """One iteration at time `t`: return the new `y` and the new solver state."""


class GradientDescent(AbstractDiscreteSolver):
    """Gradient descent along a flow: fixed step, or any `optax` optimizer.

    **Arguments:**
    - `step`: the time one iteration stands for; with no optimizer, the step size $h$ of
      $y \\leftarrow y + h\\,v(t, y)$.
    - `optimizer`: an `optax.GradientTransformation` fed $-v(t, y)$ as the gradient (optional).
    """

    step: float | Array = eqx.field(default=1.0, converter=jnp.asarray)
    optimizer: optax.GradientTransformation | None = None

    def __check_init__(self):
        check_positive("step", self.step)

    def init(self, flow, y0):
        return None if self.optimizer is None else self.optimizer.init(y0)

    def update(self, flow, t, y, state, args, key):
        velocity = flow.discrete_drift(t, y, args, key)
        if self.optimizer is None:
            return jax.tree_util.tree_map(lambda yi, vi: yi + self.step.astype(yi.dtype) * vi, y, velocity), state
        gradient = jax.tree_util.tree_map(lambda vi: -vi, velocity)
        updates, state = self.optimizer.update(gradient, state, y)
        return optax.apply_updates(y, updates), state
