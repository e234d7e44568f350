r"""Convergence conditions that can be checked before a run, and the rates of a flow and of its
gradient-descent scheme near an equilibrium.

**An a-priori rate constant.** A descent flow never leaves the sublevel set
$\mathcal S = \{\theta: g(\theta) \le g(\theta_0)\}$ of its start. For the parametric kernelized gradient flow
(PKGF; Mroueh & Nguyen, AISTATS 2021) $\frac{d}{dt}\mathrm{MMD}^2 = -2\alpha(\theta)\,\mathrm{MMD}^2$ with
$\alpha(\theta) = \nabla F^\top(\Gamma_\theta + \lambda)^{-1}\nabla F/\mathrm{MMD}^2$, so
$\alpha_0 = \inf_{\mathcal S}\alpha$, known before the run, gives
$\mathrm{MMD}^2(\theta_t) \le e^{-2\alpha_0 t}\,\mathrm{MMD}^2(\theta_0)$ for all $t$ (the paper's convergence
condition with a constant fixed in advance rather than read off the run). `sublevel_infimum`
estimates $\inf_{\mathcal S} f$ for any $f$ by optimisation: it evaluates $f$ at candidate points,
keeps those in $\mathcal S$, and polishes the best ones by BFGS (optimistix) on the log-barrier
objectives $f(\theta) - \mu\log(1 - g(\theta)/\ell)$ for a decreasing sequence of $\mu$ (Fiacco &
McCormick, 1968). The result is the smallest value *found*: an upper bound on the infimum, not a
certificate, so a run can refute it (its $\alpha(t)$ dropping below, its MMD² rising above the bound).

**Linearized rates.** Near an equilibrium $y^*$ of $\dot y = v(y)$ with drift Jacobian $J$ (eigenvalues
$\lambda_i$, `flows.analysis.drift_jacobian`), the error $e = y - y^*$ obeys $\dot e = Je$, and any
quantity quadratic in it (the energy at a zero-residual minimum, MMD² there) decays at the rate
$2\min_i(-\mathrm{Re}\,\lambda_i)$ per unit time. Gradient descent with step $h$ multiplies each
eigencomponent by $1 + h\lambda_i$ per step, so the same quantity decays at
$-\frac2h\log\max_i|1 + h\lambda_i|$ per unit time: the continuous rate as $h \to 0$, and no decay
once some $|1 + h\lambda_i| \ge 1$.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optimistix as optx
from jaxtyping import Array, ArrayLike, Float, PyTree

from .._checks import check_int, check_positive
from ..core.flow import AbstractFlow
from ..core.stability import drift_jacobian

Function = Callable[[Float[Array, " p"]], Float[Array, ""]]


@dataclasses.dataclass(frozen=True)
class SublevelInfimum:
    r"""The smallest value of $f$ found on the sublevel set $\{g \le \ell\}$ (module docstring).

    **Fields:**
    - `value`: $\min f$ over the feasible candidates and polished points (an upper bound on the infimum).
    - `argmin`: (p,), where it was found.
    - `constraint_at_argmin`: $g$ there ($\le \ell$).
    - `level`: $\ell$.
    - `candidates`: how many candidate points were evaluated; `feasible`: how many lay in the set.
    - `polished`: how many feasible candidates were polished by the barrier method.
    - `best_candidate`: $\min f$ over the feasible candidates alone (before polishing).
    """

    value: float
    argmin: np.ndarray
    constraint_at_argmin: float
    level: float
    candidates: int
    feasible: int
    polished: int
    best_candidate: float


@eqx.filter_jit
def _evaluate(function, constraint, points):
    return jax.vmap(function)(points), jax.vmap(constraint)(points)


@eqx.filter_jit
def _polish(function, constraint, level, starts, barriers, max_steps):
    solver = optx.BFGS(rtol=1e-10, atol=1e-12)

    def barrier_objective(theta, mu):
        slack = 1.0 - constraint(theta) / level
        return jnp.where(slack > 0, function(theta) - mu * jnp.log(jnp.where(slack > 0, slack, 1.0)), jnp.inf)

    def polish(start):
        def stage(theta, mu):
            found = optx.minimise(barrier_objective, solver, theta, args=mu, max_steps=max_steps, throw=False).value
            inside = jnp.all(jnp.isfinite(found)) & (constraint(found) <= level)
            return jnp.where(inside, found, theta), None

        return jax.lax.scan(stage, start, barriers)[0]

    return jax.vmap(polish)(starts)


def sublevel_infimum(
    function: Function,
    constraint: Function,
    level: float,
    candidates: Float[ArrayLike, "n p"],
    *,
    polish: int = 16,
    barriers: tuple[float, ...] = (1e-2, 1e-3, 1e-4, 1e-5, 1e-6),
    max_steps: int = 200,
) -> SublevelInfimum:
    r"""The smallest value of `function` found on $\{$`constraint` $\le$ `level`$\}$ (module docstring).

    **Arguments:**
    - `function`, `constraint`: scalar functions of one parameter vector (p,), differentiable by
      JAX (equinox modules or functions).
    - `level`: $\ell > 0$, e.g. the constraint's value at a run's start.
    - `candidates`: (n, p) points to start from (random points around the start and the minimizer,
      say); the infeasible ones are dropped.
    - `polish`: how many of the best feasible candidates the barrier method polishes (0: none,
      the best feasible candidate is the answer).
    - `barriers`: the decreasing barrier weights $\mu$ (relative to the scale of `function`).
    - `max_steps`: BFGS steps per barrier weight.
    """
    check_positive("level", level)
    polish = check_int("polish", polish, 0)
    points = jnp.asarray(candidates)
    if points.ndim != 2 or points.shape[0] == 0:
        raise ValueError(f"`candidates` must be a non-empty (n, p) batch of points, got shape {tuple(points.shape)}.")
    values, constraints = (np.asarray(a) for a in _evaluate(function, constraint, points))
    feasible = np.nonzero((constraints <= level) & np.isfinite(values))[0]
    if feasible.size == 0:
        raise ValueError(f"no candidate lies in the sublevel set (constraint <= {level:g}): give points inside it.")
    best = feasible[np.argsort(values[feasible])[:polish]]
    pool_values, pool_points, pool_constraints = values[feasible], np.asarray(points)[feasible], constraints[feasible]
    if best.size:
        polished = np.asarray(_polish(function, constraint, jnp.asarray(level, points.dtype), points[best],
                                      jnp.asarray(barriers, points.dtype), max_steps))
        final_values, final_constraints = (np.asarray(a) for a in _evaluate(function, constraint, jnp.asarray(polished)))
        inside = (final_constraints <= level) & np.isfinite(final_values)
        pool_values = np.concatenate([pool_values, final_values[inside]])
        pool_points = np.concatenate([pool_points, polished[inside]])
        pool_constraints = np.concatenate([pool_constraints, final_constraints[inside]])
    i = int(np.argmin(pool_values))
    return SublevelInfimum(
        value=float(pool_values[i]), argmin=pool_points[i], constraint_at_argmin=float(pool_constraints[i]),
        level=float(level), candidates=int(points.shape[0]), feasible=int(feasible.size), polished=int(best.size),
        best_candidate=float(values[feasible].min()),
    )


@dataclasses.dataclass(frozen=True)
class LinearizedRates:
    r"""Decay rates near an equilibrium of a flow and of gradient descent on it (module docstring),
    for a quantity quadratic in the error (MMD² or the energy at a zero-residual minimum).

    **Fields:**
    - `eigenvalues`: the drift Jacobian's eigenvalues $\lambda_i$ at the equilibrium (complex, sorted by real part).
    - `continuous_rate`: $2\min_i(-\mathrm{Re}\,\lambda_i)$, the flow's rate per unit time.
    - `steps`: the step sizes $h$.
    - `discrete_rates`: $-\frac2h\log\max_i|1 + h\lambda_i|$ per unit time at each step ($\le 0$: no decay).
    - `per_step_factors`: $\max_i|1 + h\lambda_i|^2$, the asymptotic factor per step.
    """

    eigenvalues: np.ndarray
    continuous_rate: float
    steps: tuple[float, ...]
    discrete_rates: tuple[float, ...]
    per_step_factors: tuple[float, ...]


def linearized_rates(flow: AbstractFlow, equilibrium: PyTree, steps, t: float = 0.0, args: PyTree = None) -> LinearizedRates:
    """The flow's and gradient descent's decay rates near `equilibrium` (module docstring), from
    the drift Jacobian there (`flows.analysis.drift_jacobian`: dense, small states only).

    **Arguments:**
    - `flow`: the flow; `equilibrium`: a state where its drift vanishes (not checked: the rates are
      those of the linearization at any state).
    - `steps`: the gradient-descent step sizes $h > 0$.
    """
    steps = tuple(float(h) for h in np.atleast_1d(steps))
    for h in steps:
        check_positive("steps", h)
    eigenvalues = np.linalg.eigvals(np.asarray(drift_jacobian(flow, equilibrium, t, args), dtype=np.float64))
    eigenvalues = eigenvalues[np.argsort(eigenvalues.real)]
    factors = tuple(float(np.max(np.abs(1 + h * eigenvalues)) ** 2) for h in steps)
    return LinearizedRates(
        eigenvalues=eigenvalues, continuous_rate=float(2 * np.min(-eigenvalues.real)), steps=steps,
        discrete_rates=tuple(float(-np.log(f) / h) for f, h in zip(factors, steps)), per_step_factors=factors,
    )
