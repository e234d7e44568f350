"""Analyses after (or around) a run: convergence rates and the energy-dissipation identity along a
trajectory, optimization landscapes from many starts and Hessian spectra, the linear stability
of gradient descent, two-sample tests, W₁ bounds for sign-pattern mixtures, a-priori convergence
constants and linearized rates, an oscillation criterion robust to sampling noise, and the
stationary points of the low-rank Gaussian MMD landscape in closed form.

Every analysis that reports several numbers returns one frozen dataclass with documented fields:
`RateFit`, `DissipationCheck`, `PermutationTestResult`, `ClassifierTestResult`,
`CriticTestResult` (the tests that train a model keep it as `trained`), `W1Bounds`,
`SublevelInfimum`, `LinearizedRates`, `OscillationCheck`, `LowRankCriticalPoints`."""

from .convergence import LinearizedRates, SublevelInfimum, linearized_rates, sublevel_infimum
from .dissipation import DissipationCheck, dissipation_check
from .landscape import MultiStartGradientFlow, hessian_spectra
from .linear_stability import drift_jacobian, max_stable_step
from .low_rank import LowRankCriticalPoints, low_rank_critical_points
from .oscillation import OscillationCheck, oscillation_check
from .rates import RateFit, fit_rate
from .sign_mixtures import (
    W1Bounds,
    distance_to_orthants,
    independent_sign_coupling_cost,
    sign_mixture_w1_bounds,
)
from .two_sample_tests import (
    ClassifierTestResult,
    CriticTestResult,
    LogisticRegression,
    PermutationTestResult,
    classifier_two_sample_test,
    mmd_permutation_test,
    wgan_gp_critic_test,
)

__all__ = [
    "ClassifierTestResult",
    "CriticTestResult",
    "DissipationCheck",
    "LinearizedRates",
    "LogisticRegression",
    "LowRankCriticalPoints",
    "MultiStartGradientFlow",
    "OscillationCheck",
    "PermutationTestResult",
    "RateFit",
    "SublevelInfimum",
    "W1Bounds",
    "classifier_two_sample_test",
    "dissipation_check",
    "distance_to_orthants",
    "drift_jacobian",
    "fit_rate",
    "hessian_spectra",
    "independent_sign_coupling_cost",
    "linearized_rates",
    "low_rank_critical_points",
    "max_stable_step",
    "mmd_permutation_test",
    "oscillation_check",
    "sign_mixture_w1_bounds",
    "sublevel_infimum",
    "wgan_gp_critic_test",
]
