r"""Parametric flows: the generator's parameters $\theta$ move, the distribution $q_\theta = G_\theta \# p_z$
follows (`MATH.md` section 5).

The state `simulate` integrates is the generator's trainable arrays,
`eqx.partition(generator, eqx.is_inexact_array)[0]` (pass the generator itself as `y0`; the flow
keeps its static part). With latents $z_1..z_m$ and $x_a = G_\theta(z_a)$, $J_a = \partial x_a/\partial\theta$,
$F(\theta) = \frac12\mathrm{MMD}^2(q_\theta, \nu)$ (V-statistic) has the witness-gradient form

$$\nabla_\theta F = \tfrac1m\textstyle\sum_a J_a^\top \nabla f(x_a),$$

computed with one linearization of $\theta \mapsto (G_\theta(z_a))_a$ (`jax.linearize`, transposed
with `jax.linear_transpose`). The pull-back metric of the RKHS (the PKGF's $\Gamma_\theta$) is applied
matrix-free: $\Gamma_\theta v = J^\top \big[\tfrac1{m^2} H (J v)\big]$ with
$(Hu)_a = \sum_b \nabla_x\nabla_y k(x_a, x_b)\, u_b$ (`flows.kernel_hessian_sum`).

**Population mode.** With an `AffineGenerator` ($q_\theta = \mathcal N(b, AA^\top)$), a
`GaussianTarget` and a Gaussian kernel (or a sum of them), $F$ is the exact closed form of
`MATH.md` section 2, $\nabla F$ is its autodiff gradient, and
$\Gamma_\theta = \partial_{\theta_1}\partial_{\theta_2}\langle\mu_{\theta_1}, \mu_{\theta_2}\rangle_{\mathcal H}
 = -\tfrac12\,\partial_{\theta_1}\partial_{\theta_2}\mathrm{MMD}^2(\mu_{\theta_1}, \mu_{\theta_2})$:
no sampling error at all.

**Latents.** A fixed batch `latents` (m, k) defines the ODE's objective and every diagnostic.
With `fresh_latents=n`, each discrete step (`flows.GradientDescent`, the GAN game) draws n fresh
latents $z \sim \mathcal N(0, I_k)$ from the step's key (`simulate(..., key=...)`); without a key it
raises `ValueError`.
"""

from __future__ import annotations

import abc
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, ArrayLike, Float, PyTree

from .._checks import check_finite, check_points
from .._trees import tree_dot
from ..core.flow import AbstractGradientFlow, Diagnostic
from ..core.trajectory import Trajectory
from ..discrepancies.gaussian import gaussian_mmd2
from ..discrepancies.mmd import mmd2_unchecked, witness_grad_unchecked
from ..kernels.base import AbstractKernel
from ..kernels.sums import kernel_hessian_sum
from ..targets import GaussianTarget
from .generators import AffineGenerator, push_forward, trainable_parameters


class Linearization(NamedTuple):
    """The parametric model around $\\theta$ for one latent batch (see the module docstring).

    `metric` applies $\\Gamma_\\theta$ to a parameter pytree. Sample mode also gives the samples
    `x` (m, d), `jvp` ($v \\mapsto Jv$, (m, d)), `vjp` ($w \\mapsto J^\\top w$), `hessian`
    ($u \\mapsto Hu$) and `witness_grad` $= \\nabla f(x_a)$ (m, d); population mode leaves them None."""

    gradient: PyTree
    metric: object
    x: Array | None = None
    jvp: object = None
    vjp: object = None
    hessian: object = None
    witness_grad: Array | None = None


