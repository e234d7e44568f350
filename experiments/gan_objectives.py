"""GAN objectives on the 8-Gaussians ring: the original JS-GAN (Goodfellow et al., NeurIPS 2014), the f-GAN
games (Nowozin, Cseke, Tomioka, NeurIPS 2016: KL, reverse KL, Pearson chi^2, squared Hellinger, JS), AdaGAN
boosting (Tolstikhin et al., NeurIPS 2017) of the JS-GAN, against the particle MMD flow and PKGF. Mode
coverage and held-out MMD^2 over several seeds, with the spread.

    PYTHONPATH=. python experiments/gan_objectives.py --quick   # tens of seconds: 1 seed, short runs
    PYTHONPATH=. python experiments/gan_objectives.py           # 6 seeds (~12 min on CPU)

Setting: 8 Gaussians of std 0.05 on a circle of radius 2 (512 data samples per seed). Every method starts
from the same distribution, the push-forward of N(0, I_2) by one randomly initialized MLP generator
(2 -> 64 -> 64 -> 2, ReLU):
- **JS-GAN**: `flows.games.JSGAN` (non-saturating generator loss), MLP discriminator 2 -> 64 -> 64 -> 1,
  Adam lr 1e-3 with beta1 = 0.5 for both players, one critic step per generator step, 256 fresh latents
  per step, 3000 generator steps;
- **f-GAN (5 divergences)**: `flows.games.FGAN` with the same critic, optimizers, steps and latents, the
  non-saturating generator loss of Nowozin et al. (maximize E_Q g_f(V));
- **AdaGAN**: `flows.games.AdaGAN` around that JS-GAN game, twice: 3 components of 1000 generator steps (the
  same 3000 generator steps as one game: "matched") and 5 components of 3000 (each a full game run, 5x
  the budget); the first component starts from the common generator, the others from fresh
  initializations, beta_t = 1/t, data reweighted by a classifier (MLP 2 -> 64 -> 64 -> 1, Adam lr 1e-3,
  1000 steps of 256 per class) trained between the data and the mixture so far;
- **PKGF**: `flows.parametric.PKGF` (reg 1e-2, push-through solve) on a fixed batch of 256 latents,
  gradient descent with step 0.5, 120 steps;
- **MMD flow**: 256 particles (the initial generator's samples at those latents), `flows.particle.MMDFlow`,
  gradient descent with step 0.5, 300 steps.
PKGF and the MMD flow use a sum of Gaussian kernels at the data's scales (bandwidths 0.2, 0.5 and 2).

Scores: the modes covered (of the 8, those holding at least 1/32 of the samples within 3 std of the
centre; also at 1/16), the high-quality fraction (within 3 std of some mode), and the held-out MMD^2
(unbiased, the same kernel sum) between 256 samples of each method and 1024 fresh data samples not used
in training, beside the same statistic for 256 fresh data samples (its noise level). Generators are
scored on fresh latents, the MMD flow on its 256 particles. A run whose parameters become NaN/inf is
recorded as diverged at that step (no modes from then on, no held-out MMD^2).

Budgets: every game and the matched AdaGAN make 3000 generator gradient steps on batches of 256 (AdaGAN adds
classifier trainings, no generator gradients; the full-components AdaGAN makes 15000); PKGF makes 120 (each a Jacobian of the 256 generated points and
a kernel solve); the MMD flow has no generator (300 particle steps). Writes media/gan_objectives_*.png,
media/gan_objectives.gif and experiments/results/gan_objectives.json, and its section of EXPERIMENTS.md.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import equinox as eqx
import imageio.v2 as imageio
import jax
import jax.numpy as jnp
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
DIVERGENCES = {"KL": "kl", "reverse KL": "reverse_kl", "Pearson χ²": "pearson", "squared Hellinger": "hellinger", "JS": "js"}
GAMES = ("JS-GAN", *(f"f-GAN {label}" for label in DIVERGENCES))
ADAGANS = ("AdaGAN (matched)", "AdaGAN (full components)")  # the generator-step budget of one game, split; a game's budget per component
METHODS = (*GAMES, *ADAGANS, "PKGF", "MMD flow")
FULL = dict(seeds=6, n_data=512, n_latents=256, n_eval=1024, n_heldout=1024, gan_steps=3000,
            adagan={"AdaGAN (matched)": (3, 1000), "AdaGAN (full components)": (5, 3000)},
            classifier_steps=1000, pkgf_steps=120, pkgf_step=0.5, mmd_steps=300, mmd_step=0.5, width=64, gif_frames=31)
QUICK = dict(seeds=1, n_data=256, n_latents=128, n_eval=512, n_heldout=512, gan_steps=300,
             adagan={"AdaGAN (matched)": (3, 100), "AdaGAN (full components)": (3, 300)},
             classifier_steps=200, pkgf_steps=30, pkgf_step=0.5, mmd_steps=150, mmd_step=0.5, width=32, gif_frames=6)
GRID = (3, 4)  # panels of the per-method figures and the animation
SAVED = 31  # saved times per run (the step counts are multiples of SAVED - 1)
SCORED = 256  # samples per method in the held-out MMD² (the MMD flow's particle count in the full run)


def save_times(steps: int, step: float, saves: int = SAVED) -> np.ndarray:
    """`saves` times on the iteration grid of a discrete run of `steps` steps of size `step`."""
    return step * np.unique(np.round(np.linspace(0, steps, saves)))


@eqx.filter_jit
def generated_samples(flow: flows.parametric.AbstractParametricFlow, params, latents: jax.Array) -> jax.Array:
    """The generator's samples at `latents` for every saved parameter state: (T, n, 2)."""
    return jax.vmap(lambda p: flow.samples(p, latents))(params)


