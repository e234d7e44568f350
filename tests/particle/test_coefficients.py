"""Every constant factor of the particle flows, pinned by a test that a small change fails.

Drifts, energies and dissipations are compared at single states with independent float64 NumPy
implementations written from each flow's formula (explicit pairwise differences, quadrature,
finite differences, feature-space solves), at tolerances that rounding or the reference's own
error explains and that a 5% change of any factor exceeds by orders of magnitude. Diffusion
coefficients are measured from Euler-Maruyama increments: with $n$ independent Gaussian
coordinates the relative standard error of the sample variance is $\\sqrt{2/n}$, so $n$ is chosen
such that a 1% error of $\\sigma^2$ lies at least 6 standard errors from the truth, and the tolerance
sits half way, about 3 standard errors from either.
"""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import solve_discrete_lyapunov
from scipy.special import logsumexp

import flows
from flows import targets as T

import numpy_reference as ref
from cases import KERNELS, rel_err
from coefficient_references import central_gradient, fourier_features


def evaluate(flow, x, *names, t=0.0):
    """The flow's methods `names` at (t, x), in one compiled call ("energy" takes x alone)."""
    run = lambda p: [flow.energy(p) if name == "energy" else getattr(flow, name)(jnp.asarray(t), p, None) for name in names]
    return [np.asarray(value) for value in jax.jit(run)(jnp.asarray(x))]


def cloud(seed, n, d, scale=1.0, shift=0.0):
    return np.asarray(jax.random.normal(jax.random.PRNGKey(seed), (n, d))) * scale + shift


# -- diffusion coefficients ------------------------------------------------------------------------

LANGEVIN_DIM, LANGEVIN_PARTICLES, LANGEVIN_STEP, LANGEVIN_STEPS = 8, 100_000, 0.125, 8


def langevin_target():
    """N(m, S) in d = 8 with S^-1 = A of eigenvalues 4..8, so h A has eigenvalues 0.5..1 for the
    step h = 1/8 and the Euler chain forgets its start like 0.5^k."""
    d = LANGEVIN_DIM
    q, _ = np.linalg.qr(cloud(0, d, d))
    precision = q @ np.diag(np.linspace(4.0, 8.0, d)) @ q.T
    precision = 0.5 * (precision + precision.T)
    return np.linspace(-1.0, 1.0, d), precision


@pytest.fixture(scope="module")
def langevin_run():
    """One Euler-Maruyama run of `LangevinFlow` toward N(m, A^-1): 10^5 particles in d = 8, all
    started at the same point c = m + 1, step h = 1/8 to t = 1 (a dyadic grid, so every step's
    Brownian increment is a node of the virtual Brownian tree), saved after steps 1, 2 and 8."""
    m, precision = langevin_target()
    flow = flows.particle.LangevinFlow(T.Gaussian(m, np.linalg.inv(precision)), brownian_tolerance=LANGEVIN_STEP / 2,
                                       levy_area=False)
    start = m + 1.0
    x0 = np.tile(start, (LANGEVIN_PARTICLES, 1))
    h, steps = LANGEVIN_STEP, (1, 2, LANGEVIN_STEPS)
    traj = flows.simulate(flow, x0, t1=LANGEVIN_STEPS * h, ts=[k * h for k in steps], solver=diffrax.Euler(), dt0=h,
                          key=jax.random.PRNGKey(20), diagnostics={})
    return dict(zip(steps, np.asarray(traj.ys))), flow, m, precision, start


def test_langevin_diffusion_coefficient_from_one_step_quadratic_variation(langevin_run):
    """One Euler-Maruyama step from a common start: X_h - X_0 - h b(X_0) = sigma (W_h - W_0), so the
    variance of the increments over the particles (sample mean removed, which also removes any
    drift) is sigma^2 h with sigma^2 = 2. n d = 8 x 10^5 Gaussian coordinates: relative standard
    error sqrt(2 / (n d)) = 0.16%. Tolerance 0.5% (3.2 standard errors); detectable error: a
    relative change of sigma^2 by 1% (sigma by 0.5%, e.g. sqrt(2) -> sqrt(2.02)) or more is at
    least 3.2 standard errors beyond the tolerance."""
    states = langevin_run[0]
    n, d = states[1].shape
    increments = states[1] - states[1].mean(0)
    estimate = np.sum(increments**2) / ((n - 1) * d * LANGEVIN_STEP)
    se = np.sqrt(2 / (n * d))
    assert 0.005 > 3 * se and 0.01 - 0.005 > 3 * se  # the tolerance sits between truth and a 1% error
    assert abs(estimate / 2.0 - 1) < 0.005, f"sigma^2 = {estimate:.5f}, expected 2"


