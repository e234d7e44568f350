"""PRG generators (Chen, Li, Li, Meka, ICLR 2022): the Goldreich generator against an independent NumPy
reference, its ReLU-network form, the exact enumeration of its seeds, the positive control."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows

N, M = 8, 16


@pytest.fixture(scope="module")
def prg():
    return flows.parametric.GoldreichPRGGenerator(N, M, key=jax.random.PRNGKey(3), independence=2)


def numpy_goldreich(hyperedges, latent, n):
    """x_j = (2 P(b_{S_j}) - 1)|w_j| with P = u1 ^ u2 ^ u3 ^ (u4 & u5), written from the definition."""
    z, w = latent[:n], latent[n:]
    b = (z > 0).astype(int)
    y = np.array([(b[s[0]] + b[s[1]] + b[s[2]] + b[s[3]] * b[s[4]]) % 2 for s in hyperedges])
    return (2 * y - 1) * np.abs(w)


def test_goldreich_generator_matches_reference_and_relu_network(prg):
    """push_forward equals the NumPy definition exactly; the ReLU network equals it (to 1e-12) once every
    |z_i| >= delta; hyperedges are 5 distinct seed indices; no trainable parameters."""
    latents = jax.random.normal(jax.random.PRNGKey(0), (200, prg.latent_dim))
    latents = latents.at[:, :N].set(jnp.where(jnp.abs(latents[:, :N]) < 1e-2, 0.5, latents[:, :N]))
    x = np.asarray(flows.parametric.push_forward(prg, latents))
    edges = np.asarray(prg.hyperedges)
    assert edges.shape == (M, 5) and all(len(set(e)) == 5 for e in edges) and edges.max() < N
    reference = np.stack([numpy_goldreich(edges, np.asarray(l), N) for l in latents])
    np.testing.assert_array_equal(x, reference)
    relu = np.asarray(jax.vmap(lambda l: prg.relu_network(l, sharpness=1e-2))(latents))
    np.testing.assert_allclose(relu, x, rtol=0, atol=1e-12)
    assert jax.tree_util.tree_leaves(flows.parametric.generators.trainable_parameters(prg)[0]) == []


def test_enumerated_seeds_certify_independence_and_the_control_is_correlated(prg):
    """Over all 2^n seeds every output bit is balanced (so each coordinate is exactly N(0, 1)) and, with
    independence=2, every pair is independent (biases computed here by brute force); the repeated-bits
    generator has the same marginals but pairwise bias 1. flows.analysis.sign_biases_by_order agrees with brute force."""
    patterns = np.asarray(prg.sign_patterns(), dtype=float)
    assert patterns.shape == (2**N, M)
    seeds = np.array(list(itertools.product([0, 1], repeat=N)))[:, ::-1]  # row r: bits of r, LSB first
    direct = np.stack([(2 * np.array([(b[s[0]] ^ b[s[1]] ^ b[s[2]] ^ (b[s[3]] & b[s[4]])) for s in np.asarray(prg.hyperedges)]) - 1)
                       for b in seeds])
    np.testing.assert_array_equal(patterns, direct)
    brute = {k: max(abs(np.prod(patterns[:, list(t)], axis=1).mean()) for t in itertools.combinations(range(M), k))
             for k in (1, 2, 3)}
    assert brute[1] == 0 and brute[2] == 0
    exact = flows.analysis.sign_biases_by_order(*prg.xor_and_masks(), N, max_order=3)
    assert {r.order: r.largest_bias for r in exact} == pytest.approx(brute, abs=1e-15)
    weak = flows.parametric.RepeatedBitsGenerator(N, M)
    weak_biases = flows.analysis.sign_biases_by_order(*weak.xor_and_masks(), N, max_order=2)
    assert [r.largest_bias for r in weak_biases] == [0.0, 1.0]
    x = flows.parametric.push_forward(weak, jax.random.normal(jax.random.PRNGKey(1), (50, weak.latent_dim)))
    assert bool(jnp.all(x[:, :N] * x[:, N:2 * N] >= 0))


def test_three_wise_independent_hypergraph_and_bad_input():
    """independence=3 gives zero biases up to order 3 over all seeds (n = 12, m = 30); bad arguments raise."""
    g = flows.parametric.GoldreichPRGGenerator(12, 30, key=jax.random.PRNGKey(0), independence=3)
    assert [r.largest_bias for r in flows.analysis.sign_biases_by_order(*g.xor_and_masks(), 12, max_order=3)] == [0.0] * 3
    with pytest.raises(ValueError, match="seed_dim"):
        flows.parametric.GoldreichPRGGenerator(4, 8, key=jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="independence"):
        flows.parametric.GoldreichPRGGenerator(8, 8, key=jax.random.PRNGKey(0), independence=6)
    with pytest.raises(ValueError, match="seed_dim"):
        flows.parametric.GoldreichPRGGenerator(6, 40, key=jax.random.PRNGKey(0), independence=3, max_candidates=200)
    with pytest.raises(ValueError, match="dim"):
        flows.parametric.RepeatedBitsGenerator(4, 0)
    with pytest.raises(ValueError, match="sharpness"):
        g.relu_network(jnp.zeros(g.latent_dim), sharpness=0.0)
