"""How many drift evaluations a solve took: the cost to compare an adaptive ODE solver with
gradient descent (each drift evaluation of an MMD flow is N(N + M) kernel-gradient pairs).

diffrax reports steps, not function evaluations. For the solvers whose count follows from the
step count this module gives it: an explicit Runge-Kutta method with s stages evaluates the drift
s times per step, accepted or rejected, or s - 1 times plus once at the start when its tableau is
first-same-as-last (FSAL: Tsit5, Dopri5, Bosh3); Euler and `flows.GradientDescent` once per step.
Not counted (diffrax does not report them): its initial step-size heuristic when `dt0` is None
(at most two evaluations), and a re-evaluation of the drift at `t0` each time the very first step
is rejected (a `dt0` that is too large). With a `dt0` the solver accepts, the count is exact.
"""

from __future__ import annotations

import diffrax
import numpy as np

from .solvers import GradientDescent


def drift_evaluations(solver, num_steps: int) -> int | None:
    """The number of drift evaluations `solver` made in `num_steps` steps (accepted and rejected),
    for an ODE (not an SDE); None for solvers whose count does not follow from the step count
    (implicit methods, adversarial games, SDE solvers).

    **Arguments:**
    - `solver`: a diffrax solver or `flows.GradientDescent`.
    - `num_steps`: the solve's `trajectory.stats["num_steps"]`.
    """
    if isinstance(num_steps, bool) or not float(np.asarray(num_steps)).is_integer() or num_steps < 0:
        raise ValueError(f"`num_steps` must be a non-negative integer, got {num_steps!r}.")
    num_steps = int(num_steps)
    if isinstance(solver, (GradientDescent, diffrax.Euler)):
        return num_steps
    tableau = getattr(solver, "tableau", None)
    if isinstance(solver, diffrax.AbstractRungeKutta) and isinstance(tableau, diffrax.ButcherTableau):
        if tableau.a_diagonal is not None:  # implicit stages: Newton iterations, not a fixed count
            return None
        if tableau.fsal:
            return (tableau.num_stages - 1) * num_steps + 1
        return tableau.num_stages * num_steps
    return None
