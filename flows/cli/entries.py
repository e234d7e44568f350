"""The registries and their entries: every target, initial state, kernel, flow, solver and
diagnostic of `flows` a config may name, each one line naming its class (see `flows.cli.registry`
for how a signature becomes the config schema).

Below the registries: what the run supplies (`FromRun`), the named config-only conveniences
(`Converter`), then the entries.
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

import diffrax
import jax
import numpy as np
import optax

from .. import diagnostics as diag
from .. import games, kernels, parametric, particle, targets
from .._checks import check_points, check_positive, check_positive_int
from ..core.simulate import simulate
from ..core.solvers import GradientDescent
from ..diagnostics.discrepancy import MULTISCALE_FACTORS
from ..kernels import median_bandwidth
from .registry import ConfigError, Converter, FromRun, Registry, ResolvedTarget, from_run, owner, sibling

# ---------------------------------------------------------------- what the run supplies


def _key(purpose: int) -> FromRun:
    return from_run(lambda ctx: ctx.subkey(purpose))


TARGET_SAMPLES = from_run(lambda ctx: ctx.target_samples)
TARGET_DIM = from_run(lambda ctx: ctx.target_samples.shape[1])
RUN_DTYPE = from_run(lambda ctx: ctx.target_samples.dtype)
RUN_KERNEL = from_run(lambda ctx: ctx.kernel)
INITIAL_STATE = from_run(lambda ctx: ctx.y0)
RUN_FLOW = from_run(lambda ctx: ctx.flow)


def _density(ctx, table, where) -> targets.AbstractTarget:
    source = ctx.target.source
    if not isinstance(source, targets.AbstractTarget) or not source.has_density:
        raise ConfigError(
            f"`{where}` needs the target's score: `target.kind` must be a target with a density "
            "(a Gaussian or a Gaussian mixture; `flows list targets`)."
        )
    return source


DENSITY = FromRun(_density)


def _gaussian_moments(ctx, where) -> tuple[np.ndarray, np.ndarray]:
    if ctx.target.mean is None:
        raise ConfigError(f'`{where}` needs a Gaussian target (`target.kind = "gaussian"` or "low_rank_gaussian").')
    return ctx.target.mean, ctx.target.cov


GAUSSIAN_MEAN = FromRun(lambda ctx, table, where: _gaussian_moments(ctx, where)[0])
GAUSSIAN_COV = FromRun(lambda ctx, table, where: _gaussian_moments(ctx, where)[1])


def _population_or_samples(ctx, table, where):
    """The target samples; with `population = true`, the exact Gaussian (population mode)."""
    if not table.get("population", False):
        return ctx.target_samples
    mean, cov = _gaussian_moments(ctx, f"{where}.population")
    return targets.Gaussian(mean, cov)


POPULATION = FromRun(_population_or_samples, keys={"population": False})

# ---------------------------------------------------------------- registries

TARGETS = Registry("target", "the distribution the particles flow to", context={"key": _key(0)})
INITIALS = Registry(
    "initial state",
    "where the particles (or a generator) start",
    context={"key": _key(1), "dim": TARGET_DIM, "dtype": RUN_DTYPE},
)
KERNELS = Registry("kernel", "the kernel of MMD-type flows and diagnostics")
SCHEDULES = Registry("noise schedule", "the noise level beta(t) of the noisy MMD flows (`flow.noise`)")
BACKENDS = Registry("backend", "how kernel sums are computed (`flow.backend`)", context={"key": _key(7)})
FLOWS = Registry(
    "flow",
    "the vector field that moves the state",
    context={"target": TARGET_SAMPLES, "kernel": RUN_KERNEL, "generator": INITIAL_STATE, "key": _key(4)},
)
CONTROLLERS = Registry("step-size controller", "how a diffrax solver picks its steps (`solver.stepsize_controller`)")
OPTIMIZERS = Registry(
    "optimizer", "optax optimizers fed -v as the gradient (`solver.optimizer`, the games' optimizers)"
)
CRITICS = Registry(
    "critic",
    "the critic of a GAN game (`solver.critic`)",
    context={"dim": TARGET_DIM, "key": _key(5), "dtype": RUN_DTYPE},
)
SOLVERS = Registry("solver", "how the flow is integrated (diffrax) or stepped (gradient descent, optax, GAN games)")
DIAGNOSTICS = Registry(
    "diagnostic",
    "recorded at every saved time, inside the compiled loop",
    context={"target": TARGET_SAMPLES, "flow": RUN_FLOW, "key": _key(3), "mean": GAUSSIAN_MEAN, "cov": GAUSSIAN_COV},
)

ALL: dict[str, Registry] = {
    "targets": TARGETS,
    "initial": INITIALS,
    "kernels": KERNELS,
    "flows": FLOWS,
    "schedules": SCHEDULES,
    "backends": BACKENDS,
    "solvers": SOLVERS,
    "controllers": CONTROLLERS,
    "optimizers": OPTIMIZERS,
    "critics": CRITICS,
    "diagnostics": DIAGNOSTICS,
}

# ---------------------------------------------------------------- config-only conveniences


def _number(where: str, value: Any) -> float:
    """A config number: booleans are not numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"`{where}` must be a number, got {value!r}.")
    return float(value)


