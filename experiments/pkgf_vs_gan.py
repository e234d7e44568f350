"""MMD GAN as a gradient flow (Mroueh & Nguyen, "On the Convergence of Gradient Descent in GANs: MMD
GAN As a Gradient Flow", AISTATS 2021): the parametric kernelized gradient flow (PKGF)
dθ/dt = −(Γ_θ + λI)⁻¹∇_θF, F = ½MMD², with Γ_θ = (1/m²) Σ_{a,b} J_aᵀ ∇_x∇_y k(x_a, x_b) J_b the
pull-back of the RKHS metric (J_a = ∂G_θ(z_a)/∂θ, x_a = G_θ(z_a)), vs parametric MMD gradient
descent vs the gradient-regularized MMD GAN game, across step sizes, and the PKGF's convergence
constant α(t) against the rate it predicts.

    PYTHONPATH=. python experiments/pkgf_vs_gan.py           # media/pkgf_vs_gan*.{png,gif}, results JSON, section
    PYTHONPATH=. python experiments/pkgf_vs_gan.py --quick   # affine problem only, one step size (seconds)

Problems:
- **affine**: an affine generator G(z) = Az + b (k = 1) to a rank-1 Gaussian in d = 2, Gaussian
  kernel σ = 1. PKGF and parametric GD run in population mode (exact closed-form MMD², no
  sampling error); the GAN plays on samples (512 target samples, 128 fresh latents a step, a
  random-feature critic, 5 SGD ascent steps of 0.5 per generator step) and is scored with the same
  exact MMD².
- **ring** (full mode only): an MLP generator (tanh, width 48, depth 2: 2,690 parameters) to 256
  samples of the 8-Gaussians ring (`flows.targets.GaussianMixture.ring`: 8 modes, radius 2, std
  0.1), kernel a sum of Gaussians σ ∈ {0.5, 2}; PKGF with conjugate gradient on a fixed batch of
  64 latents, GD and the GAN with fresh latents; scored by the V-statistic MMD² on the fixed batch.

1. **Step-size sweep.** Each method runs the same number of iterations at each step size h:
   PKGF-GD θ ← θ − h(Γ + λ)⁻¹∇F, MMD GD θ ← θ − h∇F, and the game with generator SGD of step h.
   All three advance time by h per iteration (iteration k sits at t = kh): GD is the Euler scheme
   of its flow, and the game's generator step is an Euler step of size h of θ̇ = ∇_θ E u(G_θ(z))
   with the current critic u.
   Per run: final MMD², diverged (NaN, or ends above its start), oscillated (MMD² rebounds above
   twice its running minimum, and above 1e-10).
2. **α(t) vs the observed rate.** Along the PKGF ODE (Tsit5, adaptive), dF/dt = −∇Fᵀ(Γ + λ)⁻¹∇F
   and MMD² = 2F give d log MMD²/dt = −2α(t), α(t) = ∇Fᵀ(Γ + λ)⁻¹∇F / MMD², hence MMD²(t) = MMD²(0)·exp(−2∫α), and the
   convergence condition's bound MMD²(t) ≤ exp(−2α₀t)·MMD²(0) with α₀ = min_{s≤t} α(s). Checked
   on the saved grid while MMD² > 1e-10: the observed rate −d log MMD²/dt (finite differences)
   against 2α, the integrated identity, whether the bound holds (to 1e-3 in log, the size of the
   ODE and CG errors), and how loose it is.
3. **Animation** (`pkgf_vs_gan.gif`): the generated samples of the three methods side by side at
   one step size, at equal times t = kh (`flows.export.animate_comparison`, clock "time"); the ring
   problem in full mode, the affine one in quick mode.
"""

from __future__ import annotations

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
from report import Outputs, parse_args  # noqa: E402

import flows  # noqa: E402

