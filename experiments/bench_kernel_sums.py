r"""Benchmark: one MMD-flow step (Gaussian kernel, float32) on every `flows` backend and on the
peers installed here, in one run. Issue 3.

A step is x <- x - h grad f(x), f the witness of the particles x (N) against the target y (M = N):
the cost of every explicit solver step. Each case runs in a fresh subprocess (so an out-of-memory
peer only loses its own row, and peak memory is per case): median wall time of `--repeats` steps
after one warm-up step (compilation), and the peak resident memory above the process's
baseline after the data were made.

Peers (optional; skipped with the reason when missing or failing): GeomLoss `SamplesLoss("gaussian")`
with `backend="online"` (KeOps) and `"tensorized"`, and a plain PyTorch tensorized step (explicit
gradient, matrix products). The sliced backend runs the Riesz kernel (its only kernel), so its
row is the sliced MMD flow's step, with P = 256 projections: `flows-sliced` as a user gets it
("auto": bucketed CDFs from 2^14 points on; its row also gives `bucket_error_bound`, the bound on
the buckets' added error in witness-gradient units), `flows-sliced-sort` the exact sort path.
`flows-fourier` is `FourierApproximation(rtol=1e-8)` (non-uniform FFTs, d <= 3) and
`flows-sliced-fourier` is `SlicedFourierApproximation` with P = 256 random directions (any d, 1-D rtol 1e-6,
Gaussian of bandwidth sqrt(d) there, so that the kernel does not vanish between the clouds), the
first in float64 (rtol 1e-8 needs it), the second in float32 like the other cases; their records add the measured
error of the drift against the exact float64 sum on `ERROR_ROWS` sampled particles (max over those
rows of the error norm, relative to the largest exact norm), the plan's period and grid and its
bound, and for the sliced case the error at P = 16, 64, 256 and its slope in P.
`xla-exp-sum` is the floor for any exact Gaussian step in XLA: $\sum_j e^{a_i + b_j}$ over the
same N x 2N pairs in 256-row blocks, one exp and one add per pair and nothing else (its time per
pair is XLA's own exp + sum rate). Each record also has `cpu_s`, the process CPU time of one step (all threads): on a shared
machine it moves much less with the load than the wall time.

    python experiments/bench_kernel_sums.py                 # N in {1e3, 1e4}, d in {2, 64}: a few minutes
    python experiments/bench_kernel_sums.py --large         # adds N = 1e5 (and 1e6 for sliced/features)
    python experiments/bench_kernel_sums.py --sizes 100000 --dims 2 --only flows-blocked
    python experiments/bench_kernel_sums.py --fourier       # adds the Fourier goals: 1e5 and 1e6 in d = 2, 3; sliced 1e6 in d = 64

Writes experiments/results/bench_kernel_sums.json and prints a table with ratios peer / flows
(against the fastest exact flows backend of the same N, d).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "experiments" / "results" / "bench_kernel_sums.json"
BANDWIDTH = 1.0
STEP = 0.1
CASES = ["flows-dense", "flows-blocked", "flows-auto", "flows-features", "flows-sliced", "flows-sliced-sort",
         "flows-fourier", "flows-sliced-fourier", "xla-exp-sum", "geomloss-keops", "geomloss-tensorized", "torch-tensorized"]
EXACT_FLOWS = ["flows-dense", "flows-blocked", "flows-auto"]
FOURIER_CASES = ["flows-fourier", "flows-sliced-fourier"]
FOURIER_RTOL = 1e-8
ERROR_ROWS = 1000
SLICED_PROJECTIONS = 256
# largest N per case in a default or --large run (beyond: out of memory or hours on 2 cores)
MAX_N = {"flows-dense": 10_000, "geomloss-tensorized": 10_000, "torch-tensorized": 10_000,
         "flows-blocked": 100_000, "flows-auto": 100_000, "geomloss-keops": 100_000, "xla-exp-sum": 100_000,
         "flows-sliced-sort": 100_000, "flows-features": 1_000_000, "flows-sliced": 1_000_000,
         "flows-fourier": 1_000_000, "flows-sliced-fourier": 1_000_000}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _data(n: int, d: int, dtype: str = "float32"):
    import numpy as np

    rng = np.random.default_rng(0)
    return rng.standard_normal((n, d)).astype(dtype), (rng.standard_normal((n, d)) + 1.0).astype(dtype)


def _bandwidth(case: str, d: int) -> float:
    return math.sqrt(d) if case == "flows-sliced-fourier" else BANDWIDTH


def _fourier_backend(case: str, projections: int = SLICED_PROJECTIONS):
    import jax

    import flows

    if case == "flows-fourier":
        return flows.kernels.FourierApproximation(rtol=FOURIER_RTOL)
    return flows.kernels.SlicedFourierApproximation(jax.random.PRNGKey(0), projections=projections)


def _flows_step(backend_name: str):
    import jax
    import jax.numpy as jnp

    sys.path.insert(0, str(ROOT))
    import flows
    from flows.discrepancies.mmd import witness_grad_unchecked

    if backend_name in ("fourier", "sliced-fourier"):
        case = "flows-" + backend_name
        kernel, backend = flows.kernels.GaussianKernel(_bandwidth(case, DIM[0])), _fourier_backend(case)
        step = jax.jit(lambda x, y: x - STEP * witness_grad_unchecked(x, x, y, kernel, backend))
        return jnp.asarray, lambda x, y: step(x, y).block_until_ready()
    kernel = flows.kernels.EnergyKernel(1.0) if backend_name.startswith("sliced") else flows.kernels.GaussianKernel(BANDWIDTH)
    backend = {
        "dense": "dense", "blocked": "blocked", "auto": "auto",
        "features": flows.kernels.RandomFeatureApproximation(jax.random.PRNGKey(0), features=1024),
        "sliced": flows.kernels.SlicedRieszApproximation(jax.random.PRNGKey(0), projections=256),
        "sliced-sort": flows.kernels.SlicedRieszApproximation(jax.random.PRNGKey(0), projections=256, method="sort"),
    }[backend_name]
    step = jax.jit(lambda x, y: x - STEP * witness_grad_unchecked(x, x, y, kernel, backend))
    to_device = lambda a: jnp.asarray(a)
    run = lambda x, y: step(x, y).block_until_ready()
    return to_device, run


def _exp_sum_step():
    import jax
    import jax.numpy as jnp

    def exp_sum(x, y):
        a, b = x[:, 0], jnp.concatenate([y[:, 0], x[:, 0]]) - 3.0  # N x 2N pairs, like a step
        rows = jnp.pad(a, (0, -a.shape[0] % 256)).reshape(-1, 256)
        return jax.lax.map(lambda r: jnp.sum(jnp.exp(r[:, None] + b[None, :]), axis=1), rows)

    step = jax.jit(exp_sum)
    return jnp.asarray, lambda x, y: step(x, y).block_until_ready()


def _torch_step(kind: str):
    import torch

    def to_device(a):
        return torch.from_numpy(a)

    if kind == "torch-tensorized":
        def run(x, y):
            n, m = x.shape[0], y.shape[0]
            pts = torch.cat([x, y])
            w = torch.cat([torch.full((n,), 1.0 / n), torch.full((m,), -1.0 / m)])
            s = ((x * x).sum(1)[:, None] + (pts * pts).sum(1)[None, :] - 2 * x @ pts.T).clamp_min(0)
            dp = torch.exp(s * (-0.5 / BANDWIDTH**2)) * (w * (-0.5 / BANDWIDTH**2))
            grad = 2 * (x * dp.sum(1, keepdim=True) - dp @ pts)
            return x - STEP * grad
        return to_device, run

    from geomloss import SamplesLoss

    loss = SamplesLoss("gaussian", blur=BANDWIDTH, backend="online" if kind == "geomloss-keops" else "tensorized")

    def run(x, y):
        x = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(loss(x, y), [x])  # loss = MMD^2 / 2: grad = grad f(x_i) / N
        return x.detach() - STEP * x.shape[0] * g

    return to_device, run


DIM = [2]  # the case's dimension, for the step builders


def _fourier_record(case: str, x, y) -> dict:
    """The drift's error against the exact float64 sum on `ERROR_ROWS` sampled particles, the
    plan (period, grid, bound) and, for the sliced case, the error at P = 16, 64, 256 and its slope."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import numpy as np

    import flows
    from flows.discrepancies.mmd import witness_grad_unchecked
    from flows.kernels import fourier_bounds

    kernel = flows.kernels.GaussianKernel(_bandwidth(case, x.shape[1]))
    rows = x[np.random.default_rng(1).choice(x.shape[0], min(ERROR_ROWS, x.shape[0]), replace=False)]
    exact = eqx.filter_jit(witness_grad_unchecked)(rows, x, y, kernel, flows.kernels.BlockedSums())
    scale = float(jnp.max(jnp.linalg.norm(exact, axis=1)))

    def error(backend) -> float:
        approx = eqx.filter_jit(witness_grad_unchecked)(rows, x, y, kernel, backend)
        return float(jnp.max(jnp.linalg.norm(approx - exact, axis=1))) / scale

    sources = jnp.concatenate([x, y])
    backend = _fourier_backend(case)
    plan = eqx.filter_jit(lambda b, z, s: b.plan(kernel, z, s, 1))(backend, x, sources)
    ladder = fourier_bounds.mode_ladder(x.shape[1] if case == "flows-fourier" else 1, backend.max_modes)
    record = {"max_rel_error": error(backend), "bandwidth": kernel.bandwidth,
              "rtol": FOURIER_RTOL if case == "flows-fourier" else "default (1e-5 in float32)",
              "period": float(plan.period), "modes_per_axis": ladder[int(plan.index)],
              "bound_per_unit_weight": float(plan.bound), "bound_relative": 2 * float(plan.bound) / scale}
    if case == "flows-sliced-fourier":
        counts = [16, 64, SLICED_PROJECTIONS]
        errors = [error(_fourier_backend(case, p)) for p in counts[:-1]] + [record["max_rel_error"]]
        record.update(projections=SLICED_PROJECTIONS, errors_by_projections=dict(zip(counts, errors)),
                      slope_in_projections=float(np.polyfit(np.log(counts), np.log(errors), 1)[0]))
    return record


