"""How much `simulate` costs over a plain `lax.scan` Euler loop on a small problem (issue 3), and what its
in-loop diagnostics cost at large N (issue 16).

Small flows are where a solver library's bookkeeping shows (a known diffrax pitfall: the
checkpointed while-loop and save machinery per step). One problem, four ways, the same drift
(`MMDFlow.drift`, Gaussian kernel, N = M = 100, d = 2, float32), K Euler steps of size h = 1/16:

1. a plain `jax.lax.scan` Euler loop (the floor);
2. `diffrax.diffeqsolve(..., Euler(), ConstantStepSize())` called directly, saving the end;
3. `flows.simulate(flow, x0, solver=diffrax.Euler(), dt0=h, ts=[0, t1], diagnostics={})`;
4. `flows.simulate(flow, x0, solver=flows.GradientDescent(step=h), ...)` (the lax.scan engine).

Median wall time of 5 calls after a warm-up call (compilation excluded), as ratios to (1).

Second part (issue 16): what recording the diagnostics costs at large N. `simulate` evaluates the
diagnostic set once per saved time at the saved state, inside the compiled loop. `MMDFlow`
(Gaussian kernel, N = M, d = 2, float32, blocked exact sums), in the same run:

- one drift evaluation (the peer);
- the former default set (`mmd2`, `energy`, `dissipation`, `dissipation_residual`, each its own
  kernel sums);
- the flow's default set now (`flow.diagnostics()`: `mmd2`, `energy` and `dissipation` are one
  diagnostic group, computed from the kernel evaluations of one drift, which give the witness
  and its gradient at every particle together; the residual, a forward-mode derivative of the
  energy, only when asked for).

Each set is timed two ways: alone (one compiled evaluation at one state, as `simulate` records
it: `DiagnosticRecorder`), and inside `simulate` (5 gradient-descent steps saved at 6 times, minus
the same run with `diagnostics={}`, per saved time). Every case is one compiled call, timed
`--diag-repeats` times with the cases interleaved and the fastest call counting (the machine may
be shared), reported in drift evaluations.
Writes experiments/results/bench_simulate_overhead.json.

    python experiments/bench_simulate_overhead.py [--steps 2000] [--n 100] [--diag-n 10000 20000] [--diag-repeats 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import diffrax
import equinox as eqx
import jax
import jax.numpy as jnp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import flows  # noqa: E402
from flows.core.diagnostic_groups import DiagnosticRecorder  # noqa: E402


def timed(fn, calls: int = 5) -> float:
    jax.block_until_ready(fn())
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def diagnostics_overhead(n: int, repeats: int) -> dict:
    """What one saved time costs in drift evaluations, for the former and the current default
    diagnostics of the MMD flow at N = M = `n`, alone and inside `simulate` (module docstring)."""
    kx, ky = jax.random.split(jax.random.PRNGKey(1))
    x = jax.random.normal(kx, (n, 2), jnp.float32)
    target = jax.random.normal(ky, (n, 2), jnp.float32) + 2.0
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.0))
    sets = {"former default": {"mmd2": flow.mmd2, "energy": flow.energy_at, "dissipation": flow.dissipation,
                               "dissipation_residual": flow.dissipation_residual},
            "current default": flow.diagnostics()}
    record = eqx.filter_jit(lambda recorder, y: recorder(0.0, y, None))
    drift = eqx.filter_jit(lambda y: flow.drift(0.0, y, None))
    steps, saves = 5, 6
    solver = flows.GradientDescent(step=0.01)
    ts = jnp.linspace(0.0, steps * 0.01, saves, dtype=jnp.float32)

    def run(diagnostics):
        return lambda: flows.simulate(flow, x, t1=ts[-1], ts=ts, solver=solver, diagnostics=diagnostics).ys

    cases = {"drift (peer)": lambda: drift(x), "simulate, no diagnostics": run({})}
    for name, diagnostics in sets.items():
        recorder = DiagnosticRecorder.of(diagnostics)
        cases[f"{name}, alone"] = lambda recorder=recorder: record(recorder, x)
        cases[f"{name}, in simulate"] = run(diagnostics)
    for fn in cases.values():
        jax.block_until_ready(fn())  # compilation
    times = {name: [] for name in cases}
    for _ in range(repeats):  # interleaved, so a change in the machine's load hits every case alike
        for name, fn in cases.items():
            start = time.perf_counter()
            jax.block_until_ready(fn())
            times[name].append(time.perf_counter() - start)
    seconds = {name: min(values) for name, values in times.items()}  # the least disturbed call
    peer, bare = seconds["drift (peer)"], seconds["simulate, no diagnostics"]
    per_save = {}
    for name in sets:
        per_save[f"{name}, alone"] = seconds[f"{name}, alone"] / peer
        per_save[f"{name}, in simulate"] = (seconds[f"{name}, in simulate"] - bare) / saves / peer
    for name, t in seconds.items():
        extra = f"  {per_save[name]:.2f} drift evaluations per saved time" if name in per_save else ""
        print(f"N = {n:6d}  {name:30s} {t * 1e3:9.1f} ms{extra}", flush=True)
    return {"n": n, "repeats": repeats, "gd_steps": steps, "saved_times": saves, "seconds": seconds,
            "all_seconds": times, "drift_evaluations_per_save": per_save,
            "diagnostics": {name: sorted(diagnostics) for name, diagnostics in sets.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--diag-n", type=int, nargs="*", default=[10_000, 20_000])
    parser.add_argument("--diag-repeats", type=int, default=5)
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
    overhead = [diagnostics_overhead(n, args.diag_repeats) for n in args.diag_n]
    out = ROOT / "experiments" / "results" / "bench_simulate_overhead.json"
    with flows.export.atomic_path(out) as tmp:
        tmp.write_text(json.dumps({"n": args.n, "steps": steps, "seconds": results,
                                   "ratio_to_scan": {k: v / floor for k, v in results.items()},
                                   "diagnostics_overhead": overhead}, indent=1))


if __name__ == "__main__":
    main()