def test_langevin_ornstein_uhlenbeck_transient_and_stationary_covariance(langevin_run):
    """Euler-Maruyama on dX = -A(X - m) dt + sqrt(2) dW is the linear recursion
    X_{k+1} = m + B(X_k - m) + sqrt(2h) xi_k, B = I - hA, so from a point mass the mean and
    covariance after k steps are exactly mu_k = m + B^k (c - m) and C_k = sum_{j<k} B^j (2h) B^j'
    (time-discrete OU; as h -> 0 the continuous OU closed form), with the stationary covariance
    C_inf = A^-1 (I - hA/2)^-1 solving C = B C B' + 2h I. After 8 steps C_k equals C_inf to 2e-5.

    The whitened second moment w_k = mean_i (X_i - mu_k)' C_k^-1 (X_i - mu_k) / d has mean 1 and
    relative standard error sqrt(2 / (n d)) = 0.16%: tolerance 0.5% after 1 and 2 steps
    (transient) and 8 steps (stationary). The whitened mean n |C_k^-1/2 (mean_i X_i - mu_k)|^2 is
    chi^2 with d = 8 degrees of freedom: below 31.8 (p = 1e-4). Detectable error: sigma^2 off by
    1% scales every C_k by 1.01 (3.2 standard errors beyond the tolerance); a drift factor off by
    5% (either way) moves the stationary w by 1.7-2.1% (10-13 standard errors) and makes the
    transient mean statistic exceed 1000."""
    states, _, m, precision, start = langevin_run
    d, h = LANGEVIN_DIM, LANGEVIN_STEP
    b = np.eye(d) - h * precision
    stationary = np.linalg.inv(precision) @ np.linalg.inv(np.eye(d) - h * precision / 2)
    np.testing.assert_allclose(solve_discrete_lyapunov(b, 2 * h * np.eye(d)), stationary, rtol=1e-10)
    cov, mean = np.zeros((d, d)), start.copy()
    for k in range(1, LANGEVIN_STEPS + 1):
        cov, mean = b @ cov @ b.T + 2 * h * np.eye(d), m + b @ (mean - m)
        if k not in states:
            continue
        x = states[k]
        white = np.linalg.solve(np.linalg.cholesky(cov), (x - mean).T).T
        second_moment = np.mean(white**2)
        assert abs(second_moment - 1) < 0.005, (k, second_moment)
        assert x.shape[0] * np.sum(white.mean(0) ** 2) < 31.8, k
    assert rel_err(cov, stationary) < 2e-5


def test_diffusion_mmd_diffusion_coefficient_from_one_step_quadratic_variation():
    """One Euler-Maruyama step of `DiffusionMMDFlow` from t0 = 1.25 with the schedule
    beta(t) = 0.8 * 0.5^floor(t): X_h - X_0 - h v(X_0) = sqrt(2 beta(t0)) (W_h - W_0) with
    beta(t0) = 0.4 (the flow's own drift v is pinned by `test_diffusion_mmd_drift_...`).
    100 interacting particles in d = 8000: n d = 8 x 10^5 Gaussian coordinates, relative standard
    error of the variance 0.16%. Tolerance 0.5%; detectable error: 2 beta off by 1% (sqrt(2 beta)
    -> sqrt(2.02 beta), or beta read at another time) or more, at least 3.2 standard errors
    beyond the tolerance."""
    n, m, d, h, t0 = 100, 50, 8000, 0.01, 1.25
    y = cloud(1, m, d, scale=0.5)
    x0 = cloud(2, n, d, scale=0.5, shift=0.02)
    schedule = flows.particle.StepDecaySchedule(0.8, 0.5, every=1.0)
    flow = flows.particle.DiffusionMMDFlow(y, flows.kernels.GaussianKernel(20.0), schedule, brownian_tolerance=h,
                                           levy_area=False)
    traj = flows.simulate(flow, x0, t0=t0, t1=t0 + h, ts=[t0 + h], solver=diffrax.Euler(), dt0=h,
                          key=jax.random.PRNGKey(21), diagnostics={})
    drift = np.asarray(flow.drift(jnp.asarray(t0), jnp.asarray(x0), None))
    noise = np.asarray(traj.final_state) - x0 - h * drift
    estimate = np.mean(noise**2) / h
    assert abs(estimate / 0.8 - 1) < 0.005, f"2 beta(t0) = {estimate:.5f}, expected 0.8"