NAME = "pkgf_vs_gan"
THRESHOLD = 1e-3  # "converged": final MMD² below this
ROUNDOFF = 1e-10  # MMD² below this is round-off: no oscillation, no rate
BOUND_TOL = 1e-3  # the bound counts as holding when log(bound / MMD²) >= -BOUND_TOL (ODE and CG error)
METHODS = ("PKGF-GD", "MMD GD", "GAN")


def settings(quick: bool) -> dict:
    """Quick: one step size (each new optax step size compiles the game again), a short GIF."""
    if quick:
        return dict(steps=60, step_sizes=(1.0,), t1=20.0, saves=101, ring=False, animation_step=1.0, frames=10, dpi=50)
    return dict(steps=300, step_sizes=(0.1, 0.3, 1.0, 3.0, 10.0, 30.0), t1=30.0, saves=301, ring=True,
                animation_step=0.3, frames=30, dpi=70)


def summarize(mmd2: np.ndarray) -> dict:
    """Final MMD², converged / diverged / oscillated flags of one run."""
    finite = np.all(np.isfinite(mmd2))
    running_min = np.minimum.accumulate(mmd2)
    return {
        "final_mmd2": float(mmd2[-1]) if finite else None,
        "converged": bool(finite and mmd2[-1] < THRESHOLD),
        "diverged": bool(not finite or mmd2[-1] > mmd2[0]),
        "oscillated": bool(np.any((mmd2[1:] > 2 * running_min[:-1]) & (mmd2[1:] > ROUNDOFF))),
        "max_rise": float(np.max(np.diff(mmd2))) if finite else None,
    }


def run_or_diverge(fn) -> flows.Trajectory | None:
    """The run's trajectory, or None if it diverged."""
    try:
        return fn()
    except flows.FlowDivergedError:
        return None


def sweep(make_runs: dict, step_sizes, steps: int) -> tuple[dict, dict, dict]:
    """{method: {h: summary}}, the MMD² curves and the trajectories (None: diverged), for every
    method and step size."""
    results, curves, trajectories = {}, {}, {}
    for method, make in make_runs.items():
        results[method], curves[method], trajectories[method] = {}, {}, {}
        for h in step_sizes:
            trajectory = run_or_diverge(lambda: make(h, steps))
            mmd2 = np.array([np.nan]) if trajectory is None else np.asarray(trajectory.diagnostics["mmd2"], dtype=float)
            results[method][f"{h:g}"] = summarize(mmd2)
            curves[method][h] = mmd2
            trajectories[method][h] = trajectory
        print(f"  {method}: " + ", ".join(f"h={h}: {r['final_mmd2'] if r['final_mmd2'] is None else round(r['final_mmd2'], 6)}"
                                          f"{' osc' if r['oscillated'] else ''}{' div' if r['diverged'] else ''}"
                                          for h, r in results[method].items()), flush=True)
    return results, curves, trajectories


def alpha_check(traj: flows.Trajectory) -> dict:
    """α(t) against the observed rate, the integrated identity and the bound (module docstring)."""
    t = np.asarray(traj.ts, dtype=float)
    mmd2 = np.asarray(traj.diagnostics["mmd2"], dtype=float)
    alpha = np.asarray(traj.diagnostics["alpha"], dtype=float)
    keep = np.nonzero(mmd2 > ROUNDOFF)[0]
    keep = keep[: np.argmax(np.diff(np.append(keep, -1)) != 1) + 1]  # the leading stretch above round-off
    t, mmd2, alpha = t[keep], mmd2[keep], alpha[keep]
    observed = -np.diff(np.log(mmd2)) / np.diff(t)
    predicted = alpha[1:] + alpha[:-1]  # 2 × the trapezoid mean of α over each interval
    rate_error = np.abs(observed - predicted) / np.abs(predicted)
    integral = np.concatenate([[0.0], np.cumsum(0.5 * (alpha[1:] + alpha[:-1]) * np.diff(t))])
    identity_error = np.abs(np.log(mmd2 / mmd2[0]) + 2 * integral)
    alpha0 = np.minimum.accumulate(alpha)
    bound = mmd2[0] * np.exp(-2 * alpha0 * (t - t[0]))
    slack = np.log(bound / mmd2)  # >= 0 where the bound holds
    return {
        "t_checked": float(t[-1]), "points": int(t.size),
        "alpha_min": float(alpha.min()), "alpha_max": float(alpha.max()), "alpha_final": float(alpha[-1]),
        "mmd2_never_rises": bool(np.all(np.diff(mmd2) <= 1e-12 * mmd2[:-1])),
        "rate_relative_error_median": float(np.median(rate_error)), "rate_relative_error_max": float(rate_error.max()),
        "identity_log_error_max": float(identity_error.max()),
        "bound_holds": bool(np.all(slack >= -BOUND_TOL)), "bound_min_log_slack": float(slack.min()),
        "bound_over_actual_final": float(np.exp(slack[-1])),
        "curve": {"t": t, "alpha": alpha, "mmd2": mmd2, "bound": bound, "observed_rate": observed, "t_mid": 0.5 * (t[1:] + t[:-1])},
    }


