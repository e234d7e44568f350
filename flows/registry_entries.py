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

from . import diagnostics as diag
from .gradient_descent import GradientDescent
from .kernels import EnergyKernel, GaussianKernel, IMQKernel, LaplaceKernel, SumKernel, median_bandwidth
from .mmd_flow import MMDFlow
from .registry import DIAGNOSTICS, FLOWS, INITIALS, KERNELS, SOLVERS, TARGETS, ConfigError, ResolvedTarget

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
    if not np.allclose(cov, cov.T) or np.linalg.eigvalsh(cov).min() < -1e-12:
        raise ValueError("`cov` must be symmetric positive semi-definite")
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
    return ResolvedTarget(_gaussian_samples(ctx.subkey(0), n, mean, cov), mean=mean, cov=cov)


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