def test_noise_scales_are_the_stated_diffusion_coefficients():
    """The coefficients the flows report, g(t) = sqrt(2) for Langevin and sqrt(2 beta(t)) for the
    diffusion MMD flow under beta(t) = 0.8 * 0.5^floor(t), at t = 0.3, 1.25, 2.5 (exact to
    rounding, 1e-15): detects any change. The quadratic-variation tests above check that the
    simulated increments carry them."""
    langevin = flows.particle.LangevinFlow(T.Gaussian([0.0, 0.0]))
    y = cloud(1, 5, 2)
    diffusion = flows.particle.DiffusionMMDFlow(y, flows.kernels.GaussianKernel(1.0), flows.particle.StepDecaySchedule(0.8, 0.5, every=1.0))
    for t, beta in ((0.3, 0.8), (1.25, 0.4), (2.5, 0.2)):
        np.testing.assert_allclose(langevin.noise_scale(jnp.asarray(t)), np.sqrt(2.0), rtol=1e-15)
        np.testing.assert_allclose(diffusion.noise_scale(jnp.asarray(t)), np.sqrt(2 * beta), rtol=1e-15)


# -- drifts and energies ---------------------------------------------------------------------------

MMD_CASES = ["gaussian", "imq", "energy", "sum"]  # shared kernel cases (tests/cases.py)


@pytest.mark.parametrize("case", MMD_CASES)
def test_mmd_flow_drift_energy_and_dissipation_against_numpy(case):
    """v(x_i) = -grad f(x_i), f = (1/N) sum_l k(x_l, .) - (1/M) sum_j k(y_j, .); F = MMD^2 / 2
    (V-statistic); D = (1/N) sum_i |grad f(x_i)|^2; N = 9 != M = 13, for the dense and blocked
    backends. Tolerance 1e-10 relative (rounding ~1e-14): a relative change of 1e-4 in any factor
    (the 1/N and 1/M of the witness, the 1/2, the 2 of the cross term, the drift) fails it."""
    kernel, name, params = KERNELS[case]
    x, y = cloud(3, 9, 3), cloud(4, 13, 3, scale=0.8, shift=0.6)
    grad_f = ref.witness_grad(name, params, x, x, y)
    for backend in ("dense", "blocked"):
        flow = flows.particle.MMDFlow(y, kernel, backend=backend)
        drift, energy, dissipation, mmd2 = evaluate(flow, x, "drift", "energy", "dissipation", "mmd2")
        assert rel_err(drift, -grad_f) < 1e-10, backend
        np.testing.assert_allclose(energy, 0.5 * ref.mmd2(name, params, x, y), rtol=1e-10)
        np.testing.assert_allclose(dissipation, np.mean(np.sum(grad_f**2, 1)), rtol=1e-10)
        np.testing.assert_allclose(mmd2, ref.mmd2(name, params, x, y), rtol=1e-10)


def test_diffusion_mmd_drift_and_mmd2_against_numpy():
    """The drift of dX = -grad f(X) dt + sqrt(2 beta) dW is the plain MMD witness gradient, and the
    `mmd2` and `noise_level` diagnostics are MMD^2 (V-statistic) and beta(t). Tolerance 1e-10
    relative: a relative change of 1e-4 in the drift or in MMD^2 fails it."""
    x, y = cloud(5, 9, 2), cloud(6, 13, 2, shift=1.0)
    kernel, name, params = KERNELS["imq"]
    flow = flows.particle.DiffusionMMDFlow(y, kernel, flows.particle.StepDecaySchedule(0.8, 0.5, every=1.0))
    drift, mmd2, noise_level = evaluate(flow, x, "drift", "mmd2", "noise_level", t=2.5)
    assert rel_err(drift, -ref.witness_grad(name, params, x, x, y)) < 1e-10
    np.testing.assert_allclose(mmd2, ref.mmd2(name, params, x, y), rtol=1e-10)
    np.testing.assert_allclose(noise_level, 0.2, rtol=1e-15)


