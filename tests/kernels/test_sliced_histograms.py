"""Sliced Riesz sums from bucketed CDFs (flows.kernels.sliced_histograms) against the exact sort-and-count
path, in float64: the added error stays under its stated bound 2 (largest bucket mass) / c_d,
and far under the Monte-Carlo error of the slices (issue 3)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows.kernels import sliced_histograms
from flows.kernels.backends import HISTOGRAM_MIN_POINTS, SlicedRieszApproximation
from flows.kernels.blocked import chunk_length
from flows.kernels.sliced import slice_constant

RIESZ = flows.kernels.EnergyKernel(1.0)


def clouds(seed, n=700, m=500, d=4):
    kx, ky = jax.random.split(jax.random.PRNGKey(seed))
    return jax.random.normal(kx, (n, d)), 0.7 * jax.random.normal(ky, (m, d)) + 0.5


def pair(projections=100, buckets=2**16):  # 100 = one full block of 64 directions and one padded
    key = jax.random.PRNGKey(3)
    return (SlicedRieszApproximation(key, projections, method="sort"),
            SlicedRieszApproximation(key, projections, method="histogram", buckets=buckets))


@pytest.mark.parametrize("buckets", [2**6, 2**16])
def test_bucketed_witness_gradient_within_its_bound(buckets):
    """Per query, |bucketed - sorted| <= bucket_error_bound (a guarantee, also at 64 buckets, where
    the error is large); at the default 2^16 buckets the error is < 2e-3 of the gradient and the
    bound (here set by single points' masses 1/M) under a third of the Monte-Carlo error of the
    100 slices against the exact Riesz gradient."""
    x, y = clouds(0)
    exact_ranks, bucketed = pair(buckets=buckets)
    want = flows.discrepancies.witness_grad(x, x, y, RIESZ, backend=exact_ranks)
    got = flows.discrepancies.witness_grad(x, x, y, RIESZ, backend=bucketed)
    errors = np.linalg.norm(np.asarray(got - want), axis=1)
    bound = float(bucketed.bucket_error_bound(x, y))
    assert errors.max() <= bound * (1 + 1e-9), (errors.max(), bound)
    if buckets == 2**16:
        relative = np.linalg.norm(got - want) / np.linalg.norm(want)
        monte_carlo = np.linalg.norm(want - flows.discrepancies.witness_grad(x, x, y, RIESZ)) / np.linalg.norm(want)
        assert relative < 2e-3 and bound < monte_carlo / 3, (bound, relative, monte_carlo)


def test_bucketed_weighted_gradient_sum_within_its_bound():
    """Signed weights: |bucketed - sorted| <= 2 max_k sum_{j in k} |w_j| / c_d per query."""
    x, y = clouds(1, d=3)
    w = jax.random.normal(jax.random.PRNGKey(9), (y.shape[0],))
    exact_ranks, bucketed = pair(projections=48, buckets=2**8)
    want = flows.kernels.kernel_grad_sum(RIESZ, x, y, w, backend=exact_ranks)
    got = flows.kernels.kernel_grad_sum(RIESZ, x, y, w, backend=bucketed)
    bound = sliced_histograms.bucket_error_bound([(y, w)], bucketed.directions(3, y.dtype), 2**8) / slice_constant(3)
    assert np.linalg.norm(np.asarray(got - want), axis=1).max() <= float(bound) * (1 + 1e-9)
    assert np.linalg.norm(got - want) > 0  # the coarse grid does change the answer: the bound is not vacuous


def test_queries_outside_the_clouds_are_exact():
    """In one dimension (directions +-1) queries beyond all points get sign sums of exactly +-W:
    no bucket error even on a 64-bucket grid."""
    x, y = clouds(2, d=1)
    far = jnp.array([[40.0], [-25.0], [7.5]])
    exact_ranks, bucketed = pair(projections=8, buckets=2**6)
    np.testing.assert_allclose(flows.discrepancies.witness_grad(far, x, y, RIESZ, backend=bucketed),
                               flows.discrepancies.witness_grad(far, x, y, RIESZ, backend=exact_ranks), rtol=1e-12, atol=1e-14)


def test_auto_method_and_float32():
    """"auto" sorts small problems (exact) and buckets large ones; float32 stays float32 and
    agrees with the float32 sort path within the bound, plus 1e-3 of the largest gradient for
    float32 rounding (near-ties may flip)."""
    auto = SlicedRieszApproximation(jax.random.PRNGKey(0))
    assert not auto.uses_histograms(HISTOGRAM_MIN_POINTS - 1) and auto.uses_histograms(HISTOGRAM_MIN_POINTS)
    x, y = (c.astype(jnp.float32) for c in clouds(3, n=200, m=150))
    exact_ranks, bucketed = pair()
    got = flows.discrepancies.witness_grad(x, x, y, RIESZ, backend=bucketed)
    want = np.asarray(flows.discrepancies.witness_grad(x, x, y, RIESZ, backend=exact_ranks), float)
    assert got.dtype == jnp.float32
    errors = np.linalg.norm(np.asarray(got, float) - want, axis=1)
    bound = float(bucketed.bucket_error_bound(x, y))
    assert errors.max() <= bound + 1e-3 * np.linalg.norm(want, axis=1).max(), (errors.max(), bound)


def test_bucketed_memory_does_not_grow_with_n():
    """XLA's memory analysis of the bucketed witness gradient (P = 256, B = 2^16, float64, d = 2):
    the scratch is one block's histograms and chunks, the same at N = M = 2^14 and 2^16 (within
    4 MB), where one-shot (P x (N + M)) projections would add 200 MB."""
    backend = SlicedRieszApproximation(jax.random.PRNGKey(0), 256, method="histogram")

    def scratch(n):
        x, y = clouds(4, n=n, m=n, d=2)
        fn = jax.jit(lambda x, y: flows.discrepancies.witness_grad(x, x, y, RIESZ, backend=backend))
        return fn.lower(x, y).compile().memory_analysis().temp_size_in_bytes

    small, large = scratch(2**14), scratch(2**16)
    assert large < small + 4e6, (small, large)


def test_sliced_method_bad_input():
    with pytest.raises(ValueError, match="method"):
        SlicedRieszApproximation(jax.random.PRNGKey(0), method="bins")
    with pytest.raises(ValueError, match="buckets"):
        SlicedRieszApproximation(jax.random.PRNGKey(0), buckets=0)


def test_chunked_streams_equal_one_chunk(monkeypatch):
    """Many chunks of points and queries (exact divisors, and padded) give the one-chunk answer (to
    rounding): bucketed sign sums, and random-feature sums, gradients and Hessian sums."""
    from flows.kernels import random_features

    x, y = clouds(5, n=45, m=38, d=3)
    w = jax.random.normal(jax.random.PRNGKey(1), (38, 2))
    dirs = SlicedRieszApproximation(jax.random.PRNGKey(2), 20).directions(3, x.dtype)
    omegas, amplitudes = flows.kernels.GaussianKernel(1.0).spectral_sample(jax.random.PRNGKey(4), 16, 3, x.dtype)

    def everything():
        return (sliced_histograms.bucketed_sign_sums(x, [(y, w[:, 0]), (x, jnp.ones(45))], dirs, 2**8, projection_block=8),
                random_features.feature_sum(x, y, w, omegas, amplitudes),
                random_features.feature_sum(x, y, None, omegas, amplitudes),
                random_features.feature_grad_sum(x, y, w[:, 0], omegas, amplitudes),
                random_features.feature_hessian_sum(x, y, jnp.concatenate([w, w[:, :1]], axis=1), omegas, amplitudes))

    assert (chunk_length(10**6, 16384), chunk_length(45, 7), chunk_length(97, 16)) == (15625, 5, 16)  # divisor, else padding
    whole = everything()
    monkeypatch.setattr(sliced_histograms, "_CHUNK_ENTRIES", 8 * 7)  # chunks of 7 rows
    monkeypatch.setattr(random_features, "_CHUNK_ENTRIES", 16 * 5)  # chunks of 5 rows
    for a, b in zip(everything(), whole):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
