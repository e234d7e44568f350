"""Every constant factor of the parametric flows, pinned by a test that a small change fails.

For an affine generator $G(z) = Az + b$ the velocity, energy, dissipation and $\\alpha$ of
`ParametricMMDFlow` and `PKGF` (both penalties, every solve, population mode) are compared at one
state with independent float64 NumPy references: finite differences of a NumPy energy, the
Levenberg-Marquardt step written in the feature space of a finite-feature kernel (where the RKHS
is $\\mathbb R^D$ and $\\Gamma_\\theta = G^\\top G$ with $G = \\partial_\\theta \\bar\\varphi$), and the Gaussian
closed forms with finite-difference derivatives. Each tolerance is stated; every one is at least
four orders of magnitude below a 5% change of any factor.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows.targets import Gaussian

import numpy_reference as ref
from cases import KERNELS, rel_err
from coefficient_references import central_gradient, fourier_features


def flat(generator):
    """(A.ravel(), b) of an affine generator or of a velocity shaped like one."""
    return np.concatenate([np.ravel(generator.matrix), np.ravel(generator.offset)])


def affine_problem(seed, d=2, k=2, m=9, n_target=12):
    keys = jax.random.split(jax.random.PRNGKey(seed), 4)
    a = np.asarray(jax.random.normal(keys[0], (d, k)))
    b = 0.3 * np.asarray(jax.random.normal(keys[1], (d,)))
    target = np.asarray(jax.random.normal(keys[2], (n_target, d))) * 0.8 + 0.7
    latents = np.asarray(jax.random.normal(keys[3], (m, k)))
    return flows.parametric.AffineGenerator(a, b), a, b, target, latents


def affine_jacobians(latents, d):
    """J_a = d x_a / d theta for x_a = A z_a + b, theta = (A row-major, b): (m, d, d k + d)."""
    return np.stack([np.hstack([np.kron(np.eye(d), za[None, :]), np.eye(d)]) for za in latents])


def unflatten(theta, d, k):
    return theta[: d * k].reshape(d, k), theta[d * k :]


def values(flow, params, *extra):
    """(drift, energy, dissipation, *the methods named in `extra`) at `params`, in one compiled call."""
    run = lambda p: (flow.drift(0.0, p, None), flow.energy(p), flow.dissipation(0.0, p, None),
                     *(getattr(flow, name)(0.0, p, None) for name in extra))
    return jax.jit(run)(params)


# -- ParametricMMDFlow -----------------------------------------------------------------------------

GAUSSIAN = KERNELS["gaussian"]  # the shared kernel cases (tests/cases.py): GaussianKernel(1.3)


@pytest.mark.parametrize("case", ["gaussian", "imq"])
def test_parametric_mmd_flow_is_minus_the_gradient_of_half_mmd2(case):
    """theta' = -grad F with F(theta) = MMD^2(G_theta(z), y)/2 (V-statistic, NumPy), its gradient by
    central differences of that NumPy F (step 1e-5, error ~1e-10); D = |grad F|^2. Tolerances:
    F 1e-12, drift 1e-7, D 1e-6 relative: a relative change of 1e-4 in the 1/2, in the 1/m of the
    witness form, in the velocity or in D fails them."""
    kernel, name, kparams = KERNELS[case]
    generator, a, b, target, latents = affine_problem(0)
    d, k = a.shape
    energy = lambda theta: 0.5 * ref.mmd2(name, kparams, latents @ unflatten(theta, d, k)[0].T + unflatten(theta, d, k)[1], target)
    theta = np.concatenate([a.ravel(), b])
    grad = central_gradient(energy, theta)
    flow = flows.parametric.ParametricMMDFlow(generator, target, kernel, latents=latents)
    drift, value, dissipation = values(flow, flow.check_state(generator))
    np.testing.assert_allclose(value, energy(theta), rtol=1e-12)
    assert rel_err(flat(drift), -grad) < 1e-7
    np.testing.assert_allclose(dissipation, np.sum(grad**2), rtol=1e-6)


def test_parametric_mmd_flow_fresh_latents_step():
    """With `fresh_latents=n` a discrete step uses n latents z ~ N(0, I_k) drawn from the step's key:
    its direction is -grad F on that batch (NumPy witness form, J_a' grad f(x_a) / m). Tolerance
    1e-11 relative: a relative change of 1e-4 in the latents' scale or in the direction fails it."""
    kernel, name, kparams = GAUSSIAN
    generator, a, b, target, latents = affine_problem(1)
    flow = flows.parametric.ParametricMMDFlow(generator, target, kernel, latents=latents, fresh_latents=7)
    key = jax.random.PRNGKey(3)
    z = np.asarray(jax.random.normal(key, (7, a.shape[1]), jnp.float64))
    x = z @ a.T + b
    grad = np.einsum("adp,ad->p", affine_jacobians(z, a.shape[0]), ref.witness_grad(name, kparams, x, x, target)) / len(z)
    direction = flow.discrete_drift(0.0, flow.check_state(generator), None, key)
    assert rel_err(flat(direction), -grad) < 1e-11


def gaussian_expectation(mean, cov, sigma2):
    """E exp(-|Z|^2 / (2 sigma^2)), Z ~ N(mean, cov): det(I + cov/sigma^2)^(-1/2) exp(-mean'(cov + sigma^2 I)^-1 mean / 2)."""
    d = len(mean)
    return np.linalg.det(np.eye(d) + cov / sigma2) ** -0.5 * np.exp(-0.5 * mean @ np.linalg.solve(cov + sigma2 * np.eye(d), mean))


def population_cross(theta1, theta2, d, k, sigma2):
    """<mu_theta1, mu_theta2>_H = E k(X1, X2) for X_i ~ N(b_i, A_i A_i'), Gaussian kernel."""
    (a1, b1), (a2, b2) = unflatten(theta1, d, k), unflatten(theta2, d, k)
    return gaussian_expectation(b1 - b2, a1 @ a1.T + a2 @ a2.T, sigma2)


def population_energy(theta, d, k, sigma2, mean, cov):
    """F = MMD^2(N(b, AA'), N(mean, cov)) / 2 from the Gaussian closed form (NumPy)."""
    a, b = unflatten(theta, d, k)
    s = a @ a.T
    mmd2 = (gaussian_expectation(np.zeros(d), 2 * s, sigma2) + gaussian_expectation(np.zeros(d), 2 * cov, sigma2)
            - 2 * gaussian_expectation(b - mean, s + cov, sigma2))
    return 0.5 * mmd2


def population_problem():
    generator, a, b, *_ = affine_problem(2)
    mean, cov = np.array([1.0, -0.5]), np.array([[1.0, 0.3], [0.3, 0.6]])
    return generator, a, b, Gaussian(mean, cov), mean, cov


def test_population_parametric_mmd_flow_against_the_closed_form():
    """Population mode: F = MMD^2/2 between N(b, AA') and N(m, S) from the Gaussian closed form
    (NumPy), theta' = -grad F by central differences of it. Tolerances: F 1e-12, drift 1e-7:
    a relative change of 1e-4 in the 1/2, in the closed form's cross term or in the drift fails
    them."""
    generator, a, b, target, mean, cov = population_problem()
    d, k = a.shape
    sigma2 = 1.3**2
    energy = lambda theta: population_energy(theta, d, k, sigma2, mean, cov)
    theta = np.concatenate([a.ravel(), b])
    grad = central_gradient(energy, theta)
    flow = flows.parametric.ParametricMMDFlow(generator, target, GAUSSIAN[0])
    drift, value, dissipation = values(flow, flow.check_state(generator))
    np.testing.assert_allclose(value, energy(theta), rtol=1e-12)
    assert rel_err(flat(drift), -grad) < 1e-7
    np.testing.assert_allclose(dissipation, np.sum(grad**2), rtol=1e-6)


# -- PKGF ------------------------------------------------------------------------------------------

TIGHT_CG = {"cg_rtol": 1e-13, "cg_atol": 1e-15}


def feature_space_reference(a, b, target, latents, phi, jac, reg):
    """For k = phi . phi: mean embedding phibar(theta) = mean_a phi(A z_a + b), residual
    r = phibar(theta) - mean phi(y), G = d phibar / d theta = (1/m) sum_a J_phi(x_a) J_a (D x p).
    Then F = |r|^2 / 2, grad F = G' r, Gamma = G'G, and
    - penalty "parameter": theta' = -(G'G + lambda)^-1 G' r (Levenberg-Marquardt in R^D);
    - penalty "x": the critic u = w . phi maximizing E_nu u - E_q u - (E_q |grad u|^2 + lambda|w|^2)/2,
      (D_q + lambda) w = -r with D_q = (1/m) sum_a J_phi(x_a) J_phi(x_a)', and
      theta' = (1/m) sum_a J_a' J_phi(x_a)' w."""
    d, m = a.shape[0], len(latents)
    x = latents @ a.T + b
    jx, jt = jac(x), affine_jacobians(latents, d)
    r = phi(x).mean(0) - phi(target).mean(0)
    g = np.einsum("aDd,adp->Dp", jx, jt) / m
    grad = g.T @ r
    parameter = -np.linalg.solve(g.T @ g + reg * np.eye(g.shape[1]), grad)
    w = np.linalg.solve(np.einsum("aDd,aEd->DE", jx, jx) / m + reg * np.eye(len(r)), -r)
    x_penalty = np.einsum("adp,aDd,D->p", jt, jx, w) / m
    return 0.5 * r @ r, grad, parameter, x_penalty


@pytest.mark.parametrize("penalty, solve", [("parameter", "dense"), ("parameter", "pushthrough"), ("parameter", "cg"),
                                            ("x", "dense"), ("x", "cg")])
def test_pkgf_velocity_against_the_feature_space_solve(penalty, solve):
    """PKGF with a 30-feature kernel, m = 9 latents, p = 6 parameters, lambda = 0.03, against the
    D-dimensional reference (`feature_space_reference`), which never forms the flow's (p x p) or
    (md x md) systems. Dissipation -grad F . theta' (= grad F'(Gamma + lambda)^-1 grad F for the
    PKGF), alpha = D / MMD^2. Tolerance 1e-9 relative (rounding of the solves; CG run to 1e-13):
    a relative change of 1e-4 in lambda (every solve's shift), in the 1/m^2 of the metric or of
    the push-through system, in its 1/m, in the m lambda of the x-penalty system, in the
    velocity, the dissipation or alpha fails it."""
    generator, a, b, target, latents = affine_problem(4)
    kernel, phi, jac = fourier_features(5, a.shape[0], count=30)
    reg = 0.03
    energy, grad, parameter, x_penalty = feature_space_reference(a, b, target, latents, phi, jac, reg)
    expected = parameter if penalty == "parameter" else x_penalty
    flow = flows.parametric.PKGF(generator, target, kernel, reg=reg, solve=solve, penalty=penalty, latents=latents, **TIGHT_CG)
    drift, value, dissipation, alpha = values(flow, flow.check_state(generator), "alpha")
    assert rel_err(flat(drift), expected) < 1e-9
    np.testing.assert_allclose(value, energy, rtol=1e-12)
    np.testing.assert_allclose(dissipation, -grad @ expected, rtol=1e-9)
    np.testing.assert_allclose(alpha, -grad @ expected / (2 * energy), rtol=1e-9)


def test_pkgf_with_a_gaussian_kernel_against_numpy():
    """Gaussian kernel (radial sums), penalty "parameter", every solve: Gamma = (1/m^2) sum_ab
    J_a' H_ab J_b with H_ab = grad_x grad_y k(x_a, x_b) written per pair, grad F = (1/m) sum_a
    J_a' grad f(x_a) (NumPy), theta' = -(Gamma + lambda)^-1 grad F. Tolerance 1e-9 relative:
    a relative change of 1e-4 in lambda, in the 1/m^2, in the 1/m or in the velocity fails it."""
    generator, a, b, target, latents = affine_problem(6)
    s, reg = 1.1, 0.02
    d, m = a.shape[0], len(latents)
    x = latents @ a.T + b
    jt = affine_jacobians(latents, d)
    grad = np.einsum("adp,ad->p", jt, ref.witness_grad("gaussian", {"bandwidth": s}, x, x, target)) / m
    diff = x[:, None, :] - x[None, :, :]
    kern = np.exp(-(diff**2).sum(-1) / (2 * s**2))
    hess = kern[..., None, None] * (np.eye(d) / s**2 - diff[..., :, None] * diff[..., None, :] / s**4)
    gamma = np.einsum("adp,abde,beq->pq", jt, hess, jt) / m**2
    expected = -np.linalg.solve(gamma + reg * np.eye(len(grad)), grad)
    for solve in ("dense", "pushthrough", "cg"):
        flow = flows.parametric.PKGF(generator, target, flows.kernels.GaussianKernel(s), reg=reg, solve=solve, latents=latents,
                                     **TIGHT_CG)
        drift, _, dissipation = values(flow, flow.check_state(generator))
        assert rel_err(flat(drift), expected) < 1e-9, solve
        np.testing.assert_allclose(dissipation, -grad @ expected, rtol=1e-9)


@pytest.mark.parametrize("solve", ["dense", "cg"])
def test_population_pkgf_against_the_closed_form(solve):
    """Population mode: Gamma = d_theta1 d_theta2 <mu_theta1, mu_theta2>_H at theta1 = theta2, by
    central mixed differences (step 1e-4, error ~1e-8) of the NumPy closed form of the cross
    term; grad F by central differences of the closed-form F; theta' = -(Gamma + lambda)^-1 grad F,
    alpha = grad F'(Gamma + lambda)^-1 grad F / MMD^2. Tolerances 1e-6 (the differences' error):
    a relative change of 1e-4 in lambda, in the metric's -1/2 (the closed form's cross term), in
    the velocity, the dissipation or alpha fails them."""
    generator, a, b, target, mean, cov = population_problem()
    d, k = a.shape
    sigma2, reg = 1.3**2, 0.05
    theta = np.concatenate([a.ravel(), b])
    p, h = theta.size, 1e-4
    eye = np.eye(p) * h
    cross = lambda t1, t2: population_cross(t1, t2, d, k, sigma2)
    gamma = np.array([[(cross(theta + ei, theta + ej) - cross(theta + ei, theta - ej) - cross(theta - ei, theta + ej)
                        + cross(theta - ei, theta - ej)) / (4 * h * h) for ej in eye] for ei in eye])
    energy = lambda t: population_energy(t, d, k, sigma2, mean, cov)
    grad = central_gradient(energy, theta)
    expected = -np.linalg.solve(gamma + reg * np.eye(p), grad)
    flow = flows.parametric.PKGF(generator, target, GAUSSIAN[0], reg=reg, solve=solve, **TIGHT_CG)
    drift, value, dissipation, alpha, metric = values(flow, flow.check_state(generator), "alpha", "dense_metric")
    assert rel_err(flat(drift), expected) < 1e-6
    np.testing.assert_allclose(value, energy(theta), rtol=1e-12)
    np.testing.assert_allclose(dissipation, -grad @ expected, rtol=1e-6)
    np.testing.assert_allclose(alpha, -grad @ expected / (2 * energy(theta)), rtol=1e-6)
    assert rel_err(metric, gamma) < 1e-6
