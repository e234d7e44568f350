"""GAN objectives: on the 8-Gaussians ring, a JS-GAN generator (the game on
V(D, G) = E_P ln D + E_G ln(1 - D) of Goodfellow et al., NeurIPS 2014, whose best discriminator
D* = p/(p + q) makes it -2 ln 2 + 2 JSD(P, G)) vs the MMD flow vs PKGF. Mode coverage over time:
mode collapse vs coverage.

    PYTHONPATH=. python experiments/gan_objectives.py --quick   # seconds: 1 seed, short runs
    PYTHONPATH=. python experiments/gan_objectives.py           # 4 seeds (a few minutes on CPU)

Setting: 8 Gaussians of std 0.05 on a circle of radius 2 (512 data samples per seed). All three
methods start from the same distribution, the push-forward of N(0, I_2) by one randomly
initialized MLP generator (2 -> 64 -> 64 -> 2, ReLU):
- **JS-GAN**: that generator trained by `flows.games.JSGAN` (non-saturating generator loss, MLP
  discriminator 2 -> 64 -> 64 -> 1, Adam lr 1e-3 with beta1 = 0.5 for both players, one
  discriminator step per generator step, 256 fresh latents per step): the standard setting in
  which the original GAN is known to drop modes of this target.
- **PKGF**: the same generator family, `flows.parametric.PKGF` (reg 1e-2, push-through solve) on a
  fixed batch of 256 latents, stepped by gradient descent with step 0.5.
- **MMD flow**: 256 particles (the initial generator's samples at those latents), `flows.particle.MMDFlow`,
  gradient descent with step 0.5 (step 1 oscillates: the 0.2 bandwidth makes the witness's
  curvature at a mode about 3).

PKGF and the MMD flow use the same kernel, a sum of Gaussians at the data's scales (bandwidths
0.2, 0.5 and 2: the mode spacing 1.53 and the ring's radius). Scores, at 31 saved times: the
fraction of high-quality samples (within 3 std of a mode centre), and the modes covered: the
number of the 8 modes holding at least 1/32 of the samples within 3 std (a quarter of a fair
share; also reported at 1/16), `flows.diagnostics.ModeMass` / `ModeCoverage`. Generators are
scored on 1024 fresh latents, the MMD flow on its particles.

Question: does the JS-GAN drop modes where the MMD flow and PKGF (same generator family) cover
them? The quick test checks that the particle MMD flow covers all 8 modes; the full run reports,
per seed, the final coverage, the high-quality fraction, how unevenly the mass is spread over the
modes, and coverage over time, whatever they show. Writes media/gan_objectives_*.png, media/gan_objectives.gif
and experiments/results/gan_objectives.json, and its section of EXPERIMENTS.md.
"""

from __future__ import annotations

import time
from pathlib import Path

import equinox as eqx
import imageio.v2 as imageio
import jax
import numpy as np
import optax
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from report import Outputs, parse_args

import flows

NAME = "gan_objectives"
MODES, RADIUS, STD = 8, 2.0, 0.05
QUALITY_RADIUS = 3 * STD
MIN_SHARE, STRICT_SHARE = 1 / (4 * MODES), 1 / (2 * MODES)
BANDWIDTHS = (0.2, 0.5, 2.0)
METHODS = ("JS-GAN", "PKGF", "MMD flow")
FULL = dict(seeds=4, n_data=512, n_latents=256, n_eval=1024, gan_steps=3000, pkgf_steps=120, pkgf_step=0.5,
            mmd_steps=300, mmd_step=0.5, width=64, gif_frames=31)
QUICK = dict(seeds=1, n_data=256, n_latents=128, n_eval=512, gan_steps=300, pkgf_steps=30, pkgf_step=0.5,
             mmd_steps=150, mmd_step=0.5, width=32, gif_frames=6)
SAVED = 31  # saved times per run (the step counts are multiples of SAVED - 1)


def save_times(steps: int, step: float) -> np.ndarray:
    """SAVED times on the iteration grid of a discrete run of `steps` steps of size `step`."""
    return step * np.unique(np.round(np.linspace(0, steps, SAVED)))


