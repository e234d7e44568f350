"""Multi-start landscapes (flows/analysis/landscape.py) and the Gaussian-mixture MMD² closed form
(Alon, Globerson, Wiesel, arXiv:2110.13452, 2021). Float64 (conftest)."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows


def symmetric_mixture_mmd2(theta, theta_star, sigma):
    """The population MMD² of N(theta, I)/2 + N(-theta, I)/2 against the same mixture at theta*, Gaussian
    kernel of bandwidth sigma: with tau = sigma^2 + 2 and c = (1 + 2/sigma^2)^(-d/2),
    c [1 + e^{-2|theta|^2/tau}/2 + e^{-2|theta*|^2/tau}/2 - e^{-|theta - theta*|^2/(2 tau)} - e^{-|theta + theta*|^2/(2 tau)}],
    from E exp(-|Z|^2/(2 sigma^2)) = det(I + S/sigma^2)^(-1/2) exp(-m^T (S + sigma^2 I)^(-1) m / 2) for Z ~ N(m, S)."""
    d = theta.shape[0]
    tau, c = sigma**2 + 2, (1 + 2 / sigma**2) ** (-d / 2)
    sq = lambda v: v @ v
    return c * (1 + 0.5 * jnp.exp(-2 * sq(theta) / tau) + 0.5 * jnp.exp(-2 * sq(theta_star) / tau)
                - jnp.exp(-sq(theta - theta_star) / (2 * tau)) - jnp.exp(-sq(theta + theta_star) / (2 * tau)))


def mixture(theta, d):
    return jnp.array([0.5, 0.5]), jnp.stack([theta, -theta]), jnp.stack([jnp.eye(d), jnp.eye(d)])


def test_mixture_closed_form_matches_section_6_and_the_gaussian_one():
    """gaussian_mixture_mmd2 equals section 6's symmetric-mixture formula (< 1e-14), reduces to
    gaussian_mmd2 for one component each (< 1e-14), adds over a SumKernel, and matches a
    large-sample V-statistic of flows.discrepancies.mmd2 (4000 samples each; |error| < 5e-3)."""
    theta, theta_star, sigma = jnp.array([0.7, -0.4, 0.1]), jnp.array([2.0, 0.5, -1.0]), 1.3
    kernel = flows.kernels.GaussianKernel(sigma)
    value = flows.discrepancies.gaussian_mixture_mmd2(*mixture(theta, 3), *mixture(theta_star, 3), kernel)
    assert abs(float(value - symmetric_mixture_mmd2(theta, theta_star, sigma))) < 1e-14
    s1, s2 = jnp.diag(jnp.array([1.0, 0.0, 2.0])), jnp.array([[1.0, 0.3, 0.0], [0.3, 0.5, 0.0], [0.0, 0.0, 0.0]])
    one = flows.discrepancies.gaussian_mixture_mmd2(jnp.ones(1), theta[None], s1[None], jnp.ones(1), theta_star[None], s2[None], kernel)
    assert abs(float(one - flows.discrepancies.gaussian_mmd2(theta, s1, theta_star, s2, kernel))) < 1e-14
    summed = flows.kernels.SumKernel([flows.kernels.GaussianKernel(0.5), kernel], [2.0, 1.0])
    both = [flows.discrepancies.gaussian_mixture_mmd2(*mixture(theta, 3), *mixture(theta_star, 3), flows.kernels.GaussianKernel(b)) for b in (0.5, sigma)]
    assert abs(float(flows.discrepancies.gaussian_mixture_mmd2(*mixture(theta, 3), *mixture(theta_star, 3), summed)
                     - (2 * both[0] + both[1]))) < 1e-14
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    x = flows.targets.GaussianMixture.symmetric(theta).sample(k1, 4000)
    y = flows.targets.GaussianMixture.symmetric(theta_star).sample(k2, 4000)
    assert abs(float(flows.discrepancies.mmd2(x, y, kernel)) - float(value)) < 5e-3


def test_multistart_flow_is_gradient_descent_from_every_start():
    """GD on a batch equals GD per start with the NumPy gradient of a quadratic (exact after 40 steps,
    < 1e-12), the batch flow's dissipation identity holds (< 1e-12), and the ODE reaches the
    closed form x(t) = x* + e^(-tQ)(x0 - x*) (< 1e-6)."""
    q = np.array([[2.0, 0.5], [0.5, 1.0]])
    x_star = np.array([1.0, -2.0])
    objective = lambda x: 0.5 * (x - x_star) @ jnp.asarray(q) @ (x - x_star)
    flow = flows.analysis.MultiStartGradientFlow(objective)
    y0 = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (7, 2))) * 3
    traj = flows.simulate(flow, y0, t1=4.0, solver=flows.GradientDescent(step=0.1), ts=[0.0, 4.0],
                          diagnostics={**flow.diagnostics(), "dissipation_residual": flow.dissipation_residual})
    ref = y0.copy()
    for _ in range(40):
        ref = ref - 0.1 * (ref - x_star) @ q
    np.testing.assert_allclose(traj.final_state, ref, atol=1e-12)
    assert np.abs(traj.diagnostics["dissipation_residual"]).max() < 1e-12
    assert traj.diagnostics["objective"].shape == (2, 7)
    np.testing.assert_allclose(traj.diagnostics["gradient_norm"][-1], np.linalg.norm((ref - x_star) @ q, axis=1), atol=1e-12)
    ode = flows.simulate(flow, y0, t1=2.0, solver=diffrax.Tsit5(), ts=[0.0, 2.0],
                         stepsize_controller=diffrax.PIDController(rtol=1e-9, atol=1e-9))
    values, vectors = np.linalg.eigh(q)
    decay = vectors @ np.diag(np.exp(-2.0 * values)) @ vectors.T
    np.testing.assert_allclose(ode.final_state, x_star + (y0 - x_star) @ decay, atol=1e-6)


def test_hessian_spectra_find_the_ring_of_strict_saddles():
    """Section 6 at d = 2, sigma^2 = 2, theta* = (2, 0): the gradient vanishes at 0, on the ring
    |theta| = |theta*|/sqrt(3) orthogonal to theta*, and at +-theta*; the Hessian is negative
    definite at 0, has one negative and one positive eigenvalue on the ring, and is positive
    definite at the minima."""
    theta_star = jnp.array([2.0, 0.0])
    objective = lambda t: symmetric_mixture_mmd2(t, theta_star, np.sqrt(2.0))
    points = jnp.array([[0.0, 0.0], [0.0, 2 / np.sqrt(3)], [0.0, -2 / np.sqrt(3)], [2.0, 0.0], [-2.0, 0.0]])
    assert np.abs(np.asarray(jax.vmap(jax.grad(objective))(points))).max() < 1e-15
    spectra = flows.analysis.hessian_spectra(objective, points)
    assert np.all(spectra[0] < 0)
    assert np.all(spectra[1:3, 0] < -1e-3) and np.all(spectra[1:3, 1] > 1e-3)
    assert np.all(spectra[3:] > 1e-3)
    hessian = np.asarray(jax.hessian(objective)(points[1]))
    np.testing.assert_allclose(spectra[1], np.linalg.eigvalsh(hessian), atol=1e-14)


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="`objective`"):
        flows.analysis.MultiStartGradientFlow(3.0)
    flow = flows.analysis.MultiStartGradientFlow(lambda x: x @ x)
    with pytest.raises(ValueError, match="`y0`"):
        flows.simulate(flow, np.zeros(3), t1=1.0)
    with pytest.raises(ValueError, match="`points`"):
        flows.analysis.hessian_spectra(lambda x: x @ x, np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match="second mixture"):
        flows.discrepancies.gaussian_mixture_mmd2(jnp.ones(1), jnp.zeros((1, 2)), jnp.eye(2)[None], jnp.ones(2), jnp.zeros((1, 2)),
                                    jnp.eye(2)[None], flows.kernels.GaussianKernel(1.0))
    with pytest.raises(ValueError, match="weights"):
        flows.discrepancies.gaussian_mixture_mmd2(-jnp.ones(1), jnp.zeros((1, 2)), jnp.eye(2)[None], jnp.ones(1), jnp.zeros((1, 2)),
                                    jnp.eye(2)[None], flows.kernels.GaussianKernel(1.0))


def test_symmetric_mixture_generator_pushes_to_the_mixture():
    """SymmetricMixtureGenerator: x = sign(z_0) theta + z_1..d exactly, and 20000 samples have mean ~0
    and covariance ~I + theta theta^T (|error| < 0.06)."""
    theta = jnp.array([1.5, -0.5])
    generator = flows.parametric.SymmetricMixtureGenerator(theta)
    assert generator.latent_dim == 3
    z = np.asarray(jax.random.normal(jax.random.PRNGKey(4), (20000, 3)))
    x = np.asarray(flows.parametric.push_forward(generator, jnp.asarray(z)))
    np.testing.assert_allclose(x, np.sign(z[:, :1]) * np.asarray(theta) + z[:, 1:], atol=1e-14)
    assert np.abs(x.mean(0)).max() < 0.06
    assert np.abs(np.cov(x.T) - (np.eye(2) + np.outer(theta, theta))).max() < 0.06
    with pytest.raises(ValueError, match="`theta`"):
        flows.parametric.SymmetricMixtureGenerator(jnp.zeros((2, 2)))
