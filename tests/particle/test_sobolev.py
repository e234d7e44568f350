"""Kernel Sobolev descent (Mroueh, Sercu, Raj, AISTATS 2019; Arbel, Sutherland, Bińkowski, Gretton,
NeurIPS 2018) against an independent float64 NumPy reference."""

import diffrax
import jax
import numpy as np
import pytest

import flows


def problem(seed=0, n=12, m=15, d=2, shift=1.5):
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    return np.asarray(jax.random.normal(k1, (m, d))), np.asarray(jax.random.normal(k2, (n, d))) + shift


def gauss(a, b, s):
    diff = a[:, None, :] - b[None, :, :]
    return np.exp(-(diff**2).sum(-1) / (2 * s**2)), diff


def grad_first(a, b, s):
    """grad_a k(a_i, b_j), shape (len a, len b, d)."""
    k, diff = gauss(a, b, s)
    return -diff / s**2 * k[..., None]


def mixed_hessian(a, b, s):
    """grad_a grad_b k(a_i, b_j) = k (I / s^2 - (a-b)(a-b)^T / s^4), shape (len a, len b, d, d)."""
    k, diff = gauss(a, b, s)
    eye = np.eye(a.shape[1])
    return k[..., None, None] * (eye / s**2 - diff[..., :, None] * diff[..., None, :] / s**4)


