r"""Kernel Sobolev descent: the MMD flow with a gradient-regularized critic (Mroueh, Sercu, Raj,
AISTATS 2019, "Sobolev descent"; Arbel, Sutherland, Bińkowski, Gretton, NeurIPS 2018, "On gradient
regularizers for MMD GANs").

The critic $u$ maximizes $\mathbb{E}_\nu u - \mathbb{E}_\mu u - \frac12(\mathbb{E}_\mu\|\nabla u\|^2
+ \lambda\|u\|_{\mathcal H}^2)$, so $u = (D_\mu + \lambda I)^{-1}\eta$ with $\eta = \varphi_\nu - \varphi_\mu$
(the difference of the mean embeddings) and
$D_\mu = \mathbb{E}_{x\sim\mu} \sum_j \partial_j k(x, \cdot) \otimes \partial_j k(x, \cdot)$; particles
move along $\dot x = +\nabla u(x)$. By Woodbury, with the (Nd × Nd) mixed-Hessian matrix
$H_{(i,p),(l,q)} = \partial_{x_p}\partial_{y_q} k(x_i, x_l)$ and $g_i = \nabla\eta(x_i) = -\nabla f_{\mu,\nu}(x_i)$,

$$(H + N\lambda I)\,\beta = g, \qquad
  u(z) = \tfrac1\lambda\big[\eta(z) - \textstyle\sum_i \nabla_x k(x_i, z)\cdot\beta_i\big],
  \qquad \nabla u(x_i) = N\beta_i$$

(the last since $H\beta = g - N\lambda\beta$). The energy $F = \frac12\mathrm{MMD}^2$ dissipates as
$\frac{dF}{dt} = -\langle\eta, D(D + \lambda)^{-1}\eta\rangle_{\mathcal H} = -g\cdot\beta \le 0$.
As $\lambda \to \infty$, $\lambda\dot x \to -\nabla f$: the MMD flow, rescaled.

Two solves of the same system: `solver="dense"` forms $H$ (`kernel_hessian_matrix`) and uses a
Cholesky factorization, $O(N^3d^3)$, for small N; `solver="cg"` is matrix-free conjugate gradient
(`lineax.CG`, through `flows.core.convergence.conjugate_gradient`) whose products $H\beta$ are
`kernel_hessian_sum` calls, $O(N^2 d)$ memory-light per iteration, for large N. Its stopping rule
is relative to the largest entry of $g$, $\|r\|_\infty \le$ `cg_atol` + `cg_rtol` $\|g\|_\infty$, which
float32 meets: an entrywise rule asked entries of $g$ near zero for residuals below float32's
resolution and ran out of steps. A solve that still stops unconverged makes the drift NaN with a
warning naming `cg_max_steps`, `cg_rtol` and the dtype, so `simulate` stops there.
"""

from __future__ import annotations

import jax.numpy as jnp
import lineax as lx
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_choice, check_positive, check_positive_int
from ..core.convergence import conjugate_gradient, shown
from ..core.flow import AbstractGradientFlow, Diagnostic
from ..discrepancies.mmd import mmd2_unchecked
from ..kernels.backends import AbstractSumBackend, Backend, resolve_backend
from ..kernels.base import AbstractKernel
from ..kernels.sums import kernel_hessian_matrix, kernel_hessian_sum
from .base import AbstractWitnessFlow, check_kernel, check_sample_target


CG_RTOL_FLOOR = 10
"""The smallest `cg_rtol` accepted, in float epsilons of the particles' dtype."""


