"""The registry entries for what `flows` has: targets, initial states, kernels, flows, solvers,
diagnostics. Each is a few lines that turn config keys into the library's objects; the builders'
signatures are the config schema (see `flows.registry`).
"""

from __future__ import annotations

from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax

from .. import diagnostics as diag
from .. import targets
from .._checks import check_gaussian
from ..core.solvers import GradientDescent
from ..games.critics import MLPCritic, RandomFeatureCritic
from ..games.mmd_gan import MMDGAN
from ..kernels.bandwidth import median_bandwidth
from ..kernels.radial import (
    EnergyKernel,
    GaussianKernel,
    IMQKernel,
    LaplaceKernel,
    SumKernel,
)
from ..parametric.generators import (
    AffineGenerator,
    GaussianMixtureGenerator,
    MLPGenerator,
)
from ..parametric.mmd import ParametricMMDFlow
from ..parametric.pkgf import PKGF
from ..particle.ksd import KSDFlow
from ..particle.langevin import LangevinFlow
from ..particle.mmd import MMDFlow
from ..particle.noise_schedules import (
    ConstantSchedule,
    PiecewiseConstantSchedule,
    StepDecaySchedule,
)
from ..particle.noisy_mmd import DiffusionMMDFlow, NoiseInjectedMMDFlow
from ..particle.sinkhorn import SinkhornFlow
from ..particle.sliced_wasserstein import SlicedWassersteinFlow
from ..particle.sobolev import KernelSobolevFlow
from ..particle.svgd import SVGDFlow
from .registry import (
    DIAGNOSTICS,
    FLOWS,
    INITIALS,
    KERNELS,
    SOLVERS,
    TARGETS,
    ConfigError,
    ResolvedTarget,
)

# ---------------------------------------------------------------- targets and initial states


def _gaussian_params(mean, cov, std):
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    d = mean.shape[0]
    if cov is not None and std is not None:
        raise ValueError("give `cov` or `std`, not both")
    if std is not None and not (isinstance(std, (int, float)) and std > 0):
        raise ValueError(f"`std` must be a positive number, got {std!r}")
    if cov is None:
        cov = (1.0 if std is None else float(std)) ** 2 * np.eye(d)
    cov = np.asarray(cov, dtype=float)
    if cov.shape != (d, d):
        raise ValueError(f"`cov` must be a {d} x {d} matrix to match `mean`, got shape {cov.shape}")
    check_gaussian("cov", mean, cov)
    return mean, cov


def _gaussian_samples(key, n: int, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"`n` must be a positive integer, got {n!r}")
    dtype = jnp.zeros(()).dtype
    values, vectors = np.linalg.eigh(cov)
    root = vectors * np.sqrt(np.clip(values, 0, None))
    z = jax.random.normal(key, (n, mean.shape[0]), dtype)
    return np.asarray(jnp.asarray(mean, dtype) + z @ jnp.asarray(root, dtype).T)


def _load_npy(path: str) -> np.ndarray:
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValueError(f"`path` {str(file)!r} does not exist")
    samples = np.load(file, allow_pickle=False)
    if samples.ndim != 2 or samples.shape[0] == 0 or not np.all(np.isfinite(samples)):
        raise ValueError(f"`path` must hold a finite (n, d) array, got shape {samples.shape}")
    return samples.astype(jnp.zeros(()).dtype)


@TARGETS.register("gaussian", "N(mean, cov) (or std * I): n samples; closed-form Gaussian diagnostics apply")
def _target_gaussian(ctx, mean, n: int = 1000, cov=None, std=None):
    mean, cov = _gaussian_params(mean, cov, std)
    source = targets.Gaussian(mean, cov)  # its score serves Langevin, SVGD, KSD when cov is positive definite
    return ResolvedTarget(_gaussian_samples(ctx.subkey(0), n, mean, cov), mean=mean, cov=cov, source=source)


def _sampled(ctx, target: targets.AbstractTarget, n: int, **known) -> ResolvedTarget:
    """n samples of a `flows.targets` target (key `fold_in(key, 0)`); the target itself is the
    `source`, so flows that need its score (Langevin, SVGD, KSD) can reach it."""
    return ResolvedTarget(np.asarray(target.sample(ctx.subkey(0), n)), source=target, **known)