def gauss_hermite_expectation(function, dim, nodes=48):
    """E_u function(u), u ~ N(0, I_dim), by the tensor Gauss-Hermite rule (probabilists' weight)."""
    points, weights = np.polynomial.hermite_e.hermegauss(nodes)
    weights = weights / weights.sum()
    grid = np.stack(np.meshgrid(*[points] * dim, indexing="ij"), -1).reshape(-1, dim)
    w = np.prod(np.stack(np.meshgrid(*[weights] * dim, indexing="ij"), -1).reshape(-1, dim), axis=1)
    return sum(wq * function(uq) for wq, uq in zip(w, grid))


def test_noise_injection_averaged_drift_against_gauss_hermite_quadrature():
    """The ODE drift of `NoiseInjectedMMDFlow` is -E_u grad f(x + beta(t) u), u ~ N(0, I): computed
    here by 48 x 48-node Gauss-Hermite quadrature of the NumPy witness gradient (d = 2, error
    < 1e-13: 48 and 64 nodes agree to 1e-14), not from the smoothed-kernel closed form, for a
    Gaussian kernel and a sum of two, at t = 1.5 under beta(t) = 0.9 * 0.5^floor(t) = 0.45.
    Tolerance 1e-10 relative: a relative change of 1e-4 in the beta^2 of the smoothed variance
    sigma^2 + beta^2, in the exponent of the rescaling (sigma^2 / (sigma^2 + beta^2))^(d/2) or in
    the drift fails it."""
    x, y = cloud(7, 6, 2), cloud(8, 7, 2, scale=0.8, shift=0.8)
    schedule = flows.particle.StepDecaySchedule(0.9, 0.5, every=1.0)
    beta = 0.45
    cases = [
        (flows.kernels.GaussianKernel(1.1), "gaussian", {"bandwidth": 1.1}),
        (flows.kernels.SumKernel([flows.kernels.GaussianKernel(0.8), flows.kernels.GaussianKernel(2.0)], [1.0, 0.5]), "sum",
         {"weights": [1.0, 0.5], "parts": [("gaussian", {"bandwidth": 0.8}), ("gaussian", {"bandwidth": 2.0})]}),
    ]
    for kernel, name, params in cases:
        noisy_gradient = lambda u, name=name, params=params: ref.witness_grad(name, params, x + beta * u, x, y)
        expected = -gauss_hermite_expectation(noisy_gradient, 2)
        check = -gauss_hermite_expectation(noisy_gradient, 2, nodes=64)
        assert rel_err(check, expected) < 1e-13
        flow = flows.particle.NoiseInjectedMMDFlow(y, kernel, schedule)
        drift, noise_level = evaluate(flow, x, "drift", "noise_level", t=1.5)
        assert rel_err(drift, expected) < 1e-10, name
        np.testing.assert_allclose(noise_level, beta, rtol=1e-15)


def test_noise_injection_discrete_direction_against_numpy():
    """Arbel et al.'s scheme steps along -grad f(x + beta(t) u), the witness of the UNperturbed
    cloud evaluated at perturbed points, with u ~ N(0, I) drawn from the step's key; here at
    t = 2.5, beta = 0.9 * 0.5^2, for a Laplace kernel (any kernel is allowed). Tolerance 1e-10
    relative: a relative change of 1e-4 in beta or in the direction fails it."""
    x, y = cloud(9, 8, 3), cloud(10, 11, 3, shift=0.5)
    params = {"bandwidth": 0.8}
    flow = flows.particle.NoiseInjectedMMDFlow(y, flows.kernels.LaplaceKernel(0.8), flows.particle.StepDecaySchedule(0.9, 0.5, 1.0))
    key = jax.random.PRNGKey(11)
    u = np.asarray(jax.random.normal(key, x.shape, jnp.float64))
    direction = flow.discrete_drift(jnp.asarray(2.5), jnp.asarray(x), None, key)
    assert rel_err(direction, -ref.witness_grad("laplace", params, x + 0.225 * u, x, y)) < 1e-10


