"""Benign MMD landscape: Alon, Globerson, Wiesel, "On the Optimization Landscape of Maximum Mean Discrepancy", arXiv:2110.13452, 2021.

    PYTHONPATH=. python experiments/benign_landscape.py           # full sweep (~5 CPU-minutes)
    PYTHONPATH=. python experiments/benign_landscape.py --quick   # d = 2 problems, few steps (seconds)

Claim: the population MMD² with a Gaussian kernel has no spurious local minima (every other
stationary point is a strict saddle) for an unknown mean, a low-rank Gaussian G(z) = Az + b, and
the symmetric mixture N(theta, I)/2 + N(-theta, I)/2, so gradient methods from random starts reach
the global minimum.

Set-up. Problems (theta* the truth; starts: every coordinate N(0, 2²), the matrix A's N(0, 1)):
- mean: G(z) = z + b, target N(b*, I_d), b* ~ N(0, I);
- low rank (d, k, r): G(z) = Az + b, A (d, k), target N(b*, A*A*ᵀ), A* (d, r) of singular values
  in [1, 2] (no density when r < d);
- mixture: G_theta = N(theta, I)/2 + N(-theta, I)/2, target theta* of norm 2.
Bandwidth sigma = ratio x the data scale (the median heuristic on 1000 target samples), ratio in
{0.1, 0.3, 1, 3, 10}. Objectives: population MMD² (closed forms `flows.discrepancies.gaussian_mmd2`,
`flows.discrepancies.gaussian_mixture_mmd2`) and finite-sample V-statistic MMD² (fixed latents and targets).
Each runs from the same 100 starts with `flows.analysis.MultiStartGradientFlow` through `flows.simulate`:
the flow (diffrax Tsit5, adaptive) and GD (`flows.GradientDescent`), step h = 1/(the largest
Hessian eigenvalue at theta* and at the starts), T iterations (flow: time T h). Success: final
parameters within 5% (relative) of the global minimizer (the mixture up to sign, the low-rank
model through AAᵀ); finite sample: as close to the truth as the empirical minimizer (GD or the flow
from the truth), within max(5%, 2x its error). A failure has either stalled (|grad F| < 1e-6
lambda_max): at a local minimum (the landscape would not be benign) or at a saddle / on a plateau;
or it is still moving: escaping (|theta| growing) or slow. Stationary points: Newton's method on
grad F = 0 (optimistix) from the same starts finds minima, saddles and maxima alike;
`flows.analysis.hessian_spectra` classifies them.
Baselines (finite sample): maximum likelihood where a density exists (sample mean; sample
covariance when k = r = d; EM for the mixture from the same starts) and a WGAN-GP game
(`flows.games.WGANGP`, MLP critic) on the same generator.
"""

from __future__ import annotations

import time
import zlib
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import diffrax  # noqa: E402
import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
import optimistix as optx  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402
from report import Outputs, parse_args  # noqa: E402

import flows  # noqa: E402

NAME = "benign_landscape"
RATIOS = (0.1, 0.3, 1.0, 3.0, 10.0)
TOLERANCE = 0.05  # relative parameter error that counts as reaching the global minimum
FLAT = 1e-6  # |Hessian eigenvalues| below FLAT * lambda_max(theta*): a plateau


# -- the three models: parameters are one flat vector theta ------------------------------------


