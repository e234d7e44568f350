"""How much `simulate` costs over a plain `lax.scan` Euler loop on a small problem (issue 3).

Small flows are where a solver library's bookkeeping shows (a known diffrax pitfall: the
checkpointed while-loop and save machinery per step). One problem, four ways, the same drift
(`MMDFlow.drift`, Gaussian kernel, N = M = 100, d = 2, float32), K Euler steps of size h = 1/16:

1. a plain `jax.lax.scan` Euler loop (the floor);
2. `diffrax.diffeqsolve(..., Euler(), ConstantStepSize())` called directly, saving the end;
3. `flows.simulate(flow, x0, solver=diffrax.Euler(), dt0=h, ts=[0, t1], diagnostics={})`;
4. `flows.simulate(flow, x0, solver=flows.GradientDescent(step=h), ...)` (the lax.scan engine).

Median wall time of 5 calls after a warm-up call (compilation excluded), as ratios to (1).
Writes experiments/results/bench_simulate_overhead.json.

    python experiments/bench_simulate_overhead.py [--steps 2000] [--n 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import flows  # noqa: E402


def timed(fn, calls: int = 5) -> float:
    jax.block_until_ready(fn())
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    kx, ky = jax.random.split(jax.random.PRNGKey(0))
    x0 = jax.random.normal(kx, (args.n, 2), jnp.float32)
    target = jax.random.normal(ky, (args.n, 2), jnp.float32) + 2.0
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.0))
    h, steps = 0.0625, args.steps  # a binary fraction: t1 is exactly steps * h in float32 too
    t1 = h * steps

    @jax.jit
    def scan_loop(x):
        def body(x, i):
            return x + h * flow.drift(i * h, x, None), None
        return jax.lax.scan(body, x, jnp.arange(steps, dtype=jnp.float32))[0]

    @jax.jit
    def diffrax_direct(x):
        sol = diffrax.diffeqsolve(diffrax.ODETerm(flow.drift), diffrax.Euler(), 0.0, t1, h, x,
                                  saveat=diffrax.SaveAt(t1=True), max_steps=steps + 1)
        return sol.ys[-1]

    ts = jnp.array([0.0, t1], jnp.float32)
    cases = {
        "lax.scan Euler loop": lambda: scan_loop(x0),
        "diffrax.diffeqsolve Euler": lambda: diffrax_direct(x0),
        "flows.simulate diffrax Euler": lambda: flows.simulate(flow, x0, t1=t1, ts=ts, solver=diffrax.Euler(), dt0=h,
                                                               diagnostics={}, max_steps=steps + 1).ys,
        "flows.simulate GradientDescent": lambda: flows.simulate(flow, x0, t1=t1, ts=ts, solver=flows.GradientDescent(step=h),
                                                                 diagnostics={}).ys,
    }
    results = {name: timed(fn) for name, fn in cases.items()}
    floor = results["lax.scan Euler loop"]
    for name, seconds in results.items():
        print(f"{name:32s} {seconds * 1e3:8.1f} ms   x{seconds / floor:.2f}")
    out = ROOT / "experiments" / "results" / "bench_simulate_overhead.json"
    with flows.export.atomic_path(out) as tmp:
        tmp.write_text(json.dumps({"n": args.n, "steps": steps, "seconds": results,
                                   "ratio_to_scan": {k: v / floor for k, v in results.items()}}, indent=1))


if __name__ == "__main__":
    main()