@TARGETS.register("low_rank_gaussian", "mean + factor z, z ~ N(0, I_k): covariance factor factor^T, singular when k < d")
def _target_low_rank(ctx, mean, factor, n: int = 1000):
    target = targets.Gaussian(mean, factor=factor)
    cov = np.asarray(target.factor) @ np.asarray(target.factor).T
    return _sampled(ctx, target, n, mean=np.asarray(target.mean), cov=cov)


@TARGETS.register("mixture", "isotropic Gaussian mixture (means, stds, weights); has a score; mode diagnostics know its centres")
def _target_mixture(ctx, means, stds=1.0, weights=None, n: int = 1000):
    target = targets.GaussianMixture(means, stds, weights)
    return _sampled(ctx, target, n, centres=np.asarray(target.means))


@TARGETS.register("ring", "equal-weight Gaussians evenly spaced on a circle (the 8-Gaussians ring); has a score")
def _target_ring(ctx, modes: int = 8, radius: float = 4.0, std: float = 0.3, n: int = 1000):
    target = targets.GaussianMixture.ring(modes, radius, std)
    return _sampled(ctx, target, n, centres=np.asarray(target.means))


@TARGETS.register("symmetric_mixture", "N(theta, std^2 I)/2 + N(-theta, std^2 I)/2 (Alon, Globerson & Wiesel 2021); has a score")
def _target_symmetric(ctx, theta, std: float = 1.0, n: int = 1000):
    target = targets.GaussianMixture.symmetric(theta, std)
    return _sampled(ctx, target, n, centres=np.asarray(target.means))


@TARGETS.register("two_moons", "two interleaving half circles plus Gaussian noise (2-D, samples only)")
def _target_two_moons(ctx, noise: float = 0.05, n: int = 1000):
    return _sampled(ctx, targets.TwoMoons(noise), n)


@TARGETS.register("rings", "concentric circles of the given radii plus Gaussian noise (2-D, samples only)")
def _target_rings(ctx, radii=(1.0, 2.0, 3.0), noise: float = 0.05, n: int = 1000):
    return _sampled(ctx, targets.Rings(tuple(float(r) for r in radii), noise), n)


@TARGETS.register("checkerboard", "uniform on the black squares of a size x size board (2-D, samples only)")
def _target_checkerboard(ctx, size: int = 4, n: int = 1000):
    return _sampled(ctx, targets.Checkerboard(size), n)


@TARGETS.register("spiral", "an Archimedean spiral plus Gaussian noise (2-D, samples only)")
def _target_spiral(ctx, turns: float = 2.0, radius: float = 3.0, noise: float = 0.05, n: int = 1000):
    return _sampled(ctx, targets.Spiral(turns, radius, noise), n)


@TARGETS.register("npy", "samples from an (M, d) array in a .npy file")
def _target_npy(ctx, path: str):
    return ResolvedTarget(_load_npy(path))


@INITIALS.register("gaussian", "n particles from N(mean, cov) (or std * I); mean defaults to 0 in the target's dimension")
def _initial_gaussian(ctx, n: int, mean=None, cov=None, std=None):
    mean = np.zeros(ctx.target_samples.shape[1]) if mean is None else mean
    mean, cov = _gaussian_params(mean, cov, std)
    return _gaussian_samples(ctx.subkey(1), n, mean, cov)


@INITIALS.register("npy", "particles from an (N, d) array in a .npy file")
def _initial_npy(ctx, path: str):
    return _load_npy(path)


def _dtype():
    return jnp.zeros(()).dtype


@INITIALS.register("affine", "generator x = matrix z + offset (default scale * I_{d,k}, offset 0), for parametric flows")
def _initial_affine(ctx, latent_dim: int | None = None, scale: float = 1.0, matrix=None, offset=None):
    d = ctx.target_samples.shape[1]
    k = d if latent_dim is None else latent_dim
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"`latent_dim` must be a positive integer, got {latent_dim!r}")
    matrix = scale * np.eye(d, k) if matrix is None else np.asarray(matrix, dtype=float)
    offset = np.zeros(d) if offset is None else np.asarray(offset, dtype=float)
    return AffineGenerator(jnp.asarray(matrix, _dtype()), jnp.asarray(offset, _dtype()))