def _bandwidth(ctx, value, table, where):
    if value == "median":
        return median_bandwidth(ctx.target_samples)
    if isinstance(value, str):
        raise ValueError(f'`{where}` must be a positive number or "median", got {value!r}.')
    return _number(where, value)


MEDIAN_BANDWIDTH = Converter(
    "median bandwidth", 'a positive number, or "median": the median distance between target samples', _bandwidth
)


def _bandwidths(ctx, value, table, where):
    if value == "multiscale":
        scale = median_bandwidth(ctx.target_samples)
        return [float(c * scale) for c in MULTISCALE_FACTORS]
    if not isinstance(value, list) or not value:
        raise ValueError(f'`{where}` must be a non-empty list of bandwidths or "multiscale", got {value!r}.')
    return [_bandwidth(ctx, v, table, f"{where}[{i}]") for i, v in enumerate(value)]


BANDWIDTHS = Converter(
    "bandwidth list",
    'a list of bandwidths (numbers or "median"), or "multiscale": the median distance times '
    + ", ".join(f"{c:g}" for c in MULTISCALE_FACTORS)
    + " (as `MMD2.multiscale`)",
    _bandwidths,
)


def _tables(registry: Registry):
    def convert(ctx, value, table, where):
        if not isinstance(value, list) or not value:
            raise ValueError(f"`{where}` must be a non-empty list of {registry.kind} tables, got {value!r}.")
        return [registry.build(ctx, t, f"{where}[{i}]") for i, t in enumerate(value)]

    return convert


KERNEL_TABLES = Converter("kernel tables", "a list of kernel tables", _tables(KERNELS), tables=KERNELS, many=True)


def _table(registry: Registry, *, optional: bool):
    """A table of `registry` (or, when `optional`, None: Python's default)."""

    def convert(ctx, value, table, where):
        if value is None and optional:
            return None
        if not isinstance(value, dict):
            raise ValueError(f"`{where}` must be a {registry.kind} table {{kind = ..., ...}}, got {value!r}.")
        return registry.build(ctx, value, where)

    return convert


def _table_or_value(registry: Registry):
    """A table of `registry`; any other value is passed on as it is (the Python API checks it)."""

    def convert(ctx, value, table, where):
        return registry.build(ctx, value, where) if isinstance(value, dict) else value

    return convert


