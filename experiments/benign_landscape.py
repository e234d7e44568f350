"""Benign MMD landscape: Alon, Globerson, Wiesel, "On the Optimization Landscape of Maximum Mean Discrepancy", arXiv:2110.13452, 2021.

    PYTHONPATH=. python experiments/benign_landscape.py           # full sweep (about 15 CPU-minutes)
    PYTHONPATH=. python experiments/benign_landscape.py --quick   # d = 2 mixture, the (5, 2, 2) low-rank points (seconds)

Claim: the population MMD² with a Gaussian kernel has no spurious local minima (every other
stationary point is a strict saddle) for an unknown mean, a low-rank Gaussian G(z) = Az + b and
the symmetric mixture N(theta, I)/2 + N(-theta, I)/2, so gradient methods from random starts reach
the global minimum.

Set-up. Problems (theta* the truth; starts: every coordinate N(0, 2²), the matrix A's N(0, 1)):
- mean: G(z) = z + b, target N(b*, I_d), b* ~ N(0, I);
- low rank (d, k, r): G(z) = Az + b, A (d, k), target N(b*, A*A*ᵀ), A* (d, r) of singular values
  in [1, 2] (no density when r < d); k > r over-parameterised; "ill-conditioned": singular
  values 0.1 and 2 (covariance eigenvalues 0.01 and 4);
- mixture: G_theta = N(theta, I)/2 + N(-theta, I)/2, target theta* of norm 2.
Bandwidth sigma = ratio x the data scale (the median heuristic on 1000 target samples). Objectives:
population MMD² (closed forms `flows.discrepancies.gaussian_mmd2`, `gaussian_mixture_mmd2`) and
finite-sample V-statistic MMD² (fixed latents and targets). Each runs from the same random starts
with `flows.analysis.MultiStartGradientFlow` through `flows.simulate`: the flow (diffrax Tsit5,
adaptive) and GD (`flows.GradientDescent`), step h = 1/(the largest Hessian eigenvalue at theta*
and at the starts), T iterations (flow: time T h), counted separately. Success: final parameters
within 5% (relative) of the global minimizer (the mixture up to sign, the low-rank model through
AAᵀ); finite sample: of the best end point found over all runs (flow, GD, and a run from the
truth), itself checked to be a local minimizer (gradient and Hessian). A failure has either
stalled (|grad F| < 1e-6 lambda_max): at a local minimum (the landscape would not be benign) or
at a saddle / on a plateau; or it is still moving: escaping (|theta| growing) or slow.

Stationary points. Low rank: every stationary family in closed form (eigen-subsets of the target
covariance, `flows.analysis.low_rank_critical_points`), classified by its Hessian spectrum, in the
zero-mean model (as the paper states it) and with an unknown mean, for k = r, k > r and an
ill-conditioned target; checked by a Levenberg-Marquardt search on grad F = 0 (optimistix) from
random starts, every point found matched to a family. Mixture: Newton's method on grad F = 0 from
random starts, classified by `flows.analysis.hessian_spectra`.
Baselines (finite sample): maximum likelihood where a density exists (EM for the mixture from the
same starts); for the low-rank model (no density) the moment estimator (sample mean and the top-k
eigenpairs of the sample covariance, the zero-noise limit of probabilistic PCA); a WGAN-GP game
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

import flows  # noqa: E402

from report import Outputs, fmt, parse_args  # noqa: E402

NAME, ORDER, TITLE = "benign_landscape", 1, "Benign MMD landscape"
RATIOS = (0.1, 0.3, 1.0, 3.0, 10.0)
TOLERANCE = 0.05  # relative parameter error that counts as reaching the global minimum
FLAT = 1e-6  # |Hessian eigenvalues| below FLAT * lambda_max(theta*): a plateau
STALL = 1e-6  # |grad F| below STALL * lambda_max (1 + |theta*|): stalled
CRITICAL = 1e-8  # |grad F| below CRITICAL * lambda_max (1 + |theta*|): a stationary point found by a search


# -- the three models: parameters are one flat vector theta ------------------------------------


class Problem(eqx.Module):
    """One model and its truth: `kind` "mean", "lowrank" or "mixture"; `d`, `k` (latent width of A);
    `tag` names a variant (the ill-conditioned target)."""

    kind: str = eqx.field(static=True)
    d: int = eqx.field(static=True)
    k: int = eqx.field(static=True)
    rank: int = eqx.field(static=True)
    tag: str = eqx.field(static=True)
    theta_star: jax.Array

    @property
    def label(self) -> str:
        label = {"mean": f"mean d={self.d}", "lowrank": f"low rank (d,k,r)=({self.d},{self.k},{self.rank})",
                 "mixture": f"mixture d={self.d}"}[self.kind]
        return f"{label} {self.tag}" if self.tag else label

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

    @property
    def covariance(self) -> np.ndarray:
        a, _ = self.split(self.theta_star)
        return np.asarray(a @ a.T)


def make_problem(kind: str, d: int, k: int = 0, rank: int = 0, *, seed: int = 0, singular=(1.0, 2.0), tag: str = "") -> Problem:
    key_a, key_b = jax.random.split(jax.random.PRNGKey(seed))
    if kind == "mixture":
        direction = jax.random.normal(key_a, (d,))
        return Problem(kind, d, d + 1, 0, tag, 2.0 * direction / jnp.linalg.norm(direction))
    b_star = jax.random.normal(key_b, (d,))
    if kind == "mean":
        return Problem(kind, d, d, d, tag, b_star)
    basis, _ = jnp.linalg.qr(jax.random.normal(key_a, (d, rank)))
    a_star = jnp.zeros((d, k)).at[:, :rank].set(basis * jnp.linspace(*singular, rank))
    return Problem(kind, d, k, rank, tag, jnp.concatenate([a_star.ravel(), b_star]))


def ill_conditioned() -> Problem:
    return make_problem("lowrank", 5, 2, 2, singular=(0.1, 2.0), tag="ill-conditioned")


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


class ZeroMeanMMD2(eqx.Module):
    """The low-rank model without a mean, as the paper states it: theta = vec(A), b = b* fixed."""

    problem: Problem
    kernel: flows.kernels.GaussianKernel

    def __call__(self, theta):
        a = theta.reshape(self.problem.d, self.problem.k)
        a_star, b_star = self.problem.split(self.problem.theta_star)
        return flows.discrepancies.gaussian_mmd2(b_star, a @ a.T, b_star, a_star @ a_star.T, self.kernel)


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


def summarize(problem, objective, traj, step, scale_max, reference=None, first_start: int = 0) -> dict:
    """Success (relative error to `reference`, default the truth, <= TOLERANCE) fraction, its
    trend with the budget (at 1/4, 1/2 and all of the iterations), final MMD², iterations to
    success, and the failures' classes, over the starts from `first_start` on."""
    ys = np.asarray(traj.ys)[:, first_start:]  # (T, B, p)
    reference = np.asarray(problem.theta_star if reference is None else reference)
    errors = problem.errors(ys, reference)  # (T, B)
    success = errors[-1] <= TOLERANCE
    first = np.where(success, np.argmax(errors <= TOLERANCE, axis=0), -1)
    ts = np.asarray(traj.ts)
    iterations = ts[first[success]] / step
    budget = {}
    for share in (0.25, 0.5, 1.0):
        index = int(np.argmin(np.abs(ts - share * ts[-1])))
        budget[str(int(round(ts[index] / step)))] = float((errors[index] <= TOLERANCE).mean())
    # a failure has stalled when |grad F| <= STALL lambda_max (1 + |theta*|): at a local minimum (Hessian
    # positive semi-definite, not flat; the landscape is not benign) or else at a saddle or on a
    # plateau; otherwise it is still moving: escaping (|theta| still growing over the second half of
    # the run, beyond 2 |theta*|) or slow. (Computed at every end point: one shape, one compile.)
    end = jnp.asarray(ys[-1])
    stationary = ~success & (np.asarray(gradient_norms(objective, end)) <= STALL * scale_max * (1 + np.linalg.norm(reference)))
    spectra = flows.analysis.hessian_spectra(objective, end)
    local_minimum = stationary & (spectra[:, 0] >= -FLAT * scale_max) & (spectra[:, -1] > FLAT * scale_max)
    half = int(np.argmin(np.abs(ts - 0.5 * ts[-1])))
    norms_end, norms_half = np.linalg.norm(ys[-1], axis=1), np.linalg.norm(ys[half], axis=1)
    escaping = ~success & ~stationary & (norms_end > 1.05 * norms_half) & (norms_end > 2 * np.linalg.norm(reference))
    values = np.asarray(traj.diagnostics["objective"])[:, first_start:]
    final = values[-1]
    return {
        "success_fraction": float(success.mean()),
        "success_by_budget": budget,
        "final_mmd2_median": float(np.median(final)),
        "final_mmd2_max": float(final.max()),
        "start_mmd2_median": float(np.median(values[0])),
        "iterations_to_success_median": float(np.median(iterations)) if success.any() else None,
        "failures": {"local_minimum": int(local_minimum.sum()), "stalled": int((stationary & ~local_minimum).sum()),
                     "escaping": int(escaping.sum()), "slow": int((~success & ~stationary & ~escaping).sum())},
        "local_minimum_values": sorted({round(float(v), 6) for v in final[local_minimum]}),
        "num_solver_steps": traj.stats.get("num_steps"),
    }


