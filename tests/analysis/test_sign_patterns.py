"""Sign-pattern distinguishers and exact biases (flows.analysis.sign_patterns): the enumeration over every
seed against a brute-force NumPy count, the scan against an exhaustive search, its power on a planted
4-wise bias and its false-positive rate on N(0, I), the Lipschitz critic against its closed form, the
GF(2) linearization attack against a brute-force relaxation."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import flows


def brute_force_outputs(hyperedges, n):
    """y_j(b) = b_a ^ b_b ^ b_c ^ (b_d & b_e) for every seed b (row r: the bits of r), from the definition."""
    seeds = (np.arange(2**n)[:, None] >> np.arange(n)) & 1
    u = seeds[:, hyperedges]  # (2^n, m, 5)
    return u[..., 0] ^ u[..., 1] ^ u[..., 2] ^ (u[..., 3] & u[..., 4])


@pytest.fixture(scope="module")
def tiny():
    """n = 7, m = 10, no independence asked (many biased subsets)."""
    return flows.parametric.GoldreichPRGGenerator(7, 10, key=jax.random.PRNGKey(1), independence=1)


def test_exact_biases_by_order_match_brute_force_over_every_subset_and_seed(tiny):
    """For every subset T of size 1..5 of the 10 outputs, E prod_T (2 y_j - 1) over all 2^7 seeds by brute
    force: the largest |bias| and the number of nonzero ones equal the enumeration's (1e-15); the
    uncertified subsets are exactly those whose XOR part, minus the union of AND parts, is empty
    (Python sets); every certified subset has brute-force bias exactly 0; the reported subset attains the
    maximum. The repeated-bits generator (a linear map) has bias 1 exactly on its uncertified subsets."""
    n, m = 7, 10
    edges = np.asarray(tiny.hyperedges)
    signs = 2.0 * brute_force_outputs(edges, n) - 1
    found = flows.analysis.sign_biases_by_order(*tiny.xor_and_masks(), n, max_order=5)
    assert [r.order for r in found] == [1, 2, 3, 4, 5]
    for result in found:
        k = result.order
        biases, uncertified = {}, set()
        for subset in itertools.combinations(range(m), k):
            biases[subset] = abs(np.prod(signs[:, list(subset)], axis=1).mean())
            counts = {}
            for j in subset:
                for v in edges[j, :3]:
                    counts[v] = counts.get(v, 0) + 1
            odd = {v for v, c in counts.items() if c % 2}
            if not odd - {int(v) for j in subset for v in edges[j, 3:]}:
                uncertified.add(subset)
        assert result.subsets == math.comb(m, k)
        assert result.uncertified == len(uncertified)
        assert {tuple(s) for s in flows.analysis.uncertified_subsets(*tiny.xor_and_masks(), k)} == uncertified
        assert all(biases[s] == 0 for s in biases if s not in uncertified)
        assert result.nonzero == sum(b > 0 for b in biases.values())
        assert result.largest_bias == pytest.approx(max(biases.values()), abs=1e-15)
        if result.largest_bias > 0:
            assert biases[result.largest_subset] == pytest.approx(result.largest_bias, abs=1e-15)
    assert max(r.largest_bias for r in found) > 0  # the test has something to find
    weak = flows.parametric.RepeatedBitsGenerator(3, 9)
    by_order = flows.analysis.sign_biases_by_order(*weak.xor_and_masks(), 3, max_order=4)
    assert [(r.uncertified, r.nonzero, r.largest_bias) for r in by_order] == [(0, 0, 0.0), (9, 9, 1.0), (0, 0, 0.0), (27, 27, 1.0)]


@pytest.mark.parametrize(
    "generator",
    [flows.parametric.RepeatedBitsGenerator(4, 6), flows.parametric.GoldreichPRGGenerator(7, 6, key=jax.random.PRNGKey(2), independence=1)],
    ids=["one word", "several words"],
)
def test_seed_bit_table_is_the_enumerated_sign_patterns(generator):
    """Bit r of row j of the table is y_j at seed r (sign_patterns row r), within one word (n = 4) and over
    several words (n = 7); padding bits are 0."""
    table = flows.analysis.seed_bit_table(*generator.xor_and_masks(), generator.seed_dim)
    bits = np.unpackbits(table.view(np.uint8), axis=1, bitorder="little")
    patterns = np.asarray(generator.sign_patterns())
    np.testing.assert_array_equal(bits[:, : 2**generator.seed_dim].T, (patterns > 0).astype(np.uint8))
    assert not bits[:, 2**generator.seed_dim :].any()


def test_scan_finds_the_training_maximum_exhaustively():
    """On m = 9 coordinates the fitted subset maximizes |mean_x chi_T - mean_y chi_T| over all C(9, k) subsets
    (an exhaustive NumPy search, float64; 1e-12), for k = 1..5; the held-out statistic and its standard
    error are the definitions'; costs are k and k C(9, k)."""
    keys = jax.random.split(jax.random.PRNGKey(0), 4)
    x_train, y_train, x_test, y_test = (np.array(jax.random.normal(k, (300, 9))) for k in keys)
    x_train[:, 3] = np.abs(x_train[:, 3]) * np.sign(x_train[:, 0] * x_train[:, 1])  # chi_{0,1,3} = 1: something to find
    for k in range(1, 6):
        result = flows.analysis.sign_product_scan(x_train, y_train, x_test, y_test, order=k)
        chi = lambda a, t: np.prod(np.sign(a[:, list(t)]), axis=1)
        best = max(abs(chi(x_train, t).mean() - chi(y_train, t).mean()) for t in itertools.combinations(range(9), k))
        assert result.train_statistic == pytest.approx(best, abs=1e-12)
        t = result.subset
        assert abs(chi(x_train, t).mean() - chi(y_train, t).mean()) == pytest.approx(best, abs=1e-12)
        assert result.sign * (chi(x_train, t).mean() - chi(y_train, t).mean()) > 0
        assert result.statistic == pytest.approx(result.sign * (chi(x_test, t).mean() - chi(y_test, t).mean()), abs=1e-12)
        assert result.standard_error == pytest.approx(math.sqrt(2 / 300))
        assert (result.operations_per_sample, result.fit_operations_per_sample) == (k, k * math.comb(9, k))
        assert result.p_value == pytest.approx(stats.norm.sf(result.z_score))
    assert flows.analysis.sign_product_scan(x_train, y_train, x_test, y_test, order=3).subset == (0, 1, 3)