NOISE = Converter(
    "noise level",
    'a number, or a schedule table {kind = "constant" | "step_decay" | "piecewise", ...}',
    _table_or_value(SCHEDULES),
    tables=SCHEDULES,
)
BACKEND = Converter(
    "backend",
    'a name ("auto", "dense", "blocked", "sliced", "features"), or a backend table',
    _table_or_value(BACKENDS),
    tables=BACKENDS,
)
STEPSIZE_CONTROLLER = Converter(
    "step-size controller",
    'a controller table {kind = "pid", rtol, atol, ...} or {kind = "constant"}; none: `simulate`\'s default '
    "(PID controller without dt0, constant step with it)",
    _table(CONTROLLERS, optional=True),
    tables=CONTROLLERS,
)
OPTIMIZER = Converter(
    "optimizer",
    'an optimizer table {kind = "sgd" | "adam", learning_rate, ...}',
    _table(OPTIMIZERS, optional=True),
    tables=OPTIMIZERS,
)
CRITIC = Converter(
    "critic", 'a critic table {kind = "random_features" | "mlp", ...}', _table(CRITICS, optional=False), tables=CRITICS
)


def _run_kernel_or_table(ctx, value, table, where):
    return ctx.kernel if value is None else _table(KERNELS, optional=False)(ctx, value, table, where)


RUN_KERNEL_OR_TABLE = Converter(
    "kernel", "a kernel table", _run_kernel_or_table, unset="the run's kernel", tables=KERNELS
)


def _target_centres(ctx, value, table, where):
    if value is not None:
        return np.asarray(value, dtype=float)
    if ctx.target.centres is None:
        raise ConfigError(f"`{where}` is needed (the mode centres): the target is not a mixture that knows them.")
    return ctx.target.centres


TARGET_CENTRES = Converter("centres", "a (k, d) array", _target_centres, unset="the mixture target's centres")


def _origin(ctx, value, table, where):
    return np.zeros(ctx.target_samples.shape[1]) if value is None else value


ORIGIN = Converter("mean", "a (d,) array", _origin, unset="the origin of the target's space")


def _isotropic(ctx, value, table, where):
    """`std` given: std^2 I in the dimension of `mean` (or of the target)."""
    std = table.get("std")
    if std is None:
        return value
    name = sibling(where, "std")
    if value is not None:
        raise ValueError(f"give `{where}` or `{name}`, not both.")
    check_positive(name, _number(name, std))
    mean = table.get("mean")
    d = ctx.target_samples.shape[1] if mean is None else np.atleast_1d(np.asarray(mean)).shape[0]
    return float(std) ** 2 * np.eye(d)


ISOTROPIC = Converter(
    "covariance", "a (d, d) matrix; or leave it out and give `std`: std^2 I", _isotropic, keys={"std": None}
)


def _random_points(ctx, value, table, where):
    """An integer K: K points from N(0, I_d), key fold_in(key, 1); else the (K, d) array."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        count = check_positive_int(where, value)
        return jax.random.normal(ctx.subkey(1), (count, ctx.target_samples.shape[1]), ctx.target_samples.dtype)
    return value


RANDOM_POINTS = Converter(
    "points", "a (K, d) array, or an integer K: K points from N(0, I_d) (key fold_in(key, 1))", _random_points
)


def _latent_batch(ctx, value, table, where):
    """An integer m: m latents from N(0, I_k), key fold_in(key, 4), k the generator's latent
    dimension; else the (m, k) array (or None)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        count = check_positive_int(where, value)
        return jax.random.normal(ctx.subkey(4), (count, ctx.y0.latent_dim), ctx.target_samples.dtype)
    return value


LATENT_BATCH = Converter(
    "latent batch", "an (m, k) array, or an integer m: m latents from N(0, I_k) (key fold_in(key, 4))", _latent_batch
)

KERNELS.converters.update(bandwidth=MEDIAN_BANDWIDTH)
CRITICS.converters.update(bandwidth=MEDIAN_BANDWIDTH)
FLOWS.converters.update(noise=NOISE, backend=BACKEND, latents=LATENT_BATCH)
SOLVERS.converters.update(
    stepsize_controller=STEPSIZE_CONTROLLER,
    optimizer=OPTIMIZER,
    generator_optimizer=OPTIMIZER,
    critic_optimizer=OPTIMIZER,
    critic=CRITIC,
)
DIAGNOSTICS.converters.update(kernel=RUN_KERNEL_OR_TABLE, centres=TARGET_CENTRES)