# root finders in batches of 16 starts: one vmap over 100 starts of the (5, 3, 2) low-rank problem
# deadlocked XLA's CPU runtime intermittently (jax 0.10.2), as its batched Hessians did
ROOT_BATCH = 16


@eqx.filter_jit
def _newton_roots(objective, starts):
    """Newton's method on grad F = 0 (optimistix) from every start: it converges to minima, saddles
    and maxima alike (whichever critical point is near), or runs off to the plateau at infinity."""
    solver = optx.Newton(rtol=1e-10, atol=1e-12)
    find = lambda s: optx.root_find(lambda t, _: jax.grad(objective)(t), solver, s, max_steps=100, throw=False).value
    return jax.lax.map(find, starts, batch_size=ROOT_BATCH)


@eqx.filter_jit
def _levenberg_marquardt_roots(objective, starts):
    """Levenberg-Marquardt on the residual grad F (optimistix): it finds stationary points where the
    Hessian is singular (the low-rank orbits A -> AR), where Newton's step is undefined."""
    solver = optx.LevenbergMarquardt(rtol=1e-12, atol=1e-14)
    find = lambda s: optx.least_squares(lambda t, _: jax.grad(objective)(t), solver, s, max_steps=200, throw=False).value
    return jax.lax.map(find, starts, batch_size=ROOT_BATCH)


def stationary_points(problem, objective, starts, scale_max) -> dict:
    """Critical points by Newton from `starts`: keep those where |grad F| <= CRITICAL lambda_max (1 + |theta*|)
    inside the starts' ball (farther ones sit on the plateau at infinity), classify them by their
    Hessian spectra."""
    points = np.nan_to_num(np.asarray(_newton_roots(objective, starts)), nan=1e6, posinf=1e6, neginf=-1e6)
    gradient = np.asarray(gradient_norms(objective, jnp.asarray(points)))
    radius = float(np.linalg.norm(np.asarray(starts), axis=1).max())
    critical = np.isfinite(gradient) & (gradient <= CRITICAL * scale_max * (1 + float(jnp.linalg.norm(problem.theta_star))))
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