def test_critic_solves_the_regularized_sobolev_equation_and_drives_the_particles():
    """NumPy, from the definitions only: the critic u = (D + lambda)^-1 eta, eta = phi_nu - phi_mu,
    D = E_mu sum_j d_j k(x, .) (x) d_j k(x, .), in the finite (Woodbury) form
    u(z) = (1/lambda) [eta(z) - sum_i grad_x k(x_i, z) . beta_i], (H + N lambda I) beta = grad eta(x),
    H the Nd x Nd mixed Hessian d_{x_p} d_{y_q} k(x_i, x_l). It satisfies (D + lambda) u = eta at
    random points (residual < 1e-10 relative); the library's drift is grad u at the particles and its
    dissipation is <eta, D (D + lambda)^-1 eta> = (1/N) sum grad u . grad eta."""
    y, x = problem()
    n, d = x.shape
    s, lam = 1.2, 0.05
    z = np.asarray(jax.random.normal(jax.random.PRNGKey(9), (25, d))) + 0.7
    eta = lambda p: gauss(p, y, s)[0].mean(1) - gauss(p, x, s)[0].mean(1)
    grad_eta = lambda p: grad_first(p, y, s).mean(1) - grad_first(p, x, s).mean(1)
    h = 1e-6 * np.eye(d)  # the reference's gradient of eta, by central differences
    fd = np.stack([(eta(z + h[q]) - eta(z - h[q])) / 2e-6 for q in range(d)], axis=1)
    np.testing.assert_allclose(grad_eta(z), fd, rtol=0, atol=1e-8)
    H = mixed_hessian(x, x, s).transpose(0, 2, 1, 3).reshape(n * d, n * d)
    g = grad_eta(x)
    beta = np.linalg.solve(H + n * lam * np.eye(n * d), g.reshape(-1)).reshape(n, d)
    # u(p) = (1/lam) [eta(p) - sum_i grad_a k(x_i, p) . beta_i]; grad u(p) via the mixed Hessian
    u = lambda p: (eta(p) - np.einsum("ipd,id->p", grad_first(x, p, s), beta)) / lam
    grad_u = lambda p: (grad_eta(p) - np.einsum("ipde,id->pe", mixed_hessian(x, p, s), beta)) / lam
    du = grad_u(x)
    d_u = np.einsum("id,ipd->p", du, grad_first(x, z, s)) / n  # (D u)(z) = (1/N) sum_i grad u(x_i) . grad_a k(x_i, z)
    residual = lam * u(z) + d_u - eta(z)
    assert np.abs(residual).max() < 1e-10 * np.abs(eta(z)).max()

    for solver in ("dense", "cg"):
        flow = flows.particle.KernelSobolevFlow(y, flows.kernels.GaussianKernel(s), lam, solver=solver)
        np.testing.assert_allclose(flow.drift(0.0, x, None), du, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(flow.dissipation(0.0, x, None), np.sum(du * g) / n, rtol=1e-8)


@pytest.mark.parametrize("kernel", [flows.kernels.GaussianKernel(0.8), flows.kernels.IMQKernel(1.0, -0.5)])
def test_conjugate_gradient_matches_the_dense_solve(kernel):
    y, x = problem(seed=1, n=40, m=30)
    dense = flows.particle.KernelSobolevFlow(y, kernel, 0.01)
    cg = flows.particle.KernelSobolevFlow(y, kernel, 0.01, solver="cg", cg_rtol=1e-12, cg_atol=1e-14)
    np.testing.assert_allclose(cg.drift(0.0, x, None), dense.drift(0.0, x, None), rtol=1e-8, atol=1e-10)


def test_dissipation_identity_along_the_trajectory():
    """d/dt (1/2) MMD^2 = -<eta, D (D + lambda)^-1 eta>: integrated along an adaptive Tsit5 run
    (relative residual < 1e-2 over 101 saved times) and pointwise by autodiff (< 1e-8 relative)."""
    y, x = problem(seed=2, n=25, m=25, shift=2.0)
    flow = flows.particle.KernelSobolevFlow(y, flows.kernels.GaussianKernel(1.0), 0.1)
    traj = flows.simulate(flow, x, t1=5.0, stepsize_controller=diffrax.PIDController(rtol=1e-7, atol=1e-9),
                          diagnostics={**flow.diagnostics(), "dissipation_residual": flow.dissipation_residual})
    assert flows.analysis.dissipation_check(traj).relative_residual < 1e-2
    assert np.abs(traj.diagnostics["dissipation_residual"]).max() < 1e-8 * traj.diagnostics["dissipation"].max()
    assert np.all(np.diff(traj.diagnostics["energy"]) <= 1e-14)
    assert traj.diagnostics["mmd2"][-1] < 0.2 * traj.diagnostics["mmd2"][0]


def test_large_regularization_recovers_the_rescaled_mmd_flow():
    """lambda * drift -> -grad f as lambda -> infinity, with error O(|H| / (N lambda)): relative
    error below 1e-3 at lambda = 1e3 and 10x smaller (within 10%) at lambda = 1e4."""
    y, x = problem(seed=3, n=20, m=20)
    kernel = flows.kernels.GaussianKernel(1.0)
    mmd = np.asarray(flows.particle.MMDFlow(y, kernel).drift(0.0, x, None))
    errors = [
        np.linalg.norm(lam * np.asarray(flows.particle.KernelSobolevFlow(y, kernel, lam).drift(0.0, x, None)) - mmd) / np.linalg.norm(mmd)
        for lam in (1e3, 1e4)
    ]
    assert errors[0] < 1e-3
    assert abs(errors[0] / errors[1] - 10) < 1.0


@pytest.mark.parametrize("kernel", [flows.kernels.GaussianKernel(0.7), flows.kernels.IMQKernel(), flows.kernels.SumKernel.gaussians([0.5, 2.0])])
def test_dense_hessian_matrix_agrees_with_the_hessian_sum(kernel):
    y, x = problem(seed=4, n=7, m=9, d=3)
    v = np.asarray(jax.random.normal(jax.random.PRNGKey(0), y.shape))
    blocks = flows.kernels.kernel_hessian_matrix(kernel, x, y)
    assert blocks.shape == (7, 3, 9, 3)
    np.testing.assert_allclose(np.einsum("ipjq,jq->ip", blocks, v), flows.kernels.kernel_hessian_sum(kernel, x, y, v), rtol=1e-12, atol=1e-14)
    if isinstance(kernel, flows.kernels.GaussianKernel):  # and the closed form k (I / s^2 - (x-y)(x-y)^T / s^4)
        np.testing.assert_allclose(blocks, mixed_hessian(x, y, 0.7).transpose(0, 2, 1, 3), rtol=1e-12, atol=1e-15)


def test_bad_sobolev_arguments():
    y, _ = problem()
    with pytest.raises(ValueError, match="`regularization`"):
        flows.particle.KernelSobolevFlow(y, flows.kernels.GaussianKernel(1.0), 0.0)
    with pytest.raises(ValueError, match="`solver`"):
        flows.particle.KernelSobolevFlow(y, flows.kernels.GaussianKernel(1.0), 1.0, solver="lu")


def sobolev_cg_problem(regularization, dtype=np.float32, **cg):
    """`experiments/configs/sobolev_cg.toml` built in Python: target N((2, 2), 0.5² I) (100
    samples), 40 particles N(0, I), Gaussian kernel 1.5, the CG solve, Euler dt0 = 0.1 to t = 5."""
    k_target, k_init = jax.random.split(jax.random.PRNGKey(0))
    target = (2.0 + 0.5 * jax.random.normal(k_target, (100, 2))).astype(dtype)
    x0 = jax.random.normal(k_init, (40, 2)).astype(dtype)
    flow = flows.particle.KernelSobolevFlow(target, flows.kernels.GaussianKernel(1.5), regularization, solver="cg", **cg)
    return flow, x0


@pytest.mark.parametrize("regularization", [0.01, 1e-3])
def test_conjugate_gradient_converges_in_float32(regularization):
    """In float32 the solve used to run out of steps (lineax's entrywise rule asked entries of g near
    zero for residuals below float32's resolution; reproducible here at lambda = 1e-3). With the
    rule relative to max|g| the example runs to t = 5 in float32, and its drift at the end matches
    the float64 dense solve at the same state to 1e-3 of its largest entry (cg_rtol 1e-5 times a
    condition number of at most 1 + tr H / (N lambda) ~ 90 at lambda = 1e-2, plus float32 rounding)."""
    flow, x0 = sobolev_cg_problem(regularization)
    traj = flows.simulate(flow, x0, t1=5.0, ts=np.linspace(0.0, 5.0, 6), solver=diffrax.Euler(), dt0=0.1, diagnostics={})
    final = np.asarray(traj.final_state)
    assert final.dtype == np.float32 and np.all(np.isfinite(final))
    dense = flows.particle.KernelSobolevFlow(np.asarray(flow.target, np.float64), flow.kernel, regularization)
    reference = np.asarray(dense.drift(0.0, final.astype(np.float64), None))
    drift = np.asarray(flow.drift(0.0, final, None), np.float64)
    assert np.abs(drift - reference).max() < 1e-3 * np.abs(reference).max()


def test_conjugate_gradient_refuses_an_unreachable_tolerance_and_reports_non_convergence():
    """A cg_rtol float32 cannot resolve is refused before the run, naming cg_rtol, the dtype and
    what to set; a solve that runs out of cg_max_steps makes the drift NaN with a warning naming
    the settings, and `simulate` stops with FlowDivergedError (it used to return lineax's error,
    or with throw=False the last iterate)."""
    flow, x0 = sobolev_cg_problem(0.01, cg_rtol=1e-10)
    with pytest.raises(ValueError, match=r"`cg_rtol` = 1e-10 is below .* float32 .* set `cg_rtol` >= 1.2e-06 .*float64"):
        flows.simulate(flow, x0, t1=1.0, solver=diffrax.Euler(), dt0=0.1)
    flow, x0 = sobolev_cg_problem(0.01, cg_max_steps=2)
    with pytest.warns(RuntimeWarning, match=r"KernelSobolevFlow: conjugate gradient did not converge in `cg_max_steps` = 2"):
        with pytest.raises(flows.FlowDivergedError, match="NaN"):
            flows.simulate(flow, x0, t1=1.0, ts=[0.0, 1.0], solver=diffrax.Euler(), dt0=0.1, diagnostics={})