def planted(key, n, m, bias):
    """N(0, I_m) samples whose sign of x_3 is s_0 s_1 s_2 eps, eps = +1 with probability (1 + bias) / 2: the
    sign product over (0, 1, 2, 3) has mean `bias`, every product of fewer than 4 signs mean 0."""
    k_x, k_eps = jax.random.split(key)
    x = np.array(jax.random.normal(k_x, (n, m)))
    eps = np.where(np.asarray(jax.random.uniform(k_eps, (n,))) < (1 + bias) / 2, 1.0, -1.0)
    x[:, 3] = np.abs(x[:, 3]) * np.sign(x[:, 0] * x[:, 1] * x[:, 2]) * eps
    return x


def test_degree_four_scan_detects_a_planted_four_wise_bias():
    """Bias 0.3 at order 4 only, 2000 train + 2000 test samples per side, m = 12: the degree-4 scan picks
    (0, 1, 2, 3) and its held-out z ~ 0.3 / sqrt(2 / 2000) ~ 9.5 exceeds 6; the scans of order 1..3 see
    a null (no bias below order 4): |z| < 4."""
    keys = jax.random.split(jax.random.PRNGKey(7), 4)
    x_train, x_test = planted(keys[0], 2000, 12, 0.3), planted(keys[1], 2000, 12, 0.3)
    y_train, y_test = (np.asarray(jax.random.normal(k, (2000, 12))) for k in keys[2:])
    four = flows.analysis.sign_product_scan(x_train, y_train, x_test, y_test, order=4)
    assert four.subset == (0, 1, 2, 3) and four.sign == 1 and four.z_score > 6
    for k in (1, 2, 3):
        assert abs(flows.analysis.sign_product_scan(x_train, y_train, x_test, y_test, order=k).z_score) < 4