def affine_problem(config: dict) -> dict:
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    direction = jnp.array([1.0, 0.5]) / jnp.sqrt(1.25)
    target = flows.targets.Gaussian(jnp.array([2.0, 1.0]), 2.0 * jnp.outer(direction, direction))
    generator = flows.parametric.AffineGenerator(jnp.array([[0.3], [-0.8]]), jnp.array([-1.0, 0.0]))
    kernel = flows.kernels.GaussianKernel(1.0)
    population = flows.parametric.ParametricMMDFlow(generator, target, kernel)
    pkgf = flows.parametric.PKGF(generator, target, kernel, reg=1e-3, solve="dense")
    samples = flows.parametric.ParametricMMDFlow(
        generator, target.sample(keys[0], 512), kernel, latents=jax.random.normal(keys[1], (128, 1)), fresh_latents=128
    )
    critic = flows.games.RandomFeatureCritic(2, 256, 1.0, key=keys[2], dtype=jnp.float64)
    score = {"mmd2": population.mmd2}
    runs = {
        "PKGF-GD": lambda h, n: flows.simulate(pkgf, generator, t1=h * n, solver=flows.GradientDescent(step=h),
                                               diagnostics={"mmd2": pkgf.mmd2}),
        "MMD GD": lambda h, n: flows.simulate(population, generator, t1=h * n, solver=flows.GradientDescent(step=h),
                                              diagnostics=score),
        "GAN": lambda h, n: flows.simulate(samples, generator, t1=h * n, key=keys[3], diagnostics=score,
                                           solver=flows.games.MMDGAN(critic, optax.sgd(h), optax.sgd(0.5), n_critic=5, reg=1e-3,
                                                               step=h)),
    }
    started = time.perf_counter()
    ode = flows.simulate(pkgf, generator, t1=config["t1"], ts=jnp.linspace(0, config["t1"], config["saves"]),
                         diagnostics={"mmd2": pkgf.mmd2, "alpha": pkgf.alpha},
                         stepsize_controller=diffrax.PIDController(rtol=1e-7, atol=1e-12))
    print(f"  PKGF ODE: {time.perf_counter() - started:.1f} s", flush=True)
    sweep_results, curves, trajectories = sweep(runs, config["step_sizes"], config["steps"])
    shown = jax.random.normal(keys[4], (512, 1))
    return {"sweep": sweep_results, "alpha": alpha_check(ode), "curves": curves, "reg": 1e-3,
            "trajectories": trajectories, "target": np.asarray(target.sample(keys[0], 512)),
            "show": jax.jit(lambda params: pkgf.samples(params, shown))}


