"""Quickstart: the MMD gradient flow of 400 particles onto a ring of 8 Gaussians, beside the
discrete gradient descent GAN training would run, with an animation and a convergence plot.

    python experiments/quickstart.py            # writes media/quickstart.gif, media/quickstart_convergence.png
    python experiments/quickstart.py --out DIR  # somewhere else (the trajectory file goes to runs/)

Claim checked: the flow (Tsit5, adaptive steps) drives MMD² down by more than 100x, and its
energy dissipates as dF/dt = -E|grad f|^2 (the identity's relative residual is printed). The
animation shows the flow alone: most particles reach the modes by t = 100, the rest are still
between them (the share within three standard deviations of a mode is printed).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp

import flows

ROOT = Path(__file__).resolve().parents[1]


def ring_of_gaussians(key: jax.Array, n: int, modes: int = 8, radius: float = 4.0, std: float = 0.3) -> jax.Array:
    """n samples of an equal-weight mixture of `modes` Gaussians evenly spaced on a circle."""
    k_mode, k_noise = jax.random.split(key)
    angles = 2 * jnp.pi * jax.random.randint(k_mode, (n,), 0, modes) / modes
    centres = radius * jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=1)
    return centres + std * jax.random.normal(k_noise, (n, 2))


def share_near_modes(x: jax.Array, modes: int = 8, radius: float = 4.0, std: float = 0.3) -> float:
    """The share of the points `x` within three standard deviations of a mode of the ring."""
    angles = 2 * jnp.pi * jnp.arange(modes) / modes
    centres = radius * jnp.stack([jnp.cos(angles), jnp.sin(angles)], axis=1)
    distance = jnp.min(jnp.linalg.norm(x[:, None, :] - centres[None], axis=2), axis=1)
    return float(jnp.mean(distance < 3 * std))


def main(out: Path, runs: Path, progress: bool = True, frames: int = 101) -> dict:
    """Run both, write the outputs (an animation of `frames` frames) and return the numbers."""
    started = time.perf_counter()
    k_target, k_init = jax.random.split(jax.random.PRNGKey(0))
    target = ring_of_gaussians(k_target, 400)
    x0 = 0.5 * jax.random.normal(k_init, (400, 2))

    flow = flows.particle.MMDFlow(target=target, kernel=flows.kernels.GaussianKernel(bandwidth=1.0))
    ts = jnp.linspace(0.0, 100.0, 201)
    ode = flows.simulate(
        flow, x0, t1=100.0, ts=ts, solver=diffrax.Tsit5(),
        stepsize_controller=diffrax.PIDController(rtol=1e-4, atol=1e-6), progress=progress,
    )
    gd = flows.simulate(flow, x0, t1=100.0, solver=flows.GradientDescent(step=2.0), progress=progress)

    ode.save(runs / "quickstart_flow.npz")
    flows.export.animate_particles(ode, out / "quickstart.gif", target=target, fps=12, frames=frames, figsize=(8, 3.8), dpi=80,
                            title="MMD² (Gaussian kernel, σ = 1)")
    flows.export.plot_convergence({"MMD flow (Tsit5, adaptive)": ode, "gradient descent (step 2)": gd},
                           out / "quickstart_convergence.png")

    mmd2 = ode.diagnostics["mmd2"]
    summary = {
        "mmd2_start": float(mmd2[0]),
        "mmd2_end_flow": float(mmd2[-1]),
        "mmd2_end_gd": float(gd.diagnostics["mmd2"][-1]),
        "reduction": float(mmd2[0] / mmd2[-1]),
        "share_near_modes": share_near_modes(jnp.asarray(ode.final_state)),
        "dissipation_relative_residual": flows.analysis.dissipation_check(ode).relative_residual,
        "solver_steps": ode.stats["num_steps"],
        "wall_time_s": time.perf_counter() - started,
    }
    return summary


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "media", help="output folder (default: media/)")
    parser.add_argument("--runs", type=Path, default=ROOT / "runs", help="where the trajectory file goes (default: runs/)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    options = parser.parse_args()
    result = main(options.out, options.runs, progress=not options.no_progress)
    print(
        f"MMD² {result['mmd2_start']:.3g} -> {result['mmd2_end_flow']:.3g} by the flow "
        f"({result['reduction']:.0f}x smaller; gradient descent: {result['mmd2_end_gd']:.3g}), "
        f"{result['solver_steps']} adaptive steps; at t = 100, {100 * result['share_near_modes']:.0f}% of the "
        "particles are within three standard deviations of a mode (the GIF shows the rest between them).\n"
        f"Energy dissipation identity dF/dt = -E|grad f|^2: relative residual {result['dissipation_relative_residual']:.1e}.\n"
        f"Wrote {options.out / 'quickstart.gif'}, {options.out / 'quickstart_convergence.png'} and "
        f"{options.runs / 'quickstart_flow.npz'} "
        f"in {result['wall_time_s']:.1f} s."
    )
