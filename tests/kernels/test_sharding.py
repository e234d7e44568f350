"""Particles sharded over 4 CPU devices give the one-device trajectory (issue 3). XLA flags must
be set before JAX starts, so the check runs in a fresh subprocess."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import jax, jax.numpy as jnp, numpy as np
    jax.config.update("jax_enable_x64", True)
    import flows
    assert jax.device_count() == 4, jax.devices()
    kx, ky = jax.random.split(jax.random.PRNGKey(0))
    x0 = jax.random.normal(kx, (64, 2))
    target = jax.random.normal(ky, (48, 2)) + 1.0
    sharded = flows.kernels.shard_particles(x0)
    assert len(sharded.sharding.device_set) == 4
    runs = (("dense", None), (flows.kernels.ShardedSums(flows.kernels.BlockedSums(row_block=8, col_block=16)), flows.GradientDescent(step=0.1)))
    for backend, solver in runs:  # Tsit5 on dense sums (XLA splits them), GD on blocked sums split by shard_map
        flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.0), backend=backend)
        one = flows.simulate(flow, x0, t1=1.0, ts=jnp.linspace(0, 1, 3), solver=solver)
        many = flows.simulate(flow, sharded, t1=1.0, ts=jnp.linspace(0, 1, 3), solver=solver)
        np.testing.assert_allclose(many.ys, one.ys, rtol=1e-12, atol=1e-13)
        np.testing.assert_allclose(many.diagnostics["mmd2"], one.diagnostics["mmd2"], rtol=1e-12)
    # the sharded drift stays sharded by particle rows
    v = jax.jit(lambda x: flow.drift(0.0, x, None))(sharded)
    assert len(v.sharding.device_set) == 4 and not v.sharding.is_fully_replicated
    try:
        flows.kernels.shard_particles(x0[:63])
    except ValueError as e:
        assert "`x`" in str(e)
    else:
        raise AssertionError("63 particles on 4 devices must be refused")
    print("OK")
    """
)


def test_sharded_trajectory_equals_one_device():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("OK"), done.stdout + done.stderr