mixture_samples = eqx.filter_jit(flows.parametric.push_forward)  # one compilation per number of components


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
    """Mode shares, high-quality fraction (their sum) and modes covered (two thresholds) over time (NaN
    samples, after a divergence, sit at no mode)."""
    samples = jnp.where(jnp.isfinite(samples), samples, 1e6)  # NaN/inf (a diverged run) lies at no mode
    masses, modes, modes_strict = (np.asarray(a) for a in mode_scores(samples))
    return {"mode_mass": masses, "high_quality": masses.sum(axis=1), "modes": modes, "modes_strict": modes_strict}


def guarded_simulate(flow, y0, ts: np.ndarray, **kwargs) -> tuple[flows.Trajectory, int | None]:
    """`flows.simulate` on the saved times `ts`; if the run diverges (`flows.FlowDivergedError` names the
    iteration), the run again up to the last saved time before it, and that iteration."""
    try:
        return flows.simulate(flow, y0, t1=float(ts[-1]), ts=ts, **kwargs), None
    except flows.FlowDivergedError as error:
        iteration = int(re.search(r"iteration (\d+)", str(error)).group(1))
        kept = ts[ts < iteration * float(kwargs["solver"].step)]
        return flows.simulate(flow, y0, t1=float(kept[-1]), ts=kept, **kwargs), iteration


def padded(samples: np.ndarray, saves: int) -> np.ndarray:
    """Samples (T', n, 2) of a run cut short by a divergence, padded with NaN to `saves` saved times."""
    return np.concatenate([samples, np.full((saves - samples.shape[0], *samples.shape[1:]), np.nan)]) if samples.shape[0] < saves else samples


def make_game(method: str, critic) -> flows.games.AbstractAdversarialGame:
    adam = lambda: optax.adam(1e-3, b1=0.5)
    if method == "JS-GAN":
        return flows.games.JSGAN(critic, adam(), adam(), n_critic=1, loss="non_saturating")
    return flows.games.FGAN(critic, adam(), adam(), divergence=DIVERGENCES[method.removeprefix("f-GAN ")], n_critic=1)


def run_adagan(generator, data, kernel, critic, size: dict, components: int, steps: int, keys, evaluation) -> dict:
    """AdaGAN around the JS-GAN game (`components` of `steps` generator steps), and the mixture's samples along its
    run: at each saved state of component t, the mixture of the finished components (weights (1 - beta_t) alpha) and
    component t (weight beta_t)."""
    classifier = flows.games.MLPCritic(2, width=size["width"], depth=2, activation="relu", key=keys[0])
    adagan = flows.games.AdaGAN(make_game("JS-GAN", critic), classifier, optax.adam(1e-3), components=components, steps=steps,
                                classifier_steps=size["classifier_steps"], batch_size=size["n_latents"])
    starts = [generator] + [flows.parametric.MLPGenerator(2, 2, width=size["width"], depth=2, activation="relu", key=k)
                            for k in jax.random.split(keys[1], components - 1)]
    saves = (SAVED - 1) // components + 1
    result = adagan.fit(starts, data, kernel, key=keys[2], saves=saves)
    static = [flows.parametric.trainable_parameters(g)[1] for g in starts]
    ts, clouds, alphas = [], [], np.zeros(0)
    for t, (trajectory, beta) in enumerate(zip(result.trajectories, result.mixture_weights)):
        for i in range(len(trajectory.ts)):
            current = eqx.combine(jax.tree_util.tree_map(lambda leaf: leaf[i], trajectory.ys), static[t])
            mixture = flows.games.GeneratorMixture([*result.components[:t], current], [*((1 - beta) * alphas), beta])
            clouds.append(np.asarray(mixture_samples(mixture, evaluation)))
            ts.append(t * steps + float(trajectory.ts[i]))
        alphas = np.append((1 - beta) * alphas, beta)
    return {"ts": np.asarray(ts), "samples": np.stack(clouds), "diverged_at": None, "data_weights": result.data_weights,
            "mixture_weights": np.asarray(result.mixture.weights), "generator_steps": components * steps,
            "classifier_steps": (components - 1) * size["classifier_steps"]}