class Problem(eqx.Module):
    """One model and its truth: `kind` "mean", "lowrank" or "mixture"; `d`, `k` (latent width of A)."""

    kind: str = eqx.field(static=True)
    d: int = eqx.field(static=True)
    k: int = eqx.field(static=True)
    rank: int = eqx.field(static=True)
    theta_star: jax.Array

    @property
    def label(self) -> str:
        return {"mean": f"mean d={self.d}", "lowrank": f"low rank (d,k,r)=({self.d},{self.k},{self.rank})",
                "mixture": f"mixture d={self.d}"}[self.kind]

    def split(self, theta):
        """(A, b) of the Gaussian models (A = I for the mean model)."""
        if self.kind == "mean":
            return jnp.eye(self.d, dtype=theta.dtype), theta
        return theta[: self.d * self.k].reshape(self.d, self.k), theta[self.d * self.k:]

    def generator(self, theta) -> eqx.Module:
        if self.kind == "mixture":
            return flows.parametric.SymmetricMixtureGenerator(theta)
        return flows.parametric.AffineGenerator(*self.split(theta))

    @property
    def latent_dim(self) -> int:
        return self.d + 1 if self.kind == "mixture" else (self.d if self.kind == "mean" else self.k)

    def population_mmd2(self, theta, truth, kernel):
        if self.kind == "mixture":
            eye = jnp.stack([jnp.eye(self.d, dtype=theta.dtype)] * 2)
            half = jnp.array([0.5, 0.5], theta.dtype)
            return flows.discrepancies.gaussian_mixture_mmd2(half, jnp.stack([theta, -theta]), eye, half, jnp.stack([truth, -truth]), eye, kernel)
        (a, b), (a_star, b_star) = self.split(theta), self.split(truth)
        return flows.discrepancies.gaussian_mmd2(b, a @ a.T, b_star, a_star @ a_star.T, kernel)

    def errors(self, thetas: np.ndarray, reference: np.ndarray) -> np.ndarray:
        """Relative distance of each row of `thetas` to the minimizer set of `reference`."""
        if self.kind == "mixture":
            scale = np.linalg.norm(reference)
            return np.minimum(np.linalg.norm(thetas - reference, axis=-1), np.linalg.norm(thetas + reference, axis=-1)) / scale
        split = lambda t: (t[..., : self.d * self.k].reshape(*t.shape[:-1], self.d, self.k), t[..., self.d * self.k:])
        if self.kind == "mean":
            return np.linalg.norm(thetas - reference, axis=-1)
        (a, b), (a_star, b_star) = split(thetas), split(reference)
        cov, cov_star = a @ np.swapaxes(a, -1, -2), a_star @ a_star.T
        cov_error = np.linalg.norm(cov - cov_star, axis=(-2, -1)) / np.linalg.norm(cov_star)
        return np.maximum(cov_error, np.linalg.norm(b - b_star, axis=-1) / np.sqrt(np.trace(cov_star) / self.rank))

    def target(self):
        if self.kind == "mixture":
            return flows.targets.GaussianMixture.symmetric(self.theta_star)
        a, b = self.split(self.theta_star)
        return flows.targets.Gaussian(b, factor=a)


def make_problem(kind: str, d: int, k: int = 0, rank: int = 0, *, seed: int = 0) -> Problem:
    key_a, key_b = jax.random.split(jax.random.PRNGKey(seed))
    if kind == "mixture":
        direction = jax.random.normal(key_a, (d,))
        return Problem(kind, d, d + 1, 0, 2.0 * direction / jnp.linalg.norm(direction))
    b_star = jax.random.normal(key_b, (d,))
    if kind == "mean":
        return Problem(kind, d, d, d, b_star)
    basis, _ = jnp.linalg.qr(jax.random.normal(key_a, (d, rank)))
    a_star = jnp.zeros((d, k)).at[:, :rank].set(basis * jnp.linspace(1.0, 2.0, rank))
    return Problem(kind, d, k, rank, jnp.concatenate([a_star.ravel(), b_star]))


def random_starts(problem: Problem, key, n: int) -> jax.Array:
    starts = 2.0 * jax.random.normal(key, (n, problem.theta_star.shape[0]))
    if problem.kind == "lowrank":
        starts = starts.at[:, : problem.d * problem.k].multiply(0.5)
    return starts


# -- objectives (equinox modules: the bandwidth and the data are traced, one compile per shape) --


class PopulationMMD2(eqx.Module):
    problem: Problem
    kernel: flows.kernels.GaussianKernel

    def __call__(self, theta):
        return self.problem.population_mmd2(theta, self.problem.theta_star, self.kernel)


class SampleMMD2(eqx.Module):
    """V-statistic MMD² between G_theta(z_1..z_m) (fixed latents) and fixed target samples."""

    problem: Problem
    kernel: flows.kernels.GaussianKernel
    latents: jax.Array
    samples: jax.Array

    def __call__(self, theta):
        x = flows.parametric.push_forward(self.problem.generator(theta), self.latents)
        return flows.discrepancies.mmd2(x, self.samples, self.kernel)


@eqx.filter_jit
def values_at(objective, points):
    """F at each row of `points` (compiled once per objective type and shape)."""
    return jax.vmap(objective)(points)


@eqx.filter_jit
def gradient_norms(objective, points):
    """|grad F| at each row of `points`."""
    return flows.analysis.MultiStartGradientFlow(objective).gradient_norm(0.0, points, None)


def curvatures(objective, theta_star, starts) -> tuple[float, float]:
    """(lambda_max at theta*, the step 1 / the largest lambda_max at theta* and at the starts): GD's
    step and the flow's time unit."""
    top = flows.analysis.hessian_spectra(objective, jnp.concatenate([theta_star[None], starts]))[:, -1]
    return float(top[0]), 1.0 / float(top.max())


# -- runs ---------------------------------------------------------------------------------------