@pytest.mark.parametrize("solver", ["dense", "cg"])
def test_kernel_sobolev_drift_from_the_critic_solved_in_feature_space(solver):
    """With k = phi . phi (D = 40 features), the critic u = w . phi maximizes
    E_nu u - E_mu u - (1/2)(E_mu |grad u|^2 + lambda |w|^2), so (D_mu + lambda) w = eta with
    eta = mean phi(y) - mean phi(x) and D_mu = (1/N) sum_i J(x_i) J(x_i)' (J = d phi / dx); the
    particles move along grad u(x_i) = J(x_i)' w and F = |mean phi(x) - mean phi(y)|^2 / 2
    dissipates at <eta, D_mu w>. A D x D solve, independent of the flow's N d x N d Woodbury
    system. Tolerance 1e-8 relative (dense: rounding of the solves; cg: its 1e-10 stopping rule):
    a relative change of 1e-4 in lambda, in the N of N lambda or N beta, in the right-hand side,
    in H, in the dissipation or in the energy's 1/2 fails it."""
    d, n, m, lam = 2, 10, 12, 0.07
    kernel, phi, jac = fourier_features(12, d, count=40)
    x, y = cloud(13, n, d), cloud(14, m, d, scale=0.7, shift=0.8)
    eta = phi(y).mean(0) - phi(x).mean(0)
    jx = jac(x)
    metric = np.einsum("ipa,iqa->pq", jx, jx) / n
    w = np.linalg.solve(metric + lam * np.eye(len(eta)), eta)
    flow = flows.particle.KernelSobolevFlow(y, kernel, lam, solver=solver)
    drift, dissipation, energy, mmd2 = evaluate(flow, x, "drift", "dissipation", "energy", "mmd2")
    assert rel_err(drift, np.einsum("ipa,p->ia", jx, w)) < 1e-8
    np.testing.assert_allclose(dissipation, eta @ metric @ w, rtol=1e-8)
    np.testing.assert_allclose(energy, 0.5 * np.sum(eta**2), rtol=1e-10)
    np.testing.assert_allclose(mmd2, np.sum(eta**2), rtol=1e-10)


def gaussian_mixed_hessian(a, b, s):
    """grad_a grad_b k(a_i, b_j) = k (I / s^2 - (a - b)(a - b)' / s^4), shape (len a, len b, d, d)."""
    diff = a[:, None, :] - b[None, :, :]
    k = np.exp(-(diff**2).sum(-1) / (2 * s**2))
    return k[..., None, None] * (np.eye(a.shape[1]) / s**2 - diff[..., :, None] * diff[..., None, :] / s**4)


@pytest.mark.parametrize("solver", ["dense", "cg"])
def test_kernel_sobolev_drift_for_a_gaussian_kernel_against_numpy(solver):
    """Gaussian kernel (radial path): v_i = N beta_i with (H + N lambda I) beta = -grad f(x),
    H_(ip),(lq) = d_{x_p} d_{y_q} k(x_i, x_l) written out per pair in NumPy; dissipation
    (-grad f) . beta. Tolerance 1e-8 relative: a relative change of 1e-4 in lambda, N, either
    factor of the radial mixed Hessian (-2 phi' I - 4 phi'' (x-y)(x-y)') or the drift fails it.
    (That this system is the critic's is checked in feature space above.)"""
    n, m, d, s, lam = 10, 14, 2, 1.2, 0.05
    x, y = cloud(15, n, d, shift=1.0), cloud(16, m, d)
    g = -ref.witness_grad("gaussian", {"bandwidth": s}, x, x, y)
    hess = gaussian_mixed_hessian(x, x, s).transpose(0, 2, 1, 3).reshape(n * d, n * d)
    beta = np.linalg.solve(hess + n * lam * np.eye(n * d), g.reshape(-1)).reshape(n, d)
    flow = flows.particle.KernelSobolevFlow(y, flows.kernels.GaussianKernel(s), lam, solver=solver)
    drift, dissipation = evaluate(flow, x, "drift", "dissipation")
    assert rel_err(drift, n * beta) < 1e-8
    np.testing.assert_allclose(dissipation, np.sum(g * beta), rtol=1e-8)