def run_case(case: str, n: int, d: int, repeats: int) -> dict:
    """Time one case in this process; return its record."""
    import statistics

    DIM[0] = d
    if case in FOURIER_CASES:
        import jax

        jax.config.update("jax_enable_x64", True)
    xs, ys = _data(n, d, "float64" if case == "flows-fourier" else "float32")
    if case.startswith("flows-"):
        to_device, run = _flows_step(case.removeprefix("flows-"))
    else:
        to_device, run = _exp_sum_step() if case == "xla-exp-sum" else _torch_step(case)
    x, y = to_device(xs), to_device(ys)
    base = _rss_mb()
    start = time.perf_counter()
    run(x, y)
    warmup = time.perf_counter() - start
    times, cpu_times = [], []
    for _ in range(repeats if warmup < 20 else 1):
        start, cpu_start = time.perf_counter(), time.process_time()
        run(x, y)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    median = statistics.median(times)
    pairs = n * 2 * n  # particles x (particles + targets)
    record = {"case": case, "n": n, "d": d, "median_s": median, "cpu_s": statistics.median(cpu_times), "warmup_s": warmup,
              "repeats": len(times), "peak_extra_mb": _rss_mb() - base, "pairs_per_s": pairs / median}
    if case == "flows-sliced":
        record["bucket_error_bound"] = _bucket_error_bound(x, y)
    if case in FOURIER_CASES:
        record.update(_fourier_record(case, x, y))
    return record


