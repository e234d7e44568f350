"""The hypergraph filter of GoldreichPRGGenerator up to independence 5, checked by exact enumeration of
every seed (flows.analysis.sign_biases_by_order), and the XOR-AND masks both generators expose."""

import jax
import numpy as np
import pytest

import flows


@pytest.mark.parametrize("seed_dim, dim, independence", [(20, 42, 4), (16, 14, 5)])
def test_k_wise_independent_hypergraphs_have_zero_biases_up_to_order_k(seed_dim, dim, independence):
    """With independence = k every subset of at most k outputs is certified (none uncertified), and its sign
    product has mean exactly 0 over all 2^n seeds; above k the filter certifies nothing, and the first
    order above k is where biased subsets appear here (n = 20, m = 42, k = 4: order 5 has biased subsets)."""
    g = flows.parametric.GoldreichPRGGenerator(seed_dim, dim, key=jax.random.PRNGKey(0), independence=independence)
    by_order = flows.analysis.sign_biases_by_order(*g.xor_and_masks(), seed_dim, max_order=min(5, independence + 1))
    for result in by_order[:independence]:
        assert result.uncertified == 0 and result.nonzero == 0 and result.largest_bias == 0.0
    if independence < 5:
        assert by_order[independence].nonzero > 0
    baseline = flows.parametric.GoldreichPRGGenerator(seed_dim, dim, key=jax.random.PRNGKey(0), independence=3)
    assert flows.analysis.sign_biases_by_order(*baseline.xor_and_masks(), seed_dim, max_order=4)[3].uncertified > 0


def test_xor_and_masks_reproduce_the_outputs():
    """y_j = parity(L_j & b) ^ [A_j and A_j subset of b] equals output_bits at 200 random seeds, for both
    generators; the Goldreich masks split each hyperedge into its first three and last two variables."""
    generators = [flows.parametric.GoldreichPRGGenerator(9, 20, key=jax.random.PRNGKey(1), independence=2),
                  flows.parametric.RepeatedBitsGenerator(5, 12)]
    for g in generators:
        linear, ands = g.xor_and_masks()
        assert linear.dtype == ands.dtype == np.int64 and linear.shape == ands.shape == (g.dim,)
        seeds = np.asarray(jax.random.randint(jax.random.PRNGKey(2), (200,), 0, 2**g.seed_dim))
        bits = (seeds[:, None] >> np.arange(g.seed_dim)) & 1
        expected = np.asarray(jax.vmap(g.output_bits)(bits))
        parity = np.bitwise_count(seeds[:, None] & linear[None]) & 1
        conj = (ands[None] != 0) & ((seeds[:, None] & ands[None]) == ands[None])
        np.testing.assert_array_equal(parity ^ conj, expected)
    edges = np.asarray(generators[0].hyperedges)
    np.testing.assert_array_equal(generators[0].xor_and_masks()[1], (1 << edges[:, 3]) + (1 << edges[:, 4]))


def test_filter_limits_and_bad_input():
    """A 5-wise independent hypergraph with m = 64 outputs on n = 16 seed bits is not found: the error names
    the arguments and how many hyperedges were kept; independence 6 and seed_dim > 62 are refused."""
    with pytest.raises(ValueError, match=r"independent hypergraph .* hyperedges kept"):
        flows.parametric.GoldreichPRGGenerator(16, 64, key=jax.random.PRNGKey(0), independence=5, max_candidates=5000)
    with pytest.raises(ValueError, match="independence"):
        flows.parametric.GoldreichPRGGenerator(16, 20, key=jax.random.PRNGKey(0), independence=6)
    with pytest.raises(ValueError, match="seed_dim"):
        flows.parametric.GoldreichPRGGenerator(63, 20, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="seed_dim"):
        flows.parametric.RepeatedBitsGenerator(63, 70).xor_and_masks()