# ---------------------------------------------------------------- targets and initial states


def _load_npy(path: str) -> np.ndarray:
    """The (n, d) array in a .npy file."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValueError(f"`path` {str(file)!r} does not exist")
    samples = np.load(file, allow_pickle=False)
    check_points("path", samples)
    return samples


def _gaussian_moments_of(target) -> dict:
    return {"mean": np.asarray(target.mean), "cov": np.asarray(target.covariance)}


def _mixture_centres_of(target) -> dict:
    return {"centres": np.asarray(target.means)}


def _target(name: str, make, description: str, known=None, **options) -> None:
    """A `flows.targets` target, sampled with `sample(key = fold_in(key, 0), n)`; it is the
    `ResolvedTarget`'s `source`, so the flows that need its score reach it."""
    sample = TARGETS.call(owner(make).sample, bound=("self",))

    def finish(ctx, target, table, where):
        samples = np.asarray(sample(ctx, table, where, {"self": target}))
        return ResolvedTarget(samples, source=target, **(known(target) if known else {}))

    TARGETS.add(name, make, description, also=(sample,), finish=finish, **options)


_target(
    "gaussian",
    targets.Gaussian,
    "N(mean, covariance), or std^2 I; n samples; a score when positive definite; closed-form Gaussian diagnostics apply",
    _gaussian_moments_of,
    converters={"covariance": ISOTROPIC},
    only=("mean", "covariance"),
)
_target(
    "low_rank_gaussian",
    targets.Gaussian,
    "mean + factor z, z ~ N(0, I_k): covariance factor factor^T, singular when k < d",
    _gaussian_moments_of,
    only=("mean", "factor"),
)
_target(
    "mixture",
    targets.GaussianMixture,
    "isotropic Gaussian mixture (means, stds, weights); has a score; mode diagnostics know its centres",
    _mixture_centres_of,
)
_target(
    "ring",
    targets.GaussianMixture.ring,
    "equal-weight Gaussians evenly spaced on a circle (the 8-Gaussians ring); has a score",
    _mixture_centres_of,
)
_target(
    "symmetric_mixture",
    targets.GaussianMixture.symmetric,
    "N(theta, std^2 I)/2 + N(-theta, std^2 I)/2, whose population MMD^2 landscape has no spurious local minima "
    "(Alon, Globerson & Wiesel 2021, arXiv:2110.13452); has a score",
    _mixture_centres_of,
)
_target("two_moons", targets.TwoMoons, "two interleaving half circles plus Gaussian noise (2-D, samples only)")
_target("rings", targets.Rings, "concentric circles of the given radii plus Gaussian noise (2-D, samples only)")
_target("checkerboard", targets.Checkerboard, "uniform on the black squares of a size x size board (2-D, samples only)")
_target("spiral", targets.Spiral, "an Archimedean spiral plus Gaussian noise (2-D, samples only)")
TARGETS.add(
    "npy",
    _load_npy,
    "samples from an (M, d) array in a .npy file (path relative to the config file)",
    finish=lambda ctx, samples, table, where: ResolvedTarget(samples),
)

_initial_sample = INITIALS.call(targets.Gaussian.sample, bound=("self",))
INITIALS.add(
    "gaussian",
    targets.Gaussian,
    "n particles from N(mean, covariance) (or std^2 I), key fold_in(key, 1)",
    converters={"mean": ORIGIN, "covariance": ISOTROPIC},
    only=("mean", "covariance"),
    also=(_initial_sample,),
    finish=lambda ctx, gaussian, table, where: _initial_sample(ctx, table, where, {"self": gaussian}),
)
INITIALS.add("npy", _load_npy, "particles from an (N, d) array in a .npy file (path relative to the config file)")
INITIALS.add("affine", parametric.AffineGenerator, "generator x = matrix z + offset, for parametric flows")
INITIALS.add(
    "mlp", parametric.MLPGenerator, "MLP generator R^latent_dim -> R^d, random initial weights (key fold_in(key, 1))"
)
INITIALS.add(
    "mixture_means",
    parametric.GaussianMixtureGenerator,
    "mixture generator: trainable means, fixed scale",
    converters={"means": RANDOM_POINTS},
)
INITIALS.add(
    "symmetric_mixture",
    parametric.SymmetricMixtureGenerator,
    "generator of N(theta, scale^2 I)/2 + N(-theta, scale^2 I)/2: trainable theta",
)