def run_seed(seed: int, size: dict) -> dict:
    """Every method from one seed's data and initial generator: times, scores, final samples, held-out MMD²."""
    keys = jax.random.split(jax.random.PRNGKey(seed), 10)
    ring = flows.targets.GaussianMixture.ring(MODES, radius=RADIUS, std=STD)
    data = ring.sample(keys[0], size["n_data"])
    heldout, fresh = ring.sample(keys[6], size["n_heldout"]), ring.sample(keys[7], SCORED)
    generator = flows.parametric.MLPGenerator(2, 2, width=size["width"], depth=2, activation="relu", key=keys[1])
    latents = jax.random.normal(keys[2], (size["n_latents"], 2))
    evaluation = jax.random.normal(keys[3], (size["n_eval"], 2))
    kernel = flows.kernels.SumKernel([flows.kernels.GaussianKernel(b) for b in BANDWIDTHS])
    critic = flows.games.MLPCritic(2, width=size["width"], depth=2, activation="relu", key=keys[4])
    runs = {}

    carrier = flows.parametric.ParametricMMDFlow(generator, data, kernel, latents=latents, fresh_latents=size["n_latents"])
    ts = save_times(size["gan_steps"], 1.0)
    for method in GAMES:
        traj, diverged = guarded_simulate(carrier, generator, ts, solver=make_game(method, critic), key=keys[5], diagnostics={})
        samples = padded(np.asarray(generated_samples(carrier, traj.ys, evaluation)), len(ts))
        runs[method] = {"ts": ts, "samples": samples, "diverged_at": diverged, "generator_steps": size["gan_steps"]}

    mixture_latents = jax.random.normal(keys[8], (size["n_eval"], 3))
    for method in ADAGANS:
        components, steps = size["adagan"][method]
        runs[method] = run_adagan(generator, data, kernel, critic, size, components, steps, jax.random.split(keys[9], 3),
                                  mixture_latents)

    pkgf = flows.parametric.PKGF(generator, data, kernel, reg=1e-2, solve="pushthrough", latents=latents)
    ts = save_times(size["pkgf_steps"], size["pkgf_step"])
    traj, diverged = guarded_simulate(pkgf, generator, ts, solver=flows.GradientDescent(step=size["pkgf_step"]), diagnostics={})
    runs["PKGF"] = {"ts": ts, "samples": padded(np.asarray(generated_samples(pkgf, traj.ys, evaluation)), len(ts)),
                    "diverged_at": diverged, "generator_steps": size["pkgf_steps"]}

    flow = flows.particle.MMDFlow(data, kernel)
    ts = save_times(size["mmd_steps"], size["mmd_step"])
    traj, diverged = guarded_simulate(flow, flows.parametric.push_forward(generator, latents), ts,
                                      solver=flows.GradientDescent(step=size["mmd_step"]), diagnostics={})
    runs["MMD flow"] = {"ts": ts, "samples": padded(np.asarray(traj.ys), len(ts)), "diverged_at": diverged, "generator_steps": 0}

    out = {"data": np.asarray(data), "data_heldout_mmd2": float(flows.discrepancies.mmd2(fresh, heldout, kernel, unbiased=True))}
    for method, run in runs.items():
        final = run["samples"][-1][:SCORED]
        heldout_mmd2 = None if not np.all(np.isfinite(final)) else float(flows.discrepancies.mmd2(jnp.asarray(final), heldout, kernel, unbiased=True))
        out[method] = {**run, **scores(jnp.asarray(run["samples"])), "heldout_mmd2": heldout_mmd2}
    return out


