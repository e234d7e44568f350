"""One result style for the post-hoc analyses: frozen dataclasses with documented fields, whose
values are what they say (the dissipation check against its closed form on an exponential energy;
the tests that train a model hold the model their statistic was computed with)."""

import dataclasses
import math

import jax
import numpy as np
import pytest

import flows

RESULTS = (
    "RateFit", "DissipationCheck", "PermutationTestResult", "ClassifierTestResult", "CriticTestResult", "W1Bounds",
    "SignBiases", "SignProductScanResult", "CriticGapResult", "LinearizationAttack", "AttackTestResult",
    "SublevelInfimum", "LinearizedRates", "OscillationCheck", "LowRankCriticalPoints",
)


@pytest.mark.parametrize("name", RESULTS)
def test_results_are_frozen_dataclasses_with_documented_fields(name):
    cls = getattr(flows.analysis, name)
    assert name in flows.analysis.__all__
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    for field in dataclasses.fields(cls):
        assert f"`{field.name}`" in cls.__doc__, f"{name}.{field.name} is not documented"


def test_dissipation_check_against_the_trapezoid_closed_form():
    """F = e^{-2t} and D = 2e^{-2t} satisfy dF/dt = -D exactly. On a grid of step h the trapezoid rule
    gives h(D_k + D_{k+1})/2 = e^{-2t_k} h(1 + e^{-2h}) against the exact drop e^{-2t_k}(1 - e^{-2h}), so
    every interval's relative error, hence the relative residual, is h coth(h) - 1 (~ h²/3 = 3.3e-3 at
    h = 0.1). Rounding: the residual is a difference of terms equal to ~3e-3 relative, so ~1e-13; 1e-9."""
    h = 0.1
    ts = np.arange(41) * h
    traj = flows.Trajectory(ts=ts, ys=np.zeros((41, 1, 1)), diagnostics={"energy": np.exp(-2 * ts), "dissipation": 2 * np.exp(-2 * ts)})
    check = flows.analysis.dissipation_check(traj)
    assert isinstance(check, flows.analysis.DissipationCheck)
    assert check.relative_residual == pytest.approx(h / math.tanh(h) - 1, rel=1e-9)
    np.testing.assert_allclose(check.energy_drops, np.exp(-2 * ts[1:]) - np.exp(-2 * ts[:-1]), rtol=1e-14)
    np.testing.assert_allclose(check.integrated_dissipation, -np.exp(-2 * ts[:-1]) * h * (1 + np.exp(-2 * h)), rtol=1e-13)
    flat = flows.Trajectory(ts=ts, ys=np.zeros((41, 1, 1)), diagnostics={"energy": np.ones(41), "dissipation": np.zeros(41)})
    assert flows.analysis.dissipation_check(flat).relative_residual == 0.0
    with pytest.raises(ValueError, match="no diagnostic 'dissipation'"):
        flows.analysis.dissipation_check(flows.Trajectory(ts=ts, ys=np.zeros((41, 1, 1)), diagnostics={"energy": np.ones(41)}))


def _samples(key, n, shift):
    k_train, k_test = jax.random.split(key)
    return jax.random.normal(k_train, (n, 2)) + shift, jax.random.normal(k_test, (n, 2)) + shift


def test_trained_models_are_the_ones_the_statistics_come_from():
    """The classifier test's accuracy is the balanced held-out accuracy of its `trained` classifier, and
    the critic test's statistic is the held-out gap of its `trained` critic (recomputed here, float64:
    the same sums in another order, 1e-12); both trained models differ from the initial ones."""
    keys = jax.random.split(jax.random.PRNGKey(7), 5)
    (x_train, x_test), (y_train, y_test) = _samples(keys[0], 64, 0.7), _samples(keys[1], 64, 0.0)
    run = dict(key=keys[2], steps=20, batch_size=32, learning_rate=1e-2)
    start = flows.analysis.LogisticRegression(2, "linear")
    classifier = flows.analysis.classifier_two_sample_test(start, x_train, y_train, x_test, y_test, **run)
    logits = lambda z: np.asarray(jax.vmap(classifier.trained)(z))
    accuracy = ((logits(x_test) > 0).mean() + (logits(y_test) <= 0).mean()) / 2
    assert classifier.accuracy == pytest.approx(accuracy, abs=1e-12)
    assert float(np.abs(np.asarray(classifier.trained.coefficients)).max()) > 0  # it moved from beta = 0
    assert classifier.z_score == pytest.approx((classifier.accuracy - 0.5) / classifier.standard_error, rel=1e-12)

    initial = flows.games.MLPCritic(2, width=8, depth=1, key=keys[3])
    critic = flows.analysis.wgan_gp_critic_test(initial, x_train, y_train, x_test, y_test, num_permutations=99, **run)
    assert isinstance(critic, flows.analysis.CriticTestResult)
    values = lambda z: np.asarray(jax.vmap(critic.trained)(z), np.float64)
    assert critic.statistic == pytest.approx(values(x_test).mean() - values(y_test).mean(), abs=1e-12)
    assert not np.allclose(values(x_test), np.asarray(jax.vmap(initial)(x_test)))
    assert critic.z_score == pytest.approx((critic.statistic - critic.null_mean) / critic.null_std, rel=1e-12)
    assert 1 / 100 <= critic.p_value <= 1 and round(critic.p_value * 100) == pytest.approx(critic.p_value * 100, abs=1e-9)


def test_permutation_and_w1_results_fields():
    """The permutation test's z-score is (statistic - null mean) / null std; the W1 bounds' upper field is
    the closed form U_m and the lower one's standard error shrinks as 1/sqrt(num_samples)."""
    x, y = jax.random.normal(jax.random.PRNGKey(0), (40, 2)), jax.random.normal(jax.random.PRNGKey(1), (40, 2))
    test = flows.analysis.mmd_permutation_test(x, y, flows.kernels.GaussianKernel(1.0), key=jax.random.PRNGKey(2), num_permutations=50)
    assert test.z_score == pytest.approx((test.statistic - test.null_mean) / test.null_std, rel=1e-12)
    patterns = np.array([[1, 1, 1], [-1, -1, -1]])
    small, large = (flows.analysis.sign_mixture_w1_bounds(patterns, key=jax.random.PRNGKey(3), num_samples=n, dtype=np.float64)
                    for n in (1000, 16000))
    assert small.upper == large.upper == flows.analysis.independent_sign_coupling_cost(3)
    assert large.lower_standard_error == pytest.approx(small.lower_standard_error / 4, rel=0.1)  # sample std within 10 %
    with pytest.raises(dataclasses.FrozenInstanceError):
        small.lower = 0.0