def mixture_score(x, means, stds, weights):
    """grad log sum_c w_c N(x; m_c, s_c^2 I), by responsibilities (NumPy)."""
    d = x.shape[1]
    sq = ((x[:, None, :] - means[None]) ** 2).sum(-1)
    log_comp = np.log(weights) - d * np.log(stds) - sq / (2 * stds**2)
    resp = np.exp(log_comp - logsumexp(log_comp, axis=1, keepdims=True))
    return np.einsum("ic,icd->id", resp, -(x[:, None, :] - means[None]) / stds[None, :, None] ** 2)


MIXTURE = (np.array([[0.0, 0.0], [2.0, 1.0]]), np.array([1.0, 0.6]), np.array([0.3, 0.7]))


def test_langevin_drift_is_the_score():
    """The Langevin drift is grad log pi: -S^-1 (x - m) for a Gaussian, the responsibility-weighted
    component scores for a mixture (NumPy). Tolerance 1e-12 relative: a relative change of 1e-4
    in the drift fails it."""
    x = cloud(17, 20, 2, scale=1.5)
    m, cov = np.array([1.0, -0.5]), np.array([[1.0, 0.4], [0.4, 0.5]])
    (drift,) = evaluate(flows.particle.LangevinFlow(T.Gaussian(m, cov)), x, "drift")
    assert rel_err(drift, -(x - m) @ np.linalg.inv(cov)) < 1e-12
    means, stds, weights = MIXTURE
    (drift,) = evaluate(flows.particle.LangevinFlow(T.GaussianMixture(means, stds, weights)), x, "drift")
    assert rel_err(drift, mixture_score(x, means, stds, weights)) < 1e-12


@pytest.mark.parametrize("kernel, name, params", [(flows.kernels.GaussianKernel(0.9), "gaussian", {"bandwidth": 0.9}),
                                                  (flows.kernels.IMQKernel(scale=1.3), "imq", {"scale": 1.3, "exponent": -0.5})])
def test_svgd_direction_against_numpy(kernel, name, params):
    """phi(x_i) = (1/N) sum_j [k(x_j, x_i) s(x_j) + grad_{x_j} k(x_j, x_i)], the attraction and the
    repulsion written out per pair (NumPy) for a two-component mixture target, where the two terms
    are within a factor 10 of each other (checked). Tolerance 1e-12 relative: a relative change of
    1e-4 in either term or in the 1/N fails it."""
    x = cloud(18, 15, 2, scale=1.5, shift=0.3)
    means, stds, weights = MIXTURE
    flow = flows.particle.SVGDFlow(T.GaussianMixture(means, stds, weights), kernel)
    diff = x[:, None, :] - x[None, :, :]  # x_j - x_i at [j, i]
    score = mixture_score(x, means, stds, weights)
    attraction = np.einsum("ji,jd->id", ref.kernel_values(name, params, diff), score) / len(x)
    repulsion = ref.kernel_gradients(name, params, diff).sum(0) / len(x)
    (direction,) = evaluate(flow, x, "drift")
    assert 0.1 < np.linalg.norm(repulsion) / np.linalg.norm(attraction) < 10
    assert rel_err(direction, attraction + repulsion) < 1e-12


def stein_energy(x, score_fn, name, params):
    """KSD^2 / 2 (V-statistic) from the Stein kernel written out per pair, for the Gaussian and
    IMQ kernels (NumPy); `score_fn` gives grad log pi at the rows of x."""
    diff = x[:, None, :] - x[None, :, :]
    r2 = (diff**2).sum(-1)
    d = x.shape[1]
    k = ref.kernel_values(name, params, diff)
    grad_x = ref.kernel_gradients(name, params, diff)
    if name == "gaussian":
        s2 = params["bandwidth"] ** 2
        trace = k * (d / s2 - r2 / s2**2)
    else:  # (c^2 + r^2)^b: tr grad_x grad_y k = -2 b d (c^2 + r^2)^(b-1) - 4 b (b-1) r^2 (c^2 + r^2)^(b-2)
        c2, b = params["scale"] ** 2, params["exponent"]
        trace = -2 * b * d * (c2 + r2) ** (b - 1) - 4 * b * (b - 1) * r2 * (c2 + r2) ** (b - 2)
    s = score_fn(x)
    s_i, s_j = s[:, None, :], s[None, :, :]
    stein = (s_i * s_j).sum(-1) * k + (s_i * -grad_x).sum(-1) + (grad_x * s_j).sum(-1) + trace
    return 0.5 * stein.mean()