def ring_problem(config: dict) -> dict:
    keys = jax.random.split(jax.random.PRNGKey(1), 7)
    target = flows.targets.GaussianMixture.ring(modes=8, radius=2.0, std=0.1).sample(keys[0], 256)
    generator = flows.parametric.MLPGenerator(4, 2, width=48, depth=2, activation="tanh", key=keys[1], dtype=jnp.float64)
    kernel = flows.kernels.SumKernel([flows.kernels.GaussianKernel(0.5), flows.kernels.GaussianKernel(2.0)])
    latents = jax.random.normal(keys[2], (64, 4))
    pkgf = flows.parametric.PKGF(generator, target, kernel, reg=1e-2, solve="cg", latents=latents, cg_rtol=1e-6, cg_atol=1e-12,
                      cg_max_steps=200)
    plain = flows.parametric.ParametricMMDFlow(generator, target, kernel, latents=latents, fresh_latents=latents.shape[0])
    critic = flows.games.RandomFeatureCritic(2, 256, 0.5, key=keys[4], dtype=jnp.float64)
    score = {"mmd2": plain.mmd2}
    runs = {
        "PKGF-GD": lambda h, n: flows.simulate(pkgf, generator, t1=h * n, solver=flows.GradientDescent(step=h),
                                               diagnostics={"mmd2": pkgf.mmd2}),
        "MMD GD": lambda h, n: flows.simulate(plain, generator, t1=h * n, solver=flows.GradientDescent(step=h), key=keys[3],
                                              diagnostics=score),
        "GAN": lambda h, n: flows.simulate(plain, generator, t1=h * n, key=keys[5], diagnostics=score,
                                           solver=flows.games.MMDGAN(critic, optax.sgd(h), optax.adam(1e-2), n_critic=5, reg=1e-3,
                                                               step=h)),
    }
    started = time.perf_counter()
    t1 = 10.0
    ode = flows.simulate(pkgf, generator, t1=t1, ts=jnp.linspace(0, t1, 101), diagnostics={"mmd2": pkgf.mmd2, "alpha": pkgf.alpha},
                         stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-10))
    print(f"  PKGF ODE (CG): {time.perf_counter() - started:.1f} s", flush=True)
    sweep_results, curves, trajectories = sweep(runs, config["step_sizes"][1:-1], config["steps"])
    shown = jax.random.normal(keys[6], (512, 4))
    return {"sweep": sweep_results, "alpha": alpha_check(ode), "curves": curves, "reg": 1e-2,
            "trajectories": trajectories, "target": np.asarray(target),
            "show": jax.jit(lambda params: pkgf.samples(params, shown))}


def _save(figure: Figure, path: Path) -> None:
    FigureCanvasAgg(figure)
    figure.tight_layout()
    with flows.export.atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")


