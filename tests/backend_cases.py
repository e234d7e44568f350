"""Shared cases for the backend tests: one pair of clouds, every particle flow that sums a kernel
under a given backend, what each computes from kernel sums, and the comparison of two such results."""

import jax
import numpy as np

import flows
from flows.core.diagnostic_groups import DiagnosticRecorder
from flows import targets as T

N, M, D = 24, 20, 2  # multiples of 4 (rows split across 4 devices); tiles of 7 x 5 pad both
T_EVAL = 0.3


def clouds():
    """Particles (N, d) and target samples (M, d), from fixed keys."""
    kx, ky = jax.random.split(jax.random.PRNGKey(0))
    return jax.random.normal(kx, (N, D)), 0.8 * jax.random.normal(ky, (M, D)) + 1.0


def kernel_flows(backend, kernel=None, sobolev_dense: bool = True):
    """Every particle flow that sums a kernel, under `kernel` (default Gaussian, bandwidth 1.1) and `backend`, by name (the dense
    Sobolev solve, which builds the Gram matrix, only with `sobolev_dense`)."""
    kernel = flows.kernels.GaussianKernel(1.1) if kernel is None else kernel
    _, y = clouds()
    density = T.Gaussian([1.0, -0.5], [[1.0, 0.3], [0.3, 0.6]])
    P = flows.particle
    made = {
        "mmd": P.MMDFlow(y, kernel, backend=backend),
        "noise_injected": P.NoiseInjectedMMDFlow(y, kernel, 0.4, backend=backend),
        "diffusion": P.DiffusionMMDFlow(y, kernel, 0.1, backend=backend),
        "sobolev_cg": P.KernelSobolevFlow(y, kernel, 0.05, solver="cg", cg_rtol=1e-13, cg_atol=1e-15, backend=backend),
        "svgd": P.SVGDFlow(density, kernel, backend=backend),
        "ksd": P.KSDFlow(density, kernel, backend=backend),
    }
    if sobolev_dense:
        made["sobolev_dense"] = P.KernelSobolevFlow(y, kernel, 0.05, backend=backend)
    return made


def evaluate(flow, x):
    """What a flow computes from kernel sums: its drift, the noisy scheme's discrete drift, and
    its default diagnostics as `simulate` records them (each group in one call)."""
    out = {"drift": flow.drift(T_EVAL, x, None)}
    if isinstance(flow, flows.particle.NoiseInjectedMMDFlow):
        out["discrete_drift"] = flow.discrete_drift(T_EVAL, x, None, jax.random.PRNGKey(3))
    out.update(DiagnosticRecorder.of(flow.diagnostics())(T_EVAL, x, None))
    return out


def assert_same(values, reference, rtol, label):
    """Every entry of `values` within `rtol` of `reference`, relative to the largest entry of each."""
    assert values.keys() == reference.keys(), label
    for name, ref in reference.items():
        ref = np.asarray(ref)
        np.testing.assert_allclose(values[name], ref, rtol=rtol, atol=rtol * np.abs(ref).max(), err_msg=f"{label}: {name}")
