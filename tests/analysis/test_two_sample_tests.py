"""Two-sample tests (the distinguishers of Chen, Li, Li, Meka, ICLR 2022): the MMD permutation test against flows.discrepancies.mmd2, classifier and
WGAN-GP critic tests on problems with a known answer, the gradient penalty in closed form."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows

KEYS = jax.random.split(jax.random.PRNGKey(0), 8)


def gaussian(key, n, d=3, shift=0.0, scale=1.0):
    return shift + scale * jax.random.normal(key, (n, d))


def test_mmd_permutation_test_statistic_and_p_values():
    """The statistic is flows.discrepancies.mmd2's V-statistic (to 1e-12); a 1-SD mean shift gets the smallest possible
    p-value 1/(B+1); equal laws get p > 0.05 here; p-values are (1 + count)/(B + 1)."""
    x, y = gaussian(KEYS[0], 100), gaussian(KEYS[1], 120)
    kernel = flows.kernels.GaussianKernel(1.5)
    same = flows.analysis.mmd_permutation_test(x, y, kernel, key=KEYS[2], num_permutations=199)
    assert same.statistic == pytest.approx(float(flows.discrepancies.mmd2(x, y, kernel)), rel=1e-12)
    assert same.p_value > 0.05 and round(same.p_value * 200) == pytest.approx(same.p_value * 200, abs=1e-9)
    shifted = flows.analysis.mmd_permutation_test(x + 1.0, y, kernel, key=KEYS[2], num_permutations=199)
    assert shifted.p_value == pytest.approx(1 / 200) and shifted.z_score > 3
    with pytest.raises(ValueError, match="num_permutations"):
        flows.analysis.mmd_permutation_test(x, y, kernel, key=KEYS[2], num_permutations=0)


def test_classifier_tests_see_what_their_features_allow():
    """A linear logistic classifier detects a mean shift (> 3 SE above chance) but not a variance change;
    quadratic features detect the variance change; an MLP classifier stays within 3 SE of chance when both
    samples are N(0, I). SE = 1/(2 sqrt(N_P + N_Q)) for balanced test sets."""
    n, d = 300, 3
    y_train, y_test = gaussian(KEYS[0], n, d), gaussian(KEYS[1], n, d)
    run = dict(key=KEYS[2], steps=150, batch_size=128, learning_rate=1e-2)
    shift = flows.analysis.classifier_two_sample_test(flows.analysis.LogisticRegression(d, "linear"), gaussian(KEYS[3], n, d, 0.5),
                                             y_train, gaussian(KEYS[4], n, d, 0.5), y_test, **run)
    assert shift.standard_error == pytest.approx(0.5 / np.sqrt(2 * n), rel=1e-12) and shift.z_score > 3
    wide_train, wide_test = gaussian(KEYS[3], n, d, scale=1.6), gaussian(KEYS[4], n, d, scale=1.6)
    linear = flows.analysis.classifier_two_sample_test(flows.analysis.LogisticRegression(d, "linear"), wide_train, y_train, wide_test, y_test, **run)
    quadratic = flows.analysis.classifier_two_sample_test(flows.analysis.LogisticRegression(d, "quadratic"), wide_train, y_train, wide_test, y_test, **run)
    assert abs(linear.z_score) < 3 < quadratic.z_score
    mlp = flows.games.MLPCritic(d, width=32, depth=2, key=KEYS[5])
    null = flows.analysis.classifier_two_sample_test(mlp, gaussian(KEYS[3], n, d), y_train, gaussian(KEYS[4], n, d), y_test, **run)
    assert abs(null.z_score) < 3
    with pytest.raises(ValueError, match="y_test"):
        flows.analysis.classifier_two_sample_test(mlp, y_train, y_train, y_test, y_test[:, :2], **run)


def test_gradient_penalty_closed_form_and_wgan_gp_critic_test():
    """For u(x) = a.x the penalty is (|a| - 1)^2 exactly; a trained WGAN-GP critic separates a mean shift
    (permutation p = 1/(B+1), positive held-out gap) but not equal laws (|z| < 3)."""
    a = jnp.array([0.3, -1.2, 2.0])
    x, y = gaussian(KEYS[0], 50), gaussian(KEYS[1], 50)
    assert float(flows.games.gradient_penalty(lambda p: p @ a, x, y, KEYS[2])) == pytest.approx((np.linalg.norm(a) - 1) ** 2, rel=1e-12)
    n, d = 300, 3
    run = dict(key=KEYS[2], steps=150, batch_size=128, learning_rate=3e-3, num_permutations=199)
    critic = flows.games.MLPCritic(d, width=32, depth=2, key=KEYS[5])
    y_train, y_test = gaussian(KEYS[0], n, d), gaussian(KEYS[1], n, d)
    shifted = flows.analysis.wgan_gp_critic_test(critic, gaussian(KEYS[3], n, d, 0.8), y_train, gaussian(KEYS[4], n, d, 0.8), y_test, **run)
    assert shifted.p_value == pytest.approx(1 / 200) and shifted.statistic > 0
    same = flows.analysis.wgan_gp_critic_test(critic, gaussian(KEYS[3], n, d), y_train, gaussian(KEYS[4], n, d), y_test, **run)
    assert same.p_value > 0.01 and abs(same.z_score) < 3