@INITIALS.register("mlp", "MLP generator R^latent_dim -> R^d with random initial weights (key fold_in(key, 1))")
def _initial_mlp(ctx, latent_dim: int = 2, width: int = 64, depth: int = 2, activation: str = "relu"):
    d = ctx.target_samples.shape[1]
    return MLPGenerator(latent_dim, d, width=width, depth=depth, activation=activation, key=ctx.subkey(1), dtype=_dtype())


@INITIALS.register("mixture_means", "mixture generator: trainable means (given, or `components` from N(0, std^2 I)), fixed scale")
def _initial_mixture_means(ctx, components: int = 8, scale: float = 0.3, std: float = 1.0, means=None):
    if means is None:
        if not isinstance(components, int) or components < 1:
            raise ValueError(f"`components` must be a positive integer, got {components!r}")
        means = std * jax.random.normal(ctx.subkey(1), (components, ctx.target_samples.shape[1]), _dtype())
    return GaussianMixtureGenerator(jnp.asarray(means, _dtype()), scale)


# ---------------------------------------------------------------- kernels


def _bandwidth(ctx, value):
    """A positive number, or "median": the median distance between target samples."""
    if value == "median":
        return median_bandwidth(ctx.target_samples)
    if isinstance(value, str) or not isinstance(value, (int, float)):
        raise ValueError(f"`bandwidth` must be a positive number or \"median\", got {value!r}")
    return float(value)


@KERNELS.register("gaussian", "exp(-|x-y|^2 / (2 bandwidth^2)); bandwidth may be \"median\"")
def _kernel_gaussian(ctx, bandwidth="median"):
    return GaussianKernel(_bandwidth(ctx, bandwidth))


@KERNELS.register("gaussian_sum", "sum of Gaussian kernels, bandwidths = factors * median distance (or given)")
def _kernel_gaussian_sum(ctx, bandwidths=None, factors=(0.25, 0.5, 1.0, 2.0, 4.0)):
    if bandwidths is None:
        scale = median_bandwidth(ctx.target_samples)
        bandwidths = [f * scale for f in factors]
    return SumKernel.gaussians([float(b) for b in bandwidths])


@KERNELS.register("imq", "(scale^2 + |x-y|^2)^exponent, exponent < 0: heavy tails")
def _kernel_imq(ctx, scale: float = 1.0, exponent: float = -0.5):
    return IMQKernel(scale, exponent)


@KERNELS.register("laplace", "exp(-|x-y| / bandwidth); bandwidth may be \"median\"")
def _kernel_laplace(ctx, bandwidth="median"):
    return LaplaceKernel(_bandwidth(ctx, bandwidth))


@KERNELS.register("energy", "Riesz kernel -|x-y|^exponent, 0 < exponent < 2 (1: energy distance)")
def _kernel_energy(ctx, exponent: float = 1.0):
    return EnergyKernel(exponent)


# ---------------------------------------------------------------- flows


@FLOWS.register("mmd", "MMD gradient flow of particles, dx/dt = -grad f (Arbel et al. 2019)")
def _flow_mmd(ctx):
    return MMDFlow(ctx.target_samples, ctx.kernel)


def _schedule(noise):
    """A number, or a table: {kind = "constant", value}, {kind = "step_decay", initial, factor,
    every}, {kind = "piecewise", values, boundaries}."""
    if not isinstance(noise, dict):
        return noise  # a number (or a bad value, which the flow reports)
    kinds = {"constant": ConstantSchedule, "step_decay": StepDecaySchedule, "piecewise": PiecewiseConstantSchedule}
    kind = noise.get("kind")
    if kind not in kinds:
        raise ValueError(f"`noise.kind` = {kind!r} is not a schedule; valid choices: {', '.join(kinds)}")
    return kinds[kind](**{k: v for k, v in noise.items() if k != "kind"})


def _density(ctx, flow: str) -> targets.AbstractTarget:
    source = ctx.target.source
    if not isinstance(source, targets.AbstractTarget) or not source.has_density:
        with_score = ", ".join(n for n in ("gaussian", "mixture", "ring", "symmetric_mixture"))
        raise ConfigError(f"flow {flow!r} needs the target's score: `target.kind` must be one of {with_score}.")
    return source


@FLOWS.register("noisy_mmd", "noise-injected MMD flow: GD on grad f(x + beta(t) u); noise a number or schedule table")
def _flow_noisy_mmd(ctx, noise=0.1):
    return NoiseInjectedMMDFlow(ctx.target_samples, ctx.kernel, _schedule(noise))