# ---------------------------------------------------------------- kernels

KERNELS.add("gaussian", kernels.GaussianKernel, "exp(-|x-y|^2 / (2 bandwidth^2))")
KERNELS.add("laplace", kernels.LaplaceKernel, "exp(-|x-y| / bandwidth)")
KERNELS.add("imq", kernels.IMQKernel, "(scale^2 + |x-y|^2)^exponent, exponent < 0: heavy tails")
KERNELS.add("matern", kernels.MaternKernel, "Matern kernel, smoothness 0.5 | 1.5 | 2.5 (0.5: Laplace)")
KERNELS.add("energy", kernels.EnergyKernel, "Riesz kernel -|x-y|^exponent, 0 < exponent < 2 (1: energy distance)")
KERNELS.add(
    "gaussian_sum",
    kernels.SumKernel.gaussians,
    "equal-weight sum of Gaussian kernels, one per bandwidth",
    converters={"bandwidths": BANDWIDTHS},
)
KERNELS.add(
    "sum",
    kernels.SumKernel,
    "weighted sum of radial kernels (a list of kernel tables)",
    converters={"kernels": KERNEL_TABLES},
)
KERNELS.add(
    "network",
    kernels.NetworkKernel,
    "kernel of a mean-field network of sub-networks on fixed inputs (Arbel et al. 2019, app. G.1)",
)

SCHEDULES.add("constant", particle.ConstantSchedule, "beta(t) = value")
SCHEDULES.add("step_decay", particle.StepDecaySchedule, "beta(t) = initial * factor^floor(t / every)")
SCHEDULES.add(
    "piecewise", particle.PiecewiseConstantSchedule, "beta(t) = values[i] between boundaries[i-1] and boundaries[i]"
)

BACKENDS.add("auto", kernels.AutoSums, "exact sums, dense up to dense_limit = N M, blocked above (the default)")
BACKENDS.add("dense", kernels.DenseSums, "exact sums through the full (N, M) matrix")
BACKENDS.add("blocked", kernels.BlockedSums, "exact sums streamed through row_block x col_block tiles")
BACKENDS.add(
    "sliced", kernels.SlicedRieszApproximation, "sliced approximation of Riesz-kernel sums (key fold_in(key, 7))"
)
BACKENDS.add("features", kernels.RandomFeatureApproximation, "random-feature approximation (key fold_in(key, 7))")
BACKENDS.add("fourier", kernels.FourierApproximation, "non-uniform FFT sums within rtol (d <= 3, kernels with a spectrum)")
BACKENDS.add(
    "sliced-fourier",
    kernels.SlicedFourierApproximation,
    "sliced 1-D Fourier sums along P directions, any d (key fold_in(key, 7))",
)

# ---------------------------------------------------------------- flows

