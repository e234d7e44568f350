r"""Kernels with an explicit finite feature map, $k(x, y) = \varphi(x)\cdot\varphi(y)$, $\varphi: \mathbb{R}^d \to \mathbb{R}^D$,
and the mean-field network kernel of Arbel, Korba, Salim, Gretton (NeurIPS 2019, section 3.3 and
appendix G.1).

`AbstractFeatureKernel` overrides the tile methods of `AbstractKernel` (`gram_tile`,
`sum_tile`, `grad_sum_tile`, `hessian_sum_tile`), so the kernel sums (`flows.kernels.sums`) never
form the N × M Gram matrix for such a kernel: with $c = \sum_j w_j \varphi(y_j)$ and
$J(x) = \partial\varphi(x)$ (D × d),

$$\sum_j k(x_i, y_j)\,w_j = \varphi(x_i)\cdot c, \qquad
  \sum_j w_j\nabla_x k(x_i, y_j) = J(x_i)^\top c, \qquad
  \sum_j \nabla_x\nabla_y k(x_i, y_j)\,v_j = J(x_i)^\top \textstyle\sum_j J(y_j)\,v_j,$$

one feature pass (and one vector-Jacobian product) per point: O((N + M) D) work instead of O(N M).

**The network kernel.** A mean-field network $\Psi(z, \nu) = \int \psi(z, u)\,d\nu(u)$ averages
sub-networks $\psi(z, u)$ with parameters $u$ (the particles). The squared-error risk between a
student $\nu_X = \frac1N\sum_i\delta_{x_i}$ and a teacher $\nu_\Xi = \frac1M\sum_j\delta_{\xi_j}$,
$\mathbb{E}_z[(\Psi(z, \nu_X) - \Psi(z, \nu_\Xi))^2]$, is exactly $\mathrm{MMD}^2(\nu_X, \nu_\Xi)$ for the
kernel $k(u, u') = \mathbb{E}_z[\psi(z, u)\psi(z, u')]$, so gradient descent on the student's
particles is the particle MMD flow of that kernel. With a fixed batch of inputs $z_1..z_B$ the
expectation becomes a mean (the paper's $\hat k$), a feature kernel with $\varphi_b(u) = \psi(z_b, u)/\sqrt B$,
and the V-statistic MMD² is the empirical risk on that batch.
"""

from __future__ import annotations

import abc

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_points, check_positive, check_positive_int
from .base import AbstractKernel


class AbstractFeatureKernel(AbstractKernel):
    """A kernel $k(x, y) = \\varphi(x)\\cdot\\varphi(y)$ given by its feature map; its tiles are
    feature passes (module docstring), on the raw points (`prepare` is the identity).
    `hessian_matrix_tile` and `diagonal` keep the autodiff / `vmap` defaults; no spectral
    sample, no Gaussian components."""

    @abc.abstractmethod
    def features(self, x: Float[Array, " d"]) -> Float[Array, " D"]:
        """$\\varphi(x)$ at one point."""

    def __call__(self, x: Float[Array, " d"], y: Float[Array, " d"]) -> Float[Array, ""]:
        return jnp.dot(self.features(x), self.features(y))

    def _feature_matrix(self, x: Array) -> Array:
        """$\\varphi(x_i)$ for each row, (n, D)."""
        return jax.vmap(self.features)(x)

    def _pullback(self, x: Array, c: Array) -> Array:
        """$J(x_i)^\\top c$ for each row (c of shape (D,))."""
        return jax.vmap(lambda xi: jax.vjp(self.features, xi)[1](c)[0])(x)

    def gram_tile(self, x, y):
        """$\\varphi(x_i)\\cdot\\varphi(y_j)$."""
        return self._feature_matrix(x) @ self._feature_matrix(y).T

    def sum_tile(self, x, y, weights):
        """$\\varphi(x_i)\\cdot\\sum_j w_j\\varphi(y_j)$ (`weights` of shape (m,) or (m, p))."""
        return self._feature_matrix(x) @ (self._feature_matrix(y).T @ weights)

    def grad_sum_tile(self, x, y, weights):
        """$J(x_i)^\\top \\sum_j w_j\\varphi(y_j)$: one vector-Jacobian product per row."""
        return self._pullback(x, self._feature_matrix(y).T @ weights)

    def hessian_sum_tile(self, x, y, vectors):
        """$J(x_i)^\\top \\sum_j J(y_j) v_j$: one Jacobian-vector product per column, one
        vector-Jacobian product per row."""
        pushed = jax.vmap(lambda yj, vj: jax.jvp(self.features, (yj,), (vj,))[1])(y, vectors)
        return self._pullback(x, jnp.sum(pushed, axis=0))


class NetworkKernel(AbstractFeatureKernel):
    r"""The kernel $\hat k(u, u') = \frac1B\sum_b \psi(z_b, u)\,\psi(z_b, u')$ of a mean-field network
    whose sub-networks are $\psi(z, u) = G(w^\top \mathrm{relu}(W z))$, $G(s) = \exp(-s^2/\sigma^2)$
    (Arbel et al. 2019, appendix G.1: H = 3 hidden ReLU units, no biases, $\sigma = 2$, so
    $G(s) = e^{-s^2/4}$). A particle $u \in \mathbb{R}^{H(p + 1)}$ is $W$ (H × p, row-major)
    followed by $w$ (H,).

    **Arguments:**
    - `inputs`: the inputs $z_1..z_B$, shape (B, p) (e.g. uniform on the sphere).
    - `hidden`: H, the hidden ReLU units of one sub-network.
    - `output_bandwidth`: $\sigma > 0$ of the output non-linearity $G$.
    """

    inputs: Float[Array, "B p"]
    hidden: int = eqx.field(static=True)
    output_bandwidth: float | Array

    def __init__(self, inputs: Float[ArrayLike, "B p"], hidden: int = 3, output_bandwidth: float = 2.0):
        self.inputs = check_points("inputs", inputs)
        hidden = check_positive_int("hidden", hidden)
        check_positive("output_bandwidth", output_bandwidth)
        self.hidden, self.output_bandwidth = hidden, output_bandwidth

    @property
    def particle_dim(self) -> int:
        """$H(p + 1)$, the dimension of one particle."""
        return self.hidden * (self.inputs.shape[1] + 1)

    def unit(self, z: Float[Array, "n p"], u: Float[Array, " q"]) -> Float[Array, " n"]:
        """$\\psi(z, u)$ at the rows of `z` for one particle `u`."""
        p = z.shape[1]
        weights, output = u[: self.hidden * p].reshape(self.hidden, p), u[self.hidden * p :]
        s = jax.nn.relu(z @ weights.T) @ output
        return jnp.exp(-((s / self.output_bandwidth) ** 2))

    def features(self, u):
        return self.unit(self.inputs.astype(u.dtype), u) / jnp.sqrt(self.inputs.shape[0])

    def network(self, particles: Float[ArrayLike, "N q"], inputs: Float[ArrayLike, "n p"] | None = None) -> Float[Array, " n"]:
        """The network's output $\\Psi(z, \\nu_X) = \\frac1N\\sum_i\\psi(z, x_i)$ at `inputs` (default the kernel's)."""
        particles = jnp.asarray(particles)
        z = self.inputs if inputs is None else jnp.asarray(inputs)
        return jnp.mean(jax.vmap(lambda u: self.unit(z.astype(particles.dtype), u))(particles), axis=0)