class AbstractParametricFlow(AbstractGradientFlow):
    """Shared machinery of the flows on a generator's parameters (see the module docstring)."""

    static: PyTree
    target: Float[Array, "M d"] | GaussianTarget
    kernel: AbstractKernel
    latents: Float[Array, "m k"] | None
    fresh_latents: int | None = eqx.field(static=True)

    def __init__(
        self,
        generator: eqx.Module,
        target: Float[ArrayLike, "M d"] | GaussianTarget,
        kernel: AbstractKernel,
        *,
        latents: Float[ArrayLike, "m k"] | None = None,
        fresh_latents: int | None = None,
    ):
        if not isinstance(generator, eqx.Module) or not callable(generator):
            raise ValueError(f"`generator` must be a callable equinox module, got {type(generator).__name__}.")
        params, self.static = trainable_parameters(generator)
        if not jax.tree_util.tree_leaves(params):
            raise ValueError("`generator` has no trainable (floating-point) arrays.")
        if not isinstance(kernel, AbstractKernel):
            raise ValueError(f"`kernel` must be a flows kernel (e.g. GaussianKernel), got {type(kernel).__name__}.")
        self.kernel = kernel
        if fresh_latents is not None and (not isinstance(fresh_latents, int) or fresh_latents < 1):
            raise ValueError(f"`fresh_latents` must be a positive integer or None, got {fresh_latents!r}.")
        self.fresh_latents = fresh_latents
        if isinstance(target, GaussianTarget):
            if not isinstance(generator, AffineGenerator):
                raise ValueError(
                    f"population mode (a GaussianTarget `target`) needs an AffineGenerator, got {type(generator).__name__}."
                )
            if latents is not None or fresh_latents is not None:
                raise ValueError("population mode (a GaussianTarget `target`) is exact: pass no `latents` or `fresh_latents`.")
            if generator.offset.shape != target.mean.shape:
                raise ValueError(f"`target` has dimension {target.dim} but the generator's is {generator.offset.shape[0]}.")
            gaussian_mmd2(generator.offset, generator.covariance, target.mean, target.cov, kernel)  # checks `kernel`
            self.target, self.latents = target, None
            return
        self.target = check_points("target", target)
        if latents is None:
            raise ValueError("`latents` (a fixed latent batch, shape (m, k)) is required with target samples.")
        self.latents = check_points("latents", latents)
        try:
            out = jax.eval_shape(generator, jax.ShapeDtypeStruct(self.latents.shape[1:], self.latents.dtype))
        except (TypeError, ValueError) as error:
            raise ValueError(f"the generator cannot be applied to `latents` of shape {self.latents.shape}: {error}") from None
        if out.shape != (self.target.shape[1],):
            raise ValueError(
                f"the generator maps a latent of shape {self.latents.shape[1:]} to shape {out.shape}, "
                f"but `target` has dimension {self.target.shape[1]}."
            )

    # -- the generator and its samples ---------------------------------------------------------

    @property
    def population(self) -> bool:
        """True in population mode (exact Gaussian closed forms, no latents)."""
        return isinstance(self.target, GaussianTarget)

    def check_state(self, y0: PyTree) -> PyTree:
        """Accept the generator itself, or its trainable parameters (e.g. `trajectory.state(i)`);
        return the trainable parameters as JAX arrays."""
        params, _ = trainable_parameters(jax.tree_util.tree_map(lambda a: jnp.asarray(a) if isinstance(a, np.ndarray) else a, y0))
        try:
            generator = eqx.combine(params, self.static)
        except ValueError as error:
            raise ValueError(f"`y0` must be the flow's generator or its trainable parameters: {error}") from None
        check_finite("y0", params)
        dim = self.target.dim if self.population else self.target.shape[1]
        k = generator.latent_dim if self.population else self.latents.shape[1]
        try:
            out = jax.eval_shape(generator, jax.ShapeDtypeStruct((k,), jax.tree_util.tree_leaves(params)[0].dtype))
        except (TypeError, ValueError) as error:
            raise ValueError(f"`y0` cannot be applied to latents of dimension {k}: {error}") from None
        if out.shape != (dim,):
            raise ValueError(f"`y0` generates samples of shape {out.shape}, expected ({dim},).")
        return params

    def generator(self, params: PyTree) -> eqx.Module:
        """The generator with trainable parameters `params`."""
        return eqx.combine(params, self.static)

    def samples(self, params: PyTree, latents: Float[ArrayLike, "n k"] | None = None) -> Float[Array, "n d"]:
        """Generated samples $G_\\theta(z)$ at the rows of `latents` (default: the flow's fixed batch)."""
        if latents is None:
            if self.latents is None:
                raise ValueError("`latents` is required in population mode (the flow holds no latent batch).")
            latents = self.latents
        dtype = jax.tree_util.tree_leaves(params)[0].dtype
        return push_forward(self.generator(params), jnp.asarray(latents, dtype))

    def sample_trajectory(self, trajectory: Trajectory, latents: Float[ArrayLike, "n k"] | None = None) -> Trajectory:
        """The trajectory of generated samples $G_{\\theta(t)}(z)$ at every saved time (states (T, n, d)),
        e.g. for `flows.animate_particles`; times, diagnostics and metadata are kept."""
        samples = jax.vmap(lambda p: self.samples(p, latents))(trajectory.ys)
        return Trajectory(
            ts=trajectory.ts, ys=samples, diagnostics=trajectory.diagnostics, stats=trajectory.stats,
            result=trajectory.result, metadata={**trajectory.metadata, "state": "generated samples"},
        )

    def step_latents(self, key: Array | None, dtype) -> Array | None:
        """The latent batch of one discrete step: fresh from `key` with `fresh_latents`, else the fixed one."""
        if self.fresh_latents is None:
            return None if self.latents is None else self.latents.astype(dtype)
        if key is None:
            raise ValueError(
                "`key` is required: this flow draws fresh latents every step (fresh_latents="
                f"{self.fresh_latents}); pass simulate(..., key=jax.random.PRNGKey(0))."
            )
        return jax.random.normal(key, (self.fresh_latents, self.latents.shape[1]), dtype)

    # -- F, its gradient and the metric --------------------------------------------------------

    def _target_points(self, dtype) -> Array:
        return self.target.astype(dtype)

    def energy(self, y: PyTree) -> Array:
        """$F(\\theta) = \\frac12\\mathrm{MMD}^2(q_\\theta, \\nu)$ (exact in population mode, else the
        V-statistic on the fixed latent batch)."""
        return 0.5 * self.mmd2(None, y, None)

    def mmd2(self, t, y, args) -> Array:
        """MMD² between the generated distribution and the target, as a diagnostic."""
        if self.population:
            generator = self.generator(y)
            return gaussian_mmd2(generator.offset, generator.covariance, self.target.mean, self.target.cov, self.kernel)
        x = self.samples(y)
        return mmd2_unchecked(x, self._target_points(x.dtype), self.kernel)

    def linearize(self, params: PyTree, latents: Array | None = None) -> Linearization:
        """$\\nabla_\\theta F$ and the metric $\\Gamma_\\theta$ (and, with samples, $J$, $H$ and
        $\\nabla f$) at `params` for the latent batch `latents` (default the fixed one)."""
        if self.population:
            return Linearization(gradient=jax.grad(self.energy)(params), metric=self._population_metric(params))
        dtype = jax.tree_util.tree_leaves(params)[0].dtype
        z = (self.latents if latents is None else latents).astype(dtype)
        m = z.shape[0]
        x, jvp = jax.linearize(lambda p: push_forward(self.generator(p), z), params)
        transpose = jax.linear_transpose(jvp, params)
        vjp = lambda w: transpose(w)[0]
        grad_f = witness_grad_unchecked(x, x, self._target_points(dtype), self.kernel)
        hessian = lambda u: kernel_hessian_sum(self.kernel, x, x, u)
        metric = lambda v: vjp(hessian(jvp(v)) / m**2)
        return Linearization(vjp(grad_f / m), metric, x, jvp, vjp, hessian, grad_f)

    def _population_metric(self, params: PyTree):
        """$v \\mapsto \\Gamma_\\theta v$ from the closed form (module docstring)."""

        def mmd2_between(p1, p2):
            g1, g2 = self.generator(p1), self.generator(p2)
            return gaussian_mmd2(g1.offset, g1.covariance, g2.offset, g2.covariance, self.kernel)

        def metric(v):
            directional = lambda p1: jax.jvp(lambda p2: mmd2_between(p1, p2), (params,), (v,))[1]
            return jax.tree_util.tree_map(lambda g: -0.5 * g, jax.grad(directional)(params))

        return metric

    def dense_metric(self, t, y, args) -> Float[Array, "p p"]:
        """$\\Gamma_\\theta$ as a dense (p, p) matrix over the flattened parameters (small models only)."""
        flat, unravel = ravel_pytree(y)
        metric = self.linearize(y).metric
        columns = jax.vmap(lambda e: ravel_pytree(metric(unravel(e)))[0])(jnp.eye(flat.size, dtype=flat.dtype))
        return 0.5 * (columns + columns.T)

    def metric_min_eigenvalue(self, t, y, args) -> Array:
        """The smallest eigenvalue of $\\Gamma_\\theta$ (dense: small models only), as a diagnostic."""
        return jnp.linalg.eigvalsh(self.dense_metric(t, y, args))[0]

    # -- the flow ------------------------------------------------------------------------------

    @abc.abstractmethod
    def velocity(self, params: PyTree, latents: Array | None = None) -> tuple[PyTree, PyTree]:
        """(velocity $\\dot\\theta$, gradient $\\nabla_\\theta F$) for the latent batch `latents`."""

    def drift(self, t, y, args):
        return self.velocity(y)[0]

    def discrete_drift(self, t, y, args, key):
        return self.velocity(y, self.step_latents(key, jax.tree_util.tree_leaves(y)[0].dtype))[0]

    def dissipation(self, t, y, args):
        """$-\\langle\\nabla_\\theta F, \\dot\\theta\\rangle$, the rate at which $F$ falls."""
        velocity, gradient = self.velocity(y)
        return -tree_dot(gradient, velocity)

    def diagnostics(self) -> dict[str, Diagnostic]:
        return {"mmd2": self.mmd2, **super().diagnostics()}


