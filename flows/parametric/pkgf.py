r"""The parametric kernelized gradient flow (PKGF; Mroueh & Nguyen, AISTATS 2021).

$$\dot\theta = -(\Gamma_\theta + \lambda I)^{-1}\nabla_\theta F(\theta), \qquad
  \Gamma_\theta = \tfrac1{m^2}\textstyle\sum_{a,b} J_a^\top \nabla_x\nabla_y k(x_a, x_b)\, J_b,$$

with $F = \frac12\mathrm{MMD}^2(q_\theta, \nu)$, $x_a = G_\theta(z_a)$ and $J_a = \partial x_a/\partial\theta$:
$\Gamma_\theta = \langle\partial_\theta\mu_\theta, \partial_\theta\mu_\theta\rangle_{\mathcal H}$ is the pull-back of
the RKHS metric to parameter space, regularized by $\lambda$. The paper's abstract states the flow
and its claims; the metric above, the critic form and the convergence constant below are our
reconstruction from it, checked numerically (against an independent NumPy PKGF, against
Gauss-Hermite quadrature of the population metric, and by the convergence bound) in
`tests/parametric/test_flows.py` (`test_three_solves_agree_with_numpy_reference`,
`test_population_metric_matches_gauss_hermite_quadrature`,
`test_population_pkgf_converges_at_rate_at_least_two_alpha`).

In function space $\dot\mu = -P_\lambda(\mu - \nu)$ with $P_\lambda = A(A^*A + \lambda)^{-1}A^*$, a
regularized projection on the model's tangent space ($A^*f = \nabla_\theta F$, $A^*A = \Gamma_\theta$):
Levenberg-Marquardt in the RKHS, and the generator step of a min-max game whose critic
maximizes $\mathbb{E}_\nu u - \mathbb{E}_q u - \frac12\|A_\theta u\|^2 - \frac\lambda2\|u\|^2_{\mathcal H}$,
$A_\theta u = \mathbb{E}_z J_\theta(z)^\top\nabla u(G_\theta(z))$ (a penalty on the critic's parameter
gradient), with $\dot\theta = A_\theta u$. It is a descent direction:
$\frac{dF}{dt} = -\nabla F^\top(\Gamma + \lambda)^{-1}\nabla F \le 0$, and
$\alpha(t) = \nabla F^\top(\Gamma + \lambda)^{-1}\nabla F / \mathrm{MMD}^2(\theta_t)$ gives
$\frac{dF}{dt} = -2\alpha(t)F$: if $\alpha(t) \ge \alpha_0 > 0$ then $\mathrm{MMD}^2(\theta_t) \le
e^{-2\alpha_0 t}\mathrm{MMD}^2(\theta_0)$ (the convergence condition; `alpha` is a diagnostic).

Three solves of the same linear system (they agree to solver precision):
- `"dense"`: $\Gamma_\theta$ as a (p, p) matrix, Cholesky solve; small parameter counts.
- `"pushthrough"`: $(\Gamma + \lambda)^{-1}J^\top g = J^\top(\tfrac1{m^2}HJJ^\top + \lambda)^{-1}g$, an
  (md, md) dense solve; for many parameters and few samples.
- `"cg"`: conjugate gradient (`lineax.CG`) on $v \mapsto \Gamma v + \lambda v$ with Jacobian-vector
  products; never forms a matrix, for large generators.

`penalty="x"` is the variant whose critic carries the x-space gradient penalty
$\frac12\mathbb{E}_q\|\nabla_x u\|^2$ instead: the kernel Sobolev critic (Mroueh et al., AISTATS 2019;
Arbel et al., NeurIPS 2018) that maximizes
$\mathbb{E}_\nu u - \mathbb{E}_q u - \frac12(\mathbb{E}_q\|\nabla u\|^2 + \lambda\|u\|^2_{\mathcal H})$, i.e.
$u = (D_q + \lambda)^{-1}\eta$ with $\eta = \varphi_\nu - \varphi_q$ the difference of mean embeddings and
$D_q = \mathbb{E}_q\sum_j \partial_j k(x, \cdot)\otimes\partial_j k(x, \cdot)$, pulled back through $G$:
$\dot\theta = \mathbb{E}_z J^\top\nabla u(G(z))$. By Woodbury,
$u(z) = \frac1\lambda[\eta(z) - \sum_{a,j}\beta_{aj}\,\partial_{x_j}k(x_a, z)]$ with
$(H + m\lambda)\beta = \nabla\eta(x)$ ($H$ the (md, md) matrix of $\nabla_x\nabla_y k(x_a, x_b)$); with
$\eta = -f$ one gets $\nabla u(x_a) = m\beta_a$ for $(H + m\lambda)\beta = -\nabla f(x)$, so
$\dot\theta = J^\top\beta$: the PKGF with $JJ^\top/m$ replaced by the identity. This is our
derivation; `test_x_penalty_variant_is_the_pulled_back_sobolev_critic` checks it against the
critic built independently and differentiated by autodiff.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, ArrayLike, Float, PyTree

from .._checks import check_choice, check_positive, check_positive_int
from ..core.convergence import conjugate_gradient
from ..core.flow import Diagnostic
from ..kernels.backends import Backend
from ..kernels.base import AbstractKernel
from ..targets import Gaussian
from .base import AbstractParametricFlow
from .objectives import Linearization

_SOLVES = ("dense", "pushthrough", "cg")
_PENALTIES = ("parameter", "x")


class PKGF(AbstractParametricFlow):
    r"""Parametric kernelized gradient flow $\dot\theta = -(\Gamma_\theta + \lambda I)^{-1}\nabla_\theta F$
    (see the module docstring).

    **Arguments:** as `ParametricMMDFlow` (`generator`, `target`, `kernel`, `latents`,
    `fresh_latents`, `backend`: every kernel sum, the metric's Hessian-vector products included), and
    - `reg`: $\lambda > 0$.
    - `solve`: `"dense"`, `"pushthrough"` (sample mode only) or `"cg"`.
    - `penalty`: `"parameter"` (the PKGF) or `"x"` (x-space penalized critic; sample mode,
      `solve` `"dense"` or `"cg"`).
    - `cg_rtol`, `cg_atol`, `cg_max_steps`: conjugate-gradient tolerances and step cap (default
      10 × the system size), on lineax's entrywise rule for the scaled system
      (`flows.core.convergence.conjugate_gradient`). Defaults: 1e-8 and 1e-12 in float64; in
      float32, where that rule cannot be met, $\|r\|_\infty \le 10^{-5}\|b\|_\infty$ relative to
      the largest entry. A solve that stops unconverged makes the velocity NaN with a warning
      naming `cg_max_steps`, `cg_rtol`, `cg_atol` and the dtype, and `simulate` stops there.

    **Diagnostics:** `mmd2`, `energy`, `dissipation` ($\nabla F^\top(\Gamma+\lambda)^{-1}\nabla F$),
    `alpha`; with `solve="dense"` also `metric_min_eigenvalue` ($\lambda_{\min}(\Gamma_\theta)$);
    `dissipation_residual` when asked for.
    """

    reg: Float[Array, ""]
    solve: str = eqx.field(static=True)
    penalty: str = eqx.field(static=True)
    cg_rtol: float | None = eqx.field(static=True)
    cg_atol: float | None = eqx.field(static=True)
    cg_max_steps: int | None = eqx.field(static=True)

    def __init__(
        self,
        generator: eqx.Module,
        target: Float[ArrayLike, "M d"] | Gaussian,
        kernel: AbstractKernel,
        *,
        reg: float = 1e-3,
        solve: str = "cg",
        penalty: str = "parameter",
        latents: Float[ArrayLike, "m k"] | None = None,
        fresh_latents: int | None = None,
        cg_rtol: float | None = None,
        cg_atol: float | None = None,
        cg_max_steps: int | None = None,
        backend: Backend = "auto",
    ):
        super().__init__(generator, target, kernel, latents=latents, fresh_latents=fresh_latents, backend=backend)
        check_positive("reg", reg)
        check_choice("solve", solve, _SOLVES)
        check_choice("penalty", penalty, _PENALTIES)
        if solve == "pushthrough" or penalty == "x":
            self.objective.check_sampled("use `solve` 'dense' or 'cg' with `penalty` 'parameter'")
        if penalty == "x" and solve == "pushthrough":
            raise ValueError("`solve` must be 'dense' or 'cg' with `penalty='x'` (its system is already (md, md)).")
        for name, value in (("cg_rtol", cg_rtol), ("cg_atol", cg_atol)):
            if value is not None:
                check_positive(name, value)
        if cg_max_steps is not None:
            check_positive_int("cg_max_steps", cg_max_steps)
        self.reg = jnp.asarray(reg)
        self.solve, self.penalty = solve, penalty
        self.cg_rtol = None if cg_rtol is None else float(cg_rtol)
        self.cg_atol = None if cg_atol is None else float(cg_atol)
        self.cg_max_steps = cg_max_steps

    def _cg(self, matvec, rhs: PyTree, shift: Array) -> PyTree:
        """Solve `matvec(v) + shift * v = rhs` (matvec positive semi-definite) by conjugate gradient
        with the flow's tolerances (see `cg_rtol`); NaN, with a warning, if it does not converge."""
        dtype = jax.tree_util.tree_leaves(rhs)[0].dtype
        defaults = self.cg_rtol is None and self.cg_atol is None and dtype != jnp.float64
        rtol = (1e-5 if defaults else 1e-8) if self.cg_rtol is None else self.cg_rtol
        atol = (0.0 if defaults else 1e-12) if self.cg_atol is None else self.cg_atol
        message = (
            f"PKGF: conjugate gradient did not converge within `cg_max_steps` = {self.cg_max_steps} "
            f"(None: 10 x the system size) to `cg_rtol` = {rtol:g}, `cg_atol` = {atol:g} in {dtype}; the velocity "
            "is NaN. Raise `cg_max_steps`, loosen `cg_rtol` / `cg_atol`, or run in float64."
        )
        return conjugate_gradient(matvec, rhs, shift, rtol=rtol, atol=atol, max_steps=self.cg_max_steps,
                                  message=message, normwise=defaults)

    def _parameter_direction(self, lin: Linearization, params: PyTree) -> PyTree:
        """$(\\Gamma + \\lambda)^{-1}\\nabla F$ by the chosen solve."""
        reg = self.reg.astype(jax.tree_util.tree_leaves(params)[0].dtype)
        if self.solve == "cg":
            return self._cg(lin.metric, lin.gradient, reg)
        if self.solve == "dense":
            flat_grad, unravel = ravel_pytree(lin.gradient)
            eye = jnp.eye(flat_grad.size, dtype=flat_grad.dtype)
            gamma = jax.vmap(lambda e: ravel_pytree(lin.metric(unravel(e)))[0])(eye)
            chol = jax.scipy.linalg.cho_factor(0.5 * (gamma + gamma.T) + reg * eye)
            return unravel(jax.scipy.linalg.cho_solve(chol, flat_grad))
        # push-through: (Gamma + reg)^{-1} J^T g = J^T (H J J^T / m^2 + reg)^{-1} g, g = grad f / m
        m, d = lin.x.shape
        rhs = lin.witness_grad / m
        basis = jnp.eye(m * d, dtype=rhs.dtype).reshape(m * d, m, d)
        columns = jax.vmap(lambda w: (lin.hessian(lin.jvp(lin.vjp(w))) / m**2 + reg * w).reshape(-1))(basis)
        coefficients = jnp.linalg.solve(columns.T, rhs.reshape(-1)).reshape(m, d)
        return lin.vjp(coefficients)

    def _x_penalty_direction(self, lin: Linearization, params: PyTree) -> PyTree:
        """$-J^\\top\\beta$ with $(H + m\\lambda)\\beta = -\\nabla f(x)$: the x-space critic's ascent (negated)."""
        m, d = lin.x.shape
        shift = m * self.reg.astype(lin.x.dtype)
        if self.solve == "cg":
            beta = self._cg(lin.hessian, lin.witness_grad, shift)
        else:
            basis = jnp.eye(m * d, dtype=lin.x.dtype).reshape(m * d, m, d)
            h = jax.vmap(lambda u: lin.hessian(u).reshape(-1))(basis)
            chol = jax.scipy.linalg.cho_factor(0.5 * (h + h.T) + shift * jnp.eye(m * d, dtype=h.dtype))
            beta = jax.scipy.linalg.cho_solve(chol, lin.witness_grad.reshape(-1)).reshape(m, d)
        return lin.vjp(beta)

    def velocity(self, params, latents=None):
        lin = self.linearize(params, latents)
        if self.penalty == "x":
            direction = self._x_penalty_direction(lin, params)
        else:
            direction = self._parameter_direction(lin, params)
        return optax.tree_utils.tree_scale(-1.0, direction), lin.gradient

    def alpha(self, t, y, args) -> Array:
        """The convergence-condition constant $\\alpha(t) = \\nabla F^\\top(\\Gamma+\\lambda)^{-1}\\nabla F / \\mathrm{MMD}^2$.

        Where MMD² has reached zero to rounding (it is ≤ 0 there) the ratio is 0/0 and α is not
        defined; this returns 0 there, so a run that converges to the target is not taken for a
        diverging one (a NaN diagnostic stops `simulate`). Read α only where MMD² is above its
        rounding level."""
        dissipation, mmd2 = self.dissipation(t, y, args), self.mmd2(t, y, args)
        defined = mmd2 > 0
        return jnp.where(defined, dissipation / jnp.where(defined, mmd2, 1.0), 0.0)

    def diagnostics(self) -> dict[str, Diagnostic]:
        extra = {"metric_min_eigenvalue": self.metric_min_eigenvalue} if self.solve == "dense" else {}
        return {**super().diagnostics(), "alpha": self.alpha, **extra}