def descend(objective, starts, step: float, iterations: int, method: str, saves: int = 51):
    """Every start's flow ("flow": Tsit5, adaptive) or GD ("gd", step `step`) on `objective` for
    time `iterations * step`; returns the trajectory (states (saves, B, p))."""
    flow = flows.analysis.MultiStartGradientFlow(objective)
    save_steps = np.unique(np.round(np.geomspace(1, iterations, saves - 1)).astype(int))
    ts = step * np.concatenate([[0], save_steps])
    diagnostics = {"objective": flow.values}
    if method == "gd":
        return flows.simulate(flow, starts, t1=step * iterations, ts=ts, solver=flows.GradientDescent(step=step),
                              diagnostics=diagnostics)
    return flows.simulate(flow, starts, t1=step * iterations, ts=ts, solver=diffrax.Tsit5(), diagnostics=diagnostics,
                          stepsize_controller=diffrax.PIDController(rtol=1e-6, atol=1e-9), max_steps=200_000)


def summarize(problem, objective, traj, step, scale_max, tolerance: float = TOLERANCE, first_start: int = 0) -> dict:
    """Success (relative error to the truth <= `tolerance`) fraction, final MMD², iterations to
    success, and the failures' classes, over the starts from `first_start` on."""
    ys = np.asarray(traj.ys)[:, first_start:]  # (T, B, p)
    reference = np.asarray(problem.theta_star)
    errors = problem.errors(ys, reference)  # (T, B)
    success = errors[-1] <= tolerance
    first = np.where(success, np.argmax(errors <= tolerance, axis=0), -1)
    iterations = np.asarray(traj.ts)[first[success]] / step
    # a failure has stalled when |grad F| <= 1e-6 lambda_max (1 + |theta*|): at a local minimum (Hessian
    # positive semi-definite, not flat; the landscape is not benign) or else at a saddle or on a
    # plateau; otherwise it is still moving: escaping (|theta| still growing over the second half of
    # the run, beyond 2 |theta*|) or slow. (Computed at every end point: one shape, one compile.)
    end = jnp.asarray(ys[-1])
    stationary = ~success & (np.asarray(gradient_norms(objective, end)) <= 1e-6 * scale_max * (1 + np.linalg.norm(reference)))
    spectra = flows.analysis.hessian_spectra(objective, end)
    local_minimum = stationary & (spectra[:, 0] >= -FLAT * scale_max) & (spectra[:, -1] > FLAT * scale_max)
    half = int(np.argmin(np.abs(np.asarray(traj.ts) - 0.5 * np.asarray(traj.ts)[-1])))
    norms_end, norms_half = np.linalg.norm(ys[-1], axis=1), np.linalg.norm(ys[half], axis=1)
    escaping = ~success & ~stationary & (norms_end > 1.05 * norms_half) & (norms_end > 2 * np.linalg.norm(reference))
    values = np.asarray(traj.diagnostics["objective"])[:, first_start:]
    final = values[-1]
    return {
        "success_fraction": float(success.mean()),
        "final_mmd2_median": float(np.median(final)),
        "final_mmd2_max": float(final.max()),
        "start_mmd2_median": float(np.median(values[0])),
        "iterations_to_success_median": float(np.median(iterations)) if success.any() else None,
        "failures": {"local_minimum": int(local_minimum.sum()), "stalled": int((stationary & ~local_minimum).sum()),
                     "escaping": int(escaping.sum()), "slow": int((~success & ~stationary & ~escaping).sum())},
        "num_solver_steps": traj.stats.get("num_steps"),
    }


@eqx.filter_jit
def _newton_roots(objective, starts):
    """Newton's method on grad F = 0 (optimistix) from every start: it converges to minima, saddles
    and maxima alike (whichever critical point is near), or runs off to the plateau at infinity."""
    solver = optx.Newton(rtol=1e-10, atol=1e-12)
    find = lambda s: optx.root_find(lambda t, _: jax.grad(objective)(t), solver, s, max_steps=100, throw=False).value
    return jax.vmap(find)(starts)


def stationary_points(problem, objective, starts, scale_max) -> dict:
    """Critical points by Newton from `starts`: keep those where |grad F| <= 1e-8 lambda_max (1 + |theta*|)
    inside the starts' ball (farther ones sit on the plateau at infinity), classify them by their
    Hessian spectra."""
    points = np.nan_to_num(np.asarray(_newton_roots(objective, starts)), nan=1e6, posinf=1e6, neginf=-1e6)
    gradient = np.asarray(gradient_norms(objective, jnp.asarray(points)))
    radius = float(np.linalg.norm(np.asarray(starts), axis=1).max())
    critical = np.isfinite(gradient) & (gradient <= 1e-8 * scale_max * (1 + float(jnp.linalg.norm(problem.theta_star))))
    inside = np.linalg.norm(points, axis=1) <= radius
    keep = critical & inside
    spectra, values = flows.analysis.hessian_spectra(objective, points)[keep], np.asarray(values_at(objective, jnp.asarray(points)))[keep]
    points = points[keep]
    negative = (spectra < -FLAT * scale_max).sum(axis=1)
    is_min = problem.errors(points, np.asarray(problem.theta_star)) <= TOLERANCE
    kinds = np.where(is_min, "global minimum", np.where(negative == spectra.shape[1], "maximum",
                     np.where(negative > 0, "strict saddle", "other")))
    return {"points": points, "spectra": spectra, "values": values, "kinds": kinds,
            "counts": {kind: int((kinds == kind).sum()) for kind in ("global minimum", "strict saddle", "maximum", "other")},
            "num_found": int(len(points)), "num_far": int((critical & ~inside).sum()), "num_starts": int(starts.shape[0])}


