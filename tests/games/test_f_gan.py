"""f-GAN games (flows/games/f_gan.py; Nowozin, Cseke, Tomioka, NeurIPS 2016): the variational bound at the
optimal critic T* = f'(p/q) against closed-form divergences between 1-D Gaussians (quadrature), the
conjugates and activations, the game's objectives, and a short run. Float64 throughout (conftest)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import integrate, special, stats

import flows
from flows.games import f_gan

MU_P, S_P, MU_Q, S_Q = 0.5, 1.0, 0.0, 1.2  # data P and generated Q (2 s_Q^2 > s_P^2: Pearson is finite)
P, Q = stats.norm(MU_P, S_P), stats.norm(MU_Q, S_Q)


def kl(m1, s1, m2, s2):
    return np.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5


def pearson():
    """int p^2 / q - 1 for Gaussians (completing the square in the exponent)."""
    c = 2 * S_Q**2 - S_P**2
    return S_Q**2 / (S_P * np.sqrt(c)) * np.exp((MU_P - MU_Q) ** 2 / c) - 1


def hellinger():
    """int (sqrt p - sqrt q)^2 = 2 - 2 int sqrt(pq) (the Bhattacharyya coefficient in closed form)."""
    bc = np.sqrt(2 * S_P * S_Q / (S_P**2 + S_Q**2)) * np.exp(-((MU_P - MU_Q) ** 2) / (4 * (S_P**2 + S_Q**2)))
    return 2 - 2 * bc


def two_jsd():
    """2 JSD(P, Q) = int p ln(2p/(p+q)) + q ln(2q/(p+q)): no closed form, by quadrature of the definition."""
    integrand = lambda x: P.pdf(x) * np.log(2 * P.pdf(x) / (P.pdf(x) + Q.pdf(x))) + Q.pdf(x) * np.log(2 * Q.pdf(x) / (P.pdf(x) + Q.pdf(x)))
    return integrate.quad(integrand, -30, 30, limit=200)[0]


INVERSE_ACTIVATIONS = {  # v with g_f(v) = t
    "kl": lambda t: t,
    "reverse_kl": lambda t: -np.log(-t),
    "pearson": lambda t: t,
    "hellinger": lambda t: -np.log(1 - t),
    "js": lambda t: special.logit(np.exp(t) / 2),
}
EXPECTED = {"kl": kl(MU_P, S_P, MU_Q, S_Q), "reverse_kl": kl(MU_Q, S_Q, MU_P, S_P), "pearson": pearson(),
            "hellinger": hellinger(), "js": two_jsd()}


@pytest.mark.parametrize("name", sorted(f_gan.F_DIVERGENCES))
def test_variational_bound_at_the_optimal_critic_is_the_divergence(name):
    """E_P T* - E_Q f*(T*) with T* = f'(p/q), by adaptive quadrature (error estimates < 1e-9), equals the
    closed-form D_f(P || Q) between N(0.5, 1) and N(0, 1.2^2) (KL, reverse KL = KL(Q || P), Pearson,
    squared Hellinger; 2 JSD by quadrature of its definition) to 1e-7; the game's form E_P g_f(v*) -
    E_Q f*(g_f(v*)) at v* = g_f^{-1}(T*) (the closed-form conjugate_of_activation) equals it too; and
    D_f = int q f(p/q) by quadrature."""
    divergence = f_gan.F_DIVERGENCES[name]
    as_np = lambda fn: (lambda x: float(fn(jnp.asarray(x))))
    ratio = lambda x: P.pdf(x) / Q.pdf(x)
    t_star = lambda x: as_np(divergence.derivative)(ratio(x))
    quad = lambda fn: integrate.quad(fn, -30, 30, limit=200, epsabs=1e-11)
    first, e1 = quad(lambda x: P.pdf(x) * t_star(x))
    second, e2 = quad(lambda x: Q.pdf(x) * as_np(divergence.conjugate)(t_star(x)))
    assert max(e1, e2) < 1e-9
    assert first - second == pytest.approx(EXPECTED[name], abs=1e-7)
    v_star = lambda x: INVERSE_ACTIVATIONS[name](t_star(x))
    game_first = quad(lambda x: P.pdf(x) * as_np(divergence.activation)(v_star(x)))[0]
    game_second = quad(lambda x: Q.pdf(x) * as_np(divergence.conjugate_of_activation)(v_star(x)))[0]
    assert game_first - game_second == pytest.approx(EXPECTED[name], abs=1e-7)
    direct = quad(lambda x: Q.pdf(x) * as_np(divergence.f)(ratio(x)))[0]
    assert direct == pytest.approx(EXPECTED[name], abs=1e-7)


@pytest.mark.parametrize("name", sorted(f_gan.F_DIVERGENCES))
def test_conjugates_derivatives_and_activations(name):
    """Fenchel-Young equality f*(f'(u)) = u f'(u) - f(u) on u in [0.05, 20]; f' is the autodiff derivative
    of f; f(1) = 0; the activation maps v in [-20, 20] into the domain of f* and f*(g_f(v)) in closed form
    equals conjugate(activation(v)) (1e-10 relative)."""
    divergence = f_gan.F_DIVERGENCES[name]
    u = jnp.linspace(0.05, 20.0, 400)
    np.testing.assert_allclose(divergence.conjugate(divergence.derivative(u)), u * divergence.derivative(u) - divergence.f(u),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(jax.vmap(jax.grad(divergence.f))(u), divergence.derivative(u), rtol=1e-12, atol=1e-12)
    assert float(divergence.f(jnp.asarray(1.0))) == pytest.approx(0.0, abs=1e-15)
    v = jnp.linspace(-20.0, 20.0, 401)
    t = divergence.activation(v)
    bound = {"reverse_kl": 0.0, "hellinger": 1.0, "js": np.log(2)}.get(name, np.inf)
    assert bool(jnp.all(t < bound))
    moderate = v[jnp.abs(v) <= 5]  # where conjugate(activation(v)) itself is still accurate in float64
    np.testing.assert_allclose(divergence.conjugate_of_activation(moderate), divergence.conjugate(divergence.activation(moderate)),
                               rtol=1e-10, atol=1e-12)
    assert bool(jnp.all(jnp.isfinite(divergence.conjugate_of_activation(v))))


class QuadraticCritic(flows.games.AbstractCritic):
    coefficients: jax.Array

    def __call__(self, x):
        a, b, c = self.coefficients
        return a * x[0] ** 2 + b * x[0] + c


def test_fgan_objectives():
    """The critic objective is variational_divergence_bound of the critic's outputs (1e-14); for JS it is
    2 ln 2 plus the original GAN value V(D, G) with D = sigmoid(v) (js_gan_value); the generator losses are
    -mean g_f(v) (non-saturating) and -mean f*(g_f(v)) (saddle)."""
    critic = QuadraticCritic(jnp.array([0.3, -0.5, 0.2]))
    x = jax.random.normal(jax.random.PRNGKey(0), (50, 1))
    y = 1.0 + jax.random.normal(jax.random.PRNGKey(1), (60, 1))
    adam = optax.adam(1e-3)
    vx, vy = jax.vmap(critic)(x), jax.vmap(critic)(y)
    weights = eqx.partition(critic, critic.trainable())[0]
    for name, divergence in f_gan.F_DIVERGENCES.items():
        game = flows.games.FGAN(critic, adam, adam, divergence=name)
        value = game.critic_objective(weights, x, y)
        assert float(value) == pytest.approx(float(jnp.mean(divergence.activation(vy)) - jnp.mean(divergence.conjugate_of_activation(vx))), abs=1e-14)
        assert float(value) == pytest.approx(float(flows.games.variational_divergence_bound(divergence, vy, vx)), abs=1e-14)
        assert float(game.generator_objective(critic, x)) == pytest.approx(-float(jnp.mean(divergence.activation(vx))), abs=1e-14)
        saddle = flows.games.FGAN(critic, adam, adam, divergence=name, loss="saddle")
        assert float(saddle.generator_objective(critic, x)) == pytest.approx(-float(jnp.mean(divergence.conjugate_of_activation(vx))), abs=1e-14)
    js = flows.games.FGAN(critic, adam, adam, divergence="js")
    assert float(js.critic_objective(weights, x, y)) == pytest.approx(
        2 * np.log(2) + float(flows.games.js_gan_value(critic, x, y)), abs=1e-13)


OPTIMAL_QUADRATIC = {  # v* = g_f^{-1}(f'(p/q)) for P = N(0.5, 1), Q = N(0, 1.2^2): ln p/q = a x^2 + b x + c
    "kl": lambda a, b, c: (a, b, c + 1),
    "reverse_kl": lambda a, b, c: (a, b, c),
    "hellinger": lambda a, b, c: (a / 2, b / 2, c / 2),
    "js": lambda a, b, c: (a, b, c),
}


@pytest.mark.parametrize("name", sorted(f_gan.F_DIVERGENCES))
def test_trained_critic_reaches_the_divergence_from_samples(name):
    """The critic objective on 4000 samples of each side, maximized over quadratic critics (Adam, 3000 steps):
    where v* is quadratic (KL, reverse KL, Hellinger, JS: v* is ln p/q up to an affine map) the maximum is
    D_f within 3 standard errors of the sample means (plus 0.005 for the fitted coefficients' optimism) and
    the coefficients are v*'s within 0.1; for Pearson (v* = 2(p/q - 1) is not quadratic) it is a lower
    bound: between 0 and D_f + 3 standard errors."""
    x = MU_Q + S_Q * jax.random.normal(jax.random.PRNGKey(5), (4000, 1))
    y = MU_P + S_P * jax.random.normal(jax.random.PRNGKey(6), (4000, 1))
    game = flows.games.FGAN(QuadraticCritic(jnp.zeros(3)), optax.adam(1e-2), optax.adam(1e-2), divergence=name)
    optimizer = optax.adam(2e-2)

    @jax.jit
    def step(carry, _):
        w, state = carry
        grads = jax.grad(lambda w_: -game.critic_objective(w_, x, y))(w)
        updates, state = optimizer.update(grads, state, w)
        return (optax.apply_updates(w, updates), state), None

    critic = QuadraticCritic(jnp.zeros(3))
    (critic, _), _ = jax.lax.scan(step, (critic, optimizer.init(critic)), None, length=3000)
    value = float(game.critic_objective(critic, x, y))
    vx, vy = jax.vmap(critic)(x), jax.vmap(critic)(y)
    divergence = f_gan.F_DIVERGENCES[name]
    error = float(jnp.sqrt(jnp.var(divergence.activation(vy)) / 4000 + jnp.var(divergence.conjugate_of_activation(vx)) / 4000))
    if name == "pearson":
        assert 0 < value < EXPECTED[name] + 3 * error
        return
    assert value == pytest.approx(EXPECTED[name], abs=3 * error + 0.005)
    a, b = -1 / (2 * S_P**2) + 1 / (2 * S_Q**2), MU_P / S_P**2 - MU_Q / S_Q**2
    c = -(MU_P**2) / (2 * S_P**2) + MU_Q**2 / (2 * S_Q**2) + np.log(S_Q / S_P)
    np.testing.assert_allclose(critic.coefficients, OPTIMAL_QUADRATIC[name](a, b, c), atol=0.1)


def test_fgan_runs_on_the_game_loop_and_moves_the_generator_to_the_data():
    """A 1-D affine generator N(b, a^2) from N(0, 1), data N(1, 0.5^2) (400 samples), quadratic critic,
    Adam (lr 0.02) for both players, 1000 steps of 128 fresh latents through `simulate`: the game
    oscillates (as GAN games do), but for every divergence the generator's offset, started at 0, has
    moved to the data: its average over steps 100..1000 lies within 0.3 of the data mean 1."""
    data = 1.0 + 0.5 * jax.random.normal(jax.random.PRNGKey(2), (400, 1))
    generator = flows.parametric.AffineGenerator(jnp.ones((1, 1)), jnp.zeros(1))
    flow = flows.parametric.ParametricMMDFlow(generator, data, flows.kernels.GaussianKernel(1.0),
                                              latents=jax.random.normal(jax.random.PRNGKey(3), (128, 1)), fresh_latents=128)
    for name in f_gan.F_DIVERGENCES:
        game = flows.games.FGAN(QuadraticCritic(jnp.zeros(3)), optax.adam(2e-2), optax.adam(2e-2), divergence=name)
        trajectory = flows.simulate(flow, generator, t1=1000.0, ts=np.linspace(0.0, 1000.0, 101), solver=game,
                                    key=jax.random.PRNGKey(4), diagnostics={})
        assert abs(float(np.mean(trajectory.ys.offset[10:, 0])) - 1.0) < 0.3, name


def test_bad_input():
    critic = QuadraticCritic(jnp.zeros(3))
    with pytest.raises(ValueError, match="divergence"):
        flows.games.FGAN(critic, optax.adam(1e-3), optax.adam(1e-3), divergence="tv")
    with pytest.raises(ValueError, match="loss"):
        flows.games.FGAN(critic, optax.adam(1e-3), optax.adam(1e-3), loss="minimax")
    with pytest.raises(ValueError, match="critic"):
        flows.games.FGAN("critic", optax.adam(1e-3), optax.adam(1e-3))
    with pytest.raises(ValueError, match="divergence"):
        flows.games.variational_divergence_bound("kl", jnp.zeros(3), jnp.zeros(3))
