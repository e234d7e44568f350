"""The WGAN-GP game (flows/games/wgan_gp.py; Gulrajani et al., NeurIPS 2017): its gradient penalty, its critic objective's gradient
against an independent NumPy reference, and a short game on an affine generator. Float64 (conftest)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flows


class LinearCritic(flows.games.AbstractCritic):
    """u(x) = w . x: its gradient is w everywhere, so the penalty is lambda (|w| - 1)^2 exactly."""

    w: jax.Array

    def __call__(self, x):
        return self.w @ x


def test_penalty_and_objective_of_a_linear_critic_by_hand():
    """u = w.x: L = w.(mean y - mean x) - lambda (|w| - 1)^2 whatever the interpolates (< 1e-13)."""
    w = jnp.array([0.6, -1.7, 0.2])
    game = flows.games.WGANGP(LinearCritic(w), optax.sgd(0.1), optax.sgd(0.1), gradient_penalty=3.0)
    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    x, y = jax.random.normal(keys[0], (20, 3)), jax.random.normal(keys[1], (30, 3)) + 2.0
    weights = eqx.filter(game.critic, game.critic.trainable())
    expected = float(w @ (y.mean(0) - x.mean(0)) - 3.0 * (np.linalg.norm(w) - 1) ** 2)
    assert abs(float(game.critic_objective(weights, x, y, keys[2])) - expected) < 1e-13


def test_interpolates_lie_on_segments_and_need_a_key():
    """Each interpolate is eps x_i + (1 - eps) y_j with eps in [0, 1] and y_j a target sample
    (paired in order for equal batch sizes); the same key gives the same interpolates."""
    game = flows.games.WGANGP(LinearCritic(jnp.ones(2)), optax.sgd(0.1), optax.sgd(0.1))
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    x, y = jax.random.normal(keys[0], (50, 2)), jax.random.normal(keys[1], (50, 2)) + 3.0
    xi = np.asarray(game.interpolates(x, y, keys[2]))
    eps = np.sum((xi - y) * (x - y), 1) / np.sum((x - y) ** 2, 1)
    np.testing.assert_allclose(xi, eps[:, None] * x + (1 - eps[:, None]) * y, atol=1e-12)
    assert eps.min() >= 0 and eps.max() <= 1 and eps.std() > 0.2
    np.testing.assert_array_equal(xi, game.interpolates(x, y, keys[2]))
    y_long = jnp.concatenate([y, y + 10.0])
    xi = np.asarray(game.interpolates(x, y_long, keys[2]))
    # every interpolate is on a segment from x_i to SOME target sample
    cross = lambda u, v: abs(u[0] * v[1] - u[1] * v[0])
    residual = [min(cross(p - xa, yb - xa) for yb in np.asarray(y_long)) for p, xa in zip(xi, np.asarray(x))]
    assert max(residual) < 1e-10
    with pytest.raises(ValueError, match="`key` is required"):
        game.interpolates(x, y, None)


def numpy_wgan_gp_gradient(freq, phase, w, x, y, xi, lam):
    """Gradient in w of mean_y u - mean_x u - lam mean (|grad u(xi)| - 1)^2 for the random-feature
    critic u(x) = sqrt(2/D) sum_r w_r cos(omega_r . x + b_r), by hand."""
    D = w.shape[0]
    c = np.sqrt(2.0 / D)
    feats = lambda p: c * np.cos(p @ freq.T + phase)  # (n, D)
    s = np.sin(xi @ freq.T + phase)  # (n, D)
    g = -c * (s * w) @ freq  # grad_x u at xi, (n, d)
    norms = np.linalg.norm(g, axis=1)
    dg_dw = -c * s[:, :, None] * freq[None]  # (n, D, d)
    dpen = np.mean(2 * (norms - 1)[:, None] * np.einsum("nd,nrd->nr", g / norms[:, None], dg_dw), axis=0)
    return feats(y).mean(0) - feats(x).mean(0) - lam * dpen


def test_critic_objective_gradient_matches_numpy_reference():
    """Autodiff of the critic objective (random-feature critic, nonzero weights) equals the
    hand-derived NumPy gradient on the same interpolates (relative error < 1e-12)."""
    keys = jax.random.split(jax.random.PRNGKey(2), 5)
    critic = flows.games.RandomFeatureCritic(2, 40, 1.3, key=keys[0], dtype=jnp.float64)
    critic = eqx.tree_at(lambda c: c.weights, critic, jax.random.normal(keys[1], (40,)))
    game = flows.games.WGANGP(critic, optax.sgd(0.1), optax.sgd(0.1), gradient_penalty=10.0)
    x, y = jax.random.normal(keys[2], (25, 2)), jax.random.normal(keys[3], (25, 2)) + 1.0
    weights = eqx.filter(critic, critic.trainable())
    grad = np.asarray(jax.grad(game.critic_objective)(weights, x, y, keys[4]).weights)
    xi = np.asarray(game.interpolates(x, y, keys[4]))
    ref = numpy_wgan_gp_gradient(np.asarray(critic.frequencies), np.asarray(critic.phases), np.asarray(critic.weights),
                                 np.asarray(x), np.asarray(y), xi, 10.0)
    assert np.abs(grad - ref).max() < 1e-12 * np.abs(ref).max()


def test_short_game_moves_the_generator_to_the_target():
    """A 300-step WGAN-GP game (MLP critic) takes N(b, AA^T) from b = 0 to within 0.5 of the
    target mean (3, -2) (from 3.6 away), deterministically given the key."""
    keys = jax.random.split(jax.random.PRNGKey(3), 4)
    mean = jnp.array([3.0, -2.0])
    target = jax.random.normal(keys[0], (256, 2)) + mean
    generator = flows.parametric.AffineGenerator(jnp.eye(2), jnp.zeros(2))
    flow = flows.parametric.ParametricMMDFlow(generator, target, flows.kernels.GaussianKernel(1.0),
                                   latents=jax.random.normal(keys[1], (64, 2)), fresh_latents=64)
    critic = flows.games.MLPCritic(2, width=32, depth=2, key=keys[2], dtype=jnp.float64)
    game = flows.games.WGANGP(critic, optax.adam(2e-2, b1=0.5, b2=0.9), optax.adam(2e-3, b1=0.5, b2=0.9), n_critic=5)
    run = lambda: flows.simulate(flow, generator, t1=300.0, solver=game, key=keys[3], ts=[0.0, 300.0],
                                 diagnostics={"mmd2": flow.mmd2})
    traj = run()
    assert np.linalg.norm(np.asarray(traj.final_state.offset) - np.asarray(mean)) < 0.5
    np.testing.assert_array_equal(np.asarray(traj.final_state.offset), np.asarray(run().final_state.offset))


@pytest.mark.parametrize(
    "kwargs, match",
    [({"gradient_penalty": -1.0}, "`gradient_penalty`"), ({"n_critic": 0}, "`n_critic`"), ({"step": 0.0}, "`step`")],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flows.games.WGANGP(LinearCritic(jnp.ones(2)), optax.sgd(0.1), optax.sgd(0.1), **kwargs)