class KernelSobolevFlow(AbstractWitnessFlow, AbstractGradientFlow):
    r"""Kernel Sobolev descent $\dot x_i = \nabla u(x_i) = N\beta_i$, $(H + N\lambda I)\beta = -\nabla f(x)$.

    **Arguments:**
    - `target`: target samples, shape (M, d).
    - `kernel`: the kernel $k$.
    - `regularization`: $\lambda > 0$.
    - `solver`: `"dense"` (Cholesky of the Nd × Nd matrix; small N) or `"cg"` (matrix-free
      conjugate gradient with kernel Hessian-vector products; large N).
    - `cg_rtol`, `cg_atol`, `cg_max_steps`: the conjugate-gradient stopping rule
      $\|r\|_\infty \le$ `cg_atol` + `cg_rtol` $\|g\|_\infty$ (defaults: `cg_rtol` 1e-10 in float64,
      1e-5 in float32; `cg_atol` 0; `cg_max_steps` = 10 N d, CG being exact after N d steps in
      exact arithmetic). A `cg_rtol` below `CG_RTOL_FLOOR` float epsilons of the particles' dtype
      (1.2e-6 in float32) is refused before the run: the residual cannot be resolved that finely.
      A solve that runs out of steps gives a NaN drift and a warning: raise `cg_max_steps` or
      `cg_rtol`, or use float64.
    - `backend`: how kernel sums are computed (`flows.kernels.resolve_backend`; default `"auto"`,
      exact): the witness gradient $g$, the energy and `mmd2`, and with `solver="cg"` every
      Hessian-vector product $H\beta$. The dense solver forms the Nd × Nd matrix $H$ by nature
      (`kernel_hessian_matrix`), so its $H$ does not go through the backend.

    **Diagnostics:** `mmd2`, `energy` ($\frac12$ MMD²), `dissipation` ($g\cdot\beta =
    \langle\eta, D(D+\lambda)^{-1}\eta\rangle$); `dissipation_residual` (autodiff) when asked for.
    """

    target: Float[Array, "m d"]
    kernel: AbstractKernel
    regularization: float | Array
    backend: AbstractSumBackend
    solver: str = "dense"
    cg_rtol: float | None = None
    cg_atol: float | None = None
    cg_max_steps: int | None = None

    def __init__(
        self,
        target: Float[ArrayLike, "m d"],
        kernel: AbstractKernel,
        regularization: float,
        solver: str = "dense",
        cg_rtol: float | None = None,
        cg_atol: float | None = None,
        cg_max_steps: int | None = None,
        backend: Backend = "auto",
    ):
        self.kernel = check_kernel(kernel)
        check_positive("regularization", regularization)
        check_choice("solver", solver, {"dense", "cg"})
        if cg_rtol is not None:
            check_positive("cg_rtol", cg_rtol)
        if cg_atol is not None:
            check_positive("cg_atol", cg_atol)
        self.cg_max_steps = None if cg_max_steps is None else check_positive_int("cg_max_steps", cg_max_steps)
        self.target = check_sample_target(target)
        self.regularization = regularization
        self.solver = solver
        self.cg_rtol = cg_rtol
        self.cg_atol = cg_atol
        self.backend = resolve_backend(backend)

    def check_state(self, y0):
        y0 = super().check_state(y0)
        floor = CG_RTOL_FLOOR * float(jnp.finfo(y0.dtype).eps)
        if self.solver == "cg" and self.cg_rtol is not None and self.cg_rtol < floor:
            default = 1e-10 if y0.dtype == jnp.float64 else 1e-5
            raise ValueError(
                f"`cg_rtol` = {self.cg_rtol:g} is below what conjugate gradient resolves in {y0.dtype} "
                f"({CG_RTOL_FLOOR} x its epsilon, {floor:.2g}): set `cg_rtol` >= {floor:.2g} (the {y0.dtype} "
                f"default is {default:g}), or run in float64 (`dtype = \"float64\"` in a config)."
            )
        return y0

    def _solve(self, y: Array) -> tuple[Array, Array]:
        """$g = -\\nabla f(x)$ and $\\beta = (H + N\\lambda)^{-1} g$, both (N, d)."""
        n, d = y.shape
        g = -self.witness_grad(y, y)
        shift = n * jnp.asarray(self.regularization, y.dtype)
        if self.solver == "dense":
            matrix = kernel_hessian_matrix(self.kernel, y, y).reshape(n * d, n * d) + shift * jnp.eye(n * d, dtype=y.dtype)
            operator = lx.MatrixLinearOperator(matrix, lx.positive_semidefinite_tag)
            beta = lx.linear_solve(operator, g.reshape(-1), lx.Cholesky()).value.reshape(n, d)
        else:
            max_steps = 10 * n * d if self.cg_max_steps is None else self.cg_max_steps
            rtol = (1e-10 if y.dtype == jnp.float64 else 1e-5) if self.cg_rtol is None else self.cg_rtol
            atol = 0.0 if self.cg_atol is None else self.cg_atol
            message = (
                f"KernelSobolevFlow: conjugate gradient did not converge in `cg_max_steps` = {max_steps} steps "
                f"to `cg_rtol` = {shown(rtol)} in {y.dtype}; the drift is NaN. Raise `cg_max_steps` or `cg_rtol`, "
                "or run in float64 (`dtype = \"float64\"` in a config)."
            )
            beta = conjugate_gradient(
                lambda v: kernel_hessian_sum(self.kernel, y, y, v, backend=self.backend), g, shift,
                rtol=rtol, atol=atol, max_steps=max_steps, message=message, normwise=True,
            )
        return g, beta

    def drift(self, t, y, args):
        _, beta = self._solve(y)
        return y.shape[0] * beta

    def energy(self, y):
        return 0.5 * mmd2_unchecked(y, self.target_like(y), self.kernel, backend=self.backend)

    def dissipation(self, t, y, args):
        g, beta = self._solve(y)
        return jnp.sum(g * beta)

    def diagnostics(self) -> dict[str, Diagnostic]:
        """`mmd2` and `energy` from one pass (`witness_diagnostics`), `dissipation`."""
        group = self.witness_diagnostics()
        return {"mmd2": group.member("mmd2"), "energy": group.member("energy"), "dissipation": self.dissipation}
