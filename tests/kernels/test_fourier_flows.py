"""The Fourier backend wherever `backend=` is: every particle flow that sums a kernel (MMD, the
noisy flows, Sobolev with CG on Fourier Hessian-vector products, SVGD and KSD, whose Stein sums
are value, gradient and Hessian sums), the parametric MMD flow and PKGF (its metric's
Hessian-vector products included), the MMD2 diagnostic, and a config; a Fourier MMD-flow
trajectory against the exact one, and its dissipation identity.

Tolerance of the drift comparisons: every sum is within rtol = 1e-10 of M_j sum|w| (M_0 = 1,
M_1 <= 1.4 / sigma, M_2 <= 2.5 / sigma^2 for these Gaussians; sum|w| <= 2 for witness sums, and
the Stein sums' weights are scores of norm <= 10 here), i.e. within ~1e-8 of quantities whose
largest entries are >= 1e-2; the Sobolev and PKGF solves amplify that by their condition numbers
(<= 1e3 at these regularisations): 1e-5 relative to each quantity's largest entry leaves a
margin of 10x or more."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows.kernels import FourierApproximation, GaussianKernel

from backend_cases import D, assert_same, clouds, evaluate, kernel_flows

RTOL = 1e-5
FOURIER = FourierApproximation(rtol=1e-10, max_modes=2**12)


@pytest.mark.parametrize("name", ["mmd", "noise_injected", "diffusion", "sobolev_cg", "svgd", "ksd"])
def test_every_particle_flow_runs_on_the_fourier_backend_and_gives_the_exact_drift(name):
    x, _ = clouds()
    flow = kernel_flows(FOURIER, sobolev_dense=False)[name]
    assert isinstance(flow.backend, FourierApproximation), name
    assert_same(eqx.filter_jit(evaluate)(flow, x), evaluate(kernel_flows("auto", sobolev_dense=False)[name], x), RTOL, name)


def test_the_parametric_flows_and_pkgf_metric_run_on_the_fourier_backend():
    keys = jax.random.split(jax.random.PRNGKey(1), 4)
    generator = flows.parametric.AffineGenerator(jax.random.normal(keys[0], (D, 2)), 0.3 * jax.random.normal(keys[1], (D,)))
    target = jax.random.normal(keys[2], (25, D)) + 1.0
    latents = jax.random.normal(keys[3], (15, 2))
    kernel = GaussianKernel(1.0)
    for make in (
        lambda b: flows.parametric.ParametricMMDFlow(generator, target, kernel, latents=latents, backend=b),
        lambda b: flows.parametric.PKGF(generator, target, kernel, reg=0.05, solve="cg", latents=latents,
                                        cg_rtol=1e-12, cg_atol=1e-14, backend=b),
    ):
        fast, exact = make(FOURIER), make("auto")
        params = exact.check_state(generator)
        v_fast, _ = eqx.filter_jit(fast.velocity)(params)
        v_exact, _ = exact.velocity(params)
        for a, e in zip(jax.tree_util.tree_leaves(v_fast), jax.tree_util.tree_leaves(v_exact)):
            np.testing.assert_allclose(a, e, rtol=RTOL, atol=RTOL * float(jnp.abs(e).max()), err_msg=type(fast).__name__)


def test_the_mmd2_diagnostic_and_a_config_reach_the_fourier_backend():
    x, y = clouds()
    kernel = GaussianKernel(1.0)
    fast = flows.diagnostics.MMD2(y, kernel, backend="fourier")
    assert isinstance(fast.backend, FourierApproximation)
    exact = flows.diagnostics.MMD2(y, kernel)
    # V-statistic MMD^2 of 3 value sums, each within 1e-8 k(0) (the default float64 rtol) per unit weight
    assert abs(float(fast(0.0, x, None)) - float(exact(0.0, x, None))) <= 4 * 1e-8
    from flows.cli import config

    run = config.build({
        "seed": 3, "dtype": "float64", "target": {"kind": "gaussian", "mean": [1.0, 0.5], "std": 0.5, "n": 24},
        "initial": {"kind": "gaussian", "n": 12}, "kernel": {"kind": "gaussian", "bandwidth": 1.0},
        "time": {"t1": 1.0, "saves": 2}, "flow": {"kind": "mmd", "backend": {"kind": "fourier", "rtol": 1e-9}},
    })
    assert run.flow.backend == FourierApproximation(rtol=1e-9)
    assert flows.kernels.resolve_backend("sliced-fourier").projections == 256


def test_a_fourier_mmd_flow_follows_the_exact_trajectory_and_its_dissipation_identity_holds():
    """10 explicit Euler steps of h = 0.1. Each drift is within e = 2 E_1 (witness weights sum to
    2; E_1 the gradient bound, <= 1e-10 M_1) of the exact drift, and the exact drift is Lipschitz
    with constant L = 2 sup||grad grad k|| = 2 / sigma^2, so the trajectories stay within
    n h e exp(n h L) (discrete Gronwall). The energy (value sums) and the drift (gradient sums)
    have their own plans, so the autodiff dissipation residual is 0 up to 1e-10 relative."""
    x0, y = clouds()
    kernel = GaussianKernel(1.0)
    ts = jnp.linspace(0, 1.0, 11)
    solver = flows.GradientDescent(step=0.1)
    fourier_flow = flows.particle.MMDFlow(y, kernel, backend=FOURIER)
    recorded = {**fourier_flow.diagnostics(), "dissipation_residual": fourier_flow.dissipation_residual}
    fast = flows.simulate(fourier_flow, x0, t1=1.0, ts=ts, solver=solver, diagnostics=recorded)
    exact = flows.simulate(flows.particle.MMDFlow(y, kernel), x0, t1=1.0, ts=ts, solver=solver)
    support = jnp.concatenate([fast.ys.reshape(-1, D), y])  # every state's box
    bound = float(FOURIER.plan(kernel, support, support, 1).bound)
    gap = 10 * 0.1 * 2 * bound * np.exp(10 * 0.1 * 2.0)
    assert np.max(np.abs(np.asarray(fast.ys) - np.asarray(exact.ys))) <= gap
    assert gap < 1e-5  # the bound says something
    residual = np.abs(np.asarray(fast.diagnostics["dissipation_residual"]))
    assert residual.max() < 1e-8 * np.asarray(fast.diagnostics["dissipation"]).max()