def test_degree_four_scan_false_positive_rate_on_gaussians():
    """P = Q = N(0, I_10), 200 independent keys, 200 + 200 samples per side: the one-sided test at level 0.05
    (z > 1.645) fires at a rate within 0.05 +- 3 binomial standard errors (0.004 .. 0.096): the held-out
    statistic is calibrated (neither liberal nor far too conservative)."""
    level, keys = 0.05, jax.random.split(jax.random.PRNGKey(11), 200)
    fired = 0
    for key in keys:
        a, b, c, d = (np.asarray(x) for x in jax.random.normal(key, (4, 200, 10)))
        fired += flows.analysis.sign_product_scan(a, b, c, d, order=4).z_score > stats.norm.isf(level)
    error = math.sqrt(level * (1 - level) / keys.shape[0])
    assert level - 3 * error <= fired / keys.shape[0] <= level + 3 * error


def test_sign_product_critic_is_the_lipschitz_product_of_signs():
    """f_T(x) = prod_T sign(x_j) min_T |x_j| (NumPy, 1e-12) for |T| = 1..5; |f(x) - f(x')| <= |x - x'| on
    random pairs; the autodiff gradient has norm exactly 1 almost everywhere; the test's gap and standard
    error are the definitions', with 4(k - 1) ReLUs in ceil(log2 k) layers."""
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(3), (500, 6)))
    x2 = x + 0.3 * np.asarray(jax.random.normal(jax.random.PRNGKey(4), (500, 6)))
    for subset in [(2,), (0, 4), (1, 2, 5), (0, 1, 2, 3), (0, 1, 3, 4, 5)]:
        t = list(subset)
        reference = np.prod(np.sign(x[:, t]), axis=1) * np.min(np.abs(x[:, t]), axis=1)
        np.testing.assert_allclose(np.asarray(flows.analysis.sign_product_critic(x, subset)), reference, rtol=0, atol=1e-12)
        f, f2 = (np.asarray(flows.analysis.sign_product_critic(a, subset)) for a in (x, x2))
        assert np.all(np.abs(f - f2) <= np.linalg.norm(x - x2, axis=1) + 1e-12)
        grads = jax.vmap(jax.grad(lambda p, t=subset: flows.analysis.sign_product_critic(p, t)))(jnp.asarray(x))
        np.testing.assert_allclose(np.linalg.norm(np.asarray(grads), axis=1), 1.0, atol=1e-12)
        result = flows.analysis.lipschitz_critic_test(x, x2, subset, sign=-1)
        assert result.gap == pytest.approx(-(f.mean() - f2.mean()), abs=1e-12)
        assert result.standard_error == pytest.approx(math.sqrt(f.var(ddof=1) / 500 + f2.var(ddof=1) / 500), rel=1e-12)
        k = len(subset)
        assert (result.relu_units, result.depth) == (4 * (k - 1), math.ceil(math.log2(k)))


def relaxed_outputs(masks, guessed_mask, n):
    """Every y = L b + (AND terms, an uncovered monomial replaced by a free bit) over all b and free bits,
    written from the definition of the linearization (brute force)."""
    linear, ands = masks
    monomials = sorted({int(a) & ~guessed_mask for a in ands if bin(int(a) & ~guessed_mask).count("1") >= 2})
    found = set()
    for b in range(2**n):
        for free in range(2 ** len(monomials)):
            y = 0
            for j, (lin, conj) in enumerate(zip(linear.tolist(), ands.tolist())):
                bit = bin(lin & b).count("1") & 1
                if conj and not (conj & guessed_mask & ~b):
                    rest = conj & ~guessed_mask
                    if rest == 0:
                        bit ^= 1
                    elif bin(rest).count("1") == 1:
                        bit ^= int(bool(rest & b))
                    else:
                        bit ^= free >> monomials.index(rest) & 1
                y |= bit << j
            found.add(y)
    return found


