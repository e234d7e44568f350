"""Analyses after (or around) a run: convergence rates and the energy-dissipation identity along a
trajectory, optimization landscapes from many starts and Hessian spectra, the linear stability
of gradient descent (`drift_jacobian`, `max_stable_step`, from `flows.core.stability`, which
`simulate` also uses before a run), two-sample tests, W₁ bounds for sign-pattern mixtures, the
exact sign biases and sign-pattern distinguishers (scans, Lipschitz critics, GF(2) linearization)
of PRG generators, a-priori convergence constants and linearized rates, an oscillation criterion
robust to sampling noise, and the stationary points of the low-rank Gaussian MMD landscape in
closed form.

Every analysis that reports several numbers returns one frozen dataclass with documented fields:
`RateFit`, `DissipationCheck`, `PermutationTestResult`, `ClassifierTestResult`,
`CriticTestResult` (the tests that train a model keep it as `trained`), `W1Bounds`, `SignBiases`,
`SignProductScanResult`, `CriticGapResult`, `LinearizationAttack`, `AttackTestResult`,
`SublevelInfimum`, `LinearizedRates`, `OscillationCheck`, `LowRankCriticalPoints`."""

from ..core.stability import drift_jacobian, max_stable_step
from .convergence import LinearizedRates, SublevelInfimum, linearized_rates, sublevel_infimum
from .dissipation import DissipationCheck, dissipation_check
from .landscape import MultiStartGradientFlow, hessian_spectra
from .low_rank import LowRankCriticalPoints, low_rank_critical_points
from .oscillation import OscillationCheck, oscillation_check
from .rates import RateFit, fit_rate
from .sign_mixtures import (
    W1Bounds,
    distance_to_orthants,
    independent_sign_coupling_cost,
    sign_mixture_w1_bounds,
)
from .sign_patterns import (
    AttackTestResult,
    CriticGapResult,
    LinearizationAttack,
    SignBiases,
    SignProductScanResult,
    linearization_attack,
    linearization_test,
    lipschitz_critic_test,
    seed_bit_table,
    sign_biases_by_order,
    sign_product_critic,
    sign_product_scan,
    subset_sign_biases,
    uncertified_subsets,
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
    "AttackTestResult",
    "ClassifierTestResult",
    "CriticGapResult",
    "CriticTestResult",
    "DissipationCheck",
    "LinearizationAttack",
    "LinearizedRates",
    "LogisticRegression",
    "LowRankCriticalPoints",
    "MultiStartGradientFlow",
    "OscillationCheck",
    "PermutationTestResult",
    "RateFit",
    "SignBiases",
    "SignProductScanResult",
    "SublevelInfimum",
    "W1Bounds",
    "classifier_two_sample_test",
    "dissipation_check",
    "distance_to_orthants",
    "drift_jacobian",
    "fit_rate",
    "hessian_spectra",
    "independent_sign_coupling_cost",
    "linearization_attack",
    "linearization_test",
    "linearized_rates",
    "lipschitz_critic_test",
    "low_rank_critical_points",
    "max_stable_step",
    "mmd_permutation_test",
    "oscillation_check",
    "seed_bit_table",
    "sign_biases_by_order",
    "sign_mixture_w1_bounds",
    "sign_product_critic",
    "sign_product_scan",
    "sublevel_infimum",
    "subset_sign_biases",
    "uncertified_subsets",
    "wgan_gp_critic_test",
]
