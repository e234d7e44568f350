"""Noise injection for the MMD flow (Arbel, Korba, Salim, Gretton, "Maximum Mean Discrepancy Gradient Flow",
NeurIPS 2019):
the plain MMD flow vs noise injection vs the diffusion MMD flow vs kernel Sobolev descent, on the
paper's two problems.

    PYTHONPATH=. python experiments/noise_injection.py           # media/noise_injection*.{png,gif}, results JSON, section
    PYTHONPATH=. python experiments/noise_injection.py --quick   # small version (seconds), into experiments/quick/

**Gaussian to Gaussian** (their appendix G.2): particles start at N(10, 0.5), the target is N(0, 1)
in one dimension, Gaussian kernel σ = 2, steps γ = 0.1. Plain MMD flow; noise injection
x ← x − γ∇f(x + β_n u) with β = 10 for the first half of the steps, then 0 (the paper: β = 10
until step 5000); the diffusion MMD flow dX = −∇f dt + √(2β(t)) dW (Euler-Maruyama, same step) with
temperature β = 0.1 for the first half, then 0 (chosen so that the diffusion alone spreads the
particles over the 10-unit gap: 2βt ≈ 10² at the switch); kernel Sobolev descent (λ = 1e-3,
conjugate gradient, steps γ). Full: N = M = 500 (the paper: 1000), 10⁴ steps; quick: N = M = 64,
6000 steps, without the diffusion. `media/noise_injection.gif` shows the runs side by side at equal
times (`flows.export.animate_comparison`, 1-D particles as histograms over the target's) with their MMD²
curves.

The plain flow runs as noise injection with β ≡ 0, which is the same scheme exactly (tested in
`tests/particle/test_stochastic.py`), so the two share one compiled step; Euler-Maruyama draws its
Brownian increments from a tree without Lévy area (`levy_area=False`), which it does not need.

**Student-teacher network** (their appendix G.1): a mean-field network Ψ(z, ν) = mean of
sub-networks ψ(z, u) = exp(−(wᵀrelu(Wz))²/4) with 3 hidden ReLU units, inputs z uniform on the
sphere of R^50, no biases, so a particle u = (W, w) lies in R^153. The teacher is one particle
drawn from N(0, 1); the student's particles start from N(10⁻³, 1). The squared-error risk is the
MMD² of the kernel k(u, u') = E_z ψ(z, u)ψ(z, u') (`flows.kernels.NetworkKernel`, a feature kernel whose
sums cost O(N B), never O(N²)), estimated on a fixed training batch of inputs; the validation
risk is the same MMD² on fresh inputs. Full-batch gradient descent (not the paper's SGD on
mini-batches of 100), γ = 1, the paper's 1000 particles but fewer steps than its 10⁵
iterations, to fit a CPU budget (the full run takes about 18 minutes on a shared 2-core
machine, 13 of them in this problem: the network kernel's sums grow linearly in N). Noise injection: β_0 = 1 halved every tenth of the run (the
paper: halved every 1000 epochs); diffusion: temperature 10⁻³, halved likewise; Sobolev: λ = 10⁻³,
conjugate gradient. The quick setting skips this problem (its claim is the Gaussian one, and
the network kernel's compilation alone would take half of its seconds).

Claim checked: noise injection reaches a lower MMD² than the plain flow on the Gaussian problem,
where the plain flow stalls (the target is ~5 bandwidths away: the kernel's gradient there is
~exp(−12.5)). On the student-teacher problem the section reports the validation risk of all four.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from report import Outputs, parse_args  # noqa: E402

import flows  # noqa: E402

NAME = "noise_injection"
METHODS = ("MMD flow", "noise injection", "diffusion", "Sobolev")
WINDOW = (-6.0, 16.0)  # the x range of the histograms (the figure's and the animation's)
GIF = {True: dict(frames=8, dpi=40), False: dict(frames=36, dpi=60)}  # quick / full


def gaussian_settings(quick: bool) -> dict:
    return dict(n=64, steps=6000) if quick else dict(n=500, steps=10_000)


STUDENT_TEACHER = dict(particles=1000, train_inputs=400, valid_inputs=2000, steps=1500)


def _run(label: str, runs: dict, timings: dict, fn) -> None:
    started = time.perf_counter()
    runs[label] = fn()
    timings[label] = round(time.perf_counter() - started, 2)
    print(f"  {label}: {timings[label]} s", flush=True)


def gaussian_problem(quick: bool) -> tuple[dict, dict, jax.Array]:
    settings = gaussian_settings(quick)
    n, steps = settings["n"], settings["steps"]
    gamma, sigma, beta, temperature, reg = 0.1, 2.0, 10.0, 0.1, 1e-3
    switch = steps // 2
    keys = jax.random.split(jax.random.PRNGKey(0), 5)
    target = flows.targets.Gaussian(jnp.zeros(1)).sample(keys[0], n)
    x0 = flows.targets.Gaussian(jnp.array([10.0]), jnp.array([[0.5]])).sample(keys[1], n)
    kernel = flows.kernels.GaussianKernel(sigma)
    t1 = steps * gamma
    ts = gamma * np.unique(np.round(np.linspace(0, steps, 101)))  # on the iteration grid
    mmd2 = {"mmd2": flows.diagnostics.MMD2(target, kernel)}
    gd = flows.GradientDescent(step=gamma)
    runs, timings = {}, {}

    def injected(level: float) -> flows.particle.NoiseInjectedMMDFlow:  # level 0: the plain MMD flow
        return flows.particle.NoiseInjectedMMDFlow(target, kernel, flows.particle.PiecewiseConstantSchedule([level, 0.0], [switch * gamma]))

    _run("MMD flow", runs, timings, lambda: flows.simulate(
        injected(0.0), x0, t1=t1, ts=ts, solver=gd, key=keys[2], diagnostics=mmd2))
    _run("noise injection", runs, timings, lambda: flows.simulate(
        injected(beta), x0, t1=t1, ts=ts, solver=gd, key=keys[2], diagnostics=mmd2))
    if not quick:  # the SDE solve's compilation alone would take half of the quick setting's seconds
        heat = flows.particle.PiecewiseConstantSchedule([temperature, 0.0], [switch * gamma])
        _run("diffusion", runs, timings, lambda: flows.simulate(
            flows.particle.DiffusionMMDFlow(target, kernel, heat, brownian_tolerance=gamma / 2, levy_area=False),
            x0, t1=t1, ts=ts, solver=diffrax.Euler(), dt0=gamma, max_steps=steps + 10, key=keys[3], diagnostics=mmd2))
    _run("Sobolev", runs, timings, lambda: flows.simulate(
        flows.particle.KernelSobolevFlow(target, kernel, reg, solver="cg"), x0, t1=t1, ts=ts, solver=gd, diagnostics=mmd2))
    summary = {
        "setup": {**settings, "dim": 1, "sigma": sigma, "gamma": gamma, "noise_injection_beta": beta,
                  "diffusion_temperature": temperature, "switch_step": switch, "sobolev_regularization": reg,
                  "start": "N(10, 0.5)", "target": "N(0, 1)", "dtype": "float64"},
        "mmd2_start": float(runs["MMD flow"].diagnostics["mmd2"][0]),
        "runs": {},
    }
    for label, traj in runs.items():
        values = np.asarray(traj.diagnostics["mmd2"])
        at_switch = int(np.argmin(np.abs(np.asarray(traj.ts) - switch * gamma)))
        final = np.asarray(traj.final_state)
        summary["runs"][label] = {
            "mmd2_final": float(values[-1]), "mmd2_at_switch": float(values[at_switch]),
            "mean_final": float(final.mean()), "std_final": float(final.std()),
            "share_beyond_5": float(np.mean(np.abs(final) > 5.0)), "wall_s": timings[label],
        }
    summary["ratio_plain_over_noise_injection"] = (
        summary["runs"]["MMD flow"]["mmd2_final"] / summary["runs"]["noise injection"]["mmd2_final"]
    )
    return summary, runs, target


def sphere(key: jax.Array, n: int, dim: int) -> jax.Array:
    """n points uniform on the unit sphere of R^dim."""
    z = jax.random.normal(key, (n, dim))
    return z / jnp.linalg.norm(z, axis=1, keepdims=True)


def student_teacher_problem() -> tuple[dict, dict]:
    settings = STUDENT_TEACHER
    n, steps = settings["particles"], settings["steps"]
    dim, hidden, gamma, beta0, temperature, reg = 50, 3, 1.0, 1.0, 1e-3, 1e-3
    keys = jax.random.split(jax.random.PRNGKey(1), 7)
    train = flows.kernels.NetworkKernel(sphere(keys[0], settings["train_inputs"], dim), hidden=hidden, output_bandwidth=2.0)
    valid = flows.kernels.NetworkKernel(sphere(keys[1], settings["valid_inputs"], dim), hidden=hidden, output_bandwidth=2.0)
    q = train.particle_dim
    teacher = jax.random.normal(keys[2], (1, q))
    x0 = 1e-3 + jax.random.normal(keys[3], (n, q))
    t1 = steps * gamma
    ts = gamma * np.unique(np.round(np.linspace(0, steps, 51)))
    every = t1 / 10
    diagnostics = {"train_risk": flows.diagnostics.MMD2(teacher, train), "valid_risk": flows.diagnostics.MMD2(teacher, valid)}
    gd = flows.GradientDescent(step=gamma)
    runs, timings = {}, {}

    def injected(level: float) -> flows.particle.NoiseInjectedMMDFlow:  # level 0: the plain MMD flow
        return flows.particle.NoiseInjectedMMDFlow(teacher, train, flows.particle.StepDecaySchedule(jnp.asarray(level), 0.5, every))

    _run("MMD flow", runs, timings, lambda: flows.simulate(
        injected(0.0), x0, t1=t1, ts=ts, solver=gd, key=keys[4], diagnostics=diagnostics))
    _run("noise injection", runs, timings, lambda: flows.simulate(
        injected(beta0), x0, t1=t1, ts=ts, solver=gd, key=keys[4], diagnostics=diagnostics))
    _run("diffusion", runs, timings, lambda: flows.simulate(
        flows.particle.DiffusionMMDFlow(teacher, train, flows.particle.StepDecaySchedule(temperature, 0.5, every),
                               brownian_tolerance=gamma / 2, levy_area=False),
        x0, t1=t1, ts=ts, solver=diffrax.Euler(), dt0=gamma, max_steps=steps + 10, key=keys[5],
        diagnostics=diagnostics))
    _run("Sobolev", runs, timings, lambda: flows.simulate(
        flows.particle.KernelSobolevFlow(teacher, train, reg, solver="cg", cg_rtol=1e-4, cg_max_steps=500),
        x0, t1=t1, ts=ts, solver=gd, diagnostics=diagnostics))
    summary = {
        "setup": {**settings, "input_dim": dim, "hidden_units": hidden, "particle_dim": q, "teacher_particles": 1,
                  "output": "exp(-s^2/4)", "inputs": "uniform on the sphere", "gamma": gamma,
                  "noise_injection_beta0": beta0, "diffusion_temperature0": temperature, "halving_every_steps": steps // 10,
                  "sobolev_regularization": reg, "student_init": "N(1e-3, 1)", "teacher_init": "N(0, 1)"},
        "valid_risk_start": float(runs["MMD flow"].diagnostics["valid_risk"][0]),
        "train_risk_start": float(runs["MMD flow"].diagnostics["train_risk"][0]),
        "runs": {},
    }
    for label, traj in runs.items():
        valid_risk = np.asarray(traj.diagnostics["valid_risk"])
        summary["runs"][label] = {
            "train_risk_final": float(traj.diagnostics["train_risk"][-1]),
            "valid_risk_final": float(valid_risk[-1]), "valid_risk_min": float(valid_risk.min()),
            "wall_s": timings[label],
        }
    return summary, runs


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    with flows.export.atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")


def animate(gaussian: tuple[dict, dict, jax.Array], out: Outputs, quick: bool) -> Path:
    """The Gaussian runs side by side at equal times (histograms over the target's), MMD² overlaid."""
    summary, runs, target = gaussian
    return flows.export.animate_comparison(
        runs, out.media("noise_injection.gif"), target=target, diagnostic="mmd2", clock="time",
        fps=6, panel_size=2.6, xlim=WINDOW, **GIF[quick],
        title=f"N(10, 0.5) → N(0, 1), N = M = {summary['setup']['n']}, γ = {summary['setup']['gamma']:g}",
    )


COLOURS = {label: f"C{i}" for i, label in enumerate(METHODS)}


def plot_gaussian(gaussian: tuple[dict, dict, jax.Array], out: Outputs) -> Path:
    summary, runs, _ = gaussian
    figure = Figure(figsize=(11, 3.8), dpi=100)
    ax, hist = figure.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
    gamma = summary["setup"]["gamma"]
    for label, traj in runs.items():
        ax.plot(np.asarray(traj.ts) / gamma, np.clip(np.asarray(traj.diagnostics["mmd2"]), 1e-12, None),
                label=label, c=COLOURS[label])
        hist.hist(np.asarray(traj.final_state)[:, 0], bins=60, range=WINDOW, histtype="step", color=COLOURS[label],
                  label=label)
    ax.axvline(summary["setup"]["switch_step"], color="grey", lw=0.8, ls=":")
    ax.set(yscale="log", xlabel="iteration", ylabel="MMD² (σ = 2)",
           title=f"N(10, 0.5) → N(0, 1), N = M = {summary['setup']['n']}")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    hist.set(xlabel="x", ylabel="particles", title="final particles (target at 0)")
    path = out.media("noise_injection_gaussian.png")
    _save(figure, path)
    return path


def plot_student_teacher(student: tuple[dict, dict], out: Outputs) -> Path:
    summary, runs = student
    figure = Figure(figsize=(11, 3.8), dpi=100)
    axes = figure.subplots(1, 2)
    for label, traj in runs.items():
        for ax, key in zip(axes, ("train_risk", "valid_risk")):
            ax.plot(np.asarray(traj.ts) / summary["setup"]["gamma"], np.asarray(traj.diagnostics[key]), label=label,
                    c=COLOURS[label])
    for ax, name in zip(axes, ("training risk (= MMD² of the network kernel)", "validation risk")):
        ax.set(yscale="log", xlabel="iteration", ylabel=name, title=name)
        ax.grid(True, which="both", alpha=0.3)
    axes[1].legend(fontsize=8)
    path = out.media("noise_injection_student_teacher.png")
    _save(figure, path)
    return path


def gaussian_section(g: dict, paths: dict, out: Outputs) -> str:
    gs = g["setup"]
    rows_g = "\n".join(
        f"| {label} | {r['mmd2_at_switch']:.3g} | {r['mmd2_final']:.3g} | {r['mean_final']:.2f} | {r['std_final']:.2f} "
        f"| {r['share_beyond_5']:.1%} |"
        for label, r in g["runs"].items()
    )
    return f"""
**Claim** (Arbel, Korba, Salim, Gretton, NeurIPS 2019): the MMD flow can stall far from its target;
injecting noise into the point where the witness gradient is evaluated, x ← x − γ∇f(x + βu),
lets it escape and reach a lower MMD². Compared with the plain flow, the diffusion MMD flow
(noise added to the particles) and kernel Sobolev descent (a gradient-regularized critic).

**Gaussian to Gaussian.** N = M = {gs['n']} particles in 1-D from N(10, 0.5) to N(0, 1),
Gaussian kernel σ = {gs['sigma']:g}, γ = {gs['gamma']:g}, {gs['steps']} steps (the paper: N = M = 1000).
Noise injection β = {gs['noise_injection_beta']:g} until step {gs['switch_step']}, then 0; diffusion temperature
{gs['diffusion_temperature']:g} until then, then 0 (Euler-Maruyama, step γ); Sobolev λ = {gs['sobolev_regularization']:g}.
MMD² at the start: {g['mmd2_start']:.3g}.

| method | MMD² at the switch | final MMD² | final mean | final std | particles with \\|x\\| > 5 |
|---|---|---|---|---|---|
{rows_g}

The plain flow ends {g['ratio_plain_over_noise_injection']:.3g}× above noise injection. The last column counts
particles left far from the target (5 standard deviations out): the Gaussian kernel's MMD² barely
sees them, so a low MMD² with a large final std means a matched bulk plus stranded outliers.

![Gaussian to Gaussian]({out.link(paths['gaussian'])})

The runs side by side at equal times (histograms of the particles on x ∈ [{WINDOW[0]:g}, {WINDOW[1]:g}], particles
pushed beyond it left out; the target's in grey), with their MMD² curves:

![The flows side by side]({out.link(paths['animation'])})
"""


def student_teacher_section(s: dict, paths: dict, out: Outputs) -> str:
    ss = s["setup"]
    rows_s = "\n".join(
        f"| {label} | {r['train_risk_final']:.3g} | {r['valid_risk_final']:.3g} | {r['valid_risk_min']:.3g} |"
        for label, r in s["runs"].items()
    )
    best = min(s["runs"], key=lambda k: s["runs"][k]["valid_risk_final"])
    noise_vs_plain = s["runs"]["noise injection"]["valid_risk_final"] / s["runs"]["MMD flow"]["valid_risk_final"]
    plain_reduction = s["valid_risk_start"] / s["runs"]["MMD flow"]["valid_risk_final"]
    verdict = (
        f"The plain flow lowers the validation risk {plain_reduction:.3g}× here, so it does not stall as in "
        "the paper's figure (where plain training stays at 0.177): with each particle its own sub-network "
        "(the paper's formula) the initial student is not saturated."
        if plain_reduction > 2 else
        f"The plain flow stalls: its validation risk falls only {plain_reduction:.3g}×."
    )
    return f"""
**Student-teacher network.** Particles are sub-networks ψ(z, u) = exp(−(wᵀrelu(Wz))²/4) with
{ss['hidden_units']} hidden ReLU units and inputs uniform on the sphere of R^{ss['input_dim']} (u ∈ R^{ss['particle_dim']}); one teacher
particle; the risk is the MMD² of the network kernel `flows.kernels.NetworkKernel` on {ss['train_inputs']} training
inputs, the validation risk the same on {ss['valid_inputs']} fresh inputs; {ss['particles']} student particles
(paper: 1000). **Reduced from the paper** to fit the CPU: full-batch gradient descent with γ = {ss['gamma']:g} for
{ss['steps']} steps (paper: SGD, mini-batches of 100, γ = 0.01, 10⁵ iterations). Noise injection
β_0 = {ss['noise_injection_beta0']:g}, diffusion temperature {ss['diffusion_temperature0']:g}, both halved every {ss['halving_every_steps']} steps; Sobolev
λ = {ss['sobolev_regularization']:g} (conjugate gradient). Risk at the start: training {s['train_risk_start']:.3g}, validation {s['valid_risk_start']:.3g}.

| method | final training risk | final validation risk | lowest validation risk |
|---|---|---|---|
{rows_s}

Lowest final validation risk: **{best}**; noise injection / plain final validation risk:
{noise_vs_plain:.3g}. {verdict}

![Student-teacher]({out.link(paths['student_teacher'])})
"""


def main(quick: bool = False, root: Path | None = None) -> dict:
    started = time.perf_counter()
    out = Outputs(NAME, order=4, quick=quick, root=root)
    print("Gaussian to Gaussian", flush=True)
    gaussian = gaussian_problem(quick)
    results = {"gaussian": gaussian[0], "animation_frames": GIF[quick]["frames"]}
    paths = {"gaussian": plot_gaussian(gaussian, out), "animation": animate(gaussian, out, quick)}
    markdown = gaussian_section(results["gaussian"], paths, out)
    if quick:
        markdown += "\nThe quick setting skips the diffusion MMD flow and the student-teacher network.\n"
    else:
        print("student-teacher network", flush=True)
        student = student_teacher_problem()
        results["student_teacher"] = student[0]
        paths["student_teacher"] = plot_student_teacher(student, out)
        markdown += student_teacher_section(results["student_teacher"], paths, out)
    results["wall_time_s"] = round(time.perf_counter() - started, 1)
    out.write_results(results)
    out.write_section("Noise injection", markdown)
    return results


if __name__ == "__main__":
    args = parse_args(__doc__)
    summary = main(quick=args.quick, root=args.root)
    for problem in ("gaussian", "student_teacher")[: 1 if args.quick else 2]:
        for label, run in summary[problem]["runs"].items():
            print(problem, label, {k: round(v, 5) if isinstance(v, float) else v for k, v in run.items()})
    print(f"{summary['wall_time_s']} s")
