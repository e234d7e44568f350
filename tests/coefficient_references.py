"""Independent float64 references the coefficient tests share: a kernel with a finite feature map
(its RKHS is the span of D features, so critics and metrics become D-dimensional linear algebra,
solved in NumPy without any of the flows' kernel-matrix systems) and central differences."""

import jax
import jax.numpy as jnp
import numpy as np

import flows


class FourierFeatures(flows.kernels.AbstractFeatureKernel):
    """k(x, y) = phi(x) . phi(y) with phi(x) = sqrt(2/D) cos(W x + b)."""

    frequencies: jax.Array
    phases: jax.Array

    def features(self, x):
        return jnp.sqrt(2.0 / self.phases.shape[0]) * jnp.cos(self.frequencies @ x + self.phases)


def fourier_features(seed: int, dim: int, count: int):
    """A `FourierFeatures` kernel with W ~ 0.8 N(0, I), b ~ U(0, 2 pi), and its NumPy feature map
    phi (rows of x -> (n, D)) and Jacobian J = d phi / dx ((n, D, d)), written by hand."""
    k1, k2 = jax.random.split(jax.random.PRNGKey(seed))
    w = np.asarray(jax.random.normal(k1, (count, dim))) * 0.8
    b = np.asarray(jax.random.uniform(k2, (count,))) * 2 * np.pi
    phi = lambda x: np.sqrt(2.0 / count) * np.cos(x @ w.T + b)
    jac = lambda x: -np.sqrt(2.0 / count) * np.sin(x @ w.T + b)[:, :, None] * w[None]
    return FourierFeatures(jnp.asarray(w), jnp.asarray(b)), phi, jac


def central_gradient(function, x: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """Central differences of a scalar NumPy function of an array of any shape (error ~ step^2
    times the third derivative, plus rounding ~ 1e-16 / step)."""
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[idx] = step
        grad[idx] = (function(x + e) - function(x - e)) / (2 * step)
    return grad
