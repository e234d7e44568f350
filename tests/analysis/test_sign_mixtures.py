"""W1 bounds for half-normal sign mixtures (Chen, Li, Li, Meka, ICLR 2022): the orthant distance against explicit
projections, the closed-form upper bound against Monte Carlo and against the exact 1-D W1, the
bounds against brute-force optimal transport, and the Sinkhorn estimate against exact assignment."""

import math

import jax
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

import flows


def test_distance_to_orthants_matches_explicit_projections():
    """dist(x, union of orthants) equals the min over patterns of |x - proj(x)|, proj zeroing the
    coordinates of the wrong sign (float64, 1e-12), and is exactly 0 inside an orthant."""
    rng = np.random.default_rng(0)
    patterns = rng.choice([-1, 1], size=(7, 5))
    x = rng.standard_normal((300, 5))
    reference = np.min([np.linalg.norm(np.where(x * s < 0, x, 0.0), axis=1) for s in patterns], axis=0)
    np.testing.assert_allclose(np.asarray(flows.analysis.distance_to_orthants(x, patterns, chunk=64)), reference, rtol=1e-12, atol=1e-12)
    assert float(np.max(np.asarray(flows.analysis.distance_to_orthants(np.abs(x) * patterns[0], patterns)))) == 0.0


def test_upper_bound_closed_form():
    """U_1 = sqrt(2/pi) (the exact W1 between a half-normal and N(0,1)); U_m matches a Monte Carlo mean
    of |s.a - eps.a| (4 SE) and lies below sqrt(2m)."""
    assert flows.analysis.independent_sign_coupling_cost(1) == pytest.approx(math.sqrt(2 / math.pi), rel=1e-12)
    rng = np.random.default_rng(1)
    m, n = 6, 200_000
    a = np.abs(rng.standard_normal((n, m)))
    s, eps = rng.choice([-1, 1], (n, m)), rng.choice([-1, 1], (n, m))
    cost = np.linalg.norm(s * a - eps * a, axis=1)
    assert flows.analysis.independent_sign_coupling_cost(m) == pytest.approx(cost.mean(), abs=4 * cost.std() / math.sqrt(n))
    assert all(flows.analysis.independent_sign_coupling_cost(k) < math.sqrt(2 * k) for k in (1, 5, 64))
    with pytest.raises(ValueError, match="dim"):
        flows.analysis.independent_sign_coupling_cost(0)


def test_bounds_bracket_brute_force_transport():
    """m = 1, one sign: lower = E g^- = 1/sqrt(2 pi) (4 SE) and upper = exact W1. m = 2, signs {++, --}:
    the optimal assignment between 700 samples per side (its sampling bias is measured on two Gaussian
    samples and subtracted) lies between the bounds."""
    key = jax.random.PRNGKey(0)
    one = flows.analysis.sign_mixture_w1_bounds(np.array([[1]]), key=key, num_samples=20_000, dtype=np.float64)
    assert one.lower == pytest.approx(1 / math.sqrt(2 * math.pi), abs=4 * one.lower_standard_error)
    assert one.upper == pytest.approx(math.sqrt(2 / math.pi), rel=1e-12)
    patterns = np.array([[1, 1], [-1, -1]])
    two = flows.analysis.sign_mixture_w1_bounds(patterns, key=key, num_samples=20_000, dtype=np.float64)
    rng = np.random.default_rng(2)
    n = 700

    def assignment(p, q):
        cost = cdist(p, q)
        rows, cols = linear_sum_assignment(cost)
        return cost[rows, cols].mean()

    x = np.abs(rng.standard_normal((n, 2))) * patterns[rng.integers(2, size=n)]
    w1 = assignment(x, rng.standard_normal((n, 2))) - assignment(rng.standard_normal((n, 2)), rng.standard_normal((n, 2)))
    assert two.lower + 0.05 < w1 < two.upper - 0.5
    with pytest.raises(ValueError, match="patterns"):
        flows.analysis.sign_mixture_w1_bounds(np.array([[1, 0]]), key=key)


def test_sinkhorn_w1_converges_to_exact_assignment():
    """Debiased Sinkhorn with the Euclidean cost, eps = 0.003, converged (marginals to 1e-5: the
    cross term needs ~48,000 iterations), is within 2e-3 of the exact W1 (optimal assignment)
    between two 40-point clouds."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 2)), rng.standard_normal((40, 2)) + 0.5
    cost = cdist(x, y)
    rows, cols = linear_sum_assignment(cost)
    estimate = flows.discrepancies.sinkhorn_w1(x, y, 0.003, threshold=1e-5, max_iterations=100_000)
    assert estimate == pytest.approx(cost[rows, cols].mean(), abs=2e-3)
    with pytest.raises(ValueError, match="epsilon"):
        flows.discrepancies.sinkhorn_w1(x, y, 0.0)


def test_sinkhorn_w1_takes_float32_samples_under_x64():
    """float32 samples while `jax_enable_x64` is on (the test suite's setting) run in float32 and
    agree with the float64 estimate to 1e-4 relative (eps = 0.1: a well-conditioned problem)."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((30, 3)), rng.standard_normal((30, 3)) + 1.0
    reference = flows.discrepancies.sinkhorn_w1(x, y, 0.1, threshold=1e-6)
    single = flows.discrepancies.sinkhorn_w1(x.astype(np.float32), y.astype(np.float32), 0.1, threshold=1e-6)
    assert single == pytest.approx(reference, rel=1e-4)
