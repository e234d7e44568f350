"""The exact-critic limits of the MMD GAN games (flows/games/parameter_penalty.py,
flows/games/feature_critic.py; Mroueh & Nguyen, AISTATS 2021): with the critic ranging over the RKHS
of a random-feature kernel k_D, the critic objective is quadratic in its weights, its maximizer is a
linear solve built here from explicit Jacobians, and the generator step at that maximizer is the
PKGF step with kernel k_D (parameter penalty: penalty="parameter"; x-space penalty: penalty="x").
Float64 (conftest)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import flows

REG = 0.05
STEP = 0.3


def flat(tree):
    return np.asarray(ravel_pytree(tree)[0])


def problem(seed=0, m=8, n_target=10, features=12):
    """A small tanh MLP generator (k = 2 -> d = 2, 26 parameters), fixed latents and targets, a
    Gaussian kernel and the feature critic of its random-feature kernel."""
    keys = jax.random.split(jax.random.PRNGKey(seed), 5)
    generator = flows.parametric.MLPGenerator(2, 2, width=4, depth=1, activation="tanh", key=keys[0], dtype=jnp.float64)
    target = jax.random.normal(keys[1], (n_target, 2)) + jnp.array([1.0, -0.5])
    latents = jax.random.normal(keys[2], (m, 2))
    kernel = flows.kernels.GaussianKernel(1.3)
    critic = flows.games.KernelFeatureCritic(kernel, 2, features, key=keys[3], dtype=jnp.float64)
    return generator, target, latents, kernel, critic


@eqx.filter_jit
def explicit_pieces(generator, target, latents, critic):
    """phi-bar of the targets minus that of the generated samples, B = d/dtheta mean_a phi(G(z_a))
    (p, F) by forward-mode Jacobian, and the x-space Gram E_q[Dphi^T Dphi] (F, F)."""
    params, static = eqx.partition(generator, eqx.is_inexact_array)
    theta, unravel = ravel_pytree(params)
    mean_features = lambda t: jnp.mean(jax.vmap(lambda z: critic.feature_map(eqx.combine(unravel(t), static)(z)))(latents), 0)
    x = jax.vmap(generator)(latents)
    eta = jnp.mean(jax.vmap(critic.feature_map)(target), 0) - mean_features(theta)
    b = jax.jacfwd(mean_features)(theta).T  # (p, F)
    dphi = jax.vmap(jax.jacfwd(critic.feature_map))(x)  # (m, F, d)
    sobolev = jnp.einsum("afi,agi->fg", dphi, dphi) / x.shape[0]
    return theta, eta, b, dphi, sobolev


def test_feature_critic_is_the_feature_map_of_the_backend_kernel():
    """phi(x) . phi(y) = k_D(x, y) as the random-feature backend sums it (1e-12), and u_w = w . phi."""
    *_, kernel, critic = problem()
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    x, y, w = jax.random.normal(keys[0], (5, 2)), jax.random.normal(keys[1], (7, 2)), jax.random.normal(keys[2], (7,))
    by_features = jax.vmap(critic.feature_map)(x) @ (jax.vmap(critic.feature_map)(y).T @ w)
    by_backend = critic.backend().kernel_sum(kernel, x, y, w)
    np.testing.assert_allclose(by_features, by_backend, rtol=1e-12, atol=1e-14)
    weights = jax.random.normal(keys[0], critic.weights.shape)
    critic = eqx.tree_at(lambda c: c.weights, critic, weights)
    assert abs(float(critic(x[0]) - critic.feature_map(x[0]) @ weights)) < 1e-14


@eqx.filter_jit
def _step_at(game, flow, params, weights):
    """One game iteration whose critic starts at `weights` and does not move (critic SGD of rate 0)."""
    state = game.init(flow, params)
    state = (eqx.tree_at(lambda c: c.weights, state[0], weights),) + state[1:]
    return game.update(flow, jnp.asarray(0.0), params, state, None, None)[0]


def test_parameter_penalty_maximizer_gives_the_pkgf_velocity():
    """w* = (B^T B + lambda)^-1 eta maximizes the parameter-penalty objective (its gradient there,
    by autodiff through the game, < 1e-12) and B w* equals PKGF(penalty="parameter")'s velocity
    with kernel k_D (relative 1e-8); the game's generator step from w* is the PKGF-GD step."""
    generator, target, latents, kernel, critic = problem()
    theta, eta, b, _, _ = explicit_pieces(generator, target, latents, critic)
    w_star = jnp.linalg.solve(b.T @ b + REG * jnp.eye(b.shape[1]), eta)
    flow = flows.parametric.PKGF(generator, target, kernel, reg=REG, solve="dense", latents=latents, backend=critic.backend())
    params = flow.check_state(generator)
    velocity = flat(flow.velocity(params)[0])
    np.testing.assert_allclose(np.asarray(b @ w_star), velocity, rtol=1e-8, atol=1e-12)

    game = flows.games.ParameterPenaltyMMDGAN(critic, optax.sgd(STEP), optax.sgd(0.0), n_critic=1, reg=REG)
    weights = eqx.tree_at(lambda c: c.weights, eqx.filter(critic, critic.trainable()), w_star)
    objective = eqx.filter_jit(game.step_critic_objective(flow, params, latents, target))
    assert np.abs(np.asarray(eqx.filter_jit(jax.grad(objective))(weights, None).weights)).max() < 1e-12
    # the objective is the concave quadratic eta.w - |Bw|^2/2 - lambda|w|^2/2, checked at a second point
    w = jax.random.normal(jax.random.PRNGKey(3), w_star.shape)
    expected = eta @ w - 0.5 * jnp.sum((b @ w) ** 2) - 0.5 * REG * jnp.sum(w**2)
    assert abs(float(objective(eqx.tree_at(lambda c: c.weights, weights, w), None) - expected)) < 1e-12
    np.testing.assert_allclose(flat(_step_at(game, flow, params, w_star)), np.asarray(theta) + STEP * velocity, rtol=1e-8, atol=1e-12)


