r"""The two ways a parametric flow evaluates its objective: from samples, or exactly.

A parametric flow moves the parameters $\theta$ of a generator $G_\theta$, so that
$q_\theta = G_\theta \# p_z$ ($p_z = \mathcal N(0, I_k)$) approaches the target $\nu$, on

$$F(\theta) = \tfrac12\mathrm{MMD}^2(q_\theta, \nu), \qquad
  \mathrm{MMD}^2(\mu, \nu) = \mathbb{E}k(x, x') + \mathbb{E}k(y, y') - 2\,\mathbb{E}k(x, y).$$

It needs $F$, $\nabla_\theta F$ and the pull-back of the RKHS metric to parameter space (Mroueh &
Nguyen, AISTATS 2021),
$\Gamma_\theta = \langle \partial_\theta \mu_\theta, \partial_\theta \mu_\theta\rangle_{\mathcal H}$. An objective
gives all three (`linearize`):

- `SampledObjective` (target samples $y_1..y_M$, latents $z_1..z_m$): with $x_a = G_\theta(z_a)$,
  $J_a = \partial x_a/\partial\theta$ and the witness $f(z) = \frac1m\sum_b k(x_b, z) - \frac1M\sum_j k(y_j, z)$,
  the V-statistic $F$ has the witness-gradient form
  $$\nabla_\theta F = \tfrac1m\textstyle\sum_a J_a^\top \nabla f(x_a), \qquad
    \Gamma_\theta v = \tfrac1{m^2}\textstyle\sum_{a,b} J_a^\top \nabla_x\nabla_y k(x_a, x_b)\, J_b v,$$
  both through one linearization of $\theta \mapsto (G_\theta(z_a))_a$ (`jax.linearize`, transposed with
  `jax.linear_transpose`), matrix-free: $\Gamma_\theta v = J^\top[\frac1{m^2} H (J v)]$ with
  $(Hu)_a = \sum_b \nabla_x\nabla_y k(x_a, x_b)\, u_b$. Every kernel sum runs on the objective's
  `backend` (`flows.kernels`). A fixed batch `latents` defines the ODE's objective and every
  diagnostic; with `fresh_latents=n` each discrete step draws n fresh latents from its key.
- `PopulationObjective` (an `AffineGenerator` $G(z) = Az + b$, so $q_\theta = \mathcal N(b, AA^\top)$;
  a `flows.targets.Gaussian` target; a Gaussian kernel or a sum of them): $F$ is exact, by the
  closed form for $Z \sim \mathcal N(m, S)$ ($S$ may be singular)
  $\mathbb{E}\,e^{-\|Z\|^2/(2\sigma^2)} = \det(I + S/\sigma^2)^{-1/2}\exp(-\frac12 m^\top(S + \sigma^2 I)^{-1}m)$
  applied to $X - X' \sim \mathcal N(0, 2S_1)$ and $X - Y \sim \mathcal N(m_1 - m_2, S_1 + S_2)$
  (`flows.discrepancies.gaussian_mmd2`); $\nabla F$ is its autodiff gradient and
  $\Gamma_\theta = \partial_{\theta_1}\partial_{\theta_2}\langle\mu_{\theta_1}, \mu_{\theta_2}\rangle_{\mathcal H}
   = -\tfrac12\,\partial_{\theta_1}\partial_{\theta_2}\mathrm{MMD}^2(\mu_{\theta_1}, \mu_{\theta_2})$ at
  $\theta_1 = \theta_2 = \theta$ (the cross term is the only one that depends on both): no sampling
  error at all.

The objectives receive the generator as `build`, the map from trainable parameters to the
generator module (the flow keeps the static part).
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import NamedTuple

import equinox as eqx
import jax
import optax
from jaxtyping import Array, ArrayLike, Float, PyTree

from .._checks import check_points, check_positive_int
from ..discrepancies.gaussian import gaussian_mmd2
from ..discrepancies.mmd import mmd2_unchecked, witness_grad_unchecked
from ..kernels.backends import AbstractSumBackend, Backend, resolve_backend
from ..kernels.base import AbstractKernel
from ..kernels.sums import kernel_hessian_sum
from ..targets import Gaussian
from .generators import AffineGenerator, push_forward

Build = Callable[[PyTree], eqx.Module]
"""The generator with the given trainable parameters."""


class Linearization(NamedTuple):
    """The objective around $\\theta$ for one latent batch (module docstring).

    `gradient` is $\\nabla_\\theta F$ and `metric` applies $\\Gamma_\\theta$ to a parameter pytree. A
    `SampledObjective` also gives the samples `x` (m, d), `jvp` ($v \\mapsto Jv$, (m, d)), `vjp`
    ($w \\mapsto J^\\top w$), `hessian` ($u \\mapsto Hu$) and `witness_grad` $= \\nabla f(x_a)$ (m, d); a
    `PopulationObjective` leaves them None."""

    gradient: PyTree
    metric: Callable[[PyTree], PyTree]
    x: Array | None = None
    jvp: Callable[[PyTree], Array] | None = None
    vjp: Callable[[Array], PyTree] | None = None
    hessian: Callable[[Array], Array] | None = None
    witness_grad: Array | None = None


def _dtype(params: PyTree):
    return jax.tree_util.tree_leaves(params)[0].dtype


class AbstractParametricObjective(eqx.Module):
    """$F(\\theta) = \\frac12\\mathrm{MMD}^2(q_\\theta, \\nu)$, $\\nabla F$ and $\\Gamma_\\theta$ (module docstring).

    Capabilities only one objective has are methods here that raise a clear `ValueError`
    (`target_samples`, `check_sampled`), overridden where they exist."""

    target: eqx.AbstractVar[Float[Array, "M d"] | Gaussian]
    kernel: eqx.AbstractVar[AbstractKernel]
    latents: eqx.AbstractVar[Float[Array, "m k"] | None]

    @abc.abstractmethod
    def check_generator(self, generator: eqx.Module, name: str) -> None:
        """Raise `ValueError` (naming the generator `name`) unless `generator` fits this objective."""

    @abc.abstractmethod
    def mmd2(self, build: Build, params: PyTree) -> Array:
        """$\\mathrm{MMD}^2(q_\\theta, \\nu)$ at `params`."""

    @abc.abstractmethod
    def linearize(self, build: Build, params: PyTree, latents: Array | None = None) -> Linearization:
        """$\\nabla_\\theta F$ and $\\Gamma_\\theta$ at `params` for the latent batch `latents` (default the fixed one)."""

    @abc.abstractmethod
    def step_latents(self, key: Array | None, dtype) -> Array | None:
        """The latent batch of one discrete step."""

    def target_samples(self, dtype) -> Float[Array, "M d"]:
        """The target samples (M, d) in `dtype`."""
        raise ValueError(
            "population mode (a flows.targets.Gaussian `target`) has no target samples: "
            "pass samples, e.g. ParametricMMDFlow(generator, target.sample(key, M), kernel, latents=z)."
        )

    def check_sampled(self, purpose: str) -> None:
        """Raise `ValueError` saying `purpose` needs samples, unless this objective has them."""
        raise ValueError(f"population mode (a flows.targets.Gaussian `target`) has no samples: {purpose}.")


class SampledObjective(AbstractParametricObjective):
    r"""$F$ as the V-statistic between generated samples $G_\theta(z_a)$ and target samples (module docstring).

    **Arguments:**
    - `target`: target samples (M, d).
    - `kernel`: the kernel $k$.
    - `latents`: the fixed latent batch (m, k).
    - `fresh_latents`: draw this many fresh latents per discrete step (None: the fixed batch).
    - `backend`: how kernel sums are computed (`flows.kernels`; default `"auto"`, exact).
    """

    target: Float[Array, "M d"]
    kernel: AbstractKernel
    latents: Float[Array, "m k"]
    backend: AbstractSumBackend
    fresh_latents: int | None = eqx.field(static=True)

    def __init__(
        self,
        target: Float[ArrayLike, "M d"],
        kernel: AbstractKernel,
        latents: Float[ArrayLike, "m k"] | None,
        fresh_latents: int | None = None,
        backend: Backend = "auto",
    ):
        self.target = check_points("target", target)
        if latents is None:
            raise ValueError("`latents` (a fixed latent batch, shape (m, k)) is required with target samples.")
        self.latents = check_points("latents", latents)
        self.fresh_latents = None if fresh_latents is None else check_positive_int("fresh_latents", fresh_latents)
        self.kernel = kernel
        self.backend = resolve_backend(backend)

    def check_generator(self, generator, name):
        k, dim = self.latents.shape[1], self.target.shape[1]
        try:
            out = jax.eval_shape(generator, jax.ShapeDtypeStruct((k,), self.latents.dtype))
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name} cannot be applied to `latents` of shape {self.latents.shape}: {error}") from None
        if out.shape != (dim,):
            raise ValueError(
                f"{name} maps a latent of shape ({k},) to shape {out.shape}, but `target` has dimension {dim}."
            )

    def mmd2(self, build, params):
        x = push_forward(build(params), self.latents.astype(_dtype(params)))
        return mmd2_unchecked(x, self.target.astype(x.dtype), self.kernel, backend=self.backend)

    def linearize(self, build, params, latents=None):
        dtype = _dtype(params)
        z = (self.latents if latents is None else latents).astype(dtype)
        m = z.shape[0]
        x, jvp = jax.linearize(lambda p: push_forward(build(p), z), params)
        transpose = jax.linear_transpose(jvp, params)
        vjp = lambda w: transpose(w)[0]
        grad_f = witness_grad_unchecked(x, x, self.target.astype(dtype), self.kernel, self.backend)
        hessian = lambda u: kernel_hessian_sum(self.kernel, x, x, u, backend=self.backend)
        metric = lambda v: vjp(hessian(jvp(v)) / m**2)
        return Linearization(vjp(grad_f / m), metric, x, jvp, vjp, hessian, grad_f)

    def step_latents(self, key, dtype):
        """Fresh latents from `key` with `fresh_latents`, else the fixed batch."""
        if self.fresh_latents is None:
            return self.latents.astype(dtype)
        if key is None:
            raise ValueError(
                "`key` is required: this flow draws fresh latents every step (fresh_latents="
                f"{self.fresh_latents}); pass simulate(..., key=jax.random.PRNGKey(0))."
            )
        return jax.random.normal(key, (self.fresh_latents, self.latents.shape[1]), dtype)

    def target_samples(self, dtype):
        return self.target.astype(dtype)

    def check_sampled(self, purpose):
        """Nothing to check: this objective has samples."""


class PopulationObjective(AbstractParametricObjective):
    r"""$F$ exactly, for an `AffineGenerator` ($q_\theta = \mathcal N(b, AA^\top)$) and a Gaussian target
    under a Gaussian kernel or a sum of them (module docstring). No latents, no kernel sums.

    **Arguments:**
    - `target`: the `flows.targets.Gaussian` $\nu$ (its covariance may be singular).
    - `kernel`: a `GaussianKernel` or a `SumKernel` of them.
    """

    target: Gaussian
    kernel: AbstractKernel

    def __init__(self, target: Gaussian, kernel: AbstractKernel):
        if not isinstance(target, Gaussian):
            raise ValueError(f"`target` must be a flows.targets.Gaussian, got {type(target).__name__}.")
        gaussian_mmd2(target.mean, target.covariance, target.mean, target.covariance, kernel)  # checks `kernel`
        self.target, self.kernel = target, kernel

    @property
    def latents(self) -> None:
        """None: the population objective needs no latents."""
        return None

    def check_generator(self, generator, name):
        if not isinstance(generator, AffineGenerator):
            raise ValueError(
                f"population mode (a flows.targets.Gaussian `target`) needs an AffineGenerator, but {name} is a "
                f"{type(generator).__name__}."
            )
        if generator.offset.shape != self.target.mean.shape:
            raise ValueError(f"`target` has dimension {self.target.dim} but {name} has {generator.offset.shape[0]}.")

    def _between(self, first: AffineGenerator, second: AffineGenerator) -> Array:
        return gaussian_mmd2(first.offset, first.covariance, second.offset, second.covariance, self.kernel)

    def mmd2(self, build, params):
        generator = build(params)
        return gaussian_mmd2(generator.offset, generator.covariance, self.target.mean, self.target.covariance, self.kernel)

    def linearize(self, build, params, latents=None):
        gradient = jax.grad(lambda p: 0.5 * self.mmd2(build, p))(params)

        def metric(v):
            cross = lambda p1: jax.jvp(lambda p2: self._between(build(p1), build(p2)), (params,), (v,))[1]
            return optax.tree_utils.tree_scale(-0.5, jax.grad(cross)(params))

        return Linearization(gradient=gradient, metric=metric)

    def step_latents(self, key, dtype):
        """None: every step is exact."""
