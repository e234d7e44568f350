"""MMD (V and U statistics), the witness and its gradient, the energy distance: against the
float64 NumPy reference and autodiff; bad inputs."""


import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows

import numpy_reference as ref
from cases import KERNELS, rel_err, samples


@pytest.mark.parametrize("case", KERNELS)
def test_mmd2_matches_numpy(case):
    kernel, name, params = KERNELS[case]
    x, y, _ = samples(1, 40, 30, 1)
    for unbiased in (False, True):
        expected = ref.mmd2(name, params, np.asarray(x), np.asarray(y), unbiased=unbiased)
        np.testing.assert_allclose(flows.discrepancies.mmd2(x, y, kernel, unbiased=unbiased), expected, rtol=1e-9, atol=1e-12)



@pytest.mark.parametrize("case", KERNELS)
def test_witness_and_gradient_match_numpy(case):
    kernel, name, params = KERNELS[case]
    x, y, z = samples(2, 25, 35, 9)
    np.testing.assert_allclose(flows.discrepancies.witness(z, x, y, kernel), ref.witness(name, params, z, x, y), rtol=1e-9, atol=1e-12)
    assert rel_err(flows.discrepancies.witness_grad(z, x, y, kernel), ref.witness_grad(name, params, z, x, y)) < 1e-9



@pytest.mark.parametrize("case", KERNELS)
def test_witness_grad_is_n_times_gradient_of_half_mmd2(case):
    """d/dx_i of (1/2) MMD^2 (V-statistic) = (1/N) grad f(x_i), f the witness (Arbel, Korba, Salim,
    Gretton, NeurIPS 2019)."""
    kernel, _, _ = KERNELS[case]
    x, y, _ = samples(3, 20, 15, 1)
    autodiff = x.shape[0] * jax.grad(lambda p: 0.5 * flows.discrepancies.mmd2(p, y, kernel))(x)
    assert rel_err(flows.discrepancies.witness_grad(x, x, y, kernel), autodiff) < 1e-5



def test_energy_distance_is_the_textbook_formula():
    x, y, _ = samples(5, 30, 20, 1)
    d = lambda a, b: np.sqrt(((np.asarray(a)[:, None] - np.asarray(b)[None]) ** 2).sum(-1))
    expected = 2 * d(x, y).mean() - d(x, x).mean() - d(y, y).mean()
    np.testing.assert_allclose(flows.discrepancies.energy_distance(x, y), expected, rtol=1e-10)


Y = jnp.ones((5, 2)) * jnp.arange(5.0)[:, None]
K = flows.kernels.GaussianKernel(1.0)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: flows.discrepancies.mmd2(jnp.ones((3, 2)), jnp.ones((3, 3)), K), r"`y` must have dimension d = 2 to match `x`"),
        (lambda: flows.discrepancies.mmd2(jnp.ones(3), jnp.ones((3, 1)), K), r"`x` must be a 2-D array"),
        (lambda: flows.discrepancies.mmd2(jnp.ones((0, 2)), jnp.ones((3, 2)), K), "`x` must be non-empty"),
        (lambda: flows.discrepancies.mmd2(jnp.ones((3, 2)).at[0, 0].set(jnp.nan), jnp.ones((3, 2)), K), "`x` must be finite"),
        (lambda: flows.discrepancies.mmd2(jnp.ones((3, 2)), jnp.ones((3, 2)).at[1, 1].set(jnp.inf), K), "`y` must be finite"),
        (lambda: flows.discrepancies.mmd2(jnp.ones((1, 2)), jnp.ones((3, 2)), K, unbiased=True), "at least 2 points"),
        (lambda: flows.discrepancies.witness_grad(jnp.ones((3, 3)), Y, Y, K), "`z` must have dimension d = 2"),
    ],
)
def test_bad_arrays(call, match):
    with pytest.raises(ValueError, match=match):
        call()