def low_rank_landscape(problem: Problem, zero_mean: bool, starts, scale: float) -> dict:
    """The closed-form stationary families of a low-rank problem at bandwidth `scale` with their
    Hessian spectra, and a Levenberg-Marquardt search from `starts` whose every stationary point
    is matched to a family (S = AA^T, and b = b* with an unknown mean)."""
    a_star, b_star = problem.split(problem.theta_star)
    kernel = flows.kernels.GaussianKernel(jnp.asarray(scale))
    points = flows.analysis.low_rank_critical_points(problem.covariance, problem.k, scale, mean=None if zero_mean else b_star)
    objective = ZeroMeanMMD2(problem, kernel) if zero_mean else PopulationMMD2(problem, kernel)
    starts = starts[:, : problem.d * problem.k] if zero_mean else starts
    found = np.asarray(_levenberg_marquardt_roots(objective, starts))
    newton = np.nan_to_num(np.asarray(_newton_roots(objective, starts)), nan=1e6, posinf=1e6, neginf=-1e6)
    lam = float(np.abs(points.spectra).max())
    gradient = np.asarray(gradient_norms(objective, jnp.asarray(found)))
    critical = np.isfinite(gradient) & (gradient <= CRITICAL * lam * (1 + float(jnp.linalg.norm(problem.theta_star))))
    a = found[:, : problem.d * problem.k].reshape(-1, problem.d, problem.k)
    family = points.match(a @ np.swapaxes(a, 1, 2), rtol=1e-5)
    if not zero_mean:
        family = np.where(np.linalg.norm(found[:, problem.d * problem.k:] - np.asarray(b_star), axis=1) <= 1e-5 * (1 + np.linalg.norm(b_star)),
                          family, -1)
    zero = points.tolerance * float(np.abs(points.spectra).max())
    non_minima = [i for i, kind in enumerate(points.kinds) if kind != "global minimum"]
    return {
        "model": "zero mean" if zero_mean else "unknown mean", "bandwidth": scale, "parameters": int(points.spectra.shape[1]),
        "families": [{"subset": list(s), "null_directions": n, "kind": k, "mmd2": float(v),
                      "lambda_min_over_max": float(sp[0] / lam), "zero_eigenvalues": int((np.abs(sp) <= zero).sum())}
                     for s, n, k, v, sp in zip(points.subsets, points.null_directions, points.kinds, points.mmd2, points.spectra)],
        "counts": points.counts, "num_families": len(points.kinds), "value_at_infinity": points.value_at_infinity,
        "largest_min_eigenvalue_at_non_minima": max((float(points.spectra[i][0] / lam) for i in non_minima), default=None),
        "families_with_zero_eigenvalues": int(sum(bool(np.any(np.abs(sp) <= zero)) for sp in points.spectra)),
        "gradient_norm_max": float(points.gradient_norms.max()),
        "newton_found": int((np.asarray(gradient_norms(objective, jnp.asarray(newton)))
                             <= CRITICAL * lam * (1 + float(jnp.linalg.norm(problem.theta_star)))).sum()),
        "search": {"starts": int(starts.shape[0]), "converged": int(critical.sum()), "matched": int((critical & (family >= 0)).sum()),
                   "unmatched": int((critical & (family < 0)).sum()),
                   "families_found": sorted({int(f) for f in family[critical & (family >= 0)]})},
        "spectra": points.spectra / lam, "kinds": list(points.kinds),
    }


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


def moment_estimate(problem, samples) -> np.ndarray:
    """The low-rank model's moment estimator: the sample mean and A = U_k Λ_k^(1/2) from the top-k
    eigenpairs of the sample covariance (the zero-noise limit of probabilistic PCA)."""
    y = np.asarray(samples)
    values, vectors = np.linalg.eigh(np.cov(y.T, bias=True))
    a = vectors[:, ::-1][:, : problem.k] * np.sqrt(np.maximum(values[::-1][: problem.k], 0.0))
    return np.concatenate([a.ravel(), y.mean(0)])


# -- the experiment -----------------------------------------------------------------------------


def settings(quick: bool) -> dict:
    if quick:
        return dict(starts=100, iterations=300, ratios=(0.1, 1.0, 10.0), population=[make_problem("mixture", 2)],
                    samples=48, sample_ratios=(1.0,), sample_problems=[make_problem("mixture", 2)],
                    sample_methods=("gd",), wgan_starts=0, wgan_steps=0, newton=[make_problem("mixture", 2)],
                    low_rank=[(make_problem("lowrank", 5, 2, 2), True)], search_starts=16)
    main_problems = [make_problem("mean", 2), make_problem("mean", 10), make_problem("lowrank", 2, 1, 1),
                     make_problem("lowrank", 5, 2, 2), make_problem("lowrank", 5, 3, 2), ill_conditioned(),
                     make_problem("mixture", 2), make_problem("mixture", 5)]
    return dict(starts=100, iterations=1000, ratios=RATIOS, population=main_problems, samples=64, sample_ratios=(0.1, 1.0, 10.0),
                sample_problems=[make_problem("mixture", 2), make_problem("lowrank", 5, 2, 2)], sample_methods=("flow", "gd"),
                wgan_starts=5, wgan_steps=500, newton=[make_problem("mixture", 2), make_problem("mixture", 5)],
                low_rank=[(make_problem("lowrank", 5, 2, 2), True), (make_problem("lowrank", 5, 2, 2), False),
                          (make_problem("lowrank", 5, 3, 2), False), (ill_conditioned(), False)], search_starts=100)