FLOWS.add("mmd", particle.MMDFlow, "MMD gradient flow of particles, dx/dt = -grad f (Arbel et al. 2019)")
FLOWS.add(
    "noisy_mmd",
    particle.NoiseInjectedMMDFlow,
    "noise-injected MMD flow: GD on grad f(x + beta(t) u) (Arbel et al. 2019)",
)
FLOWS.add(
    "diffusion_mmd",
    particle.DiffusionMMDFlow,
    "MMD flow SDE dX = -grad f dt + sqrt(2 beta(t)) dW; fixed-step diffrax solver",
)
FLOWS.add(
    "sobolev",
    particle.KernelSobolevFlow,
    'kernel Sobolev descent (Mroueh et al. 2019); solver "dense" (Cholesky) or "cg"',
)
FLOWS.add(
    "langevin",
    particle.LangevinFlow,
    "overdamped Langevin SDE dX = grad log p dt + sqrt(2) dW (target with a density)",
    context={"target": DENSITY},
)
FLOWS.add(
    "svgd",
    particle.SVGDFlow,
    "Stein variational gradient descent (Liu & Wang 2016; target with a density)",
    context={"target": DENSITY},
)
FLOWS.add(
    "ksd",
    particle.KSDFlow,
    "kernel Stein discrepancy descent (Korba et al. 2021; target with a density)",
    context={"target": DENSITY},
)
FLOWS.add(
    "sliced_wasserstein",
    particle.SlicedWassersteinFlow,
    "sliced Wasserstein flow over random directions (key fold_in(key, 4))",
)
FLOWS.add("sinkhorn", particle.SinkhornFlow, "Sinkhorn divergence flow (Feydy et al. 2019; ott-jax)")
FLOWS.add(
    "parametric_mmd",
    parametric.ParametricMMDFlow,
    "MMD flow of a generator's parameters (an `initial` generator); population = true: the exact Gaussian target",
    context={"target": POPULATION},
)
FLOWS.add(
    "pkgf",
    parametric.PKGF,
    "parametric kernel gradient flow: natural gradient in the RKHS metric (Mroueh & Nguyen 2021)",
    context={"target": POPULATION},
)

# ---------------------------------------------------------------- solvers

SIMULATE = SOLVERS.call(simulate, only=("dt0", "stepsize_controller", "max_steps"))
"""The keys of a diffrax solver that `simulate` takes: the step, the controller, the step budget."""


def _integrate(ctx, solver, table, where) -> dict:
    """`simulate`'s arguments for a diffrax solver; a fixed step needs `dt0`."""
    arguments = SIMULATE.arguments(ctx, table, where)
    controller, name = arguments.get("stepsize_controller"), type(solver).__name__
    adaptive = isinstance(solver, diffrax.AbstractAdaptiveSolver)
    if not adaptive and not isinstance(controller, (type(None), diffrax.ConstantStepSize)):
        raise ValueError(f"{name} has no error estimate: leave `{where}.stepsize_controller` out, with `{where}.dt0`.")
    if arguments.get("dt0") is None and (not adaptive or isinstance(controller, diffrax.ConstantStepSize)):
        raise ValueError(f"`{where}.dt0` is required: {name} takes a fixed step here.")
    return {"solver": solver, **arguments}


def _step(ctx, solver, table, where) -> dict:
    return {"solver": solver}


_ADAPTIVE = "; adaptive (PID) without dt0, fixed step dt0 with it (simulate's default)"
for _name, _cls, _text in [
    ("euler", diffrax.Euler, "explicit Euler, fixed step dt0 (the ODE twin of gradient descent)"),
    ("heun", diffrax.Heun, "Heun, 2nd order" + _ADAPTIVE),
    ("midpoint", diffrax.Midpoint, "explicit midpoint, 2nd order" + _ADAPTIVE),
    ("ralston", diffrax.Ralston, "Ralston, 2nd order" + _ADAPTIVE),
    ("bosh3", diffrax.Bosh3, "Bogacki-Shampine, 3rd order" + _ADAPTIVE),
    ("tsit5", diffrax.Tsit5, "Tsitouras 5(4), the default" + _ADAPTIVE),
    ("dopri5", diffrax.Dopri5, "Dormand-Prince 5(4)" + _ADAPTIVE),
    ("dopri8", diffrax.Dopri8, "Dormand-Prince 8(7), for tight tolerances" + _ADAPTIVE),
]:
    SOLVERS.add(_name, _cls, _text, also=(SIMULATE,), finish=_integrate)

