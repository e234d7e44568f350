"""`GaussianKernel.median` and `LaplaceKernel.median`: the median heuristic in Python as in a
config (`bandwidth = "median"`), against the median of the pooled pairwise distances in NumPy."""

import jax
import numpy as np
import pytest

from flows.cli import config
from flows.kernels import GaussianKernel, LaplaceKernel

X = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (30, 2)))
Y = np.asarray(jax.random.normal(jax.random.PRNGKey(1), (20, 2))) * 2.0 + 3.0


def _median_distance(points: np.ndarray) -> float:
    """median_{i<j} |z_i - z_j| in float64 NumPy."""
    i, j = np.triu_indices(len(points), k=1)
    return float(np.median(np.linalg.norm(points[i] - points[j], axis=1)))


@pytest.mark.parametrize("kernel", [GaussianKernel, LaplaceKernel], ids=lambda k: k.__name__)
def test_median_is_the_median_distance_of_the_pooled_sample(kernel):
    # a median of float64 distances: the two computations agree to rounding (1e-12 relative)
    np.testing.assert_allclose(float(kernel.median(X).bandwidth), _median_distance(X), rtol=1e-12)
    pooled = kernel.median(X, Y)
    assert type(pooled) is kernel
    np.testing.assert_allclose(float(pooled.bandwidth), _median_distance(np.concatenate([X, Y])), rtol=1e-12)
    with pytest.raises(ValueError, match=rf"`bandwidth` must be a positive number, got 'median'; for the median "
                                         rf"heuristic use {kernel.__name__}.median\(x, y=None\)"):
        kernel("median")


@pytest.mark.parametrize("kind, kernel", [("gaussian", GaussianKernel), ("laplace", LaplaceKernel)])
def test_a_configs_median_bandwidth_is_the_named_constructors(kind, kernel, tmp_path):
    (tmp_path / "c.toml").write_text(
        f'dtype = "float64"\n[target]\nkind = "gaussian"\nmean = [1.0, 0.0]\nstd = 0.5\nn = 40\n'
        f'[initial]\nkind = "gaussian"\nn = 10\n[kernel]\nkind = "{kind}"\nbandwidth = "median"\n[time]\nt1 = 1.0\n'
    )
    run = config.build(config.load(tmp_path / "c.toml"))
    assert run.context.kernel == kernel.median(run.context.target_samples)
