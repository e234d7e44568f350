"""SVGD (Liu and Wang, NeurIPS 2016), KSD descent (Korba et al., ICML 2021), the sliced Wasserstein
(Liutkus et al., ICML 2019) and Sinkhorn (Feydy et al., AISTATS 2019) flows, against closed forms and
independent float64 NumPy references."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows import targets as T


def test_svgd_recovers_the_mean_and_covariance_of_a_gaussian():
    """200 particles from N(0, I) to N(m, S): after t = 30 (Tsit5) the sample mean is within 0.05
    of m and the covariance within 10% (relative Frobenius), and KSD^2 fell 1000x."""
    m, cov = np.array([2.0, -1.0]), np.array([[1.0, 0.5], [0.5, 0.8]])
    x0 = jax.random.normal(jax.random.PRNGKey(0), (200, 2))
    traj = flows.simulate(flows.particle.SVGDFlow(T.Gaussian(m, cov), flows.kernels.GaussianKernel(1.0)), x0, t1=30.0, ts=[0.0, 30.0])
    x = np.asarray(traj.final_state)
    assert np.abs(x.mean(0) - m).max() < 0.05
    assert np.linalg.norm(np.cov(x.T) - cov) / np.linalg.norm(cov) < 0.1
    assert traj.diagnostics["ksd2"][-1] < 1e-3 * traj.diagnostics["ksd2"][0]


def stein_kernel_reference(x, score, kernel_name, c):
    """V-statistic KSD^2 from the Stein kernel written out for each pair (NumPy, float64)."""
    diff = x[:, None, :] - x[None, :, :]
    r2 = (diff**2).sum(-1)
    d = x.shape[1]
    if kernel_name == "gaussian":  # k = exp(-r^2 / (2 c^2))
        k = np.exp(-r2 / (2 * c**2))
        grad_x = -diff / c**2 * k[..., None]
        trace = k * (d / c**2 - r2 / c**4)
    else:  # IMQ k = (c^2 + r^2)^(-1/2)
        k = (c**2 + r2) ** -0.5
        grad_x = -diff * ((c**2 + r2) ** -1.5)[..., None]
        # tr grad_x grad_y k = d (c^2 + r^2)^(-3/2) - 3 r^2 (c^2 + r^2)^(-5/2)
        trace = d * (c**2 + r2) ** -1.5 - 3 * r2 * (c**2 + r2) ** -2.5
    grad_y = -grad_x
    s_i, s_j = score[:, None, :], score[None, :, :]
    stein = (s_i * s_j).sum(-1) * k + (s_i * grad_y).sum(-1) + (grad_x * s_j).sum(-1) + trace
    return stein.mean()


@pytest.mark.parametrize("kernel_name, kernel", [("gaussian", flows.kernels.GaussianKernel(0.9)), ("imq", flows.kernels.IMQKernel(1.3))])
def test_ksd2_matches_the_stein_kernel_reference(kernel_name, kernel):
    target = T.GaussianMixture([[0.0, 0.0], [2.0, 1.0]], [1.0, 0.6])
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (30, 2))) * 1.5
    score = np.asarray(target.score(x))
    c = 0.9 if kernel_name == "gaussian" else 1.3
    np.testing.assert_allclose(flows.discrepancies.ksd2(x, score, kernel), stein_kernel_reference(x, score, kernel_name, c), rtol=1e-11)


def test_ksd_descent_is_a_gradient_flow_of_half_ksd2():
    target = T.Gaussian([1.0, 0.0], [[1.0, 0.3], [0.3, 0.6]])
    x0 = jax.random.normal(jax.random.PRNGKey(2), (40, 2)) * 0.5 - 1.0
    flow = flows.particle.KSDFlow(target, flows.kernels.IMQKernel())
    traj = flows.simulate(flow, x0, t1=5.0, stepsize_controller=diffrax.PIDController(rtol=1e-7, atol=1e-9),
                          diagnostics={**flow.diagnostics(), "dissipation_residual": flow.dissipation_residual})
    assert flows.analysis.dissipation_check(traj).relative_residual < 1e-2
    assert np.abs(traj.diagnostics["dissipation_residual"]).max() < 1e-8 * traj.diagnostics["dissipation"].max()
    assert np.all(np.diff(traj.diagnostics["ksd2"]) <= 1e-14)
    assert traj.diagnostics["ksd2"][-1] < 0.05 * traj.diagnostics["ksd2"][0]  # KSD descent is slow: 70x by t = 5


def test_one_dimensional_wasserstein_against_a_quantile_reference():
    """Exact W_2^2 by sorting equals the integral of squared quantile differences (NumPy, 2e6
    midpoints, error ~1e-12), for N != M."""
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(3), (7,)))
    y = np.asarray(jax.random.normal(jax.random.PRNGKey(4), (11,))) * 2 + 1
    u = (np.arange(2_000_000) + 0.5) / 2_000_000
    reference = np.mean((np.sort(x)[np.floor(u * 7).astype(int)] - np.sort(y)[np.floor(u * 11).astype(int)]) ** 2)
    np.testing.assert_allclose(flows.discrepancies.wasserstein2_1d(jnp.asarray(x), jnp.asarray(y)), reference, rtol=1e-6)
    # equal sizes: the mean squared difference of the sorted samples
    np.testing.assert_allclose(flows.discrepancies.wasserstein2_1d(jnp.asarray(x), jnp.asarray(x[::-1] + 0.3)), 0.09, rtol=1e-12)


def test_sliced_wasserstein_flow_in_one_dimension_is_the_exponential_interpolation():
    """In 1-D every direction is +-1 and W_2 is exact: x_i(t) = y_s(i) + (x_i(0) - y_s(i)) e^(-t),
    with s the monotone matching (Tsit5 to 1e-6)."""
    y = np.asarray(jax.random.normal(jax.random.PRNGKey(5), (25, 1))) + 3
    x0 = np.asarray(jax.random.normal(jax.random.PRNGKey(6), (25, 1)))
    flow = flows.particle.SlicedWassersteinFlow(y, n_projections=3, key=jax.random.PRNGKey(0))
    ts = np.array([0.0, 0.5, 1.0, 3.0])
    traj = flows.simulate(flow, x0, t1=3.0, ts=ts, stepsize_controller=diffrax.PIDController(rtol=1e-8, atol=1e-10))
    matched = np.empty_like(x0)
    matched[np.argsort(x0[:, 0])] = np.sort(y, axis=0)
    expected = matched + (x0 - matched) * np.exp(-ts)[:, None, None]
    np.testing.assert_allclose(traj.ys, expected, atol=1e-6)
    np.testing.assert_allclose(traj.diagnostics["sw2"], np.mean((x0 - matched) ** 2) * np.exp(-2 * ts), rtol=1e-5)


def test_sliced_wasserstein_flow_in_two_dimensions():
    """A gradient flow of SW_2^2 (autodiff residual < 1e-8), it brings the cloud onto the target
    (SW_2^2 / 50), and resampled directions need a key, giving reproducible runs."""
    target = T.GaussianMixture.ring(4, 2.0, 0.2).sample(jax.random.PRNGKey(7), 60)
    x0 = jax.random.normal(jax.random.PRNGKey(8), (50, 2)) * 0.3
    flow = flows.particle.SlicedWassersteinFlow(target, 64, jax.random.PRNGKey(1))
    traj = flows.simulate(flow, x0, t1=10.0, ts=jnp.linspace(0, 10, 6),
                          diagnostics={**flow.diagnostics(), "dissipation_residual": flow.dissipation_residual})
    assert np.abs(traj.diagnostics["dissipation_residual"]).max() < 1e-8 * traj.diagnostics["dissipation"].max()
    assert traj.diagnostics["sw2"][-1] < 0.02 * traj.diagnostics["sw2"][0]  # N != M: it cannot reach 0
    resampled = flows.particle.SlicedWassersteinFlow(target, 16, jax.random.PRNGKey(1), resample=True)
    run = lambda key: flows.simulate(resampled, x0, t1=2.0, solver=flows.GradientDescent(step=0.5), key=key).final_state
    np.testing.assert_array_equal(run(jax.random.PRNGKey(2)), run(jax.random.PRNGKey(2)))
    assert np.abs(run(jax.random.PRNGKey(2)) - run(jax.random.PRNGKey(3))).max() > 1e-3
    with pytest.raises(ValueError, match="`key` is required"):
        flows.simulate(resampled, x0, t1=2.0, solver=flows.GradientDescent(step=0.5))


def log_sinkhorn(x, y, eps, iterations=2000):
    """Entropic OT (squared Euclidean cost, uniform weights) in the log domain: the cost
    <a, f> + <b, g> and the plan (NumPy, float64)."""
    from scipy.special import logsumexp

    cost = ((x[:, None] - y[None]) ** 2).sum(-1)
    log_a, log_b = -np.log(len(x)), -np.log(len(y))
    f, g = np.zeros(len(x)), np.zeros(len(y))
    for _ in range(iterations):
        f = -eps * logsumexp((g[None] - cost) / eps + log_b, axis=1)
        g = -eps * logsumexp((f[:, None] - cost) / eps + log_a, axis=0)
    plan = np.exp((f[:, None] + g[None] - cost) / eps + log_a + log_b)
    return f.mean() + g.mean(), plan


def test_sinkhorn_divergence_and_its_gradient_against_a_numpy_sinkhorn():
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(9), (12, 2)))
    y = np.asarray(jax.random.normal(jax.random.PRNGKey(10), (15, 2))) + 1.0
    eps = 0.5
    ot_xy, plan_xy = log_sinkhorn(x, y, eps)
    ot_xx, plan_xx = log_sinkhorn(x, x, eps)
    ot_yy, _ = log_sinkhorn(y, y, eps)
    flow = flows.particle.SinkhornFlow(y, eps, threshold=1e-10, max_iterations=10_000)
    energy_and_drift = jax.jit(lambda p: (flow.energy(p), flow.drift(0.0, p, None)))  # one compilation
    energy, drift = energy_and_drift(jnp.asarray(x))
    np.testing.assert_allclose(energy, ot_xy - 0.5 * ot_xx - 0.5 * ot_yy, rtol=1e-7)
    # envelope theorem: dS/dx_i = sum_j P_ij 2 (x_i - y_j) - sum_j Pxx_ij 2 (x_i - x_j)
    grad = (2 * plan_xy[..., None] * (x[:, None] - y[None])).sum(1) - (2 * plan_xx[..., None] * (x[:, None] - x[None])).sum(1)
    np.testing.assert_allclose(drift, -len(x) * grad, rtol=1e-5, atol=1e-7)

    # float32 particles under jax_enable_x64 (ott's default weights follow the global width)
    drift32 = flow.drift(0.0, jnp.asarray(x, jnp.float32), None)
    assert drift32.dtype == jnp.float32
    np.testing.assert_allclose(drift32, -len(x) * grad, rtol=1e-3, atol=1e-4)


@pytest.mark.slow  # the drift and energy are checked against NumPy above; this runs the flow
def test_sinkhorn_flow_decreases_the_divergence():
    y = np.asarray(jax.random.normal(jax.random.PRNGKey(11), (30, 2))) + 2.0
    x0 = np.asarray(jax.random.normal(jax.random.PRNGKey(12), (30, 2)))
    flow = flows.particle.SinkhornFlow(y, 0.1)
    traj = flows.simulate(flow, x0, t1=1.0, ts=jnp.linspace(0, 1, 3), solver=diffrax.Heun(), dt0=0.1,
                          diagnostics={**flow.diagnostics(), "dissipation_residual": flow.dissipation_residual})
    s = traj.diagnostics["sinkhorn_divergence"]
    assert np.all(np.diff(s) < 0) and s[-1] < 0.05 * s[0]  # near W_2^2, which decays like e^(-4t) here
    assert np.abs(traj.diagnostics["dissipation_residual"]).max() < 1e-6 * traj.diagnostics["dissipation"].max()


def test_particle_flows_check_their_arguments():
    """The shared checks: a density target for the Stein flows and Langevin, a radial kernel for
    the Stein flows, a flows kernel for the MMD flows, counts, keys and switches; and every flow's
    initial state must share the target's dimension."""
    density, samples = T.Gaussian([0.0, 0.0]), np.zeros((5, 2))
    radial, key = flows.kernels.GaussianKernel(1.0), jax.random.PRNGKey(0)
    P = flows.particle
    bad = [
        (lambda: P.SVGDFlow(T.TwoMoons(), radial), "`target` must have a density"),
        (lambda: P.KSDFlow(samples, radial), "`target` must be a flows target"),
        (lambda: P.SVGDFlow(density, flows.kernels.NetworkKernel(np.ones((3, 2)))), "`kernel` must be a radial"),
        (lambda: P.KSDFlow(density, 1.0), "`kernel` must be a radial"),
        (lambda: P.DiffusionMMDFlow(samples, "gaussian", 0.1), "`kernel` must be a flows kernel"),
        (lambda: P.KernelSobolevFlow(samples, radial, 0.1, cg_max_steps=0), "`cg_max_steps` must be an integer >= 1"),
        (lambda: P.SinkhornFlow(samples, 0.1, max_iterations=2.5), "`max_iterations` must be an integer >= 1"),
        (lambda: P.SlicedWassersteinFlow(samples, True, key), "`n_projections` must be an integer >= 1"),
        (lambda: P.SlicedWassersteinFlow(samples, 4, None), "`key` must be a jax.random key"),
        (lambda: P.SlicedWassersteinFlow(samples, 4, key, resample="yes"), "`resample` must be True or False"),
        (lambda: P.DiffusionMMDFlow(samples, radial, 0.1, levy_area=1), "`levy_area` must be True or False"),
    ]
    for make, match in bad:
        with pytest.raises(ValueError, match=match):
            make()
    three_d = np.zeros((4, 3))
    for flow in (P.MMDFlow(samples, radial), P.SinkhornFlow(samples, 0.1), P.SlicedWassersteinFlow(samples, 4, key),
                 P.LangevinFlow(density), P.SVGDFlow(density, radial), P.KSDFlow(density, radial)):
        with pytest.raises(ValueError, match="`y0` must have dimension d = 2 to match `target`"):
            flow.check_state(three_d)