@FLOWS.register("diffusion_mmd", "MMD flow SDE dX = -grad f dt + sqrt(2 beta(t)) dW; fixed-step diffrax solver")
def _flow_diffusion_mmd(ctx, noise=0.01, brownian_tolerance: float | None = None):
    return DiffusionMMDFlow(ctx.target_samples, ctx.kernel, _schedule(noise), brownian_tolerance)


@FLOWS.register("sobolev", "kernel Sobolev descent (Mroueh et al. 2019); solver \"dense\" (Cholesky) or \"cg\"")
def _flow_sobolev(ctx, regularization: float = 1e-3, solver: str = "dense", cg_rtol: float | None = None,
                  cg_atol: float | None = None, cg_max_steps: int | None = None):
    return KernelSobolevFlow(ctx.target_samples, ctx.kernel, regularization, solver, cg_rtol, cg_atol, cg_max_steps)


@FLOWS.register("langevin", "overdamped Langevin SDE dX = grad log p dt + sqrt(2) dW (target with a density)")
def _flow_langevin(ctx, brownian_tolerance: float | None = None):
    return LangevinFlow(_density(ctx, "langevin"), brownian_tolerance)


@FLOWS.register("svgd", "Stein variational gradient descent (Liu & Wang 2016; target with a density)")
def _flow_svgd(ctx):
    return SVGDFlow(_density(ctx, "svgd"), ctx.kernel)


@FLOWS.register("ksd", "kernel Stein discrepancy descent (Korba et al. 2021; target with a density)")
def _flow_ksd(ctx):
    return KSDFlow(_density(ctx, "ksd"), ctx.kernel)


@FLOWS.register("sliced_wasserstein", "sliced Wasserstein flow over n_projections random directions (key fold_in(key, 4))")
def _flow_sliced(ctx, n_projections: int = 50, resample: bool = False):
    return SlicedWassersteinFlow(ctx.target_samples, n_projections, ctx.subkey(4), resample)


@FLOWS.register("sinkhorn", "Sinkhorn divergence flow (Feydy et al. 2019; ott-jax)")
def _flow_sinkhorn(ctx, epsilon: float = 0.1, threshold: float = 1e-6, max_iterations: int = 2000):
    return SinkhornFlow(ctx.target_samples, epsilon, threshold, max_iterations)


def _parametric_target(ctx, population: bool):
    """Target samples, or in population mode the exact Gaussian (needs `target.kind = "gaussian"`)."""
    if not population:
        return ctx.target_samples
    if ctx.target.mean is None:
        raise ConfigError("`flow.population = true` needs a Gaussian target (`target.kind = \"gaussian\"`).")
    return targets.Gaussian(ctx.target.mean, ctx.target.cov)


def _latents(ctx, latents: int, population: bool):
    """A fixed batch of `latents` N(0, I_k) latents (key fold_in(key, 4)); none in population mode."""
    if population:
        return None
    if isinstance(latents, bool) or not isinstance(latents, int) or latents < 1:
        raise ValueError(f"`latents` must be a positive integer (the fixed latent batch size), got {latents!r}")
    return jax.random.normal(ctx.subkey(4), (latents, ctx.y0.latent_dim), ctx.target_samples.dtype)


@FLOWS.register("parametric_mmd", "MMD flow of a generator's parameters (an `initial` generator); population = exact Gaussian")
def _flow_parametric_mmd(ctx, latents: int = 256, fresh_latents: int | None = None, population: bool = False):
    return ParametricMMDFlow(
        ctx.y0, _parametric_target(ctx, population), ctx.kernel,
        latents=_latents(ctx, latents, population), fresh_latents=fresh_latents,
    )


@FLOWS.register("pkgf", "parametric kernel gradient flow: natural gradient in the RKHS metric (reg, solve, penalty)")
def _flow_pkgf(ctx, reg: float = 1e-3, solve: str = "cg", penalty: str = "parameter", latents: int = 256,
               fresh_latents: int | None = None, population: bool = False, cg_rtol: float = 1e-8,
               cg_atol: float = 1e-12, cg_max_steps: int | None = None):
    return PKGF(
        ctx.y0, _parametric_target(ctx, population), ctx.kernel, reg=reg, solve=solve, penalty=penalty,
        latents=_latents(ctx, latents, population), fresh_latents=fresh_latents,
        cg_rtol=cg_rtol, cg_atol=cg_atol, cg_max_steps=cg_max_steps,
    )


