"""Analyses after (or around) a run: convergence rates and the energy-dissipation identity along a
trajectory, optimization landscapes from many starts and Hessian spectra, the linear stability
of gradient descent (`drift_jacobian`, `max_stable_step`, from `flows.core.stability`, which
`simulate` also uses before a run), two-sample tests, and W₁ bounds for sign-pattern mixtures.

Every analysis that reports several numbers returns one frozen dataclass with documented fields:
`RateFit`, `DissipationCheck`, `PermutationTestResult`, `ClassifierTestResult`,
`CriticTestResult` (the tests that train a model keep it as `trained`), `W1Bounds`."""

from ..core.stability import drift_jacobian, max_stable_step
from .dissipation import DissipationCheck, dissipation_check
from .landscape import MultiStartGradientFlow, hessian_spectra
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
    "LogisticRegression",
    "MultiStartGradientFlow",
    "PermutationTestResult",
    "RateFit",
    "W1Bounds",
    "classifier_two_sample_test",
    "dissipation_check",
    "distance_to_orthants",
    "drift_jacobian",
    "fit_rate",
    "hessian_spectra",
    "independent_sign_coupling_cost",
    "max_stable_step",
    "mmd_permutation_test",
    "sign_mixture_w1_bounds",
    "wgan_gp_critic_test",
]