def em_symmetric_mixture(samples, starts, iterations: int):
    """EM for N(theta, I)/2 + N(-theta, I)/2: theta <- mean_i tanh(<theta, y_i>) y_i (the ML fixed point)."""

    def run(theta):
        return jax.lax.fori_loop(0, iterations, lambda _, t: jnp.mean(jnp.tanh(samples @ t)[:, None] * samples, 0), theta)

    return np.asarray(jax.jit(jax.vmap(run))(starts))


def wgan_gp(problem, samples, starts, key, steps: int):
    """The WGAN-GP game (MLP critic) on the same generator, from each start (vmapped)."""
    k_critic, k_latents, k_run = jax.random.split(key, 3)
    generator = problem.generator(starts[0])
    flow = flows.parametric.ParametricMMDFlow(generator, samples, flows.kernels.GaussianKernel(1.0),
                                   latents=jax.random.normal(k_latents, (64, problem.latent_dim)), fresh_latents=64)
    critic = flows.games.MLPCritic(problem.d, width=32, depth=2, key=k_critic, dtype=jnp.float64)
    game = flows.games.WGANGP(critic, optax.adam(2e-2, b1=0.5, b2=0.9), optax.adam(2e-3, b1=0.5, b2=0.9), n_critic=5)
    params = jax.vmap(lambda t: eqx.filter(problem.generator(t), eqx.is_inexact_array))(starts)

    @jax.jit
    def run(params):
        def one(p, run_key):
            state = game.init(flow, p)

            def body(i, carry):
                p, s = carry
                return game.update(flow, i, p, s, None, jax.random.fold_in(run_key, i))

            return jax.lax.fori_loop(0, steps, body, (p, state))[0]

        return jax.vmap(one)(params, jax.random.split(k_run, starts.shape[0]))

    final = run(params)
    return np.stack([np.asarray(ravel_pytree(jax.tree_util.tree_map(lambda a: a[i], final))[0]) for i in range(starts.shape[0])])


def ml_estimate(problem, samples):
    """Closed-form ML where the model has a density (None where it has none)."""
    if problem.kind == "mean":
        return np.asarray(samples.mean(0))
    if problem.kind == "lowrank" and problem.k == problem.rank == problem.d:
        cov = np.cov(np.asarray(samples).T, bias=True)
        return np.concatenate([np.linalg.cholesky(cov).ravel(), np.asarray(samples.mean(0))])
    return None


# -- the experiment -----------------------------------------------------------------------------