def _spread(values) -> dict:
    values = [v for v in values if v is not None]
    if not values:
        return {"mean": None, "std": None, "min": None, "max": None}
    a = np.asarray(values, np.float64)
    return {"mean": float(a.mean()), "std": float(a.std(ddof=1)) if a.size > 1 else 0.0, "min": float(a.min()), "max": float(a.max())}


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
    imbalance = np.where(final_mass.sum(axis=1) > 0, 0.5 * np.abs(spread - 1 / MODES).sum(axis=1), np.nan)
    heldout = [r["heldout_mmd2"] for r in runs]
    return {
        "final_modes": final.tolist(),
        "final_modes_spread": _spread(final.tolist()),
        "final_modes_strict": [float(r["modes_strict"][-1]) for r in runs],
        "final_high_quality": [float(r["high_quality"][-1]) for r in runs],
        "final_high_quality_spread": _spread([float(r["high_quality"][-1]) for r in runs]),
        "final_largest_mode_share": final_mass.max(axis=1).tolist(),
        "final_smallest_mode_share": final_mass.min(axis=1).tolist(),
        "final_mode_imbalance_tv": imbalance.tolist(),
        "heldout_mmd2": heldout,
        "heldout_mmd2_spread": _spread(heldout),
        "diverged_at": [r["diverged_at"] for r in runs],
        "generator_steps": runs[0]["generator_steps"],
        "time_to_all_modes": reached_all,
        "largest_coverage_drop": drops.tolist(),
        "seeds_all_modes": int(np.sum(final == MODES)),
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
    figure = Figure(figsize=(16, 9), dpi=85)
    axes = figure.subplots(*GRID, sharey=True).ravel()
    for ax in axes[len(METHODS):]:
        ax.axis("off")
    for ax, method in zip(axes, METHODS):
        for seed, runs in enumerate(per_seed):
            r = runs[method]
            ax.plot(r["ts"], r["modes"], c=f"C{seed}", lw=1.3, label=f"seed {seed}", drawstyle="steps-post")
        unit = "flow time t (GD step 0.5)" if method in ("PKGF", "MMD flow") else "generator steps"
        ax.set(title=method, ylim=(-0.3, MODES + 0.5), xlabel=unit)
        ax.grid(alpha=0.3)
    for ax in axes[:: GRID[1]]:
        ax.set_ylabel("modes covered")
    axes[0].legend(fontsize=7)
    figure.suptitle(f"8-Gaussians ring (std {STD}): modes holding ≥ 1/{round(1 / MIN_SHARE)} of the samples within 3 std")
    figure.tight_layout()
    save(figure, path)


def plot_summary(results: dict, per_seed: list[dict], path: Path) -> None:
    """Final modes covered and held-out MMD² of every method, one dot per seed, the mean as a bar."""
    figure = Figure(figsize=(12, 4.2), dpi=100)
    left, right = figure.subplots(1, 2)
    x = np.arange(len(METHODS))
    for i, method in enumerate(METHODS):
        s = results["methods"][method]
        left.bar(i, s["final_modes_spread"]["mean"], color="lightgrey")
        left.plot(np.full(len(s["final_modes"]), i) + np.linspace(-0.2, 0.2, len(s["final_modes"])), s["final_modes"], "o", c="C0")
        values = [v for v in s["heldout_mmd2"] if v is not None]
        if values:
            right.bar(i, np.mean(values), color="lightgrey")
            right.plot(np.full(len(values), i) + np.linspace(-0.2, 0.2, len(values)), values, "o", c="C1")
        diverged = sum(d is not None for d in s["diverged_at"])
        if diverged:
            right.annotate(f"{diverged} diverged", (i, 0), rotation=90, fontsize=7, va="bottom", ha="center")
    floor = [s["data_heldout_mmd2"] for s in per_seed]
    right.axhline(np.mean(floor), color="k", ls="--", lw=0.8, label="256 fresh data samples (noise level)")
    left.set(ylabel="modes covered at the end (of 8)", ylim=(0, 8.5))
    right.set_yscale("symlog", linthresh=1e-3)
    right.set(ylabel="held-out MMD² (unbiased; linear below 1e-3)", yticks=[0, 1e-3, 1e-2, 1e-1, 1])
    right.set_ylim(bottom=min(0.0, *(v for s in results["methods"].values() for v in s["heldout_mmd2"] if v is not None)))
    right.legend(fontsize=7)
    for ax in (left, right):
        ax.set_xticks(x, METHODS, rotation=30, ha="right", fontsize=8)
    figure.tight_layout()
    save(figure, path)


def draw_panels(axes, runs: dict, fraction: float | None, data: np.ndarray) -> None:
    for ax, method in zip(axes, METHODS):
        r = runs[method]
        i = len(r["ts"]) - 1 if fraction is None else int(round(fraction * (len(r["ts"]) - 1)))
        ax.clear()
        ax.scatter(*data.T, s=2, c="tab:orange", alpha=0.35)
        ax.scatter(*r["samples"][i].T, s=2, c="tab:blue", alpha=0.6)
        ax.set(xlim=(-2.8, 2.8), ylim=(-2.8, 2.8), xticks=[], yticks=[], aspect="equal")
        ax.set_title(f"{method}: {r['modes'][i]:.0f} modes, {100 * r['high_quality'][i]:.0f}% HQ", fontsize=8)


def plot_samples(runs: dict, path: Path) -> None:
    figure = Figure(figsize=(12, 9.4), dpi=80)
    axes = figure.subplots(*GRID).ravel()
    for ax in axes[len(METHODS):]:
        ax.axis("off")
    draw_panels(axes, runs, None, runs["data"])
    figure.suptitle("final samples (blue) over the data (orange), seed 0", fontsize=10)
    figure.tight_layout()
    save(figure, path)


def animate(runs: dict, path: Path, frames: int) -> None:
    """The methods side by side, each frame at the same fraction of each run (the runs' own clocks)."""
    figure = Figure(figsize=(8.4, 6.6), dpi=55)
    canvas = FigureCanvasAgg(figure)
    axes = figure.subplots(*GRID).ravel()
    for ax in axes[len(METHODS):]:
        ax.axis("off")
    with flows.export.atomic_path(path) as tmp, imageio.get_writer(tmp, format="GIF", mode="I", duration=150, loop=0) as writer:
        for fraction in np.linspace(0, 1, frames):
            draw_panels(axes, runs, fraction, runs["data"])
            figure.tight_layout()
            canvas.draw()
            writer.append_data(np.asarray(canvas.buffer_rgba())[..., :3])


def _pm(spread: dict, digits: int = 2) -> str:
    if spread["mean"] is None:
        return "—"
    return f"{spread['mean']:.{digits}f} ± {spread['std']:.{digits}f}"


def _mmd(spread: dict) -> str:
    if spread["mean"] is None:
        return "—"
    return f"{spread['mean']:.4f} ± {spread['std']:.4f} ({spread['min']:.4f}–{spread['max']:.4f})"


def verdicts(results: dict) -> dict:
    """The section's claims, each with what would have refuted it and whether that happened (None: not testable here)."""
    m = results["methods"]
    mean = lambda method: m[method]["final_modes_spread"]["mean"]
    seeds = results["setup"]["seeds"]
    return {
        "mmd_flow_covers": {"claim": "the particle MMD flow covers all 8 modes in every seed",
                            "refuted_if": "it ends with fewer than 8 in some seed",
                            "refuted": m["MMD flow"]["seeds_all_modes"] < seeds},
        "adagan_matched_helps": {
            "claim": "AdaGAN covers more modes than the JS-GAN it boosts, at the same number of generator steps",
            "refuted_if": "the budget-matched AdaGAN's mean final coverage is not above the JS-GAN's",
            "refuted": None if seeds < 2 else not mean("AdaGAN (matched)") > mean("JS-GAN")},
        "adagan_full_helps": {
            "claim": "AdaGAN whose components are full JS-GAN runs covers more modes than one JS-GAN run",
            "refuted_if": "its mean final coverage is not above the JS-GAN's",
            "refuted": None if seeds < 2 else not mean("AdaGAN (full components)") > mean("JS-GAN")},
        "kl_covers_more_than_reverse": {
            "claim": "the mode-covering KL f-GAN covers more modes than the mode-seeking reverse-KL f-GAN",
            "refuted_if": "its mean final coverage is not above reverse KL's",
            "refuted": None if seeds < 2 else not mean("f-GAN KL") > mean("f-GAN reverse KL")},
        "games_match_the_flow": {
            "claim": "some adversarial objective (a GAN game or AdaGAN) matches the MMD flow's held-out MMD²",
            "refuted_if": "every one has a larger mean held-out MMD² than the MMD flow's mean plus two of its standard deviations",
            "refuted": None if seeds < 2 else all(
                m[k]["heldout_mmd2_spread"]["mean"] is None
                or m[k]["heldout_mmd2_spread"]["mean"] > m["MMD flow"]["heldout_mmd2_spread"]["mean"] + 2 * m["MMD flow"]["heldout_mmd2_spread"]["std"]
                for k in (*GAMES, *ADAGANS))},
    }


def _finite_seeds(values: list, seeds: int) -> str:
    """' (over k of N seeds)' when the held-out MMD² of some seeds is missing (a diverged run), else ''."""
    k = sum(v is not None for v in values)
    return "" if k == seeds else f" (over the {k} of {seeds} seeds that did not diverge)" if k else " (every seed diverged)"


def _kl_caveat(m: dict) -> str:
    """When the KL and reverse-KL f-GANs diverge in different numbers of seeds, the comparison over the seeds
    where neither diverged (a diverged run is scored as covering nothing)."""
    kl, reverse = m["f-GAN KL"], m["f-GAN reverse KL"]
    count = lambda s: sum(d is not None for d in s["diverged_at"])
    if count(kl) == count(reverse):
        return ""
    both = [i for i, (a, b) in enumerate(zip(kl["diverged_at"], reverse["diverged_at"])) if a is None and b is None]
    clean = (f"over the {len(both)} seed{'s' if len(both) != 1 else ''} where neither diverged, KL ends with "
             f"{np.mean([kl['final_modes'][i] for i in both]):.2f} modes and reverse KL with "
             f"{np.mean([reverse['final_modes'][i] for i in both]):.2f}" if both else "no seed has both runs finish")
    return (f"; but the difference rests mostly on divergences (KL in {count(kl)}, reverse KL in {count(reverse)} of "
            f"{len(kl['diverged_at'])} seeds, scored as covering nothing): {clean}, and neither covers more than a few modes")


def section(results: dict, out: Outputs, figures: dict) -> str:
    setup, m = results["setup"], results["methods"]
    matched, full = setup["adagan"]["AdaGAN (matched)"], setup["adagan"]["AdaGAN (full components)"]
    matched_text = ("boosting helps at an equal budget." if m["AdaGAN (matched)"]["final_modes_spread"]["mean"] > m["JS-GAN"]["final_modes_spread"]["mean"]
                    else f"boosting does not help at an equal budget here (a likely reason, not tested separately: {matched[1]} steps "
                         "are too few for a component to converge, and a mixture of unconverged components covers fewer modes than one long run).")
    seeds = setup["seeds"]
    coverage_rows = []
    for method in METHODS:
        s = m[method]
        diverged = [f"seed {i} at step {d}" for i, d in enumerate(s["diverged_at"]) if d is not None]
        coverage_rows.append(
            f"| {method} | {_pm(s['final_modes_spread'])} ({s['final_modes_spread']['min']:.0f}–{s['final_modes_spread']['max']:.0f}) | "
            f"{s['seeds_all_modes']} / {seeds} | {_pm(s['final_high_quality_spread'])} | {_mmd(s['heldout_mmd2_spread'])}"
            f"{_finite_seeds(s['heldout_mmd2'], seeds)} | "
            f"{s['generator_steps']} | {', '.join(diverged) or '—'} |")
    floor = _spread(results["data_heldout_mmd2"])
    per_seed_rows = []
    for method in METHODS:
        s = m[method]
        per_seed_rows.append(
            f"| {method} | {', '.join(str(int(x)) for x in s['final_modes'])} | {', '.join(str(int(x)) for x in s['final_modes_strict'])} | "
            f"{', '.join(f'{q:.2f}' for q in s['final_high_quality'])} | "
            f"{', '.join('—' if v is None else f'{v:.4f}' for v in s['heldout_mmd2'])} | "
            f"{', '.join(str(int(d)) for d in s['largest_coverage_drop'])} |")
    ranking = sorted(METHODS, key=lambda k: (-m[k]["final_modes_spread"]["mean"], m[k]["heldout_mmd2_spread"]["mean"] or np.inf))
    best_game = max(GAMES, key=lambda k: m[k]["final_modes_spread"]["mean"])
    worst_game = min(GAMES, key=lambda k: m[k]["final_modes_spread"]["mean"])
    v = results["verdicts"]
    outcome = {True: "refuted", False: "not refuted", None: "not testable with one seed"}
    claims = "\n".join(f"- *{x['claim']}* — refuted if {x['refuted_if']}: **{outcome[x['refuted']]}**." for x in v.values())
    quick = ("\n\nIn the quick setting the runs are far too short to rank the objectives (a few hundred generator "
             "steps, one seed); only the MMD flow's coverage and the bookkeeping are checked there." if out.quick else "")
    js_difference = max(abs(a - b) for a, b in zip(m["JS-GAN"]["heldout_mmd2"], m["f-GAN JS"]["heldout_mmd2"])
                        if a is not None and b is not None) if any(a is not None for a in m["JS-GAN"]["heldout_mmd2"]) else float("nan")
    diverged = {k: sum(d is not None for d in m[k]["diverged_at"]) for k in METHODS}
    diverged_text = ("Runs that diverged (parameters NaN/inf, `flows.FlowDivergedError`; scored as covering nothing from "
                     "then on): " + ", ".join(f"{k} in {c} of {seeds} seeds" for k, c in diverged.items() if c) + "."
                     if any(diverged.values()) else "No run diverged.")
    reading = f"""**Reading.** Ranked by mean final coverage (then held-out MMD²): {', '.join(ranking)}. Among the
games the {best_game} ends with the most modes ({_pm(m[best_game]['final_modes_spread'])}) and the {worst_game}
with the fewest ({_pm(m[worst_game]['final_modes_spread'])}). The budget-matched AdaGAN ({matched[0]} components of {matched[1]} steps) ends with
{_pm(m['AdaGAN (matched)']['final_modes_spread'])} modes against {_pm(m['JS-GAN']['final_modes_spread'])} for the JS-GAN it
boosts, held-out MMD² {_mmd(m['AdaGAN (matched)']['heldout_mmd2_spread'])} against {_mmd(m['JS-GAN']['heldout_mmd2_spread'])}:
{matched_text} With every component a full JS-GAN run ({full[0]} × {full[1]} steps, {full[0] * full[1] // setup['gan_steps']}×
the budget) it ends with {_pm(m['AdaGAN (full components)']['final_modes_spread'])} modes and held-out MMD²
{_mmd(m['AdaGAN (full components)']['heldout_mmd2_spread'])}. The KL f-GAN ends with
{_pm(m['f-GAN KL']['final_modes_spread'])} modes and the reverse-KL one with {_pm(m['f-GAN reverse KL']['final_modes_spread'])}:
{'the mode-covering divergence covers more, as its definition suggests' if not v['kl_covers_more_than_reverse']['refuted'] else 'the divergence the game names does not predict coverage here: the variational bound the critic reaches, and the game dynamics, decide it'}{_kl_caveat(m)}.
{diverged_text}
The f-GAN JS game is the JS-GAN game: $F = 2\\ln 2 + V(D, G)$ with $D = \\sigma(v)$, and the non-saturating losses
$-\\mathbb E_Q g_f(v) = -\\ln 2 - \\mathbb E_Q \\ln\\sigma(v)$ differ by a constant, so the two runs take the same steps (largest
difference of their held-out MMD² over the seeds: {js_difference:.1e}, rounding).
The MMD flow, free of any generator, ends with {_pm(m['MMD flow']['final_modes_spread'])} modes and held-out MMD²
{_mmd(m['MMD flow']['heldout_mmd2_spread'])}{' (below 0: its particles, which minimize MMD² to the training sample, are spread more evenly than independent samples, and the unbiased estimate then falls below its mean 0)' if (m['MMD flow']['heldout_mmd2_spread']['max'] or 0) < 0 else ''}; PKGF, on the same generator family as the games but with 120
generator steps, with {_pm(m['PKGF']['final_modes_spread'])} and {_mmd(m['PKGF']['heldout_mmd2_spread'])}."""
    return f"""
**Question.** Beyond the original JS game, do the f-GAN objectives (KL, reverse KL, Pearson χ², squared
Hellinger, JS: `flows.games.FGAN`, the variational bound $D_f(P\\|Q) \\ge \\sup_T \\mathbb E_P T - \\mathbb E_Q f^*(T)$) or
AdaGAN boosting (`flows.games.AdaGAN`: a mixture of generators, each trained on the data reweighted towards what the
mixture misses) cover the modes of the 8-Gaussians ring, and how do they compare with the particle MMD flow and PKGF?

**Setting.** 8 Gaussians of std {STD} on a circle of radius {RADIUS} ({setup['n_data']} training samples per seed); all
methods start from the same MLP generator's samples (2 → {setup['width']} → {setup['width']} → 2, ReLU). Every game:
MLP critic 2 → {setup['width']} → {setup['width']} → 1, Adam lr 1e-3 (β₁ = 0.5) for both players, one critic step per
generator step, {setup['n_latents']} fresh latents per step, {setup['gan_steps']} generator steps; the f-GANs use
Nowozin et al.'s output activations and their non-saturating generator loss. AdaGAN: the JS-GAN game in
{matched[0]} components of {matched[1]} steps (the same generator budget as one game: "matched"), and in {full[0]}
components of {full[1]} steps (each component a full game run: "full components"); β_t = 1/t, the first component from
the common generator, the others from fresh initializations, the data reweighted by an MLP classifier
({setup['classifier_steps']} Adam steps per reweighting) and resampled. PKGF: reg 1e-2, {setup['pkgf_steps']} gradient
steps of 0.5 on {setup['n_latents']} fixed latents. MMD flow: {setup['n_latents']} particles, {setup['mmd_steps']}
gradient steps of 0.5. Kernel of both flows and of the held-out MMD²: Gaussians of bandwidths
{', '.join(str(b) for b in BANDWIDTHS)} summed. A mode is covered when it holds at least 1/{round(1 / MIN_SHARE)} of the
samples within 3 std of its centre (`flows.diagnostics.ModeCoverage`); high quality = within 3 std of some mode.
Held-out MMD²: the unbiased statistic between {SCORED} samples of each method (the MMD flow: its
{setup['n_latents']} particles) and {setup['n_heldout']} fresh data samples; {SCORED} other fresh data samples give {_mmd(floor)}, its noise level. {seeds} seed{'s' if seeds > 1 else ''};
± is the standard deviation over seeds.

**Budgets.** Every game and the matched AdaGAN make {setup['gan_steps']} generator gradient steps (batches of
{setup['n_latents']}); the matched AdaGAN adds {(matched[0] - 1) * setup['classifier_steps']} classifier steps (no generator
gradients). The full-components AdaGAN makes {full[0] * full[1]} generator steps ({full[0] * full[1] // setup['gan_steps']}× the
budget; not matched) and {(full[0] - 1) * setup['classifier_steps']} classifier steps. PKGF makes {setup['pkgf_steps']} generator steps (each a Jacobian of the
{setup['n_latents']} generated points and a kernel solve), far fewer: its budget is not matched. The MMD flow moves
particles ({setup['mmd_steps']} steps) and has no generator.

**Coverage** (final; mean ± sd over seeds, min–max):

| method | modes covered | seeds with all 8 | high-quality fraction | held-out MMD² | generator steps | diverged |
|---|---|---|---|---|---|---|
{chr(10).join(coverage_rows)}

{'' if out.quick else reading}{quick}

**Claims, and what would have refuted them:**

{claims}

![final coverage and held-out MMD², one dot per seed]({out.link(figures['summary'])})

One number per seed:

| method | modes covered (≥ 1/{round(1 / MIN_SHARE)}) | modes (≥ 1/{round(1 / STRICT_SHARE)}) | high-quality fraction | held-out MMD² | largest drop in coverage |
|---|---|---|---|---|---|
{chr(10).join(per_seed_rows)}

"Largest drop" is the largest fall of the coverage below its running maximum during the run (mode hopping, or a
share flickering across the threshold). Coverage over time (one line per seed; each method on its own clock;
AdaGAN's clock runs through its components, a new component entering at weight β_t):

![coverage over time]({out.link(figures['coverage'])})

![final samples]({out.link(figures['samples'])})

![the runs side by side]({out.link(figures['gif'])})
"""


def main(quick: bool = False, root: Path | None = None) -> dict:
    started = time.perf_counter()
    out = Outputs(NAME, order=6, quick=quick, root=root)
    size = QUICK if quick else FULL
    per_seed = []
    for seed in range(size["seeds"]):
        per_seed.append(run_seed(seed, size))
        print(f"seed {seed}: " + ", ".join(f"{m} {per_seed[-1][m]['modes'][-1]:.0f}" for m in METHODS)
              + f" ({time.perf_counter() - started:.0f} s)", flush=True)
    results = {
        "setup": {"modes": MODES, "radius": RADIUS, "std": STD, "quality_radius": QUALITY_RADIUS, "min_share": MIN_SHARE,
                  "strict_share": STRICT_SHARE, "bandwidths": list(BANDWIDTHS), "scored_samples": SCORED, **size},
        "methods": {method: summarize(per_seed, method) for method in METHODS},
        "data_heldout_mmd2": [s["data_heldout_mmd2"] for s in per_seed],
        "adagan": {method: {"components": size["adagan"][method][0], "steps_per_component": size["adagan"][method][1],
                            "mixture_weights": [s[method]["mixture_weights"] for s in per_seed],
                            "data_weights_max": [np.max(s[method]["data_weights"], axis=1) for s in per_seed],
                            "data_weights_sum": [np.sum(s[method]["data_weights"], axis=1) for s in per_seed],
                            "classifier_steps": per_seed[0][method]["classifier_steps"]} for method in ADAGANS},
    }
    results["verdicts"] = verdicts(results)
    figures = {"coverage": out.media(f"{NAME}_coverage.png"), "samples": out.media(f"{NAME}_samples.png"),
               "summary": out.media(f"{NAME}_summary.png"), "gif": out.media(f"{NAME}.gif")}
    plot_coverage(per_seed, figures["coverage"])
    plot_summary(results, per_seed, figures["summary"])
    plot_samples(per_seed[0], figures["samples"])
    animate(per_seed[0], figures["gif"], size["gif_frames"])
    results["wall_time_s"] = round(time.perf_counter() - started, 1)
    out.write_results(results)
    out.write_section("GAN objectives beyond JS: f-GANs, AdaGAN, the MMD flow and PKGF, mode coverage", section(results, out, figures))
    print(f"wrote {out.results_path} and {out.page_path} ({results['wall_time_s']} s)")
    return results


if __name__ == "__main__":
    args = parse_args(__doc__)
    main(quick=args.quick, root=args.root)
