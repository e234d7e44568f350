r"""Parametric flows: the generator's parameters $\theta$ move, the distribution $q_\theta = G_\theta \# p_z$
follows, on $F(\theta) = \frac12\mathrm{MMD}^2(q_\theta, \nu)$ (Mroueh & Nguyen, AISTATS 2021).

The state `simulate` integrates is the generator's trainable arrays,
`eqx.partition(generator, eqx.is_inexact_array)[0]` (pass the generator itself as `y0`; the flow
keeps its static part). How $F$, $\nabla_\theta F$ and the pull-back metric $\Gamma_\theta$ are
evaluated is the flow's `objective` (`flows.parametric.objectives`): a `SampledObjective` (target
samples, a fixed latent batch, optional fresh latents per discrete step, a kernel-sum backend)
or, for an `AffineGenerator` and a `flows.targets.Gaussian` target, the exact
`PopulationObjective`. The flow chooses it from `target` and only ever calls its interface.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, ArrayLike, Float, PyTree

from .._checks import check_finite
from ..core.flow import AbstractGradientFlow, Diagnostic
from ..core.trajectory import Trajectory
from ..kernels.backends import Backend
from ..kernels.base import AbstractKernel
from ..targets import Gaussian
from .generators import push_forward, trainable_parameters
from .objectives import AbstractParametricObjective, Linearization, PopulationObjective, SampledObjective


class AbstractParametricFlow(AbstractGradientFlow):
    """Shared machinery of the flows on a generator's parameters (see the module docstring).

    **Arguments** (of every parametric flow):
    - `generator`: an equinox module mapping one latent (k,) to one sample (d,) (e.g.
      `AffineGenerator`, `MLPGenerator`); its static part is kept by the flow.
    - `target`: target samples (M, d), or a `flows.targets.Gaussian` for population mode (with an
      `AffineGenerator` and a Gaussian kernel or a sum of them).
    - `kernel`: the kernel $k$.
    - `latents`: the fixed latent batch (m, k) (not in population mode).
    - `fresh_latents`: draw this many fresh latents $z \\sim \\mathcal N(0, I_k)$ per discrete step
      (`flows.GradientDescent`, the GAN games) from the step's key (`simulate(..., key=...)`).
    - `backend`: how every kernel sum is computed (witness gradients, the metric's
      Hessian-vector products, MMD²): `"auto"` (default, exact), `"dense"`, `"blocked"`, ... or a
      backend object such as `flows.kernels.BlockedSums(row_block=...)` or
      `flows.kernels.ShardedSums(...)`. Population mode has no kernel sums: leave it `"auto"`.
    """

    static: PyTree
    objective: AbstractParametricObjective

    def __init__(
        self,
        generator: eqx.Module,
        target: Float[ArrayLike, "M d"] | Gaussian,
        kernel: AbstractKernel,
        *,
        latents: Float[ArrayLike, "m k"] | None = None,
        fresh_latents: int | None = None,
        backend: Backend = "auto",
    ):
        if not isinstance(generator, eqx.Module) or not callable(generator):
            raise ValueError(f"`generator` must be a callable equinox module, got {type(generator).__name__}.")
        params, self.static = trainable_parameters(generator)
        if not jax.tree_util.tree_leaves(params):
            raise ValueError("`generator` has no trainable (floating-point) arrays.")
        if not isinstance(kernel, AbstractKernel):
            raise ValueError(f"`kernel` must be a flows kernel (e.g. GaussianKernel), got {type(kernel).__name__}.")
        if isinstance(target, Gaussian):
            if latents is not None or fresh_latents is not None:
                raise ValueError("population mode (a Gaussian `target`) is exact: pass no `latents` or `fresh_latents`.")
            if not (isinstance(backend, str) and backend == "auto"):
                raise ValueError("population mode (a Gaussian `target`) has no kernel sums: pass no `backend`.")
            self.objective = PopulationObjective(target, kernel)
        else:
            self.objective = SampledObjective(target, kernel, latents, fresh_latents, backend)
        self.objective.check_generator(generator, "the generator")

    # -- what the objective holds ----------------------------------------------------------------

    @property
    def target(self) -> Float[Array, "M d"] | Gaussian:
        """The target: samples (M, d), or the `flows.targets.Gaussian` in population mode."""
        return self.objective.target

    @property
    def kernel(self) -> AbstractKernel:
        return self.objective.kernel

    @property
    def latents(self) -> Float[Array, "m k"] | None:
        """The fixed latent batch (None in population mode)."""
        return self.objective.latents

    # -- the generator and its samples ---------------------------------------------------------

    def check_state(self, y0: PyTree) -> PyTree:
        """Accept the generator itself, or its trainable parameters (e.g. `trajectory.state(i)`);
        return the trainable parameters as JAX arrays."""
        params, _ = trainable_parameters(jax.tree_util.tree_map(lambda a: jnp.asarray(a) if isinstance(a, np.ndarray) else a, y0))
        try:
            generator = eqx.combine(params, self.static)
        except ValueError as error:
            raise ValueError(f"`y0` must be the flow's generator or its trainable parameters: {error}") from None
        check_finite("y0", params)
        self.objective.check_generator(generator, "`y0`")
        return params

    def generator(self, params: PyTree) -> eqx.Module:
        """The generator with trainable parameters `params`."""
        return eqx.combine(params, self.static)

    def samples(self, params: PyTree, latents: Float[ArrayLike, "n k"] | None = None) -> Float[Array, "n d"]:
        """Generated samples $G_\\theta(z)$ at the rows of `latents` (default: the flow's fixed batch)."""
        if latents is None:
            latents = self.latents
            if latents is None:
                raise ValueError("`latents` is required in population mode (the flow holds no latent batch).")
        dtype = jax.tree_util.tree_leaves(params)[0].dtype
        return push_forward(self.generator(params), jnp.asarray(latents, dtype))

    def sample_trajectory(self, trajectory: Trajectory, latents: Float[ArrayLike, "n k"] | None = None) -> Trajectory:
        """The trajectory of generated samples $G_{\\theta(t)}(z)$ at every saved time (states (T, n, d)),
        e.g. for `flows.export.animate_particles`; times, diagnostics and metadata are kept."""
        samples = jax.vmap(lambda p: self.samples(p, latents))(trajectory.ys)
        return Trajectory(
            ts=trajectory.ts, ys=samples, diagnostics=trajectory.diagnostics, stats=trajectory.stats,
            result=trajectory.result, metadata={**trajectory.metadata, "state": "generated samples"},
        )

    def step_latents(self, key: Array | None, dtype) -> Array | None:
        """The latent batch of one discrete step: fresh from `key` with `fresh_latents`, else the
        fixed one (None in population mode)."""
        return self.objective.step_latents(key, dtype)

    # -- F, its gradient and the metric --------------------------------------------------------

    def energy(self, y: PyTree) -> Array:
        """$F(\\theta) = \\frac12\\mathrm{MMD}^2(q_\\theta, \\nu)$ (exact in population mode, else the
        V-statistic on the fixed latent batch)."""
        return 0.5 * self.mmd2(None, y, None)

    def mmd2(self, t, y, args) -> Array:
        """MMD² between the generated distribution and the target, as a diagnostic."""
        return self.objective.mmd2(self.generator, y)

    def linearize(self, params: PyTree, latents: Array | None = None) -> Linearization:
        """$\\nabla_\\theta F$ and the metric $\\Gamma_\\theta$ (and, with samples, $J$, $H$ and
        $\\nabla f$) at `params` for the latent batch `latents` (default the fixed one)."""
        return self.objective.linearize(self.generator, params, latents)

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
        return -optax.tree_utils.tree_vdot(gradient, velocity)

    def diagnostics(self) -> dict[str, Diagnostic]:
        return {"mmd2": self.mmd2, **super().diagnostics()}


