"""AdaGAN boosting (flows/games/adagan.py; Tolstikhin et al., NeurIPS 2017): the reweighting against its formula
and against a direct minimization on a discrete toy case, the mixture generator's sampling, the classifier's
weights on a missed mode, and the boosting loop's bookkeeping. Float64 throughout (conftest)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import optimize

import flows

P = np.full(6, 1 / 6)  # the data: uniform on 6 atoms
G = np.array([0.5, 0.3, 0.2, 0.0, 0.0, 0.0])  # the mixture so far misses atoms 3, 4, 5


def bisection_threshold(h, beta):
    """lambda with sum_i (lambda - (1 - beta) h_i)_+ / (beta N) = 1, by bisection (NumPy, 200 halvings)."""
    low, high = 0.0, 1.0 + (1 - beta) * h.max() + 1 / beta
    for _ in range(200):
        mid = (low + high) / 2
        low, high = (mid, high) if np.maximum(mid - (1 - beta) * h, 0).sum() / (beta * h.size) < 1 else (low, mid)
    return (low + high) / 2


@pytest.mark.parametrize("beta", [0.3, 0.6, 1.0])
def test_reweighting_matches_its_formula_on_a_discrete_toy_case(beta):
    """With h_i = g_i / p_i exact: the threshold is the bisection's (1e-12); the weights are
    (lambda* p_i - (1 - beta) g_i)_+ / beta (1e-12), sum to 1 and are largest on the missed atoms; and
    (1 - beta) G + beta w minimizes both KL(. || P) and 2 JSD(., P) over the simplex (SLSQP, to 1e-5):
    the optimal component does not depend on the f-divergence (Tolstikhin et al., Section 2)."""
    h = G / P
    threshold = flows.games.adagan_threshold(h, beta)
    assert threshold == pytest.approx(bisection_threshold(h, beta), abs=1e-12)
    weights = flows.games.adagan_weights(h, beta)
    np.testing.assert_allclose(weights, np.maximum(threshold * P - (1 - beta) * G, 0) / beta, atol=1e-12)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert weights[3:].min() >= weights[:3].max()
    if beta == 1.0:
        np.testing.assert_allclose(weights, P, atol=1e-12)
        return

    def kl(q):
        mix = (1 - beta) * G + beta * q
        return float(np.sum(np.where(mix > 0, mix * np.log(np.maximum(mix, 1e-300) / P), 0.0)))

    def js(q):
        mix = (1 - beta) * G + beta * q
        m = (mix + P) / 2
        return float(np.sum(np.where(mix > 0, mix * np.log(np.maximum(mix, 1e-300) / m), 0.0)) + np.sum(P * np.log(P / m)))

    for objective in (kl, js):
        found = optimize.minimize(objective, np.full(6, 1 / 6), method="SLSQP", bounds=[(0, 1)] * 6,
                                  constraints=[{"type": "eq", "fun": lambda q: q.sum() - 1}], options={"ftol": 1e-14, "maxiter": 500})
        np.testing.assert_allclose(found.x, weights, atol=1e-5)


def test_generator_mixture_samples_each_component_at_its_weight():
    """Three 2-D affine generators with offsets 0, 10, 20 and weights (0.2, 0.5, 0.3): over 4000 latents
    the fraction from each component is within 4 binomial standard errors of its
    weight, and each sample equals its component's output at the latent's last two coordinates."""
    generators = [flows.parametric.AffineGenerator(jnp.eye(2), jnp.full(2, 10.0 * i)) for i in range(3)]
    mixture = flows.games.GeneratorMixture(generators, [2.0, 5.0, 3.0])
    assert mixture.latent_dim == 3
    np.testing.assert_allclose(mixture.weights, [0.2, 0.5, 0.3])
    latents = jax.random.normal(jax.random.PRNGKey(0), (4000, 3))
    x = np.asarray(flows.parametric.push_forward(mixture, latents))
    component = np.asarray(jax.vmap(mixture.component)(latents))
    for i, w in enumerate([0.2, 0.5, 0.3]):
        assert abs(np.mean(component == i) - w) < 4 * np.sqrt(w * (1 - w) / 4000)
    np.testing.assert_allclose(x, np.asarray(latents[:, 1:]) + 10.0 * component[:, None], atol=1e-12)


def two_modes(key, n):
    """Half the points near (-3, 0), half near (3, 0) (std 0.3)."""
    centres = jnp.repeat(jnp.array([[-3.0, 0.0], [3.0, 0.0]]), n // 2, axis=0)
    return centres + 0.3 * jax.random.normal(key, (n, 2))


def make_adagan(components=3, steps=30):
    critic = flows.games.MLPCritic(2, width=16, depth=1, activation="relu", key=jax.random.PRNGKey(1))
    game = flows.games.JSGAN(critic, optax.adam(1e-2, b1=0.5), optax.adam(1e-2, b1=0.5))
    classifier = flows.games.MLPCritic(2, width=32, depth=2, activation="relu", key=jax.random.PRNGKey(2))
    return flows.games.AdaGAN(game, classifier, optax.adam(1e-2), components=components, steps=steps,
                              classifier_steps=300, batch_size=64)


def test_data_weights_move_to_the_mode_the_mixture_misses():
    """A mixture that puts all its mass on the left mode: after training the classifier, the data weights
    sum to 1 and the right mode's points carry more than 0.9 of the weight (beta = 0.5: the exact optimum
    gives them all of it, lambda* = 1)."""
    data = two_modes(jax.random.PRNGKey(3), 400)
    left = flows.parametric.AffineGenerator(0.3 * jnp.eye(2), jnp.array([-3.0, 0.0]))
    adagan = make_adagan()
    weights = adagan.data_weights(flows.games.GeneratorMixture([left], [1.0]), data, 0.5, key=jax.random.PRNGKey(4))
    assert weights.shape == (400,) and weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert weights[200:].sum() > 0.9


def test_fit_builds_the_mixture_with_its_schedule():
    """Three components of 30 generator steps each (beta_t = 1/t): the final mixture weights all components
    1/3 (1e-12); the first component trains on uniform weights, the others on weights summing to 1; each
    run saves 4 states from step 0 to 30 and the components are the runs' final parameters; with a constant
    mixture_weight 0.4 the weights are (0.36, 0.24, 0.4)."""
    data = two_modes(jax.random.PRNGKey(5), 200)
    kernel = flows.kernels.GaussianKernel(1.0)
    starts = [flows.parametric.AffineGenerator(jnp.eye(2), jnp.zeros(2)) for _ in range(3)]
    result = make_adagan().fit(starts, data, kernel, key=jax.random.PRNGKey(6), saves=4)
    assert result.mixture_weights == (1.0, 0.5, 1 / 3)
    np.testing.assert_allclose(result.mixture.weights, np.full(3, 1 / 3), atol=1e-12)
    assert result.data_weights.shape == (3, 200)
    np.testing.assert_allclose(result.data_weights[0], 1 / 200)
    np.testing.assert_allclose(result.data_weights.sum(axis=1), 1.0, atol=1e-12)
    for trajectory, component in zip(result.trajectories, result.components):
        np.testing.assert_allclose(trajectory.ts, [0.0, 10.0, 20.0, 30.0])
        np.testing.assert_array_equal(trajectory.ys.offset[-1], component.offset)
    constant = make_adagan()
    assert [constant.beta(t) for t in (1, 2, 3)] == [1.0, 0.5, 1 / 3]
    fixed = flows.games.AdaGAN(constant.game, constant.classifier, optax.adam(1e-2), components=3, steps=30, mixture_weight=0.4)
    alphas = np.zeros(0)
    for t in (1, 2, 3):
        alphas = np.append((1 - fixed.beta(t)) * alphas, fixed.beta(t))
    np.testing.assert_allclose(alphas, [0.36, 0.24, 0.4])


def test_bad_input():
    adagan = make_adagan()
    with pytest.raises(ValueError, match="density_ratios"):
        flows.games.adagan_weights(np.array([1.0, -1.0]), 0.5)
    with pytest.raises(ValueError, match="mixture_weight"):
        flows.games.adagan_weights(np.ones(3), 0.0)
    with pytest.raises(ValueError, match="mixture_weight"):
        flows.games.AdaGAN(adagan.game, adagan.classifier, optax.adam(1e-2), mixture_weight=1.5)
    with pytest.raises(ValueError, match="game"):
        flows.games.AdaGAN("game", adagan.classifier, optax.adam(1e-2))
    with pytest.raises(ValueError, match="generators"):
        adagan.fit([flows.parametric.AffineGenerator(jnp.eye(2), jnp.zeros(2))], two_modes(jax.random.PRNGKey(0), 10),
                   flows.kernels.GaussianKernel(1.0), key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="weights"):
        flows.games.GeneratorMixture([flows.parametric.AffineGenerator(jnp.eye(2), jnp.zeros(2))], [1.0, 2.0])
