"""Parametric flows: generators, parametric MMD flow, PKGF and its three solves, population mode,
kernel-sum backends, the MMD GAN game (Mroueh & Nguyen, AISTATS 2021; Arbel et al., NeurIPS 2018).
Float64 throughout (conftest)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import flows
from flows.kernels.sums import kernel_grad_sum, kernel_hessian_sum, kernel_sum

SIGMA = 1.5
ROOT = Path(__file__).resolve().parents[2]


def affine_problem(seed=0, d=3, k=2, m=15, n_target=25):
    keys = jax.random.split(jax.random.PRNGKey(seed), 4)
    generator = flows.parametric.AffineGenerator(jax.random.normal(keys[0], (d, k)), 0.3 * jax.random.normal(keys[1], (d,)))
    target = jax.random.normal(keys[2], (n_target, d)) + 1.0
    latents = jax.random.normal(keys[3], (m, k))
    return generator, target, latents


def flat(tree):
    return np.asarray(ravel_pytree(tree)[0])


def numpy_affine_pkgf(generator, target, latents, sigma, reg):
    """Independent float64 NumPy reference: grad F = (1/m) sum_a J_a^T grad f(x_a),
    Gamma = (1/m^2) sum_ab J_a^T grad_x grad_y k(x_a, x_b) J_b and the PKGF velocity
    -(Gamma + reg I)^-1 grad F for G(z) = Az + b and the Gaussian kernel, whose derivatives are
    grad_x k = -(x - y)/s^2 k and grad_x grad_y k = k (I/s^2 - (x - y)(x - y)^T/s^4), with explicit
    Jacobians J_a = [I_d (x) z_a^T, I_d]."""
    A, b = np.asarray(generator.matrix), np.asarray(generator.offset)
    z, y = np.asarray(latents), np.asarray(target)
    d, m = A.shape[0], z.shape[0]
    x = z @ A.T + b
    J = np.stack([np.hstack([np.kron(np.eye(d), za[None, :]), np.eye(d)]) for za in z])  # (m, d, p)

    def grad1(p, q):  # sum_q grad_x k(p, q) per p
        diff = p[:, None, :] - q[None, :, :]
        kern = np.exp(-np.sum(diff**2, -1) / (2 * sigma**2))
        return np.sum(-diff / sigma**2 * kern[..., None], axis=1)

    grad_f = grad1(x, x) / m - grad1(x, y) / y.shape[0]
    grad_F = np.einsum("adp,ad->p", J, grad_f) / m
    diff = x[:, None, :] - x[None, :, :]
    kern = np.exp(-np.sum(diff**2, -1) / (2 * sigma**2))
    mixed = kern[..., None, None] * (np.eye(d) / sigma**2 - np.einsum("abi,abj->abij", diff, diff) / sigma**4)
    gamma = np.einsum("adp,abde,beq->pq", J, mixed, J) / m**2
    velocity = -np.linalg.solve(gamma + reg * np.eye(gamma.shape[0]), grad_F)
    return grad_F, gamma, velocity


def test_three_solves_agree_with_numpy_reference():
    """dense, push-through and CG velocities agree with each other and with an independent NumPy
    PKGF (relative error < 1e-8); Gamma and grad F match the reference to 1e-12."""
    generator, target, latents = affine_problem()
    reg = 0.05
    grad_ref, gamma_ref, velocity_ref = numpy_affine_pkgf(generator, target, latents, SIGMA, reg)
    velocities = {}
    for solve in ("dense", "pushthrough", "cg"):
        flow = flows.parametric.PKGF(generator, target, flows.kernels.GaussianKernel(SIGMA), reg=reg, solve=solve, latents=latents,
                          cg_rtol=1e-12, cg_atol=1e-14)
        params = flow.check_state(generator)
        velocity, gradient = flow.velocity(params)
        velocities[solve] = flat(velocity)
        np.testing.assert_allclose(flat(gradient), grad_ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(np.asarray(flow.dense_metric(0.0, params, None)), gamma_ref, rtol=1e-12, atol=1e-15)
    scale = np.linalg.norm(velocity_ref)
    for solve, v in velocities.items():
        assert np.linalg.norm(v - velocity_ref) / scale < 1e-8, solve


def test_cg_runs_an_mlp_with_ten_thousand_parameters_and_matches_pushthrough():
    """An MLP generator with ~10^4 parameters: matrix-free CG agrees with the (md, md) push-through
    solve to relative error < 1e-6 (no p x p matrix is ever formed)."""
    keys = jax.random.split(jax.random.PRNGKey(1), 3)
    generator = flows.parametric.MLPGenerator(4, 2, width=96, depth=2, activation="tanh", key=keys[0], dtype=jnp.float64)
    n_params = sum(leaf.size for leaf in jax.tree_util.tree_leaves(eqx.filter(generator, eqx.is_inexact_array)))
    assert 9_000 < n_params < 11_000
    target = jax.random.normal(keys[1], (40, 2)) + 1.0
    latents = jax.random.normal(keys[2], (24, 4))
    out = {}
    for solve in ("pushthrough", "cg"):
        flow = flows.parametric.PKGF(generator, target, flows.kernels.GaussianKernel(1.0), reg=1e-2, solve=solve, latents=latents,
                          cg_rtol=1e-11, cg_atol=1e-14)
        out[solve] = flat(eqx.filter_jit(flow.velocity)(flow.check_state(generator))[0])
    assert np.linalg.norm(out["cg"] - out["pushthrough"]) / np.linalg.norm(out["pushthrough"]) < 1e-6


def test_large_reg_limit_is_the_plain_gradient():
    """lambda * v_PKGF -> -grad F as lambda -> infinity, with error O(|Gamma| / lambda)."""
    generator, target, latents = affine_problem(seed=2)
    plain = flows.parametric.ParametricMMDFlow(generator, target, flows.kernels.GaussianKernel(SIGMA), latents=latents)
    params = plain.check_state(generator)
    gradient = flat(plain.velocity(params)[0])
    errors = []
    for reg in (1e2, 1e4):
        flow = flows.parametric.PKGF(generator, target, flows.kernels.GaussianKernel(SIGMA), reg=reg, solve="dense", latents=latents)
        errors.append(np.linalg.norm(reg * flat(flow.velocity(params)[0]) - gradient) / np.linalg.norm(gradient))
    assert errors[1] < 1e-4
    assert 50 < errors[0] / errors[1] < 200  # first order in 1 / lambda


@pytest.fixture(scope="module")
def pkgf_run():
    generator, target, latents = affine_problem(seed=3, m=12, n_target=20)
    flow = flows.parametric.PKGF(generator, target, flows.kernels.GaussianKernel(SIGMA), reg=1e-2, solve="dense", latents=latents)
    names = ("mmd2", "energy", "dissipation", "dissipation_residual", "alpha", "metric_min_eigenvalue")
    traj = flows.simulate(
        flow, generator, t1=6.0, ts=jnp.linspace(0.0, 6.0, 121),
        diagnostics={n: {**flow.diagnostics(), "dissipation_residual": flow.dissipation_residual}[n] for n in names},
        stepsize_controller=diffrax.PIDController(rtol=1e-8, atol=1e-10),
    )
    return flow, generator, traj


def test_dissipation_identity_along_pkgf(pkgf_run):
    """dF/dt = -grad F^T (Gamma + lambda)^-1 grad F along a Tsit5 PKGF run (integrated residual < 1e-2,
    pointwise autodiff residual < 1e-8 relative), F decreasing, alpha = D / MMD^2 > 0, lambda_min >= 0."""
    _, _, traj = pkgf_run
    check = flows.analysis.dissipation_check(traj)
    assert check.relative_residual < 1e-2
    diag = traj.diagnostics
    assert diag["energy"][-1] < 0.2 * diag["energy"][0]
    assert np.all(np.diff(diag["energy"]) <= 1e-14)
    assert np.abs(diag["dissipation_residual"]).max() < 1e-8 * diag["dissipation"].max()
    np.testing.assert_allclose(diag["alpha"], diag["dissipation"] / diag["mmd2"], rtol=1e-12)
    assert diag["alpha"].min() > 0
    assert diag["metric_min_eigenvalue"].min() > -1e-12


def test_trajectory_of_generator_parameters_saves_loads_and_samples(pkgf_run, tmp_path):
    """ys is the generator's parameters with a leading time axis; load(like=params) is exact;
    samples at any saved time are G_theta(t)(z)."""
    flow, generator, traj = pkgf_run
    assert isinstance(traj.ys, flows.parametric.AffineGenerator) and traj.ys.matrix.shape == (len(traj), 3, 2)
    params = flow.check_state(generator)
    loaded = flows.Trajectory.load(traj.save(tmp_path / "pkgf.npz"), like=params)
    for a, b in zip(jax.tree_util.tree_leaves(loaded.ys), jax.tree_util.tree_leaves(traj.ys)):
        np.testing.assert_array_equal(a, b)
    samples = flow.sample_trajectory(loaded)
    assert samples.ys.shape == (len(traj), 12, 3)
    state = traj.state(40)
    np.testing.assert_allclose(samples.ys[40], np.asarray(flow.latents) @ state.matrix.T + state.offset, rtol=1e-12)
    # resuming from a saved state (parameters, not the generator) is accepted
    np.testing.assert_allclose(flow.mmd2(0.0, flow.check_state(loaded.final_state), None), traj.diagnostics["mmd2"][-1], rtol=1e-12)


def test_population_pkgf_converges_at_rate_at_least_two_alpha():
    """Affine generator, Gaussian target, exact closed forms: MMD^2 falls below 1e-8 of its start,
    and the fitted decay rate of log MMD^2 is at least 2 min_t alpha(t): dF/dt = -2 alpha(t) F, so
    alpha(t) >= alpha0 gives MMD^2(t) <= exp(-2 alpha0 t) MMD^2(0)."""
    generator = flows.parametric.AffineGenerator(jnp.array([[1.0, 0.0], [0.3, 0.6]]), jnp.array([0.5, -0.5]))
    target = flows.targets.Gaussian(jnp.array([1.5, 0.5]), jnp.array([[1.2, 0.3], [0.3, 0.5]]))
    flow = flows.parametric.PKGF(generator, target, flows.kernels.GaussianKernel(SIGMA), reg=1e-3, solve="dense")
    traj = flows.simulate(
        flow, generator, t1=12.0, ts=jnp.linspace(0.0, 12.0, 49),
        diagnostics={"mmd2": flow.mmd2, "alpha": flow.alpha},
        stepsize_controller=diffrax.PIDController(rtol=1e-9, atol=1e-12),
    )
    mmd2, alpha = traj.diagnostics["mmd2"], traj.diagnostics["alpha"]
    assert mmd2[-1] < 1e-8 * mmd2[0]
    alpha0 = alpha.min()
    assert alpha0 > 0
    rate = -np.polyfit(traj.ts, np.log(mmd2), 1)[0]
    assert rate >= 2 * alpha0
    # and on every interval, the exact bound MMD^2(t) <= exp(-2 alpha0 t) MMD^2(0)
    assert np.all(mmd2 <= np.exp(-2 * alpha0 * traj.ts) * mmd2[0] * (1 + 1e-6))


def test_a_pkgf_run_that_reaches_the_target_is_not_taken_for_a_diverging_one():
    """Started at the target itself (population MMD² = 0 to rounding), alpha = D / MMD² is 0/0:
    it is reported as 0 there, finite, so simulate's NaN-diagnostic check does not stop the run,
    while alpha away from the target is still the ratio."""
    target = flows.targets.Gaussian(jnp.array([1.5, 0.5]), jnp.array([[1.2, 0.3], [0.3, 0.5]]))
    at_target = flows.parametric.AffineGenerator(jnp.linalg.cholesky(target.covariance), target.mean)
    flow = flows.parametric.PKGF(at_target, target, flows.kernels.GaussianKernel(SIGMA), reg=1e-3, solve="dense")
    params = flow.check_state(at_target)
    assert float(flow.mmd2(0.0, params, None)) <= 1e-15
    traj = flows.simulate(flow, at_target, t1=1.0, ts=jnp.linspace(0.0, 1.0, 3), solver=flows.GradientDescent(step=0.5),
                          diagnostics={"mmd2": flow.mmd2, "alpha": flow.alpha})
    assert np.all(np.isfinite(traj.diagnostics["alpha"]))
    moved = eqx.tree_at(lambda g: g.offset, at_target, at_target.offset + 0.3)
    state = flow.check_state(moved)
    expected = flow.dissipation(0.0, state, None) / flow.mmd2(0.0, state, None)
    np.testing.assert_allclose(flow.alpha(0.0, state, None), expected, rtol=1e-14)


def test_population_metric_and_gradient_agree_with_many_samples():
    """The sample-based grad F agrees with the exact population gradient within sampling error:
    the mean error over R replicates is within 4 standard errors (plus the O(1/m) V-statistic bias).
    The target N((1, 0.5), diag(1, 0.3)) is given in factor form, x = m + (z_2, sqrt(0.3) z_1)."""
    generator = flows.parametric.AffineGenerator(jnp.array([[1.0, 0.2], [0.0, 0.7]]), jnp.array([0.4, 0.0]))
    target = flows.targets.Gaussian(jnp.array([1.0, 0.5]), factor=jnp.array([[0.0, 1.0], [jnp.sqrt(0.3), 0.0]]))
    kernel = flows.kernels.GaussianKernel(SIGMA)
    exact = flat(flows.parametric.ParametricMMDFlow(generator, target, kernel).linearize(generator).gradient)
    n, replicates = 600, 12
    keys = jax.random.split(jax.random.PRNGKey(7), 2 * replicates)

    @jax.jit
    def sample_gradient(k_latent, k_target):
        flow = flows.parametric.ParametricMMDFlow(
            generator, target.sample(k_target, n), kernel, latents=jax.random.normal(k_latent, (n, 2))
        )
        return ravel_pytree(flow.linearize(flow.check_state(generator)).gradient)[0]

    grads = np.stack([np.asarray(sample_gradient(keys[2 * r], keys[2 * r + 1])) for r in range(replicates)])
    errors = grads - exact
    stderr = errors.std(axis=0, ddof=1) / np.sqrt(replicates)
    bias = 2.0 * np.abs(exact).max() / n
    assert np.all(np.abs(errors.mean(axis=0)) < 4 * stderr + bias)
    assert np.linalg.norm(errors.mean(axis=0)) < 0.1 * np.linalg.norm(exact)  # the comparison is not vacuous


def test_population_metric_matches_gauss_hermite_quadrature():
    """Population mode computes Gamma = -(1/2) d_theta1 d_theta2 MMD^2(mu_theta1, mu_theta2) by autodiff
    of the closed form, and grad F by autodiff of (1/2) MMD^2. Independently, in NumPy:
    Gamma = E_{z,z'} J(z)^T grad_x grad_y k(G(z), G(z')) J(z') and grad F = E_z J(z)^T grad f(G(z)),
    by Gauss-Hermite quadrature over the latents (k = 1) and the rank-1 target's own latent. With 60
    nodes the quadrature error is below 1e-14 relative (40 nodes already agree to 1e-11), so the two
    routes agree to 1e-12: the closed-form metric is the pulled-back kernel Hessian."""
    a, b, sigma = np.array([[0.3], [-0.8]]), np.array([0.5, 0.0]), 1.0
    direction = np.array([1.0, 0.5]) / np.sqrt(1.25)
    target_mean, target_factor = np.array([2.0, 1.0]), np.sqrt(2.0) * direction  # a singular target
    generator = flows.parametric.AffineGenerator(jnp.asarray(a), jnp.asarray(b))
    target = flows.targets.Gaussian(target_mean, factor=target_factor[:, None])
    assert not target.has_density
    flow = flows.parametric.PKGF(generator, target, flows.kernels.GaussianKernel(sigma), reg=1e-3, solve="dense")
    params = flow.check_state(generator)
    gamma, gradient = np.asarray(flow.dense_metric(0.0, params, None)), flat(flow.linearize(params).gradient)

    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    weights = weights / np.sqrt(2 * np.pi)  # E over N(0, 1)
    x = nodes[:, None] * a[:, 0] + b
    y = target_mean + nodes[:, None] * target_factor
    jac = np.stack([np.hstack([z * np.eye(2), np.eye(2)]) for z in nodes])  # d x / d (A, b), (n, d, p)
    diff = x[:, None] - x[None]
    kern = np.exp(-np.sum(diff**2, -1) / (2 * sigma**2))
    mixed = kern[..., None, None] * (np.eye(2) / sigma**2 - np.einsum("pqi,pqj->pqij", diff, diff) / sigma**4)
    gamma_ref = np.einsum("p,q,pdi,pqde,qej->ij", weights, weights, jac, mixed, jac)

    def grad_x_mean_kernel(sources):  # E_u grad_x k(u, x_p) over the quadrature nodes u
        d = x[:, None] - sources[None]
        return np.einsum("q,pq,pqi->pi", weights, np.exp(-np.sum(d**2, -1) / (2 * sigma**2)), -d / sigma**2)

    gradient_ref = np.einsum("p,pdi,pd->i", weights, jac, grad_x_mean_kernel(x) - grad_x_mean_kernel(y))
    assert np.abs(gamma - gamma_ref).max() < 1e-12 * np.abs(gamma_ref).max()
    assert np.abs(gradient - gradient_ref).max() < 1e-12 * np.abs(gradient_ref).max()


BACKEND_SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    from jax.flatten_util import ravel_pytree
    import flows
    from flows.kernels import backends
    assert jax.device_count() == 4, jax.devices()
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    generator = flows.parametric.AffineGenerator(jax.random.normal(keys[0], (3, 2)), 0.3 * jax.random.normal(keys[1], (3,)))
    target = jax.random.normal(keys[2], (20, 3)) + 1.0
    latents = jax.random.normal(keys[3], (12, 2))  # 12 and 20 rows: 4 devices split every sum
    kernel = flows.kernels.GaussianKernel(1.5)
    cg = dict(cg_rtol=1e-13, cg_atol=1e-15)
    makers = {
        "mmd": lambda b: flows.parametric.ParametricMMDFlow(generator, target, kernel, latents=latents, backend=b),
        **{f"pkgf {solve} {penalty}": (lambda b, solve=solve, penalty=penalty: flows.parametric.PKGF(
            generator, target, kernel, reg=0.05, solve=solve, penalty=penalty, latents=latents, backend=b, **cg))
           for solve in ("cg", "dense") for penalty in ("parameter", "x")},
        "pkgf pushthrough": lambda b: flows.parametric.PKGF(generator, target, kernel, reg=0.05, solve="pushthrough",
                                                            latents=latents, backend=b),
    }
    flat = lambda tree: np.asarray(ravel_pytree(tree)[0])
    evaluate = lambda flow, params: (flat(flow.drift(0.0, params, None)), float(flow.mmd2(0.0, params, None)),
                                     float(flow.dissipation(0.0, params, None)))
    reference = {}
    for name, make in makers.items():
        flow = make("auto")
        reference[name] = evaluate(flow, flow.check_state(generator))

    def refuse(*args):
        raise AssertionError("a kernel sum bypassed the flow's backend")

    for cls in (backends.AutoSums, backends.DenseSums):  # every sum below must go through the blocked tiles
        for method in ("kernel_sum", "kernel_grad_sum", "kernel_hessian_sum", "witness_grad"):
            setattr(cls, method, refuse)
    jax.clear_caches()  # so that no sum compiled for the reference is reused
    blocked = flows.kernels.BlockedSums(row_block=7, col_block=5)
    for label, backend in (("blocked", blocked), ("sharded", flows.kernels.ShardedSums(blocked))):
        for name, make in makers.items():
            flow = make(backend)
            assert flow.objective.backend is backend
            drift, mmd2, dissipation = evaluate(flow, flow.check_state(generator))
            drift_ref, mmd2_ref, dissipation_ref = reference[name]
            error = np.linalg.norm(drift - drift_ref) / np.linalg.norm(drift_ref)
            assert error < 1e-10, (label, name, error)
            assert abs(mmd2 - mmd2_ref) < 1e-12 * mmd2_ref and abs(dissipation - dissipation_ref) < 1e-10 * dissipation_ref
    print("OK")
    """
)