@pytest.mark.parametrize("kernel, name, params", [(flows.kernels.GaussianKernel(0.9), "gaussian", {"bandwidth": 0.9}),
                                                  (flows.kernels.IMQKernel(scale=1.3), "imq", {"scale": 1.3, "exponent": -0.5})])
def test_ksd_descent_energy_and_drift_against_numpy(kernel, name, params):
    """F = KSD^2 / 2 from the Stein kernel per pair (NumPy) and v_i = -N dF/dx_i from central
    differences of that NumPy F (step 1e-5, error ~1e-10), toward a mixture (the score depends on
    x, so the differences see it too); D = (1/N) sum |v_i|^2. Tolerances: F 1e-11, v 1e-7, D 1e-6
    relative: a relative change of 1e-4 in any factor of F (its 1/2, the score term, the two cross
    terms, the trace term), in the N of the drift or in D fails them."""
    x = cloud(19, 10, 2, scale=1.2)
    means, stds, weights = MIXTURE
    flow = flows.particle.KSDFlow(T.GaussianMixture(means, stds, weights), kernel)
    energy = lambda p: stein_energy(p, lambda q: mixture_score(q, means, stds, weights), name, params)
    velocity = -len(x) * central_gradient(energy, x)
    value, ksd2, drift, dissipation = evaluate(flow, x, "energy", "ksd2", "drift", "dissipation")
    np.testing.assert_allclose(value, energy(x), rtol=1e-11)
    np.testing.assert_allclose(ksd2, 2 * energy(x), rtol=1e-11)
    assert rel_err(drift, velocity) < 1e-7
    np.testing.assert_allclose(dissipation, np.mean(np.sum(velocity**2, 1)), rtol=1e-6)


def monotone_plan(n, m):
    """The monotone (north-west corner) coupling of n and m sorted atoms of masses 1/n and 1/m,
    in exact integer units of 1/(n m)."""
    plan = np.zeros((n, m), dtype=np.int64)
    i = j = 0
    left_i, left_j = m, n
    while i < n and j < m:
        mass = min(left_i, left_j)
        plan[i, j] = mass
        left_i, left_j = left_i - mass, left_j - mass
        if left_i == 0:
            i, left_i = i + 1, m
        if left_j == 0:
            j, left_j = j + 1, n
    return plan / (n * m)


def sliced_reference(x, y, directions):
    """F = (1/2P) sum_p W_2^2(theta_p # mu, theta_p # nu) and v = -N dF/dx from the monotone
    coupling of each projection (NumPy)."""
    n, m = len(x), len(y)
    plan = monotone_plan(n, m)
    energy, velocity = 0.0, np.zeros_like(x)
    for theta in directions:
        px, py = x @ theta, y @ theta
        ox, oy = np.argsort(px), np.argsort(py)
        gap = px[ox][:, None] - py[oy][None, :]
        energy += 0.5 * np.sum(plan * gap**2) / len(directions)
        velocity[ox] -= n * np.sum(plan * gap, axis=1)[:, None] * theta / len(directions)
    return energy, velocity


@pytest.mark.parametrize("n, m", [(9, 9), (7, 11)])
def test_sliced_wasserstein_energy_and_drift_against_the_monotone_coupling(n, m):
    """F and v = -N dF/dx from each projection's monotone (north-west corner) coupling, on the
    flow's own unit directions, for N = M and N != M; sw2 = 2F, D = (1/N) sum |v_i|^2.
    Tolerance 1e-12 relative: a relative change of 1e-4 in the 1/2, in the 1-D W_2^2 or in the N
    fails it."""
    x, y = cloud(22, n, 3), cloud(23, m, 3, scale=1.4, shift=0.5)
    flow = flows.particle.SlicedWassersteinFlow(y, n_projections=5, key=jax.random.PRNGKey(24))
    directions = np.asarray(flow.directions)
    np.testing.assert_allclose(np.linalg.norm(directions, axis=1), 1.0, rtol=1e-14)
    energy, velocity = sliced_reference(x, y, directions)
    value, sw2, drift, dissipation = evaluate(flow, x, "energy", "sw2", "drift", "dissipation")
    np.testing.assert_allclose(value, energy, rtol=1e-12)
    np.testing.assert_allclose(sw2, 2 * energy, rtol=1e-12)
    assert rel_err(drift, velocity) < 1e-12
    np.testing.assert_allclose(dissipation, np.mean(np.sum(velocity**2, 1)), rtol=1e-12)