def test_x_penalty_maximizer_gives_the_x_penalty_pkgf_velocity():
    """MMDGAN with the feature critic: w* = (E_q[Dphi^T Dphi] + lambda)^-1 eta, and the generator
    velocity (1/m) sum_a J_a^T Dphi(x_a)^T w* = B_x w* equals PKGF(penalty="x") with kernel k_D
    (relative 1e-8); the game's step from w* is the PKGF-GD step."""
    generator, target, latents, kernel, critic = problem(seed=2)
    theta, eta, b, dphi, sobolev = explicit_pieces(generator, target, latents, critic)
    w_star = jnp.linalg.solve(sobolev + REG * jnp.eye(sobolev.shape[0]), eta)
    flow = flows.parametric.PKGF(generator, target, kernel, reg=REG, solve="dense", penalty="x", latents=latents,
                                 backend=critic.backend())
    params = flow.check_state(generator)
    velocity = flat(flow.velocity(params)[0])
    np.testing.assert_allclose(np.asarray(b @ w_star), velocity, rtol=1e-8, atol=1e-12)
    game = flows.games.MMDGAN(critic, optax.sgd(STEP), optax.sgd(0.0), n_critic=1, reg=REG, gradient_penalty=1.0)
    np.testing.assert_allclose(flat(_step_at(game, flow, params, w_star)), np.asarray(theta) + STEP * velocity, rtol=1e-8, atol=1e-12)