SOLVERS.add(
    "gd",
    GradientDescent,
    "gradient descent x <- x + step * v(x), the discrete scheme GAN training runs (or an optax optimizer)",
    finish=_step,
)
SOLVERS.add(
    "sgd",
    GradientDescent,
    "optax SGD fed -v as the gradient; one iteration per `step` of time",
    parts={"optimizer": optax.sgd},
    finish=_step,
)
SOLVERS.add(
    "adam",
    GradientDescent,
    "optax Adam fed -v as the gradient; one iteration per `step` of time",
    parts={"optimizer": optax.adam},
    finish=_step,
)
SOLVERS.add(
    "mmd_gan", games.MMDGAN, "MMD GAN game: critic ascent, then a generator step (a parametric flow)", finish=_step
)
SOLVERS.add(
    "wgan_gp",
    games.WGANGP,
    "WGAN-GP game: Wasserstein critic with a gradient penalty (a parametric flow)",
    finish=_step,
)
SOLVERS.add(
    "parameter_penalty_mmd_gan",
    games.ParameterPenaltyMMDGAN,
    "MMD GAN whose critic is penalized through the generator's parameters: PKGF in the exact-critic limit",
    finish=_step,
)
SOLVERS.add(
    "js_gan", games.JSGAN, "the original GAN game V(D, G), non-saturating or minimax (a parametric flow)", finish=_step
)
SOLVERS.add("f_gan", games.FGAN, "f-GAN game: KL, reverse KL, Pearson, Hellinger or JS bound (a parametric flow)", finish=_step)

CONTROLLERS.add("pid", diffrax.PIDController, "adaptive steps from the solver's error estimate (rtol, atol)")
CONTROLLERS.add("constant", diffrax.ConstantStepSize, "the fixed step dt0")
OPTIMIZERS.add("sgd", optax.sgd, "stochastic gradient descent, optional momentum (optax)")
OPTIMIZERS.add("adam", optax.adam, "Adam (optax)")
CRITICS.add(
    "random_features",
    games.RandomFeatureCritic,
    "linear critic on random Fourier features of a Gaussian kernel (key fold_in(key, 5))",
)
CRITICS.add("mlp", games.MLPCritic, "MLP critic (key fold_in(key, 5))")
CRITICS.add(
    "kernel_features",
    games.KernelFeatureCritic,
    "linear critic on the random features of the run's kernel: the RKHS of the features backend (key fold_in(key, 5))",
    context={"kernel": RUN_KERNEL},
)

# ---------------------------------------------------------------- diagnostics

DIAGNOSTICS.add("mmd2", diag.MMD2, "MMD^2 to the target (kernel: the run's, or a kernel table)")
DIAGNOSTICS.add("mmd2_multiscale", diag.MMD2.multiscale, "MMD^2 under Gaussians at factors x the median distance")
DIAGNOSTICS.add("energy_distance", diag.EnergyDistance, "energy distance to the target")
DIAGNOSTICS.add("sinkhorn", diag.SinkhornDivergence, "Sinkhorn divergence S_eps (squared Euclidean cost, ott-jax)")
DIAGNOSTICS.add(
    "w2", diag.Wasserstein2, "2-Wasserstein distance from the entropic plan at small relative epsilon (ott-jax)"
)
DIAGNOSTICS.add(
    "sliced_w2", diag.SlicedWasserstein, "sliced 2-Wasserstein distance over random directions (key fold_in(key, 3))"
)
DIAGNOSTICS.add(
    "gaussian_w2", diag.GaussianW2, "closed-form W2 between the particles' Gaussian fit and a Gaussian target"
)
DIAGNOSTICS.add("gaussian_kl", diag.GaussianKL, "closed-form KL(particles' Gaussian fit || Gaussian target)")
DIAGNOSTICS.add(
    "gaussian_mmd2", diag.GaussianMMD2, "closed-form MMD^2 between the particles' Gaussian fit and a Gaussian target"
)
DIAGNOSTICS.add("velocity_norm", diag.VelocityNorm, "RMS speed of the particles")
DIAGNOSTICS.add(
    "relative_dissipation_residual", diag.RelativeDissipationResidual, "|dF/dt + D| / D by autodiff (gradient flows)"
)
DIAGNOSTICS.add("mode_coverage", diag.ModeCoverage, "fraction of modes holding at least min_share of the particles")
DIAGNOSTICS.add("mode_mass", diag.ModeMass, "share of the particles at each mode")