def plot(problems: dict, out: Outputs, steps: int) -> dict[str, Path]:
    paths = {}
    figure = Figure(figsize=(5.5 * len(problems), 4.2 * 2), dpi=90)
    axes = np.atleast_2d(figure.subplots(2, len(problems), squeeze=False))
    for col, (name, problem) in enumerate(problems.items()):
        step_sizes = sorted(next(iter(problem["curves"].values())))
        ax = axes[0, col]
        for i, method in enumerate(METHODS):
            finals = [problem["sweep"][method][f"{h:g}"]["final_mmd2"] for h in step_sizes]
            finals = [np.nan if v is None else max(v, 1e-17) for v in finals]
            ax.plot(step_sizes, finals, "o-", c=f"C{i}", label=method)
            for h, v in zip(step_sizes, finals):
                flags = problem["sweep"][method][f"{h:g}"]
                if flags["oscillated"] or flags["diverged"]:
                    ax.plot(h, v, "x", c="k", ms=9)
        ax.set(xscale="log", yscale="log", xlabel="step size h", ylabel="final MMD²",
               title=f"{name}: final MMD² vs step size (× = oscillated/diverged)")
        ax.legend(fontsize=8)
        ax = axes[1, col]
        h_show = 1.0 if 1.0 in step_sizes else step_sizes[len(step_sizes) // 2]
        for i, method in enumerate(METHODS):
            for h, ls in ((h_show, "-"), (step_sizes[-1], ":")):
                curve = np.clip(problem["curves"][method][h], 1e-17, None)
                ax.plot(np.linspace(0, steps, curve.size), curve, ls, c=f"C{i}", label=f"{method} h={h:g}")
        ax.set(yscale="log", xlabel="iteration", ylabel="MMD²", title=f"{name}: runs at h = {h_show:g} and {step_sizes[-1]:g}")
        ax.legend(fontsize=7)
    paths["sweep"] = out.media("pkgf_vs_gan_sweep.png")
    _save(figure, paths["sweep"])

    figure = Figure(figsize=(5.5 * len(problems), 4.2 * 2), dpi=90)
    axes = np.atleast_2d(figure.subplots(2, len(problems), squeeze=False))
    for col, (name, problem) in enumerate(problems.items()):
        c = problem["alpha"]["curve"]
        ax = axes[0, col]
        ax.plot(c["t_mid"], c["observed_rate"], "o", ms=3, label="observed −d log MMD²/dt")
        ax.plot(c["t"], 2 * c["alpha"], "-", label="2α(t)")
        ax.plot(c["t"], 2 * np.minimum.accumulate(c["alpha"]), "--", label="2α₀(t) = 2 min α")
        ax.set(xlabel="t", ylabel="rate", title=f"{name}: PKGF rate vs α(t)")
        ax.legend(fontsize=8)
        ax = axes[1, col]
        ax.plot(c["t"], c["mmd2"], label="MMD²(t) (PKGF ODE)")
        ax.plot(c["t"], c["bound"], "--", label="bound exp(−2α₀t)·MMD²(0)")
        ax.set(yscale="log", xlabel="t", ylabel="MMD²", title=f"{name}: the convergence bound")
        ax.legend(fontsize=8)
    paths["alpha"] = out.media("pkgf_vs_gan_alpha.png")
    _save(figure, paths["alpha"])
    return paths


def animate(name: str, problem: dict, out: Outputs, config: dict) -> dict:
    """The three methods' generated samples side by side at step `animation_step` (equal times t = kh)."""
    h = config["animation_step"]
    runs = {method: problem["trajectories"][method][h] for method in METHODS}
    shown = {method: run for method, run in runs.items() if run is not None}  # a diverged run has no states
    path = out.media("pkgf_vs_gan.gif")
    flows.export.animate_comparison(shown, path, target=problem["target"], samples=problem["show"], clock="time",
                             frames=config["frames"], fps=6, panel_size=2.6, dpi=config["dpi"],
                             title=f"{name}: generated samples, step h = {h:g} (iteration k at t = kh)")
    saved_times = np.unique(np.concatenate([np.asarray(run.ts) for run in shown.values()]))
    return {"problem": name, "step": h, "clock": "time", "methods": list(shown), "frames": min(config["frames"], saved_times.size),
            "final_mmd2": {method: problem["sweep"][method][f"{h:g}"]["final_mmd2"] for method in METHODS},
            "bytes": path.stat().st_size, "path": path}


def _table(problem: dict) -> str:
    step_sizes = list(next(iter(problem["sweep"].values())))
    header = "| method | " + " | ".join(f"h = {h}" for h in step_sizes) + " |\n|---|" + "---|" * len(step_sizes)

    def cell(r):
        value = "NaN" if r["final_mmd2"] is None else f"{r['final_mmd2']:.2g}"
        flags = ", ".join(f for f, on in (("osc.", r["oscillated"]), ("div.", r["diverged"])) if on)
        return value + (f" ({flags})" if flags else "")

    rows = "\n".join(f"| {m} | " + " | ".join(cell(problem["sweep"][m][h]) for h in step_sizes) + " |" for m in METHODS)
    return header + "\n" + rows


def _stable_range(problem: dict, method: str) -> str:
    good = [h for h, r in problem["sweep"][method].items() if r["converged"] and not r["oscillated"]]
    return "none" if not good else ", ".join(good)


def _largest_step(problem: dict) -> str:
    h = list(next(iter(problem["sweep"].values())))[-1]

    def status(r):
        if r["diverged"]:
            return "diverged"
        if r["oscillated"]:
            return f"oscillated (final MMD² {r['final_mmd2']:.2g})"
        return "converged" if r["converged"] else f"stalled at MMD² {r['final_mmd2']:.2g}"

    return f"At the largest step size, h = {h}: " + "; ".join(f"{m} {status(problem['sweep'][m][h])}" for m in METHODS) + "."


def section(results: dict, paths: dict, out: Outputs, config: dict) -> str:
    parts = [f"""
**Claim** (Mroueh & Nguyen 2021): the parametric kernelized gradient flow (PKGF,
θ̇ = −(Γ_θ + λ)⁻¹∇F, the generator step of a gradient-regularized MMD GAN whose critic is solved
exactly) is a descent direction, converges at the rate its constant α(t) gives
(MMD²(t) ≤ e^(−2α₀t)MMD²(0) while α ≥ α₀ > 0), and stabilizes training compared with GAN
gradient descent. Setting in `experiments/pkgf_vs_gan.py`; {config['steps']} iterations per run.
"""]
    for name, problem in ((n, p) for n, p in results.items() if "sweep" in p):
        a = problem["alpha"]
        parts.append(f"""
### {name}

Step-size sweep (final MMD²; osc. = rebounded above twice its running minimum; div. = NaN or ended
above its start). Converged (< {THRESHOLD:g}) without oscillating at h ∈ {{{_stable_range(problem, 'PKGF-GD')}}} for PKGF-GD,
{{{_stable_range(problem, 'MMD GD')}}} for MMD GD and {{{_stable_range(problem, 'GAN')}}} for the GAN.

{_table(problem)}

{_largest_step(problem)}

α(t) along the PKGF ODE (λ = {problem['reg']:g}, checked on {a['points']} saved times up to t = {a['t_checked']:.3g}):
α between {a['alpha_min']:.3g} and {a['alpha_max']:.3g} (> 0: the convergence condition holds along the run);
MMD² never rises: {a['mmd2_never_rises']}. The observed rate −d log MMD²/dt matches 2α(t) to a median
relative error {a['rate_relative_error_median']:.1e} (max {a['rate_relative_error_max']:.1e}, finite differences on the grid); the
integrated identity log(MMD²(t)/MMD²(0)) = −2∫α holds to {a['identity_log_error_max']:.1e}. The bound
exp(−2α₀t)·MMD²(0), α₀ = min α so far, holds at every saved time (to {BOUND_TOL:g} in log; smallest
log(bound/MMD²) {a['bound_min_log_slack']:.1e}): {a['bound_holds']}; at the last
checked time it is {a['bound_over_actual_final']:.3g}× the actual MMD² (loose because α varies: the rate is set by
the running ∫α, the bound by the worst α so far).
""")
    parts.append(f"""
**Reading.** α(t) = ⟨f, P_λ f⟩/‖f‖² ≤ 1 (P_λ is a regularized projection; measured max α:
{", ".join(f"{p['alpha']['alpha_max']:.3g} ({name})" for name, p in results.items() if "alpha" in p)}), so a PKGF
step of size h shrinks MMD² near the target by about (1 − hα)²: PKGF-GD's safe step size, h < 2, is
known in advance on any problem. {_reading(results)}
""")
    animation = results["animation"]
    finals = ", ".join(f"{m} {'diverged' if v is None else f'{v:.2g}'}" for m, v in animation["final_mmd2"].items())
    parts.append(f"""
**Animation.** The generated samples (512 latents kept fixed for display) of the three methods on the
{animation['problem']} problem at the same step h = {animation['step']:g}, {config['steps']} iterations, over the
target (grey), with their MMD² curves in the last panel; final MMD²: {finals}. Frames are at equal
times t = kh (`clock="time"`): GD's iteration k is the Euler approximation of its flow at t = kh,
and the game's generator step is an SGD step of size h, an Euler step of θ̇ = ∇_θ E u(G_θ(z)) with
the current critic u, so it sits at t = kh too (`MMDGAN(step=h)`). All three share the iteration
grid, so equal time is also equal iteration count here; the three flows differ, so equal t is not
equal progress along one path.

![PKGF-GD, MMD GD and the MMD GAN side by side]({out.link(animation['path'])})
""")
    parts.append(f"\n![step-size sweep]({out.link(paths['sweep'])})\n\n![alpha and the bound]({out.link(paths['alpha'])})\n")
    return "".join(parts)


def _reading(results: dict) -> str:
    """What the sweep showed about each method's stable step sizes, from the results."""
    problems = {name: p for name, p in results.items() if "sweep" in p}

    def stable(method):
        return "; ".join(f"{name} {{{_stable_range(p, method)}}}" for name, p in problems.items())

    def unstable(method):
        counts = [(sum(r["oscillated"] or r["diverged"] for r in p["sweep"][method].values()), len(p["sweep"][method]))
                  for p in problems.values()]
        return " and ".join(f"{k} of {n}" for k, n in counts)

    return (f"PKGF-GD converged without oscillating at h ∈ {stable('PKGF-GD')}; MMD GD at h ∈ "
            f"{stable('MMD GD')} (its stable range depends on the problem's curvature); the game at h ∈ "
            f"{stable('GAN')}. Runs that oscillated or diverged: PKGF-GD {unstable('PKGF-GD')}, MMD GD "
            f"{unstable('MMD GD')}, the game {unstable('GAN')} step sizes ({', '.join(problems)}). Lowest final "
            f"MMD² of the sweep: {'; '.join(f'{name} {_best(p)}' for name, p in problems.items())}.")


def _best(problem: dict) -> str:
    """The method and step size with the lowest final MMD² of a problem's sweep (every method that
    reached round-off, if any did)."""
    runs = [(r["final_mmd2"], m, h) for m in METHODS for h, r in problem["sweep"][m].items() if r["final_mmd2"] is not None]
    exact = {m: [h for v, m_, h in runs if m_ == m and v < ROUNDOFF] for m in METHODS}
    exact = {m: hs for m, hs in exact.items() if hs}
    if exact:
        return f"round-off (< {ROUNDOFF:g}) by " + ", ".join(f"{m} (h ∈ {{{', '.join(hs)}}})" for m, hs in exact.items())
    value, method, h = min(runs)
    return f"{method} at h = {h} ({value:.2g})"


def main(quick: bool = False, root: Path | None = None) -> dict:
    started = time.perf_counter()
    out = Outputs(NAME, order=2, quick=quick, root=root)
    config = settings(quick)
    print("affine generator -> rank-1 Gaussian", flush=True)
    problems = {"affine": affine_problem(config)}
    if config["ring"]:
        print("MLP generator -> ring of 8 Gaussians", flush=True)
        problems["ring"] = ring_problem(config)
    paths = plot(problems, out, config["steps"])
    shown = "ring" if config["ring"] else "affine"
    animation = animate(shown, problems[shown], out, config)
    print(f"  animation: {animation['frames']} frames, {animation['bytes'] / 1e6:.2f} MB", flush=True)
    results = {name: {"sweep": p["sweep"], "alpha": {k: v for k, v in p["alpha"].items() if k != "curve"},
                      "reg": p["reg"]} for name, p in problems.items()}
    results["animation"] = {k: (out.link(v) if k == "path" else v) for k, v in animation.items()}
    results["setup"] = {"iterations": config["steps"], "threshold": THRESHOLD, "roundoff": ROUNDOFF,
                        "step_sizes": list(config["step_sizes"])}
    results["wall_time_s"] = round(time.perf_counter() - started, 1)
    out.write_results(results)
    section_results = {k: v for k, v in results.items() if k in problems}
    section_results["animation"] = animation
    out.write_section("MMD GAN as a gradient flow", section(section_results, paths, out, config))
    return results


if __name__ == "__main__":
    args = parse_args(__doc__)
    summary = main(quick=args.quick, root=args.root)
    print(f"{summary['wall_time_s']} s")