def data_scale(problem: Problem) -> float:
    return float(flows.kernels.median_bandwidth(problem.target().sample(jax.random.PRNGKey(1), 1000)))


def population_runs(config: dict, key, results: dict, kept: dict) -> None:
    """Flow and GD from the same starts at every bandwidth, on the population objective."""
    for problem in config["population"]:
        scale = data_scale(problem)
        starts = random_starts(problem, jax.random.fold_in(key, zlib.crc32(problem.label.encode())), config["starts"])
        rows = results["population"][problem.label] = {"data_scale": scale, "runs": {}}
        for ratio in config["ratios"]:
            objective = PopulationMMD2(problem, flows.kernels.GaussianKernel(jnp.asarray(ratio * scale)))
            lam, step = curvatures(objective, problem.theta_star, starts)
            for method in ("flow", "gd"):
                traj = descend(objective, starts, step, config["iterations"], method)
                rows["runs"][f"{method} {ratio:g}"] = summarize(problem, objective, traj, step, lam)
                if problem.kind == "mixture" and problem.d == 2 and ratio == 1.0:
                    kept[method] = (objective, traj)
            print(f"{problem.label:40s} sigma/scale {ratio:5g}: " + "; ".join(
                f"{m} {rows['runs'][f'{m} {ratio:g}']['success_fraction']:.2f} {rows['runs'][f'{m} {ratio:g}']['failures']}"
                for m in ("flow", "gd")), flush=True)


def newton_search(config: dict, key, results: dict, found: dict) -> None:
    """The mixtures' stationary points by Newton at the data-scale bandwidth."""
    for problem in config["newton"]:
        objective = PopulationMMD2(problem, flows.kernels.GaussianKernel(jnp.asarray(data_scale(problem))))
        starts = random_starts(problem, jax.random.fold_in(key, 99), config["starts"])
        lam, _ = curvatures(objective, problem.theta_star, starts)
        found[problem.label] = points = stationary_points(problem, objective, starts, lam)
        at_non_minima = points["spectra"][points["kinds"] != "global minimum", 0] if points["num_found"] else np.zeros(0)
        row = results["stationary_points"][problem.label] = {
            "counts": points["counts"], "num_found": points["num_found"], "num_starts": points["num_starts"],
            "num_at_infinity": points["num_far"], "lambda_max_at_minimum": lam,
            "largest_min_eigenvalue_at_non_minima": float(at_non_minima.max()) if len(at_non_minima) else None,
        }
        saddles = points["points"][points["kinds"] == "strict saddle"]
        theta_star = np.asarray(problem.theta_star)
        row["saddle_radius_over_theta_star"] = [float(np.linalg.norm(s) / np.linalg.norm(theta_star)) for s in saddles[:5]]
        row["saddle_cosine_with_theta_star"] = (float(np.abs(saddles @ theta_star).max() / np.linalg.norm(theta_star)
                                                      / np.linalg.norm(saddles, axis=1).min()) if len(saddles) else None)
        print(f"stationary points {problem.label}: {points['counts']}", flush=True)


def low_rank_points(config: dict, key, results: dict, spectra: dict) -> None:
    for problem, zero_mean in config["low_rank"]:
        starts = random_starts(problem, jax.random.fold_in(key, 98), config["search_starts"])
        row = low_rank_landscape(problem, zero_mean, starts, data_scale(problem))
        label = f"{problem.label}, {row['model']}"
        spectra[label] = (row.pop("spectra"), row.pop("kinds"))
        results["low_rank_points"][label] = row
        print(f"low-rank points {label}: {row['counts']}, search {row['search']}", flush=True)