def main(quick: bool = False, root: Path | None = None) -> dict:
    started = time.perf_counter()
    out = Outputs(NAME, order=1, quick=quick, root=root)
    n_starts = 100
    if quick:
        population = [make_problem("mixture", 2)]
        ratios, iterations, sample_ratios, n_samples = (0.1, 1.0, 10.0), 300, (1.0,), 48
        sample_problems, wgan_starts, wgan_steps, critical = [make_problem("mixture", 2)], 0, 0, [make_problem("mixture", 2)]
        sample_methods = ("gd",)
    else:
        population = [make_problem("mean", 2), make_problem("mean", 10), make_problem("lowrank", 2, 1, 1),
                      make_problem("lowrank", 5, 2, 2), make_problem("mixture", 2), make_problem("mixture", 5)]
        ratios, iterations, sample_ratios, n_samples = RATIOS, 1000, (0.1, 1.0, 10.0), 64
        sample_problems = [make_problem("mixture", 2)]
        wgan_starts, wgan_steps = 5, 500
        sample_methods = ("flow", "gd")
        critical = [make_problem("lowrank", 5, 2, 2), make_problem("mixture", 2), make_problem("mixture", 5)]
    key = jax.random.PRNGKey(7)
    results = {"setup": {"starts": n_starts, "iterations": iterations, "ratios": list(ratios), "tolerance": TOLERANCE,
                         "samples": n_samples, "sample_ratios": list(sample_ratios), "sample_methods": list(sample_methods),
                         "dtype": "float64"},
               "population": {}, "finite_sample": {}, "stationary_points": {}, "baselines": {}}
    kept = {}
    # population objectives: flow and GD from the same starts, at every bandwidth
    for problem in population:
        scale = flows.kernels.median_bandwidth(problem.target().sample(jax.random.PRNGKey(1), 1000))
        starts = random_starts(problem, jax.random.fold_in(key, zlib.crc32(problem.label.encode())), n_starts)
        rows = results["population"][problem.label] = {"data_scale": scale, "runs": {}}
        for ratio in ratios:
            objective = PopulationMMD2(problem, flows.kernels.GaussianKernel(jnp.asarray(ratio * scale)))
            lam, step = curvatures(objective, problem.theta_star, starts)
            for method in ("flow", "gd"):
                traj = descend(objective, starts, step, iterations, method)
                rows["runs"][f"{method} {ratio:g}"] = summarize(problem, objective, traj, step, lam)
                if problem.kind == "mixture" and problem.d == 2 and ratio == 1.0:
                    kept[method] = (objective, traj)
            print(f"{problem.label:32s} sigma/scale {ratio:5g}: " + "; ".join(
                f"{m} {rows['runs'][f'{m} {ratio:g}']['success_fraction']:.2f} {rows['runs'][f'{m} {ratio:g}']['failures']}"
                for m in ("flow", "gd")), flush=True)
    # stationary points at the data-scale bandwidth
    found = {}
    for problem in critical:
        scale = flows.kernels.median_bandwidth(problem.target().sample(jax.random.PRNGKey(1), 1000))
        objective = PopulationMMD2(problem, flows.kernels.GaussianKernel(jnp.asarray(scale)))
        starts = random_starts(problem, jax.random.fold_in(key, 99), n_starts)
        lam, _ = curvatures(objective, problem.theta_star, starts)
        found[problem.label] = points = stationary_points(problem, objective, starts, lam)
        negative_at_non_minima = points["spectra"][points["kinds"] != "global minimum", 0] if points["num_found"] else np.zeros(0)
        results["stationary_points"][problem.label] = {
            "counts": points["counts"], "num_found": points["num_found"], "num_starts": points["num_starts"],
            "num_at_infinity": points["num_far"],
            "largest_min_eigenvalue_at_non_minima": float(negative_at_non_minima.max()) if len(negative_at_non_minima) else None,
            "lambda_max_at_minimum": lam,
            "values_by_kind": {kind: sorted({round(float(v), 8) for v, k in zip(points["values"], points["kinds"]) if k == kind})
                               for kind in points["counts"]},
        }
        if problem.kind == "mixture":
            saddles = points["points"][points["kinds"] == "strict saddle"]
            theta_star = np.asarray(problem.theta_star)
            results["stationary_points"][problem.label]["saddle_radius_over_theta_star"] = (
                [float(np.linalg.norm(s) / np.linalg.norm(theta_star)) for s in saddles[:5]])
            results["stationary_points"][problem.label]["saddle_cosine_with_theta_star"] = (
                float(np.abs(saddles @ theta_star).max() / np.linalg.norm(theta_star) / np.linalg.norm(saddles, axis=1).min())
                if len(saddles) else None)
        print(f"stationary points {problem.label}: {points['counts']}", flush=True)
    # finite-sample objectives and the baselines
    for problem in sample_problems:
        k_lat, k_tgt, k_wgan = jax.random.split(jax.random.fold_in(key, 1000 + zlib.crc32(problem.label.encode()) % 2**20), 3)
        samples = problem.target().sample(k_tgt, n_samples)
        latents = jax.random.normal(k_lat, (n_samples, problem.latent_dim))
        scale = flows.kernels.median_bandwidth(samples)
        starts = random_starts(problem, jax.random.fold_in(key, zlib.crc32(problem.label.encode())), n_starts)
        rows = results["finite_sample"][problem.label] = {"data_scale": scale, "runs": {}}
        for ratio in sample_ratios:
            objective = SampleMMD2(problem, flows.kernels.GaussianKernel(jnp.asarray(ratio * scale)), latents, samples)
            lam, step = curvatures(objective, problem.theta_star, starts)
            # start 0 is the truth: its end point is the empirical global minimizer (the reference);
            # success: as close to the truth as it is (relative error <= max(5%, 2 x its error))
            runs = {}
            for method in sample_methods:
                traj = descend(objective, jnp.concatenate([problem.theta_star[None], starts]), step, iterations, method)
                reference = np.asarray(traj.final_state[0])
                error_ref = float(problem.errors(reference[None], np.asarray(problem.theta_star))[0])
                runs[method] = summarize(problem, objective, traj, step, lam, max(TOLERANCE, 2 * error_ref), first_start=1)
                runs[method]["tolerance"] = max(TOLERANCE, 2 * error_ref)
                final = np.asarray(traj.diagnostics["objective"][-1])
                runs[method]["below_reference"] = int((final[1:] < final[0] - 1e-12).sum())
                rows["runs"][f"{method} {ratio:g}"] = runs[method]
            rows["runs"][f"reference {ratio:g}"] = {"error_to_truth": error_ref, "mmd2": float(values_at(objective, jnp.asarray(reference)[None])[0])}
            print(f"finite sample {problem.label:20s} sigma/scale {ratio:5g}: success "
                  + ", ".join(f"{m} {run['success_fraction']:.2f}" for m, run in runs.items()), flush=True)
        baselines = results["baselines"][problem.label] = {}
        ml = ml_estimate(problem, samples)
        if ml is not None:
            baselines["maximum likelihood"] = {"error_to_truth": float(problem.errors(ml[None], np.asarray(problem.theta_star))[0])}
        elif problem.kind == "mixture":
            em = em_symmetric_mixture(samples, jnp.concatenate([problem.theta_star[None], starts]), 200 if quick else 500)
            mle = em[0]  # EM from the truth: the maximum-likelihood estimate
            baselines["maximum likelihood (EM)"] = {
                "error_to_truth": float(problem.errors(mle[None], np.asarray(problem.theta_star))[0]),
                "fraction_of_starts_reaching_the_MLE": float((problem.errors(em[1:], mle) <= TOLERANCE).mean())}
        else:
            baselines["maximum likelihood"] = "undefined: the model N(b, AA^T) with k < d has no density"
        if problem.kind != "mean" and wgan_starts:  # the WGAN on G(z) = z + b would also train A
            final = wgan_gp(problem, samples, starts[:wgan_starts], k_wgan, wgan_steps)
            errors = problem.errors(final, np.asarray(problem.theta_star))
            baselines["WGAN-GP"] = {"starts": wgan_starts, "steps": wgan_steps, "error_to_truth_median": float(np.median(errors)),
                                    "fraction_within_0.2_of_truth": float((errors <= 0.2).mean())}
        ref = rows["runs"].get("reference 1")
        if ref is not None:
            baselines["MMD minimizer (sigma = data scale)"] = {"error_to_truth": ref["error_to_truth"]}
        print(f"baselines {problem.label}: {baselines}", flush=True)
    results["wall_time_s"] = time.perf_counter() - started
    figures = _figures(out, results, kept, found, quick)
    out.write_results(results)
    out.write_section("Benign MMD landscape", _markdown(out, results, figures))
    return results