# ---------------------------------------------------------------- solvers


def _diffrax_solver(cls, adaptive_default: bool):
    def build(ctx, dt0: float | None = None, adaptive: bool = adaptive_default, rtol: float = 1e-4, atol: float = 1e-6):
        if adaptive and not adaptive_default:
            raise ValueError(f"{cls.__name__} has no error estimate: use `adaptive = false` with `dt0`")
        if not adaptive and dt0 is None:
            raise ValueError("`dt0` is required with a fixed step (`adaptive = false`)")
        controller = diffrax.PIDController(rtol=rtol, atol=atol) if adaptive else diffrax.ConstantStepSize()
        return {"solver": cls(), "dt0": dt0, "stepsize_controller": controller}

    return build


for _name, _cls, _adaptive, _text in [
    ("euler", diffrax.Euler, False, "explicit Euler, fixed step dt0 (the ODE twin of gradient descent)"),
    ("heun", diffrax.Heun, True, "Heun, 2nd order; adaptive (rtol, atol) or fixed dt0"),
    ("midpoint", diffrax.Midpoint, True, "explicit midpoint, 2nd order; adaptive or fixed dt0"),
    ("ralston", diffrax.Ralston, True, "Ralston, 2nd order; adaptive or fixed dt0"),
    ("bosh3", diffrax.Bosh3, True, "Bogacki-Shampine, 3rd order; adaptive or fixed dt0"),
    ("tsit5", diffrax.Tsit5, True, "Tsitouras 5(4), the default; adaptive (rtol, atol) or fixed dt0"),
    ("dopri5", diffrax.Dopri5, True, "Dormand-Prince 5(4); adaptive or fixed dt0"),
    ("dopri8", diffrax.Dopri8, True, "Dormand-Prince 8(7), for tight tolerances; adaptive or fixed dt0"),
]:
    SOLVERS.register(_name, _text)(_diffrax_solver(_cls, _adaptive))


@SOLVERS.register("gd", "gradient descent x <- x + step * v(x), the discrete scheme GAN training runs")
def _solver_gd(ctx, step: float):
    return {"solver": GradientDescent(step=step)}


@SOLVERS.register("sgd", "optax SGD (optional momentum, nesterov) fed -v as the gradient; one iteration per `step` of time")
def _solver_sgd(ctx, learning_rate: float, momentum: float | None = None, nesterov: bool = False, step: float = 1.0):
    return {"solver": GradientDescent(step=step, optimizer=optax.sgd(learning_rate, momentum, nesterov))}


@SOLVERS.register("adam", "optax Adam fed -v as the gradient; one iteration per `step` of time")
def _solver_adam(ctx, learning_rate: float, b1: float = 0.9, b2: float = 0.999, step: float = 1.0):
    return {"solver": GradientDescent(step=step, optimizer=optax.adam(learning_rate, b1, b2))}


_OPTIMIZERS = {"sgd": optax.sgd, "adam": optax.adam}


@SOLVERS.register("mmd_gan", "MMD GAN game: critic ascent (random features or MLP), then a generator step")
def _solver_mmd_gan(ctx, generator_lr: float = 1e-2, critic_lr: float = 1e-2, optimizer: str = "sgd",
                    critic: str = "random_features", num_features: int = 128, bandwidth="median", width: int = 64,
                    depth: int = 2, n_critic: int = 5, gradient_penalty: float = 1.0, reg: float = 1e-3,
                    step: float = 1.0):
    if optimizer not in _OPTIMIZERS:
        raise ValueError(f"`optimizer` = {optimizer!r} is not valid; valid choices: {', '.join(_OPTIMIZERS)}")
    d, dtype, key = ctx.target_samples.shape[1], ctx.target_samples.dtype, ctx.subkey(5)
    if critic == "random_features":
        made = RandomFeatureCritic(d, num_features, _bandwidth(ctx, bandwidth), key=key, dtype=dtype)
    elif critic == "mlp":
        made = MLPCritic(d, width=width, depth=depth, key=key, dtype=dtype)
    else:
        raise ValueError(f"`critic` = {critic!r} is not valid; valid choices: random_features, mlp")
    opt = _OPTIMIZERS[optimizer]
    return {"solver": MMDGAN(made, opt(generator_lr), opt(critic_lr), n_critic=n_critic,
                             gradient_penalty=gradient_penalty, reg=reg, step=step)}