def test_sliced_wasserstein_resampled_direction_in_one_dimension():
    """In 1-D every direction is +-1 and gives the same monotone matching, so the resampled
    discrete direction does not depend on the draw: v_i = -N dF/dx_i = -(x_i - y_s(i)) for N = M
    (s the matching). Tolerance 1e-12 relative: a relative change of 1e-4 in the resampled path's
    N or in the energy's 1/2 fails it."""
    x, y = cloud(25, 8, 1), cloud(26, 8, 1, shift=2.0)
    flow = flows.particle.SlicedWassersteinFlow(y, n_projections=4, key=jax.random.PRNGKey(27), resample=True)
    matched = np.empty_like(x)
    matched[np.argsort(x[:, 0])] = np.sort(y, axis=0)
    for seed in (0, 1):
        direction = flow.discrete_drift(0.0, jnp.asarray(x), None, jax.random.PRNGKey(seed))
        assert rel_err(direction, -(x - matched)) < 1e-12


def numpy_sinkhorn(x, y, eps, symmetric=False, tolerance=1e-14):
    """Entropic OT with cost |x - y|^2 and uniform weights, log-domain Sinkhorn iterated until the
    row marginals are met to `tolerance`: (OT_eps = <a, f> + <b, g>, the plan); `symmetric` for
    y = x."""
    cost = ((x[:, None] - y[None]) ** 2).sum(-1)
    log_a, log_b = -np.log(len(x)), -np.log(len(y))
    f, g = np.zeros(len(x)), np.zeros(len(y))
    for _ in range(10_000):
        if symmetric:  # Feydy et al.'s averaged update: the alternating one crawls on OT(x, x)
            f = 0.5 * (f - eps * logsumexp((f[None] - cost) / eps + log_b, axis=1))
            g = f
        else:
            f = -eps * logsumexp((g[None] - cost) / eps + log_b, axis=1)
            g = -eps * logsumexp((f[:, None] - cost) / eps + log_a, axis=0)
        plan = np.exp((f[:, None] + g[None] - cost) / eps + log_a + log_b)
        if np.abs(plan.sum(1) - 1 / len(x)).max() < tolerance:
            return f.mean() + g.mean(), plan
    raise AssertionError("the NumPy Sinkhorn did not converge")


def test_sinkhorn_energy_and_drift_against_a_numpy_sinkhorn():
    """S_eps = OT(x, y) - OT(x, x)/2 - OT(y, y)/2 from a NumPy log-domain Sinkhorn (marginals to
    1e-14), and by the envelope theorem
    v_i = -N dS/dx_i = -2N [sum_j P_ij (x_i - y_j) - sum_j Pxx_ij (x_i - x_j)], at eps = 0.3.
    Tolerances (the flow's Sinkhorn stops at marginals 1e-11): S 1e-8, v 1e-6 relative, D 1e-6:
    a relative change of 1e-4 in eps, in S or in the N of the drift fails them."""
    x, y = cloud(28, 10, 2), cloud(29, 13, 2, shift=1.0)
    eps = 0.3
    ot_xy, plan_xy = numpy_sinkhorn(x, y, eps)
    ot_xx, plan_xx = numpy_sinkhorn(x, x, eps, symmetric=True)
    ot_yy, _ = numpy_sinkhorn(y, y, eps, symmetric=True)
    grad = 2 * (plan_xy[..., None] * (x[:, None] - y[None])).sum(1) - 2 * (plan_xx[..., None] * (x[:, None] - x[None])).sum(1)
    velocity = -len(x) * grad
    flow = flows.particle.SinkhornFlow(y, eps, threshold=1e-11, max_iterations=20_000)
    values = evaluate(flow, x, "energy", "drift", "dissipation")
    np.testing.assert_allclose(values[0], ot_xy - 0.5 * ot_xx - 0.5 * ot_yy, rtol=1e-8)
    assert rel_err(values[1], velocity) < 1e-6
    np.testing.assert_allclose(values[2], np.mean(np.sum(velocity**2, 1)), rtol=1e-6)