# -- figures and the page -----------------------------------------------------------------------


def _figure(width, height, ncols=1):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=110)
    FigureCanvasAgg(figure)
    return figure, figure.subplots(1, ncols)


def _save(figure, path):
    figure.tight_layout()
    with flows.export.atomic_path(path) as tmp:
        figure.savefig(tmp, format="png")
    return path


def _figures(out, results, kept, found, quick) -> dict:
    paths = {}
    # 1. success fraction vs sigma / data scale
    figure, (ax_pop, ax_fs) = _figure(11, 4.2, 2)
    for ax, section, title in ((ax_pop, "population", "population MMD²"), (ax_fs, "finite_sample", "finite-sample MMD²")):
        for i, (label, rows) in enumerate(results[section].items()):
            for method, style in (("flow", "-"), ("gd", "--")):
                pts = sorted((float(key.split()[1]), run["success_fraction"]) for key, run in rows["runs"].items()
                             if key.startswith(method + " "))
                if pts:
                    ax.plot(*zip(*pts), style, marker="o", ms=3, color=f"C{i}", label=f"{label} ({method})")
        ax.set(xscale="log", xlabel="σ / data scale (median heuristic)", ylabel="fraction of starts at the global minimum",
               title=title, ylim=(-0.03, 1.03))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6, ncol=1 if section == "finite_sample" else 2)
    paths["success"] = _save(figure, out.media(f"{NAME}_success.png"))
    # 2. the mixture landscape in d = 2 with its stationary points and GD trajectories
    if "gd" in kept:
        objective, traj = kept["gd"]
        theta_star = np.asarray(objective.problem.theta_star)
        grid = np.linspace(-3.5, 3.5, 121)
        gx, gy = np.meshgrid(grid, grid)
        values = np.asarray(values_at(objective, jnp.asarray(np.stack([gx.ravel(), gy.ravel()], 1)))).reshape(gx.shape)
        figure, ax = _figure(5.6, 5.0)
        ax.contourf(gx, gy, values, levels=30, cmap="viridis")
        ys = np.asarray(traj.ys)
        for b in range(min(40, ys.shape[1])):
            ax.plot(ys[:, b, 0], ys[:, b, 1], color="white", lw=0.6, alpha=0.7)
        ax.scatter(ys[0, :, 0], ys[0, :, 1], s=5, color="white", label="starts")
        points = found.get(objective.problem.label)
        if points is not None:
            for kind, marker, color in (("global minimum", "*", "gold"), ("strict saddle", "X", "red"), ("maximum", "^", "orange")):
                sel = points["points"][points["kinds"] == kind]
                if len(sel):
                    ax.scatter(sel[:, 0], sel[:, 1], marker=marker, s=90, color=color, edgecolor="k", label=kind, zorder=5)
        normal = np.array([-theta_star[1], theta_star[0]]) / np.sqrt(3)
        ax.plot(*np.stack([normal, -normal]).T, "r:", lw=1, label="|θ| = |θ*|/√3, θ orthogonal to θ*")
        ax.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), aspect="equal", xlabel="θ₁", ylabel="θ₂",
               title="mixture MMD² (d = 2, σ = data scale): GD paths")
        ax.legend(fontsize=7, loc="lower left")
        paths["mixture"] = _save(figure, out.media(f"{NAME}_mixture.png"))
        shown = flows.Trajectory(ts=traj.ts, ys=traj.ys[:, :60], diagnostics={}, stats={}, result="successful", metadata={})
        scale = float(values.max())
        if not quick:
            paths["animation"] = flows.export.animate_particles(
                shown, out.media(f"{NAME}_mixture.gif"), diagnostic=None, figsize=(4.0, 4.0), dpi=70, fps=8,
                frames=min(30, len(traj.ts)), title="GD from 60 starts on the mixture MMD²",
                target_log_density=lambda pts: -values_at(objective, pts) / scale * 4)
    # 3. Hessian spectra at the stationary points found
    figure, ax = _figure(7.5, 4.2)
    for i, (label, points) in enumerate(found.items()):
        scale = results["stationary_points"][label]["lambda_max_at_minimum"]
        for kind, marker in (("global minimum", "o"), ("strict saddle", "x"), ("maximum", "^"), ("other", "s")):
            sel = points["spectra"][points["kinds"] == kind][:20]
            for row in sel:
                ax.scatter(np.full(row.shape, i) + 0.25 * (marker == "x") - 0.25 * (marker == "^"), row / scale, marker=marker,
                           s=12, color={"o": "C2", "x": "C3", "^": "C1", "s": "k"}[marker], label=kind)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(range(len(found)), list(found), rotation=15, fontsize=7)
    ax.set(ylabel="Hessian eigenvalue / λ_max(θ*)", yscale="symlog", title="Hessian spectra at the stationary points found")
    paths["spectra"] = _save(figure, out.media(f"{NAME}_spectra.png"))
    return paths


