"""`backend=` on every particle flow that sums a kernel: the exact backends (blocked tiles, rows
sharded across devices) give the `"auto"` drift and diagnostics, and every kernel sum of a flow
goes through its backend.

Tolerance: the exact backends only reorder the additions of each sum, an error of a few N eps
(N = 24 terms, eps = 2.2e-16) relative to the sum's scale; the Sobolev solves amplify it by the
condition number of H + N lambda I (below 1e2 here) and the conjugate gradient stops at a residual
of 1e-13. 1e-10 relative to each quantity's largest entry leaves a margin of 100x or more.
"""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import flows
from flows import targets as T

from backend_cases import assert_same, clouds, evaluate, kernel_flows

HERE = Path(__file__).resolve()
ROOT = HERE.parents[2]
DIAGNOSTICS_TESTS = ROOT / "tests" / "diagnostics" / "test_diagnostics.py"
RTOL = 1e-10


def assert_flows_match_auto(backend, rtol=RTOL):
    """Every kernel flow under `backend` computes what it computes under `"auto"`."""
    x, _ = clouds()
    reference = kernel_flows("auto")
    for name, flow in kernel_flows(backend).items():
        assert_same(evaluate(flow, x), evaluate(reference[name], x), rtol, name)


def test_blocked_backend_gives_the_auto_drift_and_diagnostics():
    """Tiles of 7 x 5 (so the 24 particles and 20 targets are cut into padded blocks)."""
    assert_flows_match_auto(flows.kernels.BlockedSums(row_block=7, col_block=5))


class KernelSwapSums(flows.kernels.AbstractSumBackend):
    """Exact dense sums under `kernel`, whatever kernel the caller passes: a flow whose every sum
    goes through its backend then computes exactly what the same flow under `kernel` does."""

    kernel: flows.kernels.AbstractKernel

    def kernel_sum(self, kernel, x, y, weights):
        return flows.kernels.DenseSums().kernel_sum(self.kernel, x, y, weights)

    def kernel_grad_sum(self, kernel, x, y, weights):
        return flows.kernels.DenseSums().kernel_grad_sum(self.kernel, x, y, weights)

    def kernel_hessian_sum(self, kernel, x, y, vectors):
        return flows.kernels.DenseSums().kernel_hessian_sum(self.kernel, x, y, vectors)


# what does not go through the backend by nature: the dense Sobolev solve forms the Nd x Nd
# matrix H, and the averaged noise-injected drift sums the flow's kernel smoothed by the noise
BYPASS = {"sobolev_dense": {"drift", "dissipation"}, "noise_injected": {"drift"}}


def test_every_kernel_sum_goes_through_the_backend():
    """Gaussian bandwidth 0.9 in the flow, 1.7 in the backend: the flow must compute the 1.7 flow."""
    x, _ = clouds()
    wide = flows.kernels.GaussianKernel(1.7)
    swapped = kernel_flows(KernelSwapSums(wide), kernel=flows.kernels.GaussianKernel(0.9))
    reference = kernel_flows("auto", kernel=wide)
    for name, flow in swapped.items():
        values, expected = evaluate(flow, x), evaluate(reference[name], x)
        for skipped in BYPASS.get(name, ()):
            del values[skipped], expected[skipped]
        assert_same(values, expected, 1e-12, name)


def test_stein_and_sobolev_flows_check_their_backend():
    density = T.Gaussian([0.0, 0.0])
    _, y = clouds()
    kernel = flows.kernels.GaussianKernel(1.0)
    for make in (
        lambda: flows.particle.SVGDFlow(density, kernel, backend="tiled"),
        lambda: flows.particle.KSDFlow(density, kernel, backend="tiled"),
        lambda: flows.particle.KernelSobolevFlow(y, kernel, 0.1, backend="tiled"),
        lambda: flows.particle.DiffusionMMDFlow(y, kernel, 0.1, backend="tiled"),
    ):
        with pytest.raises(ValueError, match="`backend` must be one of"):
            make()


SHARDED_SCRIPT = textwrap.dedent(
    """
    import importlib.util, sys
    import jax
    jax.config.update("jax_enable_x64", True)
    import flows
    assert jax.device_count() == 4, jax.devices()

    def load(name, path):
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    particle, diagnostics = load("particle_backends", sys.argv[1]), load("diagnostics_tests", sys.argv[2])
    backend = flows.kernels.ShardedSums(flows.kernels.BlockedSums(row_block=4, col_block=5))
    particle.assert_flows_match_auto(backend)
    diagnostics.assert_discrepancies_match_auto(backend)
    print("OK")
    """
)


def test_sharded_backend_gives_the_auto_drift_and_diagnostics():
    """Rows split across 4 CPU devices (`ShardedSums`, 4 x 5 tiles on each device), for every
    kernel flow and the MMD², energy distance diagnostics, in one fresh process (XLA's device
    count is fixed when JAX starts)."""
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", SHARDED_SCRIPT, str(HERE), str(DIAGNOSTICS_TESTS)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("OK"), done.stdout + done.stderr