def test_a_converged_critic_makes_the_game_step_the_pkgf_step():
    """From a zero critic, 3000 SGD ascent steps of rate 1/L (L the objective's largest curvature)
    contract the error by (1 - lambda/L)^3000 < 1e-30: the game's generator step is then the
    PKGF-GD step to 1e-9, while one critic step leaves it far off (the game lags the flow)."""
    generator, target, latents, kernel, critic = problem(seed=4)
    theta, eta, b, _, _ = explicit_pieces(generator, target, latents, critic)
    curvature = float(jnp.linalg.eigvalsh(b.T @ b)[-1]) + REG
    flow = flows.parametric.PKGF(generator, target, kernel, reg=REG, solve="dense", latents=latents, backend=critic.backend())
    params = flow.check_state(generator)
    pkgf_step = np.asarray(theta) + STEP * flat(flow.velocity(params)[0])
    errors = {}
    for n_critic in (1, 3000):
        game = flows.games.ParameterPenaltyMMDGAN(critic, optax.sgd(STEP), optax.sgd(1.0 / curvature), n_critic=n_critic, reg=REG)
        new = flat(eqx.filter_jit(game.update)(flow, jnp.asarray(0.0), params, game.init(flow, params), None, None)[0])
        errors[n_critic] = np.linalg.norm(new - pkgf_step) / np.linalg.norm(pkgf_step - np.asarray(theta))
    assert errors[3000] < 1e-9 and errors[1] > 0.1, errors


def test_game_runs_through_simulate_with_fresh_latents():
    """simulate drives the game: the same key draws the same fresh latents as PKGF-GD does, the run is
    deterministic given the key, and MMD^2 of the affine generator falls."""
    keys = jax.random.split(jax.random.PRNGKey(5), 4)
    generator = flows.parametric.AffineGenerator(jnp.array([[0.5], [0.1]]), jnp.array([-0.5, 0.3]))
    target = jax.random.normal(keys[0], (64, 2)) * jnp.array([1.0, 0.3]) + jnp.array([1.0, 0.0])
    kernel = flows.kernels.GaussianKernel(1.0)
    critic = flows.games.KernelFeatureCritic(kernel, 2, 32, key=keys[1], dtype=jnp.float64)
    flow = flows.parametric.ParametricMMDFlow(generator, target, kernel, latents=jax.random.normal(keys[2], (32, 1)),
                                              fresh_latents=32, backend=critic.backend())
    game = flows.games.ParameterPenaltyMMDGAN(critic, optax.sgd(0.5), optax.sgd(0.5), n_critic=20, reg=1e-2, step=0.5)
    run = lambda: flows.simulate(flow, generator, t1=20.0, solver=game, key=keys[3], diagnostics={"mmd2": flow.mmd2},
                                 ts=[0.0, 20.0])
    first, second = run(), run()
    np.testing.assert_array_equal(flat(first.ys), flat(second.ys))
    assert first.stats["num_steps"] == 40
    assert first.diagnostics["mmd2"][-1] < 0.2 * first.diagnostics["mmd2"][0]


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda c: flows.games.ParameterPenaltyMMDGAN(c, optax.sgd(0.1), optax.sgd(0.1), reg=-1.0), "`reg`"),
        (lambda c: flows.games.ParameterPenaltyMMDGAN(c, optax.sgd(0.1), optax.sgd(0.1), n_critic=0), "`n_critic`"),
        (lambda c: flows.games.ParameterPenaltyMMDGAN("critic", optax.sgd(0.1), optax.sgd(0.1)), "`critic`"),
        (lambda c: flows.games.KernelFeatureCritic(flows.kernels.GaussianKernel(1.0), 2, 0, key=jax.random.PRNGKey(0)),
         "`features`"),
        (lambda c: flows.games.KernelFeatureCritic(flows.kernels.EnergyKernel(), 2, 8, key=jax.random.PRNGKey(0)),
         "spectral distribution"),
        (lambda c: flows.games.KernelFeatureCritic("gaussian", 2, 8, key=jax.random.PRNGKey(0)), "`kernel`"),
    ],
)
def test_bad_arguments_raise_value_error(make, match):
    critic = flows.games.KernelFeatureCritic(flows.kernels.GaussianKernel(1.0), 2, 8, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match=match):
        make(critic)