def _markdown(out, results, figures) -> str:
    setup = results["setup"]
    lines = [
        "**Claim** (Alon, Globerson & Wiesel 2021, arXiv:2110.13452): the population MMD² with a Gaussian kernel is "
        "benign for an unknown mean, a low-rank Gaussian G(z) = Az + b and the symmetric mixture N(θ, I)/2 + N(-θ, I)/2: "
        "no spurious local minima, every other stationary point a strict saddle.",
        "",
        f"**Setting.** {setup['starts']} random starts per problem, the flow (diffrax Tsit5, adaptive) and GD (step "
        f"1/λ_max, the largest Hessian eigenvalue at θ* and at the starts) for {setup['iterations']} iterations (flow: "
        f"the same time); success = final parameters within {setup['tolerance']:.0%} (relative; the mixture up to sign, "
        "the low-rank model through AAᵀ) of the global minimizer; σ = ratio × the median-heuristic data scale. Finite "
        f"sample: {setup['samples']} fixed latents and {setup['samples']} target samples, V-statistic; its global "
        "minimizer is the end point of the run started at the truth, and success = as close to the truth as it "
        "(within max(5%, 2× its error)). A failed start has either *stalled* (‖∇F‖ < 1e-6 λ_max) — at a *local minimum* "
        "(Hessian positive semi-definite: the landscape would not be benign) or at a saddle / on a plateau — or is "
        "still moving (*escaping*, *slow*). `python experiments/benign_landscape.py` reproduces this.",
        "",
        "**Population: fraction of starts at the global minimum (flow / GD)**",
        "",
        "| problem | " + " | ".join(f"σ/scale = {r:g}" for r in setup["ratios"]) + " |",
        "|---|" + "---|" * len(setup["ratios"]),
    ]
    for label, rows in results["population"].items():
        cells = []
        for r in setup["ratios"]:
            f, g = rows["runs"][f"flow {r:g}"], rows["runs"][f"gd {r:g}"]
            fail = {k.replace("_", " "): f"{f['failures'][k]}/{g['failures'][k]}" for k in f["failures"]
                    if f["failures"][k] + g["failures"][k]}
            note = ", ".join(f"{v} {k}" for k, v in fail.items())
            cells.append(f"{f['success_fraction']:.2f} / {g['success_fraction']:.2f}" + (f" ({note})" if note else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "**Where it is not benign in practice** (population, success < 0.95; failure classes flow/GD):", ""]
    bad = []
    for label, rows in results["population"].items():
        for r in setup["ratios"]:
            f, g = rows["runs"][f"flow {r:g}"], rows["runs"][f"gd {r:g}"]
            if min(f["success_fraction"], g["success_fraction"]) < 0.95:
                classes = ", ".join(f"{k.replace('_', ' ')} {f['failures'][k]}/{g['failures'][k]}" for k in f["failures"]
                                    if f["failures"][k] + g["failures"][k])
                bad.append(f"- {label}, σ/scale = {r:g}: {f['success_fraction']:.2f} / {g['success_fraction']:.2f} ({classes})")
    local = {section: sum(run["failures"]["local_minimum"] for rows in results[section].values()
                          for run in rows["runs"].values() if "failures" in run) for section in ("population", "finite_sample")}
    lines += bad or ["- nowhere in this sweep"]
    lines += ["", f"End points stalled at a local minimum that is not global (all runs, flow + GD): population "
              f"**{local['population']}**, finite sample **{local['finite_sample']}** (table below). "
              "*stalled*: the gradient vanished numerically at a saddle or on the plateau far from the data (small σ: "
              "MMD² is flat beyond a few bandwidths); *escaping*: ‖θ‖ still growing (the model's variance blows up: "
              "MMD² decreases towards its value for an infinitely spread model); *slow*: still converging after the "
              "budget (large σ: the kernel is nearly quadratic, covariance directions are ill-conditioned).", "",
              f"![success fraction vs bandwidth]({out.link(figures['success'])})", "",
              "**Finite sample (flow / GD; failures as above)**", "",
              "| problem | " + " | ".join(f"σ/scale = {r:g}" for r in setup["sample_ratios"]) + " |",
              "|---|" + "---|" * len(setup["sample_ratios"])]
    for label, rows in results["finite_sample"].items():
        cells = []
        for r in setup["sample_ratios"]:
            g = rows["runs"][f"gd {r:g}"]
            f = rows["runs"].get(f"flow {r:g}", g)
            fail = {k.replace("_", " "): f"{f['failures'][k]}/{g['failures'][k]}" for k in f["failures"]
                    if f["failures"][k] + g["failures"][k]}
            note = ", ".join(f"{v} {k}" for k, v in fail.items())
            cells.append(f"{f['success_fraction']:.2f} / {g['success_fraction']:.2f}" + (f" ({note})" if note else ""))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "**Stationary points** (Newton on ∇F = 0 from 100 random starts, σ = data scale; Hessian spectra by "
              "autodiff; *other* = a stationary non-minimum without a negative eigenvalue, i.e. a spurious local minimum "
              "or a degenerate point; *at ∞*: Newton ran out to the flat region beyond the starts)", "",
              "| problem | found / starts | global minima | strict saddles | maxima | other | at ∞ | largest λ_min at a non-minimum (/λ_max(θ*)) |",
              "|---|---|---|---|---|---|---|---|"]
    for label, row in results["stationary_points"].items():
        c = row["counts"]
        worst = row["largest_min_eigenvalue_at_non_minima"]
        worst = "—" if worst is None else f"{worst / row['lambda_max_at_minimum']:.3g}"
        lines.append(f"| {label} | {row['num_found']} / {row['num_starts']} | {c['global minimum']} | {c['strict saddle']} | "
                     f"{c['maximum']} | {c['other']} | {row['num_at_infinity']} | {worst} |")
    for label, row in results["stationary_points"].items():
        if row.get("saddle_radius_over_theta_star"):
            lines += ["", f"{label}: saddles at ‖θ‖/‖θ*‖ = {', '.join(f'{v:.4f}' for v in row['saddle_radius_over_theta_star'])} "
                      f"(1/√3 = {1 / np.sqrt(3):.4f}), max |cos(θ, θ*)| = {row['saddle_cosine_with_theta_star']:.1e}: the ring of strict saddles."]
    lines += ["", "**Baselines** (finite sample; errors are relative parameter errors to the truth, as above)", ""]
    for label, row in results["baselines"].items():
        parts = []
        for name, value in row.items():
            if isinstance(value, str):
                parts.append(f"{name}: {value}")
            else:
                parts.append(f"{name}: " + ", ".join(f"{k} {v:.3g}" for k, v in value.items() if isinstance(v, float)))
        lines.append(f"- {label}: " + "; ".join(parts))
    lines += ["", f"![mixture landscape]({out.link(figures['mixture'])}) ![Hessian spectra]({out.link(figures['spectra'])})"
              if "mixture" in figures else f"![Hessian spectra]({out.link(figures['spectra'])})"]
    if "animation" in figures:
        lines += ["", f"Animation: [GD on the mixture landscape]({out.link(figures['animation'])})."]
    lines += ["", f"Wall time {results['wall_time_s']:.0f} s."]
    return "\n".join(lines)


if __name__ == "__main__":
    args = parse_args(__doc__)
    main(quick=args.quick, root=args.root)
