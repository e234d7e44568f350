"""PKGF vs parametric MMD gradient descent vs the gradient-regularized MMD GAN game (MATH.md section 5).

    PYTHONPATH=. python experiments/pkgf_vs_gan.py --quick   # 1-2 minutes (mostly compiling): one run per method, no files
    PYTHONPATH=. python experiments/pkgf_vs_gan.py           # full run: media/pkgf_vs_gan_*.png, media/pkgf_samples.gif,
                                                              #           experiments/results/pkgf_vs_gan.json

Two problems:
- **affine**: an affine generator G(z) = Az + b (k = 1) to a rank-1 Gaussian in d = 2. PKGF and
  parametric GD run in population mode (exact closed-form MMD², no sampling error); the GAN
  plays on samples (512 target samples, fresh latents) and is scored with the same exact MMD².
- **ring**: an MLP generator (tanh, width 48, depth 2: 2,690 parameters) to the 8-Gaussians ring, with a fixed latent
  batch for PKGF (CG solve) and fresh latents for GD and the GAN; scored by the V-statistic MMD²
  on the fixed batch.

Claims checked (MATH.md section 5): PKGF is a descent direction (MMD² never rises along it), the
convergence constant α(t) stays positive, and PKGF is stable where plain GD with a large step and
the adversarial game diverge or oscillate. Per run: final MMD², the first step (or time) at which
MMD² < 1e-3, and whether it diverged (NaN, or ends above its start) or oscillated (MMD² rebounds
above twice its running minimum, and above 1e-10).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import flows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
THRESHOLD = 1e-3
ROUNDOFF = 1e-10  # rebounds below this are round-off, not oscillation


def ring_of_gaussians(key, n, modes=8, radius=2.0, std=0.1):
    k_mode, k_noise = jax.random.split(key)
    angles = 2 * jnp.pi * jax.random.randint(k_mode, (n,), 0, modes) / modes
    return radius * jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=1) + std * jax.random.normal(k_noise, (n, 2))


def summarize(traj: flows.Trajectory | None, per_step: float | None) -> dict:
    """Final MMD², first step/time below THRESHOLD, diverged / oscillated flags."""
    if traj is None:
        return {"final_mmd2": None, "steps_to_threshold": None, "time_to_threshold": None, "diverged": True, "oscillated": False}
    mmd2 = np.asarray(traj.diagnostics["mmd2"], dtype=float)
    below = np.nonzero(mmd2 < THRESHOLD)[0]
    hit_time = float(traj.ts[below[0]]) if below.size else None
    running_min = np.minimum.accumulate(mmd2)
    return {
        "final_mmd2": float(mmd2[-1]),
        "time_to_threshold": hit_time,
        "steps_to_threshold": None if hit_time is None or per_step is None else int(round(hit_time / per_step)),
        "diverged": bool(not np.all(np.isfinite(mmd2)) or mmd2[-1] > mmd2[0]),
        "oscillated": bool(np.any((mmd2[1:] > 2 * running_min[:-1]) & (mmd2[1:] > ROUNDOFF))),
    }


def run(label, results, trajectories, per_step, fn):
    started = time.perf_counter()
    try:
        traj = fn()
    except flows.FlowDivergedError as error:
        print(f"  {label}: diverged ({error})".splitlines()[0][:160])
        traj = None
    summary = summarize(traj, per_step)
    summary["wall_s"] = round(time.perf_counter() - started, 2)
    if traj is not None and "num_steps" in traj.stats:
        summary["solver_steps"] = int(traj.stats["num_steps"])
    results[label] = summary
    if traj is not None:
        trajectories[label] = traj
    print(f"  {label}: final MMD² {summary['final_mmd2']}, steps to < {THRESHOLD:g}: {summary['steps_to_threshold']}, "
          f"time: {summary['time_to_threshold']}, diverged: {summary['diverged']}, oscillated: {summary['oscillated']} "
          f"({summary['wall_s']} s)")
    return traj


def affine_problem(quick: bool):
    keys = jax.random.split(jax.random.PRNGKey(0), 5)
    direction = jnp.array([1.0, 0.5]) / jnp.sqrt(1.25)
    target = flows.GaussianTarget(jnp.array([2.0, 1.0]), 2.0 * jnp.outer(direction, direction))
    generator = flows.AffineGenerator(jnp.array([[0.3], [-0.8]]), jnp.array([-1.0, 0.0]))
    kernel = flows.GaussianKernel(1.0)
    population = flows.ParametricMMDFlow(generator, target, kernel)
    pkgf = flows.PKGF(generator, target, kernel, reg=1e-3, solve="dense")
    samples = flows.ParametricMMDFlow(
        generator, target.sample(keys[0], 512), kernel, latents=jax.random.normal(keys[1], (128, 1)), fresh_latents=128
    )
    n_steps = 100 if quick else 3000
    results, trajectories = {}, {}
    t1 = 2.0 if quick else 40.0
    run("PKGF (Tsit5)", results, trajectories, None, lambda: flows.simulate(
        pkgf, generator, t1=t1, ts=jnp.linspace(0, t1, 201),
        diagnostics={"mmd2": pkgf.mmd2, "alpha": pkgf.alpha, "metric_min_eigenvalue": pkgf.metric_min_eigenvalue},
        stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-9)))
    for h in (1.0,) if quick else (0.5, 1.0):
        run(f"PKGF-GD h={h:g}", results, trajectories, h, lambda h=h: flows.simulate(
            pkgf, generator, t1=h * n_steps / 10, solver=flows.GradientDescent(step=h), diagnostics={"mmd2": pkgf.mmd2}))
    for lr in (1.0,) if quick else (1.0, 10.0, 100.0):
        run(f"MMD GD lr={lr:g}", results, trajectories, lr, lambda lr=lr: flows.simulate(
            population, generator, t1=lr * n_steps, solver=flows.GradientDescent(step=lr), diagnostics={"mmd2": population.mmd2}))
    for lr in (0.1,) if quick else (0.01, 0.1):
        for n_critic in (5,) if quick else (1, 5):
            critic = flows.RandomFeatureCritic(2, 256, 1.0, key=keys[2])
            game = flows.MMDGAN(critic, optax.sgd(lr), optax.sgd(0.5), n_critic=n_critic, reg=1e-3)
            run(f"GAN sgd lr={lr:g} n_critic={n_critic}", results, trajectories, 1.0, lambda game=game: flows.simulate(
                samples, generator, t1=float(n_steps), solver=game, key=keys[3], diagnostics={"mmd2": population.mmd2}))
    return results, trajectories, pkgf, target, keys[4]


def ring_problem(quick: bool):
    keys = jax.random.split(jax.random.PRNGKey(1), 6)
    target = ring_of_gaussians(keys[0], 128 if quick else 256)
    generator = flows.MLPGenerator(4, 2, width=48, depth=2, activation="tanh", key=keys[1], dtype=jnp.float64)
    kernel = flows.SumKernel([flows.GaussianKernel(0.5), flows.GaussianKernel(2.0)])
    latents = jax.random.normal(keys[2], (32 if quick else 128, 4))
    pkgf = flows.PKGF(generator, target, kernel, reg=1e-2, solve="cg", latents=latents, cg_rtol=1e-5, cg_atol=1e-10,
                      cg_max_steps=100)
    plain = flows.ParametricMMDFlow(generator, target, kernel, latents=latents, fresh_latents=latents.shape[0])
    n_steps = 100 if quick else 2000
    t1 = 1.0 if quick else 20.0
    results, trajectories = {}, {}
    run("PKGF (Tsit5, CG)", results, trajectories, None, lambda: flows.simulate(
        pkgf, generator, t1=t1, ts=jnp.linspace(0, t1, 121), diagnostics={"mmd2": pkgf.mmd2, "alpha": pkgf.alpha},
        stepsize_controller=diffrax.PIDController(rtol=1e-3, atol=1e-6)))
    run("PKGF-GD h=0.5", results, trajectories, 0.5, lambda: flows.simulate(
        pkgf, generator, t1=0.5 * n_steps / 10, solver=flows.GradientDescent(step=0.5), diagnostics={"mmd2": pkgf.mmd2}))
    for lr in (1.0,) if quick else (1.0, 10.0, 100.0):
        run(f"MMD GD lr={lr:g}", results, trajectories, lr, lambda lr=lr: flows.simulate(
            plain, generator, t1=lr * n_steps, solver=flows.GradientDescent(step=lr), key=keys[3],
            diagnostics={"mmd2": plain.mmd2}))
    critics = {"RF": flows.RandomFeatureCritic(2, 256, 0.5, key=keys[4], dtype=jnp.float64),
               "MLP": flows.MLPCritic(2, width=64, depth=2, key=keys[4], dtype=jnp.float64)}
    for name, critic in list(critics.items())[: 1 if quick else 2]:
        for lr, n_critic in ((1e-3, 5),) if quick else ((1e-3, 5), (1e-2, 1), (1e-2, 5)):
            game = flows.MMDGAN(critic, optax.adam(lr), optax.adam(1e-2), n_critic=n_critic, reg=1e-3)
            run(f"GAN[{name}] adam lr={lr:g} n_critic={n_critic}", results, trajectories, 1.0, lambda game=game: flows.simulate(
                plain, generator, t1=float(n_steps), solver=game, key=keys[5], diagnostics={"mmd2": plain.mmd2}))
    return results, trajectories, pkgf, target


def save_figure(figure, path):
    FigureCanvasAgg(figure)
    figure.savefig(path)


def figures(out: Path, problems: dict):
    out.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(11, 8), dpi=110)
    axes = figure.subplots(2, 2)
    for row, (name, (_, trajectories, *_)) in enumerate(problems.items()):
        colours = {label: f"C{i % 10}" for i, label in enumerate(trajectories)}
        for label, traj in trajectories.items():
            mmd2 = np.clip(np.asarray(traj.diagnostics["mmd2"], dtype=float), 1e-16, None)
            style = {"label": label, "c": colours[label], "lw": 2.5 if label.startswith("PKGF") else 1.2,
                     "ls": "-" if label.startswith(("PKGF", "MMD GD")) else "--"}
            axes[row, 0].plot(traj.ts, mmd2, **style)
            if traj.metadata.get("engine") == "discrete":
                axes[row, 1].plot(traj.ts / traj.metadata["step"], mmd2, **style)
        axes[row, 0].set(xscale="symlog", yscale="log", xlabel="flow time t (GD: lr × steps; GAN: steps)", ylabel="MMD²",
                         title=f"{name}: vs time")
        axes[row, 0].legend(fontsize=6)
        axes[row, 1].set(xscale="symlog", yscale="log", xlabel="iterations", ylabel="MMD²", title=f"{name}: discrete runs vs iterations")
    figure.tight_layout()
    save_figure(figure, out / "pkgf_vs_gan_mmd2.png")

    figure = Figure(figsize=(6, 4), dpi=110)
    ax = figure.subplots()
    for name, (_, trajectories, *_) in problems.items():
        label = next(k for k in trajectories if k.startswith("PKGF (Tsit5"))
        traj = trajectories[label]
        resolved = traj.diagnostics["mmd2"] > 1e-12  # alpha = D / MMD² is round-off once MMD² is
        ax.plot(traj.ts[resolved], traj.diagnostics["alpha"][resolved], label=f"{name}: {label}")
    ax.set(xlabel="t", ylabel="α(t) = ∇Fᵀ(Γ+λ)⁻¹∇F / MMD²", yscale="log",
           title="PKGF convergence constant α(t) (while MMD² > 1e-12)")
    ax.legend(fontsize=8)
    figure.tight_layout()
    save_figure(figure, out / "pkgf_vs_gan_alpha.png")

    _, trajectories, pkgf, target = problems["ring"]
    shown = [k for k in trajectories if k.startswith(("PKGF (Tsit5", "MMD GD", "GAN"))]
    columns = 5
    rows = -(-len(shown) // columns)
    figure = Figure(figsize=(3 * columns, 3.2 * rows), dpi=100)
    for ax, label in zip(np.ravel(figure.subplots(rows, columns)), shown):
        x = np.asarray(pkgf.samples(trajectories[label].final_state))
        ax.scatter(*np.asarray(target).T, s=3, c="tab:orange", alpha=0.4)
        ax.scatter(*x.T, s=3, c="tab:blue")
        ax.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), title=label)
        ax.title.set_fontsize(7)
        ax.set_aspect("equal")
    figure.tight_layout()
    save_figure(figure, out / "pkgf_vs_gan_samples.png")

    label = next(k for k in trajectories if k.startswith("PKGF (Tsit5"))
    flows.animate_particles(pkgf.sample_trajectory(trajectories[label]), out / "pkgf_samples.gif", target=np.asarray(target),
                            fps=10, frames=61, figsize=(7, 3.4), dpi=70, title="PKGF: MMD² of the generated samples")


def main(quick: bool, out: Path = ROOT / "media", results_path: Path = ROOT / "experiments" / "results" / "pkgf_vs_gan.json"):
    started = time.perf_counter()
    print("affine generator -> rank-1 Gaussian (population mode for PKGF / GD)")
    affine = affine_problem(quick)
    print("MLP generator -> ring of 8 Gaussians")
    ring = ring_problem(quick)
    problems = {"affine": affine[:3] + (None,), "ring": ring}
    summary = {"threshold": THRESHOLD, "quick": quick, "affine": affine[0], "ring": ring[0],
               "wall_time_s": round(time.perf_counter() - started, 1)}
    if not quick:
        figures(out, problems)
        results_path.parent.mkdir(parents=True, exist_ok=True)
        results_path.write_text(json.dumps(summary, indent=2))
        print(f"wrote {results_path} and figures in {out}")
    print(f"total {summary['wall_time_s']} s")
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small, fast smoke run (no files written)")
    main(parser.parse_args().quick)