@eqx.filter_jit
def generated_samples(flow: flows.parametric.AbstractParametricFlow, params, latents: jax.Array) -> jax.Array:
    """The generator's samples at `latents` for every saved parameter state: (T, n, 2)."""
    return jax.vmap(lambda p: flow.samples(p, latents))(params)


@jax.jit
def mode_scores(samples: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(mode shares (T, K), modes covered at MIN_SHARE (T,), at STRICT_SHARE (T,)) of each saved
    sample cloud, samples (T, n, 2): `flows.diagnostics.ModeMass` and `ModeCoverage` within 3 std."""
    means = flows.targets.GaussianMixture.ring(MODES, radius=RADIUS, std=STD).means
    mass = flows.diagnostics.ModeMass(means, radius=QUALITY_RADIUS)
    covered = flows.diagnostics.ModeCoverage(means, radius=QUALITY_RADIUS, min_share=MIN_SHARE)
    strict = flows.diagnostics.ModeCoverage(means, radius=QUALITY_RADIUS, min_share=STRICT_SHARE)
    return jax.vmap(lambda x: (mass(None, x, None), MODES * covered(None, x, None), MODES * strict(None, x, None)))(samples)


def scores(samples: jax.Array) -> dict:
    """Mode shares, high-quality fraction (their sum) and modes covered (two thresholds) over time."""
    masses, modes, modes_strict = (np.asarray(a) for a in mode_scores(samples))
    return {"mode_mass": masses, "high_quality": masses.sum(axis=1), "modes": modes, "modes_strict": modes_strict}


def run_seed(seed: int, size: dict) -> dict:
    """The three methods from one seed's data and initial generator: times, scores, final samples."""
    keys = jax.random.split(jax.random.PRNGKey(seed), 6)
    ring = flows.targets.GaussianMixture.ring(MODES, radius=RADIUS, std=STD)
    data = ring.sample(keys[0], size["n_data"])
    generator = flows.parametric.MLPGenerator(2, 2, width=size["width"], depth=2, activation="relu", key=keys[1])
    latents = jax.random.normal(keys[2], (size["n_latents"], 2))
    evaluation = jax.random.normal(keys[3], (size["n_eval"], 2))
    kernel = flows.kernels.SumKernel([flows.kernels.GaussianKernel(b) for b in BANDWIDTHS])
    runs = {}

    carrier = flows.parametric.ParametricMMDFlow(generator, data, kernel, latents=latents, fresh_latents=size["n_latents"])
    critic = flows.games.MLPCritic(2, width=size["width"], depth=2, activation="relu", key=keys[4])
    game = flows.games.JSGAN(critic, optax.adam(1e-3, b1=0.5), optax.adam(1e-3, b1=0.5), n_critic=1, loss="non_saturating")
    ts = save_times(size["gan_steps"], 1.0)
    traj = flows.simulate(carrier, generator, t1=float(ts[-1]), ts=ts, solver=game, key=keys[5],
                          diagnostics={"mmd2": carrier.mmd2})
    runs["JS-GAN"] = (traj, generated_samples(carrier, traj.ys, evaluation))

    pkgf = flows.parametric.PKGF(generator, data, kernel, reg=1e-2, solve="pushthrough", latents=latents)
    ts = save_times(size["pkgf_steps"], size["pkgf_step"])
    traj = flows.simulate(pkgf, generator, t1=float(ts[-1]), ts=ts, solver=flows.GradientDescent(step=size["pkgf_step"]),
                          diagnostics={"mmd2": pkgf.mmd2})
    runs["PKGF"] = (traj, generated_samples(pkgf, traj.ys, evaluation))

    flow = flows.particle.MMDFlow(data, kernel)
    ts = save_times(size["mmd_steps"], size["mmd_step"])
    traj = flows.simulate(flow, flows.parametric.push_forward(generator, latents), t1=float(ts[-1]), ts=ts,
                          solver=flows.GradientDescent(step=size["mmd_step"]))
    runs["MMD flow"] = (traj, traj.ys)

    out = {"data": np.asarray(data)}
    for method, (traj, samples) in runs.items():
        out[method] = {"ts": np.asarray(traj.ts), "mmd2": np.asarray(traj.diagnostics["mmd2"]),
                       "samples": np.asarray(samples), **scores(samples)}
    return out


def summarize(per_seed: list[dict], method: str) -> dict:
    """Final and over-time numbers of one method across seeds."""
    runs = [s[method] for s in per_seed]
    modes = np.stack([r["modes"] for r in runs])  # (seeds, T)
    final = modes[:, -1]
    reached_all = [float(r["ts"][np.argmax(r["modes"] == MODES)]) if np.any(r["modes"] == MODES) else None for r in runs]
    # mode hopping: coverage that falls after it was reached (the largest drop from a running maximum)
    drops = np.max(np.maximum.accumulate(modes, axis=1) - modes, axis=1)
    final_mass = np.stack([r["mode_mass"][-1] for r in runs])
    # imbalance: total variation between the high-quality samples' spread over the modes and uniform
    spread = final_mass / np.maximum(final_mass.sum(axis=1, keepdims=True), 1e-12)
    imbalance = 0.5 * np.abs(spread - 1 / MODES).sum(axis=1)
    return {
        "final_modes": final.tolist(),
        "final_modes_mean": float(final.mean()),
        "final_modes_strict": [float(r["modes_strict"][-1]) for r in runs],
        "final_high_quality": [float(r["high_quality"][-1]) for r in runs],
        "final_high_quality_mean": float(np.mean([r["high_quality"][-1] for r in runs])),
        "final_largest_mode_share": final_mass.max(axis=1).tolist(),
        "final_smallest_mode_share": final_mass.min(axis=1).tolist(),
        "final_mode_imbalance_tv": imbalance.tolist(),
        "final_mmd2": [float(r["mmd2"][-1]) for r in runs],
        "time_to_all_modes": reached_all,
        "largest_coverage_drop": drops.tolist(),
        "seeds_collapsed": int(np.sum(final < MODES)),
        "times": runs[0]["ts"].tolist(),
        "modes_over_time": modes.tolist(),
        "modes_strict_over_time": np.stack([r["modes_strict"] for r in runs]).tolist(),
        "high_quality_over_time": np.stack([r["high_quality"] for r in runs]).tolist(),
    }


def save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    with flows.export.atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")


def plot_coverage(per_seed: list[dict], path: Path) -> None:
    figure = Figure(figsize=(12, 6), dpi=100)
    axes = figure.subplots(2, 3, sharey="row")
    units = {"JS-GAN": "generator steps", "PKGF": "flow time t (GD step 0.5)", "MMD flow": "flow time t (GD step 0.5)"}
    for column, method in enumerate(METHODS):
        for seed, runs in enumerate(per_seed):
            r = runs[method]
            axes[0, column].plot(r["ts"], r["modes"], c=f"C{seed}", lw=1.4, label=f"seed {seed}", drawstyle="steps-post")
            axes[1, column].plot(r["ts"], r["high_quality"], c=f"C{seed}", lw=1.4)
        axes[0, column].set(title=method, ylim=(-0.3, MODES + 0.5), ylabel="modes covered" if column == 0 else None)
        axes[1, column].set(xlabel=units[method], ylim=(0, 1), ylabel="high-quality fraction (< 3 std)" if column == 0 else None)
        for ax in axes[:, column]:
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    figure.suptitle(f"8-Gaussians ring (std {STD}): modes holding ≥ 1/{round(1 / MIN_SHARE)} of the samples within 3 std")
    figure.tight_layout()
    save(figure, path)


def draw_panels(axes, runs: dict, frame: int | None, data: np.ndarray) -> None:
    for ax, method in zip(axes, METHODS):
        r = runs[method]
        i = len(r["ts"]) - 1 if frame is None else frame
        ax.clear()
        ax.scatter(*data.T, s=2, c="tab:orange", alpha=0.35)
        ax.scatter(*r["samples"][i].T, s=2, c="tab:blue", alpha=0.6)
        ax.set(xlim=(-2.8, 2.8), ylim=(-2.8, 2.8), xticks=[], yticks=[], aspect="equal")
        ax.set_title(f"{method}: {r['modes'][i]:.0f} modes, {100 * r['high_quality'][i]:.0f}% HQ", fontsize=9)


def plot_samples(runs: dict, path: Path) -> None:
    figure = Figure(figsize=(10, 3.6), dpi=100)
    draw_panels(figure.subplots(1, 3), runs, None, runs["data"])
    figure.suptitle("final samples (blue) over the data (orange), seed 0", fontsize=10)
    figure.tight_layout()
    save(figure, path)


def animate(runs: dict, path: Path, frames: int) -> None:
    """The three methods side by side, each frame at the same saved index of each run (the runs' own clocks)."""
    figure = Figure(figsize=(7.5, 2.7), dpi=60)
    canvas = FigureCanvasAgg(figure)
    axes = figure.subplots(1, 3)
    with flows.export.atomic_path(path) as tmp, imageio.get_writer(tmp, format="GIF", mode="I", duration=150, loop=0) as writer:
        for frame in np.unique(np.round(np.linspace(0, SAVED - 1, frames)).astype(int)):
            draw_panels(axes, runs, frame, runs["data"])
            figure.tight_layout()
            canvas.draw()
            writer.append_data(np.asarray(canvas.buffer_rgba())[..., :3])


def section(results: dict, out: Outputs, figures: dict) -> str:
    rows = []
    for method in METHODS:
        s = results["methods"][method]
        rows.append(
            f"| {method} | {', '.join(str(int(m)) for m in s['final_modes'])} | "
            f"{', '.join(str(int(m)) for m in s['final_modes_strict'])} | "
            f"{', '.join(f'{q:.2f}' for q in s['final_high_quality'])} | "
            f"{', '.join(f'{m:.3f}' for m in s['final_smallest_mode_share'])} | "
            f"{', '.join(f'{m:.2f}' for m in s['final_mode_imbalance_tv'])} | "
            f"{', '.join(str(int(d)) for d in s['largest_coverage_drop'])} |"
        )
    seeds = results["setup"]["seeds"]
    verdicts = []
    for method in METHODS:
        s = results["methods"][method]
        missed = s["seeds_collapsed"]
        verdicts.append(f"{method}: all 8 modes at the end in {seeds - missed} of {seeds} seed{'s' if seeds > 1 else ''}"
                        f" (mean {s['final_modes_mean']:.2f} modes, high-quality fraction {s['final_high_quality_mean']:.2f})")
    gan, pkgf, mmd = (results["methods"][m] for m in METHODS)
    mean = lambda values: float(np.mean(values))
    rising = sum(int(row[-1] > row[(2 * len(row)) // 3]) for row in gan["modes_over_time"])
    shape = ("a collapse onto one or two modes" if gan["final_modes_mean"] < 3 else
             "not the collapse onto one or two modes often shown for this target, but slow and uneven coverage")
    evenness = "more" if mean(pkgf["final_mode_imbalance_tv"]) < mean(gan["final_mode_imbalance_tv"]) else "no more"
    precision = "less" if pkgf["final_high_quality_mean"] < gan["final_high_quality_mean"] else "more"
    reading = f"""**Reading.** The JS-GAN ends with {mean(gan['final_modes']):.2f} of 8 modes on average
({shape}): its samples are precise (high-quality fraction {gan['final_high_quality_mean']:.2f}) but spread
unevenly over the modes (imbalance {mean(gan['final_mode_imbalance_tv']):.2f}; its least-visited mode holds
{min(gan['final_smallest_mode_share']):.3f} of the samples in the worst seed), and its coverage was higher at
the end than at two thirds of the run in {rising} of {seeds} seeds. PKGF, on the same generator family, spreads
its mass {evenness} evenly (imbalance {mean(pkgf['final_mode_imbalance_tv']):.2f} against the GAN's
{mean(gan['final_mode_imbalance_tv']):.2f}) and {precision} precisely (high-quality fraction
{pkgf['final_high_quality_mean']:.2f}; a continuous generator trained against a kernel at the data's scales
leaves bridges between the modes). The particle MMD flow, free of any generator, covers every mode
in every seed with high-quality fraction {mmd['final_high_quality_mean']:.2f} and imbalance
{mean(mmd['final_mode_imbalance_tv']):.2f}."""
    caveat = ("\n\nIn the quick setting the runs are far too short to judge the JS-GAN or PKGF (a few hundred "
              "GAN steps, 30 PKGF steps); only the MMD flow's coverage is checked there." if out.quick else "")
    return f"""
**Question.** Does the original GAN game (`flows.games.JSGAN`: V(D, G) = E_P ln D + E_G ln(1 - D),
non-saturating generator loss) drop modes of the 8-Gaussians ring where the particle MMD flow and
PKGF (the same MLP generator family as the GAN) cover them all?

**Setting.** 8 Gaussians of std {STD} on a circle of radius {RADIUS} ({results['setup']['n_data']} data
samples per seed); all methods start from the same MLP generator's samples (2 → {results['setup']['width']} →
{results['setup']['width']} → 2, ReLU). JS-GAN: MLP discriminator, Adam lr 1e-3 (β₁ = 0.5) for both players,
one discriminator step per generator step, {results['setup']['gan_steps']} steps. PKGF: reg 1e-2,
{results['setup']['pkgf_steps']} gradient steps of 0.5 on {results['setup']['n_latents']} fixed latents (push-through solve). MMD flow:
{results['setup']['n_latents']} particles, {results['setup']['mmd_steps']} gradient steps of 0.5. Kernel for both flows:
Gaussians of bandwidths {', '.join(str(b) for b in BANDWIDTHS)} summed. A mode is covered when it holds at least
1/{round(1 / MIN_SHARE)} of the samples within 3 std of its centre (`flows.diagnostics.ModeCoverage`); high
quality = within 3 std of some mode. {seeds} seed{'s' if seeds > 1 else ''}.

**Result.** {'; '.join(verdicts)}.{caveat}

{"" if out.quick else reading}

One number per seed:

| method | modes covered (≥ 1/{round(1 / MIN_SHARE)}) | modes (≥ 1/{round(1 / STRICT_SHARE)}) | high-quality fraction | smallest mode share | imbalance (TV) | largest drop in coverage |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

"Imbalance" is the total variation distance between the high-quality samples' spread over the 8
modes and the uniform spread (0: even; 7/8: one mode). "Largest drop" is the largest fall of the
coverage below its running maximum during the run (mode hopping, or a share flickering across the
threshold). Coverage over time (one line per seed; each method on its own clock):

![coverage over time]({out.link(figures['coverage'])})

![final samples]({out.link(figures['samples'])})

![the three runs side by side]({out.link(figures['gif'])})
"""


def main(quick: bool = False, root: Path | None = None) -> dict:
    started = time.perf_counter()
    out = Outputs(NAME, order=6, quick=quick, root=root)
    size = QUICK if quick else FULL
    per_seed = []
    for seed in range(size["seeds"]):
        per_seed.append(run_seed(seed, size))
        print(f"seed {seed}: " + ", ".join(f"{m} {per_seed[-1][m]['modes'][-1]:.0f} modes" for m in METHODS)
              + f" ({time.perf_counter() - started:.0f} s)", flush=True)
    results = {
        "setup": {"modes": MODES, "radius": RADIUS, "std": STD, "quality_radius": QUALITY_RADIUS, "min_share": MIN_SHARE,
                  "strict_share": STRICT_SHARE, "bandwidths": list(BANDWIDTHS), **size},
        "methods": {method: summarize(per_seed, method) for method in METHODS},
    }
    figures = {"coverage": out.media(f"{NAME}_coverage.png"), "samples": out.media(f"{NAME}_samples.png"),
               "gif": out.media(f"{NAME}.gif")}
    plot_coverage(per_seed, figures["coverage"])
    plot_samples(per_seed[0], figures["samples"])
    animate(per_seed[0], figures["gif"], size["gif_frames"])
    results["wall_time_s"] = round(time.perf_counter() - started, 1)
    out.write_results(results)
    out.write_section("GAN objectives: JS-GAN vs MMD flow vs PKGF, mode coverage", section(results, out, figures))
    print(f"wrote {out.results_path} and {out.page_path} ({results['wall_time_s']} s)")
    return results


if __name__ == "__main__":
    args = parse_args(__doc__)
    main(quick=args.quick, root=args.root)
