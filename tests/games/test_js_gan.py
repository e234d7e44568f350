"""The JS-GAN game (flows/games/js_gan.py; Goodfellow et al., NeurIPS 2014): V(D, G) = E_P ln D + E_G ln(1 - D),
whose optimal discriminator D* = p / (p + q) gives -2 ln 2 + 2 JSD. Float64 throughout (conftest)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import integrate, stats

import flows

P, Q = stats.norm(0.0, 1.0), stats.norm(1.0, 1.5)  # data p and generated q, in one dimension


class LinearLogit(flows.games.AbstractCritic):
    """u(x) = w . x + c: a logit whose gradients have closed forms."""

    w: jax.Array
    c: jax.Array

    def __call__(self, x):
        return self.w @ x + self.c


class QuadraticLogit(flows.games.AbstractCritic):
    """u(x) = a x^2 + b x + c in one dimension: contains ln p - ln q for two 1-D Gaussians."""

    coefficients: jax.Array

    def __call__(self, x):
        a, b, c = self.coefficients
        return a * x[0] ** 2 + b * x[0] + c


def log_sigmoid_np(u):
    return -np.logaddexp(0.0, -u)


def quantile_nodes(dist, n):
    """n points at the quantiles (i + 1/2)/n: their mean is a midpoint rule for E_dist."""
    return dist.ppf((np.arange(n) + 0.5) / n)[:, None]


def jsd_by_quadrature():
    """JSD(p, q) = (KL(p || m) + KL(q || m)) / 2, m = (p + q)/2, by adaptive quadrature (SciPy)."""
    log_m = lambda x: np.logaddexp(P.logpdf(x), Q.logpdf(x)) - np.log(2.0)
    kl = lambda d: integrate.quad(lambda x: d.pdf(x) * (d.logpdf(x) - log_m(x)), -np.inf, np.inf,
                                  epsabs=1e-13, epsrel=1e-13)[0]
    return 0.5 * (kl(P) + kl(Q))


def optimal_logit_coefficients():
    """ln p - ln q = a x^2 + b x + c for p = N(0, 1), q = N(1, 1.5^2)."""
    return np.array([-0.5 + 1 / (2 * 1.5**2), -1 / 1.5**2, 1 / (2 * 1.5**2) + np.log(1.5)])


def make_game(critic, loss="non_saturating", n_critic=1):
    return flows.games.JSGAN(critic, optax.adam(1e-2), optax.adam(1e-2), n_critic=n_critic, loss=loss)


def test_value_matches_numpy_reference_and_stays_finite_for_extreme_logits():
    """V = mean ln sigmoid(u(y)) + mean ln(1 - sigmoid(u(x))) against NumPy (< 1e-12), including
    logits of size ~1000, where ln(1 - sigmoid(u)) computed naively is -inf."""
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    x, y = jax.random.normal(keys[0], (30, 2)), jax.random.normal(keys[1], (40, 2)) + 1.0
    for scale in (1.0, 400.0):
        critic = LinearLogit(scale * jnp.array([0.7, -1.3]), jnp.array(0.2))
        game = make_game(critic)
        weights = eqx.filter(critic, critic.trainable())
        u_x, u_y = np.asarray(x) @ np.asarray(critic.w) + 0.2, np.asarray(y) @ np.asarray(critic.w) + 0.2
        expected = np.mean(log_sigmoid_np(u_y)) + np.mean(log_sigmoid_np(-u_x))
        assert np.isfinite(expected)
        np.testing.assert_allclose(game.critic_objective(weights, x, y), expected, rtol=1e-12)
        np.testing.assert_allclose(flows.games.js_gan_value(critic, x, y), expected, rtol=1e-12)
        np.testing.assert_allclose(game.generator_objective(critic, x), -np.mean(log_sigmoid_np(u_x)), rtol=1e-12)
        np.testing.assert_allclose(make_game(critic, "minimax").generator_objective(critic, x),
                                   np.mean(log_sigmoid_np(-u_x)), rtol=1e-12)


def test_optimal_discriminator_value_is_minus_two_ln_two_plus_two_jsd():
    """At D* = p/(p + q) (logit ln p - ln q, a quadratic here) V equals -2 ln 2 + 2 JSD(p, q), JSD by
    SciPy quadrature; V is evaluated on 20,000 quantile nodes of p and q (midpoint rule, measured
    error 1.8e-5 against the quadrature: tolerance 5e-5). Any other discriminator scores lower."""
    n = 20_000
    y, x = jnp.asarray(quantile_nodes(P, n)), jnp.asarray(quantile_nodes(Q, n))
    optimal = QuadraticLogit(jnp.asarray(optimal_logit_coefficients()))
    best = -2 * np.log(2.0) + 2 * jsd_by_quadrature()
    assert abs(float(flows.games.js_gan_value(optimal, x, y)) - best) < 5e-5
    for delta in ([0.05, 0, 0], [0, -0.1, 0], [0, 0, 0.2]):
        other = QuadraticLogit(optimal.coefficients + jnp.asarray(delta))
        assert float(flows.games.js_gan_value(other, x, y)) < float(flows.games.js_gan_value(optimal, x, y)) - 1e-5


def test_discriminator_ascent_in_a_rich_enough_family_finds_the_optimum():
    """Quadratic logits contain ln p - ln q, and V is concave in their coefficients: Newton ascent
    on the game's `critic_objective` (autodiff gradient and Hessian) from D = 1/2 converges to the
    closed-form D* (coefficients within 0.01 on 2,000 quantile nodes) and V to -2 ln 2 + 2 JSD (< 1e-3)."""
    n = 2_000
    y, x = jnp.asarray(quantile_nodes(P, n)), jnp.asarray(quantile_nodes(Q, n))
    game = make_game(QuadraticLogit(jnp.zeros(3)))
    objective = lambda coefficients: game.critic_objective(QuadraticLogit(coefficients), x, y)
    newton = jax.jit(lambda c: c - jnp.linalg.solve(jax.hessian(objective)(c), jax.grad(objective)(c)))
    coefficients = jnp.zeros(3)
    assert abs(float(objective(coefficients)) + 2 * np.log(2.0)) < 1e-12  # D = 1/2: V = -2 ln 2
    for _ in range(20):
        coefficients = newton(coefficients)
    assert np.abs(np.asarray(jax.grad(objective)(coefficients))).max() < 1e-10
    np.testing.assert_allclose(coefficients, optimal_logit_coefficients(), atol=1e-2)
    assert abs(float(objective(coefficients)) - (-2 * np.log(2.0) + 2 * jsd_by_quadrature())) < 1e-3


@pytest.mark.parametrize("loss", ["non_saturating", "minimax"])
def test_autodiff_gradients_match_closed_forms(loss):
    """For u(x) = w . x + c: dV/dw = mean (1 - D(y)) y - mean D(x) x, dV/dc = mean (1 - D(y)) - mean D(x);
    the generator's sample gradient is -(1 - D(x_a)) w / n (non-saturating) or -D(x_a) w / n
    (minimax: it vanishes where D rejects the samples). Agreement < 1e-12."""
    keys = jax.random.split(jax.random.PRNGKey(1), 2)
    x, y = jax.random.normal(keys[0], (25, 2)) - 1.0, jax.random.normal(keys[1], (35, 2)) + 1.0
    critic = LinearLogit(jnp.array([1.1, 0.4]), jnp.array(-0.3))
    game = make_game(critic, loss)
    xn, yn, w = np.asarray(x), np.asarray(y), np.asarray(critic.w)
    d_x, d_y = 1 / (1 + np.exp(-(xn @ w - 0.3))), 1 / (1 + np.exp(-(yn @ w - 0.3)))
    grads = jax.grad(game.critic_objective)(eqx.filter(critic, critic.trainable()), x, y)
    np.testing.assert_allclose(grads.w, np.mean((1 - d_y)[:, None] * yn, 0) - np.mean(d_x[:, None] * xn, 0), rtol=1e-12)
    np.testing.assert_allclose(grads.c, np.mean(1 - d_y) - np.mean(d_x), rtol=1e-12)
    scale = (1 - d_x) if loss == "non_saturating" else d_x
    expected = -scale[:, None] * w[None, :] / x.shape[0]
    np.testing.assert_allclose(jax.grad(lambda x_: game.generator_objective(critic, x_))(x), expected, rtol=1e-12)


def test_short_game_on_simulate_moves_the_generator_to_the_data():
    """A 1-D affine generator N(b, a^2) from b = -1 against data N(2, 0.5^2) (400 samples), MLP
    discriminator, Adam, non-saturating loss (the minimax loss's gradients are checked above): after
    300 steps the generated mean is within 0.3 of 2 (it starts 3 away) and MMD² fell 10x; the run is
    reproducible given the key."""
    keys = jax.random.split(jax.random.PRNGKey(2), 4)
    data = 2.0 + 0.5 * jax.random.normal(keys[0], (400, 1))
    generator = flows.parametric.AffineGenerator(jnp.array([[1.0]]), jnp.array([-1.0]))
    flow = flows.parametric.ParametricMMDFlow(generator, data, flows.kernels.GaussianKernel(1.0),
                                   latents=jax.random.normal(keys[1], (256, 1)), fresh_latents=128)
    critic = flows.games.MLPCritic(1, width=16, depth=1, activation="tanh", key=keys[2], dtype=jnp.float64)
    game = flows.games.JSGAN(critic, optax.adam(2e-2), optax.adam(2e-2), n_critic=2)
    run = lambda: flows.simulate(flow, generator, t1=300.0, solver=game, key=keys[3], ts=[0.0, 150.0, 300.0],
                                 diagnostics={"mmd2": flow.mmd2})
    traj = run()
    assert traj.stats["num_steps"] == 300
    assert abs(float(traj.final_state.offset[0]) - 2.0) < 0.3
    assert traj.diagnostics["mmd2"][-1] < 0.1 * traj.diagnostics["mmd2"][0]
    np.testing.assert_array_equal(run().final_state.offset, traj.final_state.offset)


def test_bad_arguments_raise_value_error():
    critic = flows.games.MLPCritic(2, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="`loss`"):
        flows.games.JSGAN(critic, optax.adam(1e-3), optax.adam(1e-3), loss="wasserstein")
    with pytest.raises(ValueError, match="`n_critic`"):
        flows.games.JSGAN(critic, optax.adam(1e-3), optax.adam(1e-3), n_critic=0)
    with pytest.raises(ValueError, match="`critic`"):
        flows.games.JSGAN(lambda x: x.sum(), optax.adam(1e-3), optax.adam(1e-3))
    generator = flows.parametric.AffineGenerator(jnp.eye(2), jnp.zeros(2))
    exact = flows.parametric.ParametricMMDFlow(generator, flows.targets.Gaussian(jnp.ones(2)), flows.kernels.GaussianKernel(1.0))
    with pytest.raises(ValueError, match="has no samples: `flow` must hold target samples for JSGAN"):
        flows.simulate(exact, generator, t1=1.0, solver=flows.games.JSGAN(critic, optax.adam(1e-3), optax.adam(1e-3)))