def finite_sample_runs(config: dict, key, results: dict) -> None:
    """Flow and GD from the truth and the random starts on the V-statistic; the reference is the
    best end point found; then the baselines."""
    for problem in config["sample_problems"]:
        k_lat, k_tgt, k_wgan = jax.random.split(jax.random.fold_in(key, 1000 + zlib.crc32(problem.label.encode()) % 2**20), 3)
        samples = problem.target().sample(k_tgt, config["samples"])
        latents = jax.random.normal(k_lat, (config["samples"], problem.latent_dim))
        scale = flows.kernels.median_bandwidth(samples)
        starts = random_starts(problem, jax.random.fold_in(key, zlib.crc32(problem.label.encode())), config["starts"])
        rows = results["finite_sample"][problem.label] = {"data_scale": float(scale), "runs": {}}
        truth = np.asarray(problem.theta_star)
        for ratio in config["sample_ratios"]:
            objective = SampleMMD2(problem, flows.kernels.GaussianKernel(jnp.asarray(ratio * scale)), latents, samples)
            lam, step = curvatures(objective, problem.theta_star, starts)
            trajectories = {m: descend(objective, jnp.concatenate([problem.theta_star[None], starts]), step, config["iterations"], m)
                            for m in config["sample_methods"]}
            ends = np.concatenate([np.asarray(t.final_state) for t in trajectories.values()])
            values = np.concatenate([np.asarray(t.diagnostics["objective"][-1]) for t in trajectories.values()])
            best = int(np.argmin(values))
            # polish the best end point to the stationary point beside it (Levenberg-Marquardt on grad F = 0)
            polished = np.asarray(_levenberg_marquardt_roots(objective, jnp.asarray(ends[best])[None]))[0]
            value = float(values_at(objective, jnp.asarray(polished)[None])[0])
            reference = polished if np.all(np.isfinite(polished)) and value <= values[best] else ends[best]
            spectrum = flows.analysis.hessian_spectra(objective, jnp.asarray(reference)[None])[0]
            gradient = float(gradient_norms(objective, jnp.asarray(reference)[None])[0])
            for method, traj in trajectories.items():
                rows["runs"][f"{method} {ratio:g}"] = summarize(problem, objective, traj, step, lam, reference=reference, first_start=1)
            rows["runs"][f"reference {ratio:g}"] = {
                "mmd2": float(values_at(objective, jnp.asarray(reference)[None])[0]), "best_end_mmd2": float(values[best]),
                "polished": bool(reference is polished), "error_to_truth": float(problem.errors(reference[None], truth)[0]),
                "found_by": list(trajectories)[best // (starts.shape[0] + 1)],
                "from_truth": bool(best % (starts.shape[0] + 1) == 0),
                "gradient_norm_over_lambda_max": gradient / lam,
                "min_eigenvalue_over_lambda_max": float(spectrum[0] / lam),
                "local_minimizer": bool(gradient <= STALL * lam * (1 + np.linalg.norm(truth)) and spectrum[0] >= -FLAT * lam),
                "truth_run_mmd2": {m: float(t.diagnostics["objective"][-1][0]) for m, t in trajectories.items()},
            }
            print(f"finite sample {problem.label:24s} sigma/scale {ratio:5g}: success "
                  + ", ".join(f"{m} {rows['runs'][f'{m} {ratio:g}']['success_fraction']:.2f}" for m in trajectories), flush=True)
        baselines = results["baselines"][problem.label] = {}
        ml = ml_estimate(problem, samples)
        if ml is not None:
            baselines["maximum likelihood"] = {"error_to_truth": float(problem.errors(ml[None], truth)[0])}
        elif problem.kind == "mixture":
            em = em_symmetric_mixture(samples, jnp.concatenate([problem.theta_star[None], starts]), 200 if config["iterations"] < 1000 else 500)
            mle = em[0]  # EM from the truth: the maximum-likelihood estimate
            baselines["maximum likelihood (EM)"] = {
                "error_to_truth": float(problem.errors(mle[None], truth)[0]),
                "fraction_of_starts_reaching_the_MLE": float((problem.errors(em[1:], mle) <= TOLERANCE).mean())}
        else:
            baselines["maximum likelihood"] = "undefined: the model N(b, AA^T) with k < d has no density"
            baselines["moment estimator (top-k PCA)"] = {"error_to_truth": float(problem.errors(moment_estimate(problem, samples)[None], truth)[0])}
        if problem.kind != "mean" and config["wgan_starts"]:  # the WGAN on G(z) = z + b would also train A
            final = wgan_gp(problem, samples, starts[: config["wgan_starts"]], k_wgan, config["wgan_steps"])
            errors = problem.errors(final, truth)
            baselines["WGAN-GP"] = {"starts": config["wgan_starts"], "steps": config["wgan_steps"], "error_to_truth_median": float(np.median(errors)),
                                    "fraction_within_0.2_of_truth": float((errors <= 0.2).mean())}
        ref = rows["runs"].get("reference 1")
        if ref is not None:
            baselines["MMD minimizer (sigma = data scale)"] = {"error_to_truth": ref["error_to_truth"]}
        print(f"baselines {problem.label}: {baselines}", flush=True)


def main(quick: bool = False, root: Path | None = None) -> dict:
    started = time.perf_counter()
    out = Outputs(NAME, order=ORDER, quick=quick, root=root)
    config = settings(quick)
    key = jax.random.PRNGKey(7)
    results = {"setup": {"starts": config["starts"], "iterations": config["iterations"], "ratios": list(config["ratios"]),
                         "tolerance": TOLERANCE, "stall": STALL, "flat": FLAT, "critical": CRITICAL, "samples": config["samples"],
                         "sample_ratios": list(config["sample_ratios"]), "sample_methods": list(config["sample_methods"]),
                         "search_starts": config["search_starts"], "dtype": "float64"},
               "population": {}, "finite_sample": {}, "stationary_points": {}, "low_rank_points": {}, "baselines": {}, "seconds": {}}
    kept, found, spectra = {}, {}, {}
    for name, phase in (("population", lambda: population_runs(config, key, results, kept)),
                        ("newton", lambda: newton_search(config, key, results, found)),
                        ("low_rank", lambda: low_rank_points(config, key, results, spectra)),
                        ("finite_sample", lambda: finite_sample_runs(config, key, results))):
        phase_started = time.perf_counter()
        phase()
        results["seconds"][name] = round(time.perf_counter() - phase_started, 1)
    phase_started = time.perf_counter()
    results["figures"] = {k: out.link(v) for k, v in _figures(out, results, kept, found, spectra, quick).items()}
    results["seconds"]["figures"] = round(time.perf_counter() - phase_started, 1)
    results["wall_time_s"] = round(time.perf_counter() - started, 1)
    return out.publish(results, TITLE, render, readme)


# -- figures --------------------------------------------------------------------------------------


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


def _figures(out, results, kept, found, spectra, quick) -> dict:
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
        ax.legend(fontsize=5.5, ncol=1 if section == "finite_sample" else 2)
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
    # 3. Hessian spectra at the stationary points: the mixtures' (Newton) and the low-rank families (closed form)
    figure, ax = _figure(8.5, 4.4)
    columns = [(label, points["spectra"] / results["stationary_points"][label]["lambda_max_at_minimum"], points["kinds"])
               for label, points in found.items()]
    columns += [(label, s, np.asarray(k)) for label, (s, k) in spectra.items()]
    style = {"global minimum": ("o", "C2"), "strict saddle": ("x", "C3"), "maximum": ("^", "C1"), "local maximum": ("^", "C1"),
             "other": ("s", "k"), "degenerate": ("s", "k")}
    for i, (label, rows, kinds) in enumerate(columns):
        for row, kind in list(zip(rows, kinds))[:20]:
            marker, colour = style[kind]
            offset = {"x": 0.2, "^": -0.2}.get(marker, 0.0)
            ax.scatter(np.full(row.shape, i) + offset, row, marker=marker, s=12, color=colour, label=kind)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(range(len(columns)), [c[0].replace(", ", "\n") for c in columns], rotation=15, fontsize=6)
    ax.set(ylabel="Hessian eigenvalue / largest", yscale="symlog", title="Hessian spectra at the stationary points")
    paths["spectra"] = _save(figure, out.media(f"{NAME}_spectra.png"))
    return paths


# -- the page: rendered from the results file only -------------------------------------------------


def _cell(f, g) -> str:
    fail = {k.replace("_", " "): f"{f['failures'][k]}/{g['failures'][k]}" for k in f["failures"] if f["failures"][k] + g["failures"][k]}
    note = ", ".join(f"{v} {k}" for k, v in fail.items())
    return f"{f['success_fraction']:.2f} / {g['success_fraction']:.2f}" + (f" ({note})" if note else "")


def _local_minima(doc: dict, section: str, method: str) -> int:
    return sum(run["failures"]["local_minimum"] for rows in doc[section].values() for key, run in rows["runs"].items()
               if key.startswith(method + " ") and "failures" in run)


def render(doc: dict) -> str:
    setup = doc["setup"]
    degenerate = sum(row["counts"]["degenerate"] for row in doc["low_rank_points"].values())
    unmatched = sum(row["search"]["unmatched"] for row in doc["low_rank_points"].values())
    mixture_other = sum(row["counts"]["other"] for row in doc["stationary_points"].values())
    population_minima = {m: _local_minima(doc, "population", m) for m in ("flow", "gd")}
    sample_minima = {m: _local_minima(doc, "finite_sample", m) for m in setup["sample_methods"]}
    refuted = degenerate + unmatched + mixture_other + sum(population_minima.values())
    lines = [
        "**Claim** (Alon, Globerson & Wiesel 2021, arXiv:2110.13452): the population MMD² with a Gaussian kernel is "
        "benign for an unknown mean, a low-rank Gaussian G(z) = Az + b and the symmetric mixture N(θ, I)/2 + N(-θ, I)/2: "
        "no spurious local minima, every other stationary point a strict saddle, so gradient methods reach the global minimum.",
        "",
        "**What would refute it here:** a stationary point of a population objective with no negative Hessian eigenvalue "
        "that is not a global minimum — a *degenerate* low-rank family, a point found by the numerical search that matches "
        "no closed-form family, an *other* point of the mixture search, or a population run stalled at a local minimum. "
        f"**Occurred: {refuted}** (degenerate families {degenerate}, unmatched search points {unmatched}, mixture *other* "
        f"{mixture_other}, population runs stalled at a local minimum: flow {population_minima['flow']}, GD {population_minima['gd']}).",
        "",
        f"**Setting.** {setup['starts']} random starts per problem, the flow (diffrax Tsit5, adaptive) and GD (step "
        f"1/λ_max, the largest Hessian eigenvalue at θ* and at the starts) for {setup['iterations']} iterations (flow: "
        f"the same time), counted separately (flow / GD in every cell); success = final parameters within {fmt(setup['tolerance'])} "
        "(relative; the mixture up to sign, the low-rank model through AAᵀ) of the global minimizer; σ = ratio × the "
        "median-heuristic data scale. A failed start has either *stalled* (‖∇F‖ < "
        f"{fmt(setup['stall'])} λ_max(1 + ‖θ*‖)) — at a *local minimum* (Hessian positive semi-definite beyond {fmt(setup['flat'])} λ_max: "
        "the landscape would not be benign) or at a saddle / on a plateau — or is still moving (*escaping*: ‖θ‖ growing, "
        "*slow*). `python experiments/benign_landscape.py` reproduces this.",
        "",
        "**Population: fraction of starts at the global minimum (flow / GD)**",
        "",
        "| problem | " + " | ".join(f"σ/scale = {r:g}" for r in setup["ratios"]) + " |",
        "|---|" + "---|" * len(setup["ratios"]),
    ]
    for label, rows in doc["population"].items():
        lines.append(f"| {label} | " + " | ".join(_cell(rows["runs"][f"flow {r:g}"], rows["runs"][f"gd {r:g}"]) for r in setup["ratios"]) + " |")
    lines += ["", "**Where it is not benign in practice** (population, success < 0.95 for flow or GD; success at 1/4, 1/2 and all "
              "of the budget, flow / GD: the trend with the budget):", ""]
    bad = []
    for label, rows in doc["population"].items():
        for r in setup["ratios"]:
            f, g = rows["runs"][f"flow {r:g}"], rows["runs"][f"gd {r:g}"]
            if min(f["success_fraction"], g["success_fraction"]) < 0.95:
                trend = " → ".join(f"{f['success_by_budget'][n]:.2f}/{g['success_by_budget'][n]:.2f} ({n})" for n in f["success_by_budget"])
                classes = ", ".join(f"{k.replace('_', ' ')} {f['failures'][k]}/{g['failures'][k]}" for k in f["failures"]
                                    if f["failures"][k] + g["failures"][k])
                bad.append(f"- {label}, σ/scale = {r:g}: {trend}; failures {classes}")
    lines += bad or ["- nowhere in this sweep"]
    lines += ["", "None of these failures is a local minimum: *stalled* points sit on the plateau far from the data (small σ: "
              "MMD² is flat beyond a few bandwidths) or at a saddle; *escaping*: the model's variance blows up (MMD² decreases "
              "towards its value for an infinitely spread model); *slow*: still converging (large σ: the kernel is nearly "
              "quadratic and the covariance directions ill-conditioned). Where the success grows with the budget the limit "
              "is the budget, not the landscape; where it stays flat the starts sit on a plateau that no budget at this size "
              "crosses.", "",
              f"![success fraction vs bandwidth]({doc['figures']['success']})", ""]
    lines += _low_rank_section(doc) + _mixture_section(doc) + _finite_sample_section(doc, sample_minima)
    figures = doc["figures"]
    lines += ["", f"![mixture landscape]({figures['mixture']}) ![Hessian spectra]({figures['spectra']})"
              if "mixture" in figures else f"![Hessian spectra]({figures['spectra']})"]
    if "animation" in figures:
        lines += ["", f"Animation: [GD on the mixture landscape]({figures['animation']})."]
    if doc["quick"]:
        lines += ["", "**Size.** These numbers come from the quick setting (`--quick`: the d = 2 mixture, one low-rank case, "
                  f"{setup['iterations']} iterations, one bandwidth for the finite sample). The full setting "
                  "(`python experiments/benign_landscape.py`) adds the unknown mean in d = 2 and 10, the low-rank cases (2, 1, 1), "
                  "(5, 2, 2), (5, 3, 2) (k > r) and an ill-conditioned target, the unknown-mean low-rank model, the d = 5 mixture, "
                  "a finite-sample low-rank run with its baselines and 1000 iterations; until it is run, the claims above are "
                  "supported only for the cases in the tables."]
    lines += ["", f"Wall time {fmt(doc['wall_time_s'], 3)} s (" + ", ".join(f"{k} {fmt(v, 3)} s" for k, v in doc["seconds"].items()) + ")."]
    return "\n".join(lines)


def _low_rank_section(doc: dict) -> list[str]:
    setup = doc["setup"]
    lines = ["**Low-rank stationary points, in closed form** (σ = data scale). Every stationary point of N(b, AAᵀ) against "
             "N(b*, Σ*) has b = b* and AAᵀ = Σ_J t_j u_j u_jᵀ over an eigen-subset J of Σ* (|J| ≤ k, "
             "t_j = (σ²(1 − ρ_J) + s_j)/(2ρ_J − 1), ρ_J = C_J^(2/(2+|J|)), C_J = Π_(i∉J)(1 + s_i/σ²)^(−1/2), ρ_J > 1/2; "
             "derivation in `flows.analysis.low_rank_critical_points`), one family (an orbit A → AR, and any choice of "
             "null-space directions) per subset; each is classified by the Hessian at a representative. A "
             f"Levenberg-Marquardt search on ∇F = 0 from {setup['search_starts']} random starts checks the list: a point it "
             f"finds (‖∇F‖ < {fmt(setup['critical'])} λ_max(1 + ‖θ*‖)) that matches no family would be a stationary point the "
             "enumeration missed.", "",
             "| case | parameters | families | global minima | strict saddles | local maxima | degenerate | largest λ_min/λ_max at a non-minimum | families with a zero eigenvalue | search (LM): stationary / starts, matched, unmatched | Newton: stationary found |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, row in doc["low_rank_points"].items():
        c, s = row["counts"], row["search"]
        lines.append(f"| {label} | {row['parameters']} | {row['num_families']} | {c['global minimum']} | {c['strict saddle']} | "
                     f"{c['local maximum']} | {c['degenerate']} | {fmt(row['largest_min_eigenvalue_at_non_minima'], 2)} | "
                     f"{row['families_with_zero_eigenvalues']} | {s['converged']} / {s['starts']}, {s['matched']}, {s['unmatched']} | "
                     f"{row['newton_found']} |")
    rows = doc["low_rank_points"].values()
    singular = sum(row["families_with_zero_eigenvalues"] for row in rows)
    newton, converged = sum(row["newton_found"] for row in rows), sum(row["search"]["converged"] for row in rows)
    starts = sum(row["search"]["starts"] for row in rows)
    lines += ["", f"{singular} of the {sum(row['num_families'] for row in rows)} families have a singular Hessian (the orbit "
              "A → AR, rank-deficient A), where Newton's step is undefined: Newton's method (the previous version of this page "
              f"used it) reaches a stationary point from {newton} of the {starts} starts, Levenberg-Marquardt, which damps the "
              f"step, from {converged}."]
    zero_mean = [row for row in rows if row["model"] == "zero mean"]
    unknown = [row for row in rows if row["model"] == "unknown mean"]
    if zero_mean and unknown and zero_mean[0]["counts"]["local maximum"] and not unknown[0]["counts"]["local maximum"]:
        lines[-1] += (" In the zero-mean model (as the paper states it) A = 0 is a local maximum; with an unknown mean it "
                      "becomes a strict saddle (the b-directions curve up).")
    return lines + [""]


def _mixture_section(doc: dict) -> list[str]:
    lines = ["**Mixture stationary points** (Newton on ∇F = 0 from random starts, σ = data scale; Hessian spectra by autodiff; "
             "*other* = a stationary non-minimum without a negative eigenvalue; *at ∞*: Newton ran out to the flat region "
             "beyond the starts)", "",
             "| problem | found / starts | global minima | strict saddles | maxima | other | at ∞ | largest λ_min at a non-minimum (/λ_max(θ*)) |",
             "|---|---|---|---|---|---|---|---|"]
    for label, row in doc["stationary_points"].items():
        c = row["counts"]
        worst = row["largest_min_eigenvalue_at_non_minima"]
        worst = "—" if worst is None else fmt(worst / row["lambda_max_at_minimum"], 3)
        lines.append(f"| {label} | {row['num_found']} / {row['num_starts']} | {c['global minimum']} | {c['strict saddle']} | "
                     f"{c['maximum']} | {c['other']} | {row['num_at_infinity']} | {worst} |")
    for label, row in doc["stationary_points"].items():
        if row["saddle_radius_over_theta_star"]:
            lines += ["", f"{label}: saddles at ‖θ‖/‖θ*‖ = {', '.join(f'{v:.4f}' for v in row['saddle_radius_over_theta_star'])} "
                      f"(1/√3 = {1 / np.sqrt(3):.4f}), max |cos(θ, θ*)| = {fmt(row['saddle_cosine_with_theta_star'], 2)}: the ring of strict saddles."]
    return lines + [""]


def _finite_sample_section(doc: dict, sample_minima: dict) -> list[str]:
    setup = doc["setup"]
    lines = [f"**Finite sample** ({setup['samples']} fixed latents and {setup['samples']} target samples, V-statistic; flow / GD). "
             "The reference is the best end point over all runs (flow, GD, from the truth and every start), polished by "
             "Levenberg-Marquardt on ∇F = 0 to the stationary point beside it and checked to be a "
             f"local minimizer (‖∇F‖ < {fmt(setup['stall'])} λ_max(1 + ‖θ*‖), Hessian ≥ −{fmt(setup['flat'])} λ_max); success = within "
             f"{fmt(setup['tolerance'])} of it (relative, as above). Runs stalled at a local minimum other than the reference: "
             + ", ".join(f"{m} {v}" for m, v in sample_minima.items())
             + (" — the finite-sample objective is not benign everywhere; the population theorem says nothing about it."
                if sum(sample_minima.values()) else "."), "",
             "| problem | " + " | ".join(f"σ/scale = {r:g}" for r in setup["sample_ratios"]) + " |",
             "|---|" + "---|" * len(setup["sample_ratios"])]
    for label, rows in doc["finite_sample"].items():
        cells = []
        for r in setup["sample_ratios"]:
            g = rows["runs"][f"gd {r:g}"]
            f = rows["runs"].get(f"flow {r:g}", g)
            cells.append(_cell(f, g))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "| problem, σ/scale | reference MMD² (best end point) | found by | from the truth | local minimizer | λ_min/λ_max there | error to truth | run from the truth ends at | local-minimum values (flow; GD) |",
              "|---|---|---|---|---|---|---|---|---|"]
    for label, rows in doc["finite_sample"].items():
        for r in setup["sample_ratios"]:
            ref = rows["runs"][f"reference {r:g}"]
            g = rows["runs"][f"gd {r:g}"]
            f = rows["runs"].get(f"flow {r:g}", g)
            truth = ", ".join(f"{m} {fmt(v, 4)}" for m, v in ref["truth_run_mmd2"].items())
            lines.append(f"| {label}, {r:g} | {fmt(ref['mmd2'], 4)} ({fmt(ref['best_end_mmd2'], 4)}) | {ref['found_by']} | {fmt(ref['from_truth'])} | "
                         f"{fmt(ref['local_minimizer'])} | {fmt(ref['min_eigenvalue_over_lambda_max'], 2)} | {fmt(ref['error_to_truth'], 3)} | "
                         f"{truth} | {_values(f)}; {_values(g)} |")
    lines += ["", "**Baselines** (finite sample; errors are relative parameter errors to the truth, as above)", ""]
    for label, row in doc["baselines"].items():
        parts = []
        for name, value in row.items():
            if isinstance(value, str):
                parts.append(f"{name}: {value}")
            else:
                parts.append(f"{name}: " + ", ".join(f"{k.replace('_', ' ')} {fmt(v, 3)}" for k, v in value.items()))
        lines.append(f"- {label}: " + "; ".join(parts))
    return lines


def _values(run: dict) -> str:
    values = run["local_minimum_values"]
    return "none" if not values else ", ".join(fmt(v, 3) for v in values[:4]) + (" …" if len(values) > 4 else "")


def readme(doc: dict) -> str:
    degenerate = sum(row["counts"]["degenerate"] for row in doc["low_rank_points"].values())
    saddles = {label: row["counts"]["strict saddle"] for label, row in doc["low_rank_points"].items()}
    population = doc["population"]
    worst = min((min(run["success_fraction"] for run in rows["runs"].values()), label) for label, rows in population.items())
    at_scale = min((run["success_fraction"], label) for label, rows in population.items()
                   for key, run in rows["runs"].items() if key.split()[-1] == "1")
    local_minima = sum(run["failures"]["local_minimum"] for rows in population.values() for run in rows["runs"].values())
    starts = doc["setup"]["starts"]
    reach = (f"all {starts} random starts reach the global minimum at the data-scale bandwidth" if at_scale[0] == 1.0 else
             f"at the data-scale bandwidth at least {at_scale[0]:.2f} of {starts} random starts reach the global minimum "
             f"(lowest: {at_scale[1]})")
    return (f"In `benign_landscape.py` the closed-form stationary points of the low-rank Gaussian model hold no spurious minimum "
            f"({degenerate} degenerate families; strict saddles: " + ", ".join(f"{label} {n}" for label, n in saddles.items())
            + f"), and {reach}; away from it the success falls to {worst[0]:.2f} ({worst[1]}) within "
            f"{doc['setup']['iterations']} iterations, with {local_minima} population runs ending at a local minimum "
            "(the failures are plateaus, slow directions and escapes)."
            + (" (Quick setting: the cases listed in its section of EXPERIMENTS.md only.)" if doc["quick"] else ""))

if __name__ == "__main__":
    args = parse_args(__doc__)
    main(quick=args.quick, root=args.root)