def test_linearization_attack_accepts_exactly_the_relaxed_outputs():
    """n = 6, m = 14 (no independence asked), two guesses: over all 2^14 sign vectors the attack accepts
    exactly the outputs of the linearized system (brute force over seeds and the free monomial bits),
    which contain every generated pattern; its acceptance rate of uniform signs is at most its bound.
    The repeated-bits generator needs no guess and has redundancy m - n."""
    g = flows.parametric.GoldreichPRGGenerator(6, 14, key=jax.random.PRNGKey(5), independence=1)
    masks = g.xor_and_masks()
    attack = flows.analysis.linearization_attack(*masks, 6, margin=14, max_guesses=2)
    assert len(attack.guessed) == 2 and attack.redundancy.shape == (4,)
    everything = (np.arange(2**14)[:, None] >> np.arange(14)) & 1
    accepted = attack.accepts(2.0 * everything - 1)
    reference = relaxed_outputs(masks, sum(1 << i for i in attack.guessed), 6)
    assert set(np.nonzero(accepted)[0].tolist()) == reference
    generated = (np.asarray(g.sign_patterns()) > 0).astype(np.int64) @ (1 << np.arange(14))
    assert set(generated.tolist()) <= reference
    assert accepted.mean() <= attack.false_accept_bound
    weak = flows.parametric.RepeatedBitsGenerator(4, 11)
    linear = flows.analysis.linearization_attack(*weak.xor_and_masks(), 4)
    assert linear.guessed == () and linear.redundancy.tolist() == [7] and linear.operations_per_sample == 7 * 11
    x = flows.parametric.push_forward(weak, jax.random.normal(jax.random.PRNGKey(6), (300, weak.latent_dim)))
    y = jax.random.normal(jax.random.PRNGKey(7), (300, 11))
    result = flows.analysis.linearization_test(linear, x, y)
    assert result.accept_rate_x == 1.0 and result.accept_rate_y < 0.05 and result.z_score > 10


def test_bad_input_raises():
    g = flows.parametric.GoldreichPRGGenerator(6, 8, key=jax.random.PRNGKey(0), independence=1)
    x = np.zeros((10, 8))
    with pytest.raises(ValueError, match="max_order"):
        flows.analysis.sign_biases_by_order(*g.xor_and_masks(), 6, max_order=6)
    with pytest.raises(ValueError, match="seed_dim"):
        flows.analysis.seed_bit_table(*g.xor_and_masks(), 25)
    with pytest.raises(ValueError, match="seed variables"):
        flows.analysis.seed_bit_table(*g.xor_and_masks(), 3)
    with pytest.raises(ValueError, match="order"):
        flows.analysis.sign_product_scan(x, x, x, x, order=0)
    with pytest.raises(ValueError, match="one dimension"):
        flows.analysis.sign_product_scan(x, x[:, :5], x, x, order=2)
    with pytest.raises(ValueError, match="subset"):
        flows.analysis.lipschitz_critic_test(x, x, (0, 8))
    with pytest.raises(ValueError, match="max_guesses"):
        flows.analysis.linearization_attack(*g.xor_and_masks(), 6, max_guesses=17)
    with pytest.raises(ValueError, match="attack"):
        flows.analysis.linearization_test("attack", x, x)
    with pytest.raises(ValueError, match="dimension"):
        flows.analysis.linearization_attack(*g.xor_and_masks(), 6).accepts(np.zeros((3, 5)))
