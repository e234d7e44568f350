"""Feature-map kernels: their kernel sums (feature passes, no Gram matrix) agree with the generic
vmap/autodiff path of the same pointwise kernel, and the network kernel's MMD² is the student's
squared-error risk against the teacher (Arbel et al. 2019, appendix G.1), checked in NumPy."""

import jax
import jax.numpy as jnp
import numpy as np

import flows


class Pointwise(flows.kernels.AbstractKernel):
    """The same kernel with only `__call__`: the generic vmap/autodiff path of the kernel sums."""

    inner: flows.kernels.NetworkKernel

    def __call__(self, x, y):
        return self.inner(x, y)


def _problem(key, n=7, m=3, p=5, hidden=3, batch=11):
    k_in, k_x, k_y, k_v = jax.random.split(key, 4)
    z = jax.random.normal(k_in, (batch, p))
    z = z / jnp.linalg.norm(z, axis=1, keepdims=True)
    kernel = flows.kernels.NetworkKernel(z, hidden=hidden, output_bandwidth=2.0)
    q = kernel.particle_dim
    x = jax.random.normal(k_x, (n, q))
    y = jax.random.normal(k_y, (m, q))
    return kernel, x, y, jax.random.normal(k_v, (m, q))


def test_feature_sums_match_the_generic_path_and_the_risk_identity():
    kernel, x, y, v = _problem(jax.random.PRNGKey(0))
    generic = Pointwise(kernel)
    w = jnp.linspace(-1.0, 2.0, y.shape[0])
    blocked = flows.kernels.BlockedSums(row_block=2, col_block=2)  # tiles of a feature kernel add up too
    for ours, theirs in (
        (flows.kernels.kernel_matrix(kernel, x, y), flows.kernels.kernel_matrix(generic, x, y)),
        (flows.kernels.kernel_sum(kernel, x, y, w), flows.kernels.kernel_sum(generic, x, y, w)),
        (flows.kernels.kernel_grad_sum(kernel, x, y, w, backend=blocked), flows.kernels.kernel_grad_sum(generic, x, y, w)),
        *zip(flows.kernels.kernel_value_grad_sum(kernel, x, y, w, w**2, backend=blocked),
             (flows.kernels.kernel_sum(generic, x, y, w), flows.kernels.kernel_grad_sum(generic, x, y, w**2))),
        (flows.kernels.kernel_hessian_sum(kernel, x, y, v), flows.kernels.kernel_hessian_sum(generic, x, y, v)),
    ):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)

    # MMD² (V-statistic) = (1/B) sum_b (student(z_b) - teacher(z_b))², with an independent NumPy network
    z = np.asarray(kernel.inputs)
    p = z.shape[1]

    def network(particles):
        outs = []
        for u in np.asarray(particles):
            weights, out = u[: 3 * p].reshape(3, p), u[3 * p:]
            outs.append(np.exp(-((np.maximum(z @ weights.T, 0.0) @ out) / 2.0) ** 2))
        return np.mean(outs, axis=0)

    risk = np.mean((network(x) - network(y)) ** 2)
    np.testing.assert_allclose(flows.discrepancies.mmd2(x, y, kernel), risk, rtol=1e-12)
    np.testing.assert_allclose(kernel.network(x), network(x), rtol=1e-13)
    # the witness gradient is the risk's gradient in one particle, times N/2
    grad = jax.grad(lambda xs: jnp.mean((kernel.network(xs) - kernel.network(y)) ** 2))(x)
    np.testing.assert_allclose(flows.discrepancies.witness_grad(x, x, y, kernel), grad * x.shape[0] / 2, rtol=1e-10, atol=1e-14)


def test_network_kernel_rejects_bad_arguments():
    import pytest

    z = np.ones((4, 3))
    with pytest.raises(ValueError, match="`inputs`"):
        flows.kernels.NetworkKernel(np.ones(3))
    with pytest.raises(ValueError, match="`hidden`"):
        flows.kernels.NetworkKernel(z, hidden=0)
    with pytest.raises(ValueError, match="`output_bandwidth`"):
        flows.kernels.NetworkKernel(z, output_bandwidth=-1.0)
    assert flows.kernels.NetworkKernel(z, hidden=2).particle_dim == 8
