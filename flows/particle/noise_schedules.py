r"""Noise levels $\beta(t)$ for the noise-injected and diffusion MMD flows (Arbel, Korba, Salim,
Gretton, NeurIPS 2019): the first takes the witness gradient at $x + \beta(t)\,u$,
$u \sim \mathcal N(0, I)$; the second adds $\sqrt{2\beta(t)}\,dW_t$ to the MMD flow.

A schedule is a function of *time* $t$ (the discrete engine's iteration $n$ runs at
$t = t_0 + n\,\gamma$, so "β = 10 until step 5000" with $\gamma = 0.1$ is a switch at $t = 500$).
Any callable `t -> beta` (JAX-traceable) can be used in place of these.

- `ConstantSchedule(value)`: $\beta(t) = \beta_0$.
- `StepDecaySchedule(initial, factor, every)`: $\beta(t) = \beta_0\, a^{\lfloor t / T \rfloor}$
  (Arbel et al.: $\beta_0 = 1$ halved every $K$ steps).
- `PiecewiseConstantSchedule(values, boundaries)`: $\beta = v_k$ on $[b_{k-1}, b_k)$
  (Arbel et al.'s Gaussian experiment: $\beta = 10$ then 0).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from .._checks import check_in_range, check_positive

NoiseSchedule = Callable[[Array], Array]
"""A noise level as a function of time, `t -> beta(t) >= 0`."""


def _check_nonnegative(name: str, value) -> None:
    arr = np.asarray(value, dtype=float)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"`{name}` must be finite and non-negative, got {value!r}.")


class ConstantSchedule(eqx.Module):
    """$\\beta(t) = $ `value` (non-negative)."""

    value: float | Array

    def __check_init__(self):
        _check_nonnegative("value", self.value)

    def __call__(self, t):
        return jnp.asarray(self.value, dtype=jnp.result_type(t, float)) * jnp.ones_like(t)


class StepDecaySchedule(eqx.Module):
    """$\\beta(t) = \\beta_0\\, a^{\\lfloor t / T\\rfloor}$: `initial` $\\beta_0 \\ge 0$ multiplied by
    `factor` $a \\in (0, 1]$ every `every` $T > 0$ units of time."""

    initial: float | Array
    factor: float | Array = 0.5
    every: float | Array = 1.0

    def __check_init__(self):
        _check_nonnegative("initial", self.initial)
        check_in_range("factor", self.factor, 0.0, 1.0, inclusive=True)
        check_positive("factor", self.factor)
        check_positive("every", self.every)

    def __call__(self, t):
        return self.initial * self.factor ** jnp.floor(t / self.every)


class PiecewiseConstantSchedule(eqx.Module):
    """$\\beta(t) = $ `values[k]` for `boundaries[k-1]` $\\le t <$ `boundaries[k]` (one more value
    than boundaries; boundaries increasing)."""

    values: Array
    boundaries: Array

    def __init__(self, values: Sequence[float], boundaries: Sequence[float]):
        values = np.asarray(values, dtype=float)
        boundaries = np.asarray(boundaries, dtype=float)
        if values.ndim != 1 or boundaries.ndim != 1 or values.size != boundaries.size + 1:
            raise ValueError(
                f"`values` must have one more entry than `boundaries`, got {values.size} values and "
                f"{boundaries.size} boundaries."
            )
        _check_nonnegative("values", values)
        if not np.all(np.isfinite(boundaries)) or np.any(np.diff(boundaries) <= 0):
            raise ValueError(f"`boundaries` must be finite and increasing, got {boundaries.tolist()}.")
        self.values = jnp.asarray(values)
        self.boundaries = jnp.asarray(boundaries)

    def __call__(self, t):
        index = jnp.searchsorted(self.boundaries.astype(jnp.result_type(t, float)), t, side="right")
        return self.values.astype(jnp.result_type(t, float))[index]


def as_schedule(name: str, schedule) -> NoiseSchedule:
    """A number becomes a `ConstantSchedule`; a callable is used as is; anything else is an error."""
    if isinstance(schedule, (int, float, np.number)) and not isinstance(schedule, bool):
        return ConstantSchedule(float(schedule))
    if callable(schedule):
        return schedule
    raise ValueError(
        f"`{name}` must be a number, a schedule (e.g. flows.particle.StepDecaySchedule(1.0, 0.5, 100.0)) or a "
        f"callable t -> level, got {type(schedule).__name__}."
    )