def test_every_kernel_sum_runs_on_the_flows_backend():
    """ParametricMMDFlow and PKGF (cg, dense and push-through; parameter and x penalties) on small
    blocked tiles (7 x 5) and on ShardedSums over 4 CPU devices give the "auto" drift, MMD^2 and
    dissipation (float64, relative 1e-10: only the summation order differs), and no kernel sum
    reaches the default dense/auto backend. XLA's device count is fixed before JAX starts, so this
    runs in a fresh subprocess."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", BACKEND_SCRIPT], check=False, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("OK"), done.stdout + done.stderr


def test_x_penalty_variant_is_the_pulled_back_sobolev_critic():
    """penalty='x': theta_dot = E_z J^T grad u(G(z)) with u the kernel Sobolev critic (the maximizer of
    E_nu u - E_q u - (E_q |grad u|^2 + lambda |u|_H^2)/2), in its Woodbury form
    u(z) = (1/lambda)[eta(z) - sum_i beta_i . grad_x k(x_i, z)], (H + m lambda) beta = grad eta(x),
    built here independently and differentiated by autodiff; dense and CG solves agree."""
    generator, target, latents = affine_problem(seed=4, m=10)
    kernel, reg = flows.kernels.GaussianKernel(SIGMA), 0.1
    out = {}
    for solve in ("dense", "cg"):
        flow = flows.parametric.PKGF(generator, target, kernel, reg=reg, solve=solve, penalty="x", latents=latents,
                          cg_rtol=1e-12, cg_atol=1e-14)
        params = flow.check_state(generator)
        out[solve] = flat(flow.velocity(params)[0])
    lin = flow.linearize(params)
    x, m, d = lin.x, lin.x.shape[0], lin.x.shape[1]
    eta = lambda pts: kernel_sum(kernel, pts, target) / target.shape[0] - kernel_sum(kernel, pts, x) / m
    grad_eta = kernel_grad_sum(kernel, x, target) / target.shape[0] - kernel_grad_sum(kernel, x, x) / m
    h = jax.vmap(lambda e: kernel_hessian_sum(kernel, x, x, e.reshape(m, d)).reshape(-1))(jnp.eye(m * d))
    beta = jnp.linalg.solve(h.T + m * reg * jnp.eye(m * d), grad_eta.reshape(-1)).reshape(m, d)

    def critic(point):
        point = point[None]
        cross = jax.vmap(lambda xi, bi: jax.grad(lambda a: kernel(a, point[0]))(xi) @ bi)(x, beta)
        return (eta(point)[0] - jnp.sum(cross)) / reg

    grad_u = jax.vmap(jax.grad(critic))(x)
    expected = flat(lin.vjp(grad_u / m))
    np.testing.assert_allclose(out["dense"], expected, rtol=1e-9, atol=1e-13)
    np.testing.assert_allclose(out["cg"], expected, rtol=1e-8, atol=1e-12)


def test_fresh_latents_need_a_key_and_are_reproducible():
    generator, target, latents = affine_problem(seed=5)
    flow = flows.parametric.ParametricMMDFlow(generator, target, flows.kernels.GaussianKernel(SIGMA), latents=latents, fresh_latents=16)
    run = lambda key: flows.simulate(flow, generator, t1=20.0, solver=flows.GradientDescent(step=0.5), key=key,
                                     diagnostics={"mmd2": flow.mmd2}, ts=[0.0, 10.0, 20.0])
    with pytest.raises(ValueError, match="`key` is required"):
        run(None)
    a, b, c = run(jax.random.PRNGKey(0)), run(jax.random.PRNGKey(0)), run(jax.random.PRNGKey(1))
    np.testing.assert_array_equal(flat(a.ys), flat(b.ys))
    assert np.abs(flat(a.ys) - flat(c.ys)).max() > 1e-6
    assert a.diagnostics["mmd2"][-1] < 0.5 * a.diagnostics["mmd2"][0]


def test_mmd_gan_game_runs_on_the_discrete_engine():
    """The gradient-regularized MMD GAN (random-feature critic): a Trajectory of generator
    parameters, deterministic given the key, and MMD^2 falls by 5x on an affine problem."""
    generator, target, latents = affine_problem(seed=6, m=64, n_target=200)
    flow = flows.parametric.ParametricMMDFlow(generator, target, flows.kernels.GaussianKernel(SIGMA), latents=latents, fresh_latents=64)
    critic = flows.games.RandomFeatureCritic(3, 128, SIGMA, key=jax.random.PRNGKey(2))
    game = flows.games.MMDGAN(critic, optax.adam(2e-2), optax.adam(5e-2), n_critic=5, reg=1e-3)
    traj = flows.simulate(flow, generator, t1=300.0, solver=game, key=jax.random.PRNGKey(3),
                          diagnostics={"mmd2": flow.mmd2}, ts=[0.0, 150.0, 300.0])
    assert isinstance(traj.ys, flows.parametric.AffineGenerator) and traj.stats["num_steps"] == 300
    assert traj.diagnostics["mmd2"][-1] < 0.2 * traj.diagnostics["mmd2"][0]


def test_random_feature_critic_objective_is_maximized_by_its_closed_form():
    """For u_w = w . phi the critic objective is quadratic: its gradient vanishes at
    w* = (rho E_q[Dphi^T Dphi] + lambda I)^-1 (E_nu phi - E_q phi) (autodiff, < 1e-10)."""
    keys = jax.random.split(jax.random.PRNGKey(8), 3)
    critic = flows.games.RandomFeatureCritic(2, 30, 1.0, key=keys[0], dtype=jnp.float64)
    game = flows.games.MMDGAN(critic, optax.sgd(0.1), optax.sgd(0.1), gradient_penalty=0.7, reg=0.05)
    x, y = jax.random.normal(keys[1], (40, 2)), jax.random.normal(keys[2], (50, 2)) + 1.0
    features = lambda p: jnp.sqrt(2.0 / 30) * jnp.cos(critic.frequencies @ p + critic.phases)
    phi_x, phi_y = jax.vmap(features)(x), jax.vmap(features)(y)
    jac = jax.vmap(jax.jacfwd(features))(x)  # (n, D, d)
    gram = 0.7 * jnp.einsum("nrd,nsd->rs", jac, jac) / x.shape[0] + 0.05 * jnp.eye(30)
    w_star = jnp.linalg.solve(gram, phi_y.mean(0) - phi_x.mean(0))
    weights = eqx.tree_at(lambda c: c.weights, eqx.filter(critic, critic.trainable()), w_star)
    grad = jax.grad(game.critic_objective)(weights, x, y).weights
    assert np.abs(grad).max() < 1e-10
    assert game.critic_objective(weights, x, y) > game.critic_objective(
        eqx.tree_at(lambda c: c.weights, weights, 1.01 * w_star), x, y)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda g, t, z: flows.parametric.PKGF(g, t, flows.kernels.GaussianKernel(1.0), solve="lu", latents=z), "`solve`"),
        (lambda g, t, z: flows.parametric.PKGF(g, t, flows.kernels.GaussianKernel(1.0), reg=-1.0, latents=z), "`reg`"),
        (lambda g, t, z: flows.parametric.PKGF(g, t, flows.kernels.GaussianKernel(1.0), latents=z[:, :1]), "generator"),
        (lambda g, t, z: flows.parametric.PKGF(g, t, flows.kernels.GaussianKernel(1.0)), "`latents`"),
        (lambda g, t, z: flows.parametric.PKGF(g, flows.targets.Gaussian(jnp.zeros(3)), flows.kernels.GaussianKernel(1.0),
                                    solve="pushthrough"), "population"),
        (lambda g, t, z: flows.parametric.PKGF(g, flows.targets.Gaussian(jnp.zeros(3)), flows.kernels.GaussianKernel(1.0),
                                    penalty="x"), "population"),
        (lambda g, t, z: flows.parametric.ParametricMMDFlow(g, flows.targets.Gaussian(jnp.zeros(3)), flows.kernels.IMQKernel()),
         "`kernel`"),
        (lambda g, t, z: flows.parametric.ParametricMMDFlow(g, flows.targets.Gaussian(jnp.zeros(3)), flows.kernels.GaussianKernel(1.0),
                                                 backend="blocked"), "`backend`"),
        (lambda g, t, z: flows.parametric.ParametricMMDFlow(g, flows.targets.Gaussian(jnp.zeros(3)), flows.kernels.GaussianKernel(1.0),
                                                 latents=z), "`latents`"),
        (lambda g, t, z: flows.parametric.ParametricMMDFlow(g, t, flows.kernels.GaussianKernel(1.0), latents=z, backend="lu"),
         "`backend`"),
        (lambda g, t, z: flows.parametric.ParametricMMDFlow(
            flows.parametric.MLPGenerator(2, 3, key=jax.random.PRNGKey(0)), flows.targets.Gaussian(jnp.zeros(3)),
            flows.kernels.GaussianKernel(1.0)), "AffineGenerator"),
        (lambda g, t, z: flows.parametric.ParametricMMDFlow(g, t, flows.kernels.GaussianKernel(1.0), latents=z, fresh_latents=0),
         "`fresh_latents`"),
    ],
)
def test_bad_arguments_raise_value_error(make, match):
    generator, target, latents = affine_problem()
    with pytest.raises(ValueError, match=match):
        make(generator, target, latents)


def test_wrong_initial_state_raises():
    generator, target, latents = affine_problem()
    flow = flows.parametric.ParametricMMDFlow(generator, target, flows.kernels.GaussianKernel(1.0), latents=latents)
    other = flows.parametric.MLPGenerator(2, 3, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="`y0`"):
        flow.check_state(other)


def test_gaussian_mixture_generator_picks_components_with_equal_probability():
    """Each component gets n/K samples within 4 binomial standard deviations, and the samples of
    component c have mean mu_c (within 4 standard errors) and are differentiable in the means."""
    means = jnp.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    generator = flows.parametric.GaussianMixtureGenerator(means, scale=0.5)
    n = 4000
    z = jax.random.normal(jax.random.PRNGKey(9), (n, generator.latent_dim))
    x = np.asarray(flows.parametric.push_forward(generator, z))
    nearest = np.argmin(((x[:, None, :] - np.asarray(means)[None]) ** 2).sum(-1), axis=1)
    counts = np.bincount(nearest, minlength=4)
    assert np.all(np.abs(counts - n / 4) < 4 * np.sqrt(n * 0.25 * 0.75))
    for c in range(4):
        np.testing.assert_allclose(x[nearest == c].mean(0), means[c], atol=4 * 0.5 / np.sqrt(counts[c]))
    grad = jax.grad(lambda mu: flows.parametric.push_forward(flows.parametric.GaussianMixtureGenerator(mu, 0.5), z).sum())(means)
    np.testing.assert_array_equal(np.asarray(grad), np.repeat(counts[:, None], 2, axis=1).astype(float))


def test_pkgf_conjugate_gradient_reports_non_convergence_and_converges_in_float32():
    """An unconverged CG solve used to return its last iterate silently; now the velocity is NaN
    with a warning naming the settings. In float32 the default tolerances (relative to the largest
    entry) are met, and the velocity matches the float64 dense solve to 1e-4 of its largest entry."""
    generator, target, latents = affine_problem(seed=4)
    kernel = flows.kernels.GaussianKernel(SIGMA)
    params = flows.parametric.PKGF(generator, target, kernel, reg=1e-2, latents=latents).check_state(generator)
    stuck = flows.parametric.PKGF(generator, target, kernel, reg=1e-2, latents=latents, cg_max_steps=1)
    with pytest.warns(RuntimeWarning, match=r"PKGF: conjugate gradient did not converge within `cg_max_steps` = 1"):
        assert np.all(np.isnan(flat(stuck.velocity(params)[0])))
    single = lambda tree: jax.tree_util.tree_map(lambda a: a.astype(jnp.float32), tree)
    flow32 = flows.parametric.PKGF(single(generator), target.astype(np.float32), kernel, reg=1e-2, latents=latents.astype(np.float32))
    dense = flows.parametric.PKGF(generator, target, kernel, reg=1e-2, solve="dense", latents=latents)
    reference = flat(dense.velocity(params)[0])
    velocity = flat(flow32.velocity(single(params))[0]).astype(np.float64)
    assert np.abs(velocity - reference).max() < 1e-4 * np.abs(reference).max()
