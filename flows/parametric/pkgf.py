r"""The parametric kernelized gradient flow (PKGF; Mroueh & Nguyen, AISTATS 2021; `MATH.md` section 5).

$$\dot\theta = -(\Gamma_\theta + \lambda I)^{-1}\nabla_\theta F(\theta), \qquad
  \Gamma_\theta = \tfrac1{m^2}\textstyle\sum_{a,b} J_a^\top \nabla_x\nabla_y k(x_a, x_b)\, J_b,$$

the pull-back of the RKHS metric to parameter space, regularized by $\lambda$: Levenberg-Marquardt
in the RKHS, and the generator step of a min-max game whose critic carries the penalty
$\frac12\|A_\theta u\|^2$ on its parameter gradient. It is a descent direction:
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

`penalty="x"` is the variant whose critic has the x-space gradient penalty
$\frac12\mathbb{E}_q\|\nabla_x u\|^2$ (the kernel Sobolev critic of section 4,
$u = (D_q + \lambda)^{-1}\eta$) pulled back through $G$: $\dot\theta = \mathbb{E}_z J^\top\nabla u(G(z))$.
With $(H + m\lambda)\beta = -\nabla f(x)$ (Woodbury, section 4) one gets $\nabla u(x_a) = m\beta_a$, so
$\dot\theta = J^\top\beta$: the PKGF with $JJ^\top/m$ replaced by the identity (our derivation;
checked against the section-4 critic in the tests).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import lineax as lx
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, ArrayLike, Float, PyTree

from .._checks import check_choice, check_positive
from ..core.flow import Diagnostic
from ..kernels.base import AbstractKernel
from ..targets import GaussianTarget
from .base import AbstractParametricFlow, Linearization

_SOLVES = ("dense", "pushthrough", "cg")
_PENALTIES = ("parameter", "x")


def _tree_axpy(alpha, x: PyTree, y: PyTree) -> PyTree:
    return jax.tree_util.tree_map(lambda a, b: alpha * a + b, x, y)


class PKGF(AbstractParametricFlow):
    r"""Parametric kernelized gradient flow $\dot\theta = -(\Gamma_\theta + \lambda I)^{-1}\nabla_\theta F$
    (see the module docstring).

    **Arguments:** as `ParametricMMDFlow` (`generator`, `target`, `kernel`, `latents`,
    `fresh_latents`), and
    - `reg`: $\lambda > 0$.
    - `solve`: `"dense"`, `"pushthrough"` (sample mode only) or `"cg"`.
    - `penalty`: `"parameter"` (the PKGF) or `"x"` (x-space penalized critic; sample mode,
      `solve` `"dense"` or `"cg"`).
    - `cg_rtol`, `cg_atol`, `cg_max_steps`: conjugate-gradient tolerances and step cap (default
      10 × the system size); an unconverged solve returns its last iterate, and a state that
      turns NaN is reported by `simulate` as `FlowDivergedError`.

    **Diagnostics:** `mmd2`, `energy`, `dissipation` ($\nabla F^\top(\Gamma+\lambda)^{-1}\nabla F$),
    `dissipation_residual`, `alpha`; with `solve="dense"` also `metric_min_eigenvalue`
    ($\lambda_{\min}(\Gamma_\theta)$).
    """

    reg: Float[Array, ""]
    solve: str = eqx.field(static=True)
    penalty: str = eqx.field(static=True)
    cg_rtol: float = eqx.field(static=True)
    cg_atol: float = eqx.field(static=True)
    cg_max_steps: int | None = eqx.field(static=True)

    def __init__(
        self,
        generator: eqx.Module,
        target: Float[ArrayLike, "M d"] | GaussianTarget,
        kernel: AbstractKernel,
        *,
        reg: float = 1e-3,
        solve: str = "cg",
        penalty: str = "parameter",
        latents: Float[ArrayLike, "m k"] | None = None,
        fresh_latents: int | None = None,
        cg_rtol: float = 1e-8,
        cg_atol: float = 1e-12,
        cg_max_steps: int | None = None,
    ):
        super().__init__(generator, target, kernel, latents=latents, fresh_latents=fresh_latents)
        check_positive("reg", reg)
        check_choice("solve", solve, _SOLVES)
        check_choice("penalty", penalty, _PENALTIES)
        if self.population and (solve == "pushthrough" or penalty == "x"):
            raise ValueError(
                "population mode has no samples: use `solve` 'dense' or 'cg' with `penalty` 'parameter'."
            )
        if penalty == "x" and solve == "pushthrough":
            raise ValueError("`solve` must be 'dense' or 'cg' with `penalty='x'` (its system is already (md, md)).")
        check_positive("cg_rtol", cg_rtol)
        check_positive("cg_atol", cg_atol)
        self.reg = jnp.asarray(reg)
        self.solve, self.penalty = solve, penalty
        self.cg_rtol, self.cg_atol, self.cg_max_steps = float(cg_rtol), float(cg_atol), cg_max_steps

    def _cg(self, matvec, rhs: PyTree, shift: Array) -> PyTree:
        r"""Solve `matvec(v) + shift * v = rhs` (matvec positive semi-definite) with `lineax.CG`.

        The system is scaled by $s/\text{shift}$, $s = \max(1, 10^3\,\varepsilon\, n)$, so its Rayleigh
        quotients are at least $s$ and lineax's breakdown test (it stops when
        $p^\top Ap \le 100\,\varepsilon\, n\, r^\top r$) cannot fire on this positive definite system, even in
        float32 with $10^4$ parameters.
        `cg_rtol`, `cg_atol` apply to the scaled system."""
        leaves = jax.tree_util.tree_leaves(rhs)
        size = sum(leaf.size for leaf in leaves)
        floor = max(1.0, 1e3 * float(jnp.finfo(leaves[0].dtype).eps) * size)
        scale = floor / shift
        structure = jax.eval_shape(lambda: rhs)
        operator = lx.FunctionLinearOperator(
            lambda v: _tree_axpy(floor, v, jax.tree_util.tree_map(lambda a: scale * a, matvec(v))),
            structure,
            tags=(lx.symmetric_tag, lx.positive_semidefinite_tag),
        )
        solver = lx.CG(rtol=self.cg_rtol, atol=self.cg_atol, max_steps=self.cg_max_steps)
        return lx.linear_solve(operator, jax.tree_util.tree_map(lambda a: scale * a, rhs), solver, throw=False).value

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
        return jax.tree_util.tree_map(jnp.negative, direction), lin.gradient

    def alpha(self, t, y, args) -> Array:
        """The convergence-condition constant $\\alpha(t) = \\nabla F^\\top(\\Gamma+\\lambda)^{-1}\\nabla F / \\mathrm{MMD}^2$."""
        return self.dissipation(t, y, args) / self.mmd2(t, y, args)

    def diagnostics(self) -> dict[str, Diagnostic]:
        extra = {"metric_min_eigenvalue": self.metric_min_eigenvalue} if self.solve == "dense" else {}
        return {**super().diagnostics(), "alpha": self.alpha, **extra}