# ---------------------------------------------------------------- diagnostics


def _need_gaussian(ctx, name):
    if ctx.target.mean is None:
        raise ConfigError(f"diagnostic {name!r} needs a Gaussian target (`target.kind = \"gaussian\"`).")
    return ctx.target.mean, ctx.target.cov


def _need_centres(ctx, centres):
    if centres is None and ctx.target.centres is None:
        raise ConfigError("mode diagnostics need `centres` (the mode centres), or a mixture target that knows them.")
    return ctx.target.centres if centres is None else np.asarray(centres, dtype=float)


@DIAGNOSTICS.register("mmd2", "MMD² to the target under a kernel table (default: the flow's kernel)")
def _diag_mmd2(ctx, kernel=None, unbiased: bool = False):
    k = ctx.kernel if kernel is None else KERNELS.build(ctx, kernel, "diagnostics.mmd2.kernel")
    return diag.MMD2(ctx.target_samples, k, unbiased)


@DIAGNOSTICS.register("mmd2_multiscale", "MMD² under Gaussians at 1/4..4 x the median distance")
def _diag_mmd2_multiscale(ctx, factors=(0.25, 0.5, 1.0, 2.0, 4.0)):
    return diag.MMD2.multiscale(ctx.target_samples, tuple(factors))


@DIAGNOSTICS.register("energy_distance", "energy distance to the target")
def _diag_energy_distance(ctx):
    return diag.EnergyDistance(ctx.target_samples)


@DIAGNOSTICS.register("sinkhorn", "Sinkhorn divergence S_eps (squared Euclidean cost, ott-jax)")
def _diag_sinkhorn(ctx, epsilon: float = 0.1, threshold: float = 1e-3):
    return diag.SinkhornDivergence(ctx.target_samples, epsilon, threshold)


@DIAGNOSTICS.register("w2", "2-Wasserstein distance from the entropic plan at small relative epsilon (ott-jax)")
def _diag_w2(ctx, epsilon: float = 1e-3, max_iterations: int = 5000):
    return diag.Wasserstein2(ctx.target_samples, epsilon, max_iterations)


@DIAGNOSTICS.register("sliced_w2", "sliced 2-Wasserstein distance over random directions (ott-jax)")
def _diag_sliced(ctx, n_projections: int = 100):
    return diag.SlicedWasserstein(ctx.target_samples, n_projections, ctx.subkey(3))


@DIAGNOSTICS.register("gaussian_w2", "closed-form W2 between the particles' Gaussian fit and a Gaussian target")
def _diag_gaussian_w2(ctx):
    return diag.GaussianW2(*_need_gaussian(ctx, "gaussian_w2"))


@DIAGNOSTICS.register("gaussian_kl", "closed-form KL(particles' Gaussian fit || Gaussian target)")
def _diag_gaussian_kl(ctx):
    return diag.GaussianKL(*_need_gaussian(ctx, "gaussian_kl"))


@DIAGNOSTICS.register("gaussian_mmd2", "closed-form MMD² between the particles' Gaussian fit and a Gaussian target")
def _diag_gaussian_mmd2(ctx, kernel=None):
    k = ctx.kernel if kernel is None else KERNELS.build(ctx, kernel, "diagnostics.gaussian_mmd2.kernel")
    return diag.GaussianMMD2(*_need_gaussian(ctx, "gaussian_mmd2"), k)


@DIAGNOSTICS.register("velocity_norm", "RMS speed of the particles")
def _diag_velocity(ctx):
    return diag.VelocityNorm(ctx.flow)


@DIAGNOSTICS.register("relative_dissipation_residual", "|dF/dt + D| / D by autodiff (gradient flows)")
def _diag_relative_residual(ctx):
    return diag.RelativeDissipationResidual(ctx.flow)


@DIAGNOSTICS.register("mode_coverage", "fraction of modes with at least min_share of the particles")
def _diag_mode_coverage(ctx, centres=None, radius: float | None = None, min_share: float | None = None):
    return diag.ModeCoverage(_need_centres(ctx, centres), radius, min_share)


@DIAGNOSTICS.register("mode_mass", "share of the particles at each mode")
def _diag_mode_mass(ctx, centres=None, radius: float | None = None):
    return diag.ModeMass(_need_centres(ctx, centres), radius)