def _bucket_error_bound(x, y) -> float | None:
    """The sliced backend's bound on its buckets' added error (None where it sorts)."""
    import equinox as eqx
    import jax

    import flows

    backend = flows.kernels.SlicedRieszApproximation(jax.random.PRNGKey(0), projections=256)
    if not backend.uses_histograms(2 * x.shape[0] + y.shape[0]):
        return None
    return float(eqx.filter_jit(lambda b, x, y: b.bucket_error_bound(x, y))(backend, x, y))


def _child(case: str, n: int, d: int, repeats: int, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--child", case, str(n), str(d), str(repeats)]
    env = dict(os.environ, JAX_PLATFORMS=os.environ.get("JAX_PLATFORMS", "cpu"))
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"case": case, "n": n, "d": d, "skipped": f"over the {timeout:.0f} s time limit"}
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        reason = "killed (out of memory?)" if done.returncode < 0 else (lines[-1] if lines else f"exit {done.returncode}")
        return {"case": case, "n": n, "d": d, "skipped": reason[:300]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _available(case: str) -> str | None:
    """None if the case can run here, else why not."""
    probes = {"geomloss-keops": "import geomloss, pykeops, torch", "geomloss-tensorized": "import geomloss, torch",
              "torch-tensorized": "import torch"}
    if case not in probes:
        return None
    done = subprocess.run([sys.executable, "-c", probes[case]], capture_output=True, text=True)
    if done.returncode:
        return "not installed: " + done.stderr.strip().splitlines()[-1]
    return None


def _table(records: list[dict]) -> str:
    rows = ["| N = M | d | case | median step | CPU time | pairs/s | peak extra memory | ratio case / best exact flows |",
            "|---|---|---|---|---|---|---|---|"]
    for n in sorted({r["n"] for r in records}):
        for d in sorted({r["d"] for r in records if r["n"] == n}):
            group = [r for r in records if r["n"] == n and r["d"] == d]
            exact = [r["median_s"] for r in group if r["case"] in EXACT_FLOWS and "median_s" in r]
            best = min(exact) if exact else None
            for r in group:
                if "median_s" not in r:
                    rows.append(f"| {n:.0e} | {d} | {r['case']} | skipped: {r['skipped']} | | | | |")
                    continue
                ratio = f"{r['median_s'] / best:.2f}" if best else "n/a"
                note = f" (max rel. error {r['max_rel_error']:.1e})" if "max_rel_error" in r else ""
                rows.append(f"| {n:.0e} | {d} | {r['case']}{note} | {r['median_s']:.3g} s | {r['cpu_s']:.3g} s "
                            f"| {r['pairs_per_s'] / 1e9:.2f} G | {r['peak_extra_mb']:.0f} MB | {ratio} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 64])
    parser.add_argument("--large", action="store_true", help="add N = 1e5 (and 1e6 for sliced and features)")
    parser.add_argument("--only", nargs="+", choices=CASES, default=CASES)
    parser.add_argument("--fourier", action="store_true",
                        help="the Fourier goals: Fourier and exact blocked at 1e5 (d = 2), Fourier at 1e6 (d = 2, 3), "
                             "sliced Fourier at 1e6 (d = 64), KeOps beside them")
    parser.add_argument("--only-fourier", action="store_true", help="with --fourier: the Fourier goals alone")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per case")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        case, n, d, repeats = args.child
        print(json.dumps(run_case(case, int(n), int(d), int(repeats))))
        return
    sizes = sorted(set(args.sizes) | ({100_000, 1_000_000} if args.large else set()))
    missing = {case: _available(case) for case in CASES}
    plan = [(n, d, case) for n in sizes for d in args.dims for case in args.only
            if case != "flows-fourier" or d <= 3]
    if args.fourier:  # after the default table, or alone with --only-fourier
        plan = [] if args.only_fourier else plan
        plan += [(100_000, 2, "flows-fourier"), (100_000, 2, "flows-blocked"), (100_000, 2, "geomloss-keops"),
                 (1_000_000, 2, "flows-fourier"), (1_000_000, 2, "geomloss-keops"), (1_000_000, 3, "flows-fourier"),
                 (1_000_000, 64, "flows-sliced-fourier")]
    records = []
    for n, d, case in plan:
        if missing[case]:
            record = {"case": case, "n": n, "d": d, "skipped": missing[case]}
        elif n > MAX_N[case] and not args.fourier:
            continue
        else:
            record = _child(case, n, d, args.repeats, args.timeout)
        records.append(record)
        print(json.dumps(record), flush=True)
    machine = {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
               "cpus": os.cpu_count(), "load_average_1min_at_end": os.getloadavg()[0], "python": platform.python_version()}
    from flows.export import atomic_path  # imported here: the parent process stays free of JAX while cases run

    with atomic_path(args.out) as tmp:
        tmp.write_text(json.dumps({"machine": machine, "step": STEP, "bandwidth": BANDWIDTH,
                                   "dtype": "float32 (flows-fourier: float64)",
                                   "records": records}, indent=1))
    print(f"\nmachine: {machine}\n")
    print(_table(records))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
