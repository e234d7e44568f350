r"""Distinguishers of sign-pattern generators from $\mathcal N(0, I_m)$, and the exact biases they look for
(Chen, Li, Li, Meka, "Minimax Optimality (Probably) Doesn't Imply Distribution Learning for GANs",
ICLR 2022: a Goldreich local PRG fed Gaussian seeds fools every polynomially large Lipschitz ReLU
discriminator if local PRGs exist; these are the discriminators that claim has to beat at a given size).

A sign-pattern generator outputs $x_j = s_j |w_j|$, $s = 2y(b) - 1$, where $b \in \{0,1\}^n$ are the
seed bits and each output bit is an XOR-AND map
$y_j = \bigoplus_{i \in L_j} b_i \oplus \bigwedge_{i \in A_j} b_i$ (the AND term absent when $A_j = \emptyset$;
`flows.parametric.AbstractSignPatternGenerator.xor_and_masks`). Under $\mathcal N(0, I_m)$ the signs are
independent and uniform, so every sign product $\chi_T(x) = \prod_{j \in T}\operatorname{sign}(x_j)$ has mean 0.

**Exact biases by order** (`sign_biases_by_order`). For the generator, $\mathbb E\,\chi_T = 2^{-n}\sum_b
\prod_{j\in T} s_j(b)$, summed over every seed: each output's bits over all $2^n$ seeds are one
bitset (`seed_bit_table`; bit $r$ is $y_j$ at the seed whose bits are those of $r$), so
$\mathbb E\,\chi_T = (-1)^{|T|}(1 - 2^{1-n}\,\operatorname{popcount}(\bigoplus_{j\in T} \text{row}_j))$.
Most subsets need no enumeration: if some variable lies in an odd number of the $L_j$, $j \in T$, and in
none of the $A_j$ (the certificate $(\bigoplus_T L_j) \setminus (\bigcup_T A_j) \ne \emptyset$), flipping it flips
$\bigoplus_T y_j$, so $\mathbb E\,\chi_T = 0$ exactly. `uncertified_subsets` lists the subsets without a
certificate (all $\binom mk$ checked on bit masks); only those are enumerated.

**Degree-$k$ sign-product scan** (`sign_product_scan`). Fit: on training samples of $P$ and $Q$, the
subset $T$ of size $k$ (all $\binom mk$: a product of $\pm 1$ matrices of head and tail sign products per
block of subsets) maximising $|\bar\chi_T(x) - \bar\chi_T(y)|$, with its sign $\sigma$. Test: on
held-out samples, $\Delta = \sigma(\bar\chi_T(x) - \bar\chi_T(y))$. The fitted $T$ is independent of the
held-out points and $\chi_T = \pm 1$, so under $P = Q$ the statistic has mean 0 and standard deviation at
most $\sqrt{1/N_P + 1/N_Q}$ (exactly, when $Q = \mathcal N(0, I)$): $z = \Delta / \sqrt{1/N_P + 1/N_Q}$.

**Lipschitz critics from the found subsets** (`sign_product_critic`, `lipschitz_critic_test`). With
$g(a, b) = \frac12(|a + b| - |a - b|) = \operatorname{sign}(ab)\min(|a|, |b|)$, a binary tree of $g$ over the
coordinates of $T$ is $f_T(x) = \chi_T(x)\min_{j \in T}|x_j|$: 1-Lipschitz ($g$ is 1-Lipschitz in the
Euclidean norm of $(a, b)$, and the subtrees act on disjoint coordinates), and a ReLU network
($|t| = \mathrm{relu}(t) + \mathrm{relu}(-t)$) of $4(k - 1)$ units and depth $\lceil\log_2 k\rceil$ gadgets.
Its held-out gap $\sigma(\bar f_T(x) - \bar f_T(y))$ estimates an IPM over 1-Lipschitz functions, a lower
bound on $W_1(P, Q)$.

**GF(2) linearization attack** (`linearization_attack`, `linearization_test`). Guess the bits of a set $G$
of seed variables; each output is then affine over GF(2) in the unknowns $u$ = (the other variables, and
one fresh variable per distinct AND monomial none of whose variables is guessed): $y = A_g u \oplus c_g$.
A generated $y$ satisfies $H_g y = H_g c_g$ for the true guess, every $H_g$ whose rows span the left null
space of $A_g$ (Gaussian elimination over GF(2)); a uniform $y$ does so with probability
$2^{-d_g}$, $d_g = m - \operatorname{rank} A_g$. Accept $y$ iff some guess is consistent: generated samples
are always accepted, Gaussian ones with probability at most $\sum_g 2^{-d_g}$. $G$ is chosen greedily as
the variables touching the most uncovered AND monomials, until $m - \#u - |G| \ge$ `margin`
(the guess-and-determine linearization of Goldreich's PRG: Couteau, Dupin, Méaux, Rossi, Rotella,
ASIACRYPT 2018). Its cost is $\sum_g d_g \cdot m$ bit operations per sample, against $2^n \cdot 2m$ for the
brute force over the seeds.

Every test reports its cost in operations per sample (`operations_per_sample`): the size of the
fitted distinguisher as a circuit; the scan also reports its search (`fit_operations_per_sample`).
"""

from __future__ import annotations

import dataclasses
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int
from scipy import stats

from .._checks import check_int, check_points

_MAX_ENUMERATED_SEED_DIM = 24
_MAX_ORDER = 5
_HEAD_CHUNK = 512


# ---------------------------------------------------------------- bit helpers


def _check_masks(xor_masks, and_masks, seed_dim: int = 62) -> tuple[np.ndarray, np.ndarray]:
    linear, ands = np.asarray(xor_masks), np.asarray(and_masks)
    if linear.ndim != 1 or linear.shape != ands.shape or linear.size == 0:
        raise ValueError(
            f"`xor_masks` and `and_masks` must be non-empty (m,) integer arrays of one shape, got {linear.shape}, {ands.shape}."
        )
    if not (np.issubdtype(linear.dtype, np.integer) and np.issubdtype(ands.dtype, np.integer)):
        raise ValueError("`xor_masks` and `and_masks` must be integer bit masks.")
    linear, ands = linear.astype(np.int64), ands.astype(np.int64)
    if np.any(linear < 0) or np.any(ands < 0) or np.any((linear | ands) >> seed_dim):
        raise ValueError(f"the masks must name seed variables 0..{seed_dim - 1} only (`seed_dim` = {seed_dim}).")
    return linear, ands


_WORD = 32  # bits per packed word (uint32: the same in JAX with or without 64-bit types)
_ALL_ONES = np.uint32(2**32 - 1)


def _pack_rows(bits: np.ndarray) -> np.ndarray:
    """(..., m) booleans -> (..., ceil(m / 32)) uint32: bit j of the row is bits[..., j]."""
    width = _WORD * -(-bits.shape[-1] // _WORD)
    padded = np.zeros((*bits.shape[:-1], width), np.uint8)
    padded[..., : bits.shape[-1]] = bits
    return np.ascontiguousarray(np.packbits(padded, axis=-1, bitorder="little")).view("<u4").astype(np.uint32)


# ---------------------------------------------------------------- exact biases by order


@dataclasses.dataclass(frozen=True)
class SignBiases:
    r"""The exact sign biases of one order $k$ over every seed (module docstring).

    **Fields:**
    - `order`: $k$.
    - `subsets`: $\binom mk$, the output subsets of size $k$.
    - `uncertified`: how many have no certificate of balance (only these can be biased).
    - `nonzero`: how many of those have $\mathbb E\,\chi_T \ne 0$ (exactly, over all $2^n$ seeds).
    - `largest_bias`: $\max_{|T| = k} |\mathbb E\,\chi_T|$ (0 when every subset is certified).
    - `largest_subset`: a subset attaining it (None when `largest_bias` is 0).
    """

    order: int
    subsets: int
    uncertified: int
    nonzero: int
    largest_bias: float
    largest_subset: tuple[int, ...] | None


def seed_bit_table(xor_masks: ArrayLike, and_masks: ArrayLike, seed_dim: int) -> np.ndarray:
    r"""Every output bit over every seed, as bitsets: shape (m, $\lceil 2^n / 32\rceil$) uint32, bit $r$ of
    row $j$ the bit $y_j$ at the seed $b_i = \lfloor r / 2^i\rfloor \bmod 2$ (padding bits 0).

    The seed bit $b_i$ over all seeds is a fixed pattern (within a word for $i < 5$, whole words for
    $i \ge 5$), and $y_j$ is its XORs and ANDs: $m\,(|L_j| + |A_j|)$ word operations on $2^n/32$ words.
    `seed_dim` $\le 24$ (2 MB per output)."""
    check_int("seed_dim", seed_dim, 1)
    if seed_dim > _MAX_ENUMERATED_SEED_DIM:
        raise ValueError(f"`seed_dim` must be <= {_MAX_ENUMERATED_SEED_DIM} to enumerate its seeds, got {seed_dim}.")
    linear, ands = _check_masks(xor_masks, and_masks, seed_dim)
    words = max(1, 2**seed_dim // _WORD)
    index = np.arange(words, dtype=np.uint32)
    within = np.arange(_WORD, dtype=np.uint32)
    seed_bits = []
    for i in range(seed_dim):
        if i < 5:
            pattern = np.bitwise_or.reduce(((within >> np.uint32(i)) & np.uint32(1)) << within)
            seed_bits.append(np.full(words, pattern, np.uint32))
        else:
            seed_bits.append(np.where((index >> np.uint32(i - 5)) & np.uint32(1), _ALL_ONES, np.uint32(0)))
    valid = _ALL_ONES if seed_dim >= 5 else np.uint32(2 ** (2**seed_dim) - 1)
    table = np.zeros((linear.size, words), np.uint32)
    for j, (lin, conj) in enumerate(zip(linear.tolist(), ands.tolist())):
        row = np.zeros(words, np.uint32)
        for i in range(seed_dim):
            if lin >> i & 1:
                row ^= seed_bits[i]
        if conj:
            term = np.full(words, valid, np.uint32)
            for i in range(seed_dim):
                if conj >> i & 1:
                    term &= seed_bits[i]
            row ^= term
        table[j] = row & valid
    return table


def uncertified_subsets(xor_masks: ArrayLike, and_masks: ArrayLike, order: int) -> Int[np.ndarray, "count order"]:
    r"""The output subsets $T$ of size `order` (sorted index tuples, lexicographic by their last index)
    with $(\bigoplus_{j\in T} L_j) \setminus (\bigcup_{j \in T} A_j) = \emptyset$: those the XOR-AND structure does
    not prove balanced (module docstring). All $\binom mk$ subsets are checked on int64 bit masks, level by
    level ($k - 1$ to $k$ by appending a larger index)."""
    check_int("order", order, 1)
    linear, ands = _check_masks(xor_masks, and_masks)
    m = linear.size
    subsets, odd, union = np.arange(m)[:, None], linear.copy(), ands.copy()
    for _ in range(order - 1):
        last = subsets[:, -1]
        parts = [(np.nonzero(last < e)[0], e) for e in range(m)]
        subsets = np.concatenate([np.column_stack([subsets[rows], np.full(rows.size, e)]) for rows, e in parts])
        odd = np.concatenate([odd[rows] ^ linear[e] for rows, e in parts])
        union = np.concatenate([union[rows] | ands[e] for rows, e in parts])
    return subsets[(odd & ~union) == 0]


def subset_sign_biases(table: np.ndarray, subsets: Int[ArrayLike, "count k"], seed_dim: int) -> np.ndarray:
    r"""$\mathbb E\,\chi_T = (-1)^k(1 - 2^{1-n}\operatorname{popcount}(\bigoplus_{j\in T}\text{row}_j))$ over all $2^n$
    seeds, for each row $T$ of `subsets` (size $k$), from the `seed_bit_table`."""
    subsets = np.asarray(subsets)
    if subsets.ndim != 2:
        raise ValueError(f"`subsets` must be a (count, k) integer array, got shape {subsets.shape}.")
    if subsets.shape[0] == 0:
        return np.zeros(0)
    rows = jnp.asarray(table)
    chunk = max(1, 2**22 // (rows.shape[1] * subsets.shape[1]))  # about 32 MB of gathered words per step
    counts = []
    for start in range(0, subsets.shape[0], chunk):
        counts.append(np.asarray(_xor_popcounts(rows, jnp.asarray(subsets[start : start + chunk]))))
    ones = np.concatenate(counts).astype(np.float64)
    return (-1.0) ** subsets.shape[1] * (1.0 - 2.0 * ones / 2.0**seed_dim)


@jax.jit
def _xor_popcounts(rows, subsets):
    xor = jax.lax.reduce(rows[subsets], np.uint32(0), jax.lax.bitwise_xor, (1,))
    return jnp.sum(jax.lax.population_count(xor).astype(jnp.int32), axis=1)


def sign_biases_by_order(
    xor_masks: ArrayLike, and_masks: ArrayLike, seed_dim: int, max_order: int = _MAX_ORDER
) -> tuple[SignBiases, ...]:
    """The exact sign biases of orders $1..$`max_order` ($\\le 5$) of the XOR-AND generator with these masks,
    over every one of its $2^n$ seeds (`seed_dim` $\\le 24$): certified subsets are 0 by the certificate,
    the others are enumerated (module docstring). E.g. `sign_biases_by_order(*g.xor_and_masks(), g.seed_dim)`."""
    check_int("max_order", max_order, 1)
    if max_order > _MAX_ORDER:
        raise ValueError(f"`max_order` must be <= {_MAX_ORDER}, got {max_order}.")
    table = seed_bit_table(xor_masks, and_masks, seed_dim)
    linear, ands = _check_masks(xor_masks, and_masks, seed_dim)
    out = []
    for order in range(1, max_order + 1):
        candidates = uncertified_subsets(linear, ands, order)
        biases = np.abs(subset_sign_biases(table, candidates, seed_dim))
        best = int(np.argmax(biases)) if biases.size else None
        largest = float(biases[best]) if best is not None else 0.0
        out.append(SignBiases(
            order=order, subsets=math.comb(linear.size, order), uncertified=int(candidates.shape[0]),
            nonzero=int(np.sum(biases > 0)), largest_bias=largest,
            largest_subset=tuple(int(j) for j in candidates[best]) if largest > 0 else None,
        ))
    return tuple(out)


# ---------------------------------------------------------------- degree-k sign-product scan


@dataclasses.dataclass(frozen=True)
class SignProductScanResult:
    r"""A degree-$k$ sign-product scan (module docstring).

    **Fields:**
    - `order`: $k$.
    - `subset`: the subset $T$ fitted on the training samples; `sign`: $\sigma = \pm 1$.
    - `train_statistic`: $|\bar\chi_T(x) - \bar\chi_T(y)|$ on the training samples (the maximum).
    - `statistic`: $\Delta = \sigma(\bar\chi_T(x) - \bar\chi_T(y))$ on the held-out samples.
    - `standard_error`: $\sqrt{1/N_P + 1/N_Q}$, its standard deviation under $P = Q = \mathcal N(0, I)$.
    - `subsets_scanned`: $\binom mk$.
    - `operations_per_sample`: $k$ (the fitted test: $k - 1$ sign products and one accumulation).
    - `fit_operations_per_sample`: $k\binom mk$ per training sample (the search).

    `z_score` is `statistic / standard_error`; `p_value` its one-sided normal tail.
    """

    order: int
    subset: tuple[int, ...]
    sign: int
    train_statistic: float
    statistic: float
    standard_error: float
    subsets_scanned: int
    operations_per_sample: int
    fit_operations_per_sample: int

    @property
    def z_score(self) -> float:
        return self.statistic / self.standard_error

    @property
    def p_value(self) -> float:
        return float(stats.norm.sf(self.z_score))


def _combinations(m: int, size: int) -> np.ndarray:
    """All sorted `size`-subsets of range(m) as rows (the empty set: one row of width 0)."""
    subsets = np.zeros((1, 0), np.int64)
    for _ in range(size):
        last = subsets[:, -1] if subsets.shape[1] else np.full(subsets.shape[0], -1)
        subsets = np.concatenate([np.column_stack([subsets[last < e], np.full(int(np.sum(last < e)), e)]) for e in range(m)])
    return subsets


def _products(signs: np.ndarray, subsets: np.ndarray) -> np.ndarray:
    """(N, count) float32: the sign product of each subset (row of `subsets`) at each sample."""
    out = np.ones((signs.shape[0], subsets.shape[0]), np.float32)
    for column in range(subsets.shape[1]):
        out *= signs[:, subsets[:, column]]
    return out


@functools.partial(jax.jit, static_argnames="length")
def _best_in_block(signs_x, signs_y, heads, head_max, tails_x, tails_y, tail_min, first, length):
    """Over the (head, tail) pairs of this block of heads and the `length` tails from `first` with head max
    < tail min: the largest |mean_x chi - mean_y chi|, its flat index and signed value. Means of products
    of +-1 are exact in float32 (integer sums below 2^24)."""
    head_x = jnp.prod(signs_x[:, heads], axis=-1)
    head_y = jnp.prod(signs_y[:, heads], axis=-1)
    tail_x = jax.lax.dynamic_slice_in_dim(tails_x, first, length, axis=1)
    tail_y = jax.lax.dynamic_slice_in_dim(tails_y, first, length, axis=1)
    difference = head_x.T @ tail_x / signs_x.shape[0] - head_y.T @ tail_y / signs_y.shape[0]
    valid = head_max[:, None] < jax.lax.dynamic_slice_in_dim(tail_min, first, length)[None, :]
    score = jnp.where(valid, jnp.abs(difference), -1.0)
    flat = jnp.argmax(score)
    return score.reshape(-1)[flat], flat, difference.reshape(-1)[flat]


def _scan(signs_x: np.ndarray, signs_y: np.ndarray, order: int) -> tuple[tuple[int, ...], int, float]:
    """The subset of size `order` maximising |mean_x chi_T - mean_y chi_T| over these +-1 signs, with its sign
    and the maximum: each subset is a head (its `order - order // 2` smallest indices) and a tail (the rest),
    and a block of heads meets the tails whose smallest index exceeds the heads' largest in one product."""
    m = signs_x.shape[1]
    tail_size = order // 2
    heads = _combinations(m, order - tail_size)
    heads = heads[np.argsort(heads[:, -1], kind="stable")]
    tails = _combinations(m, tail_size)
    tail_min = tails[:, 0] if tail_size else np.full(1, m)
    ranked = np.argsort(tail_min, kind="stable")
    tails, tail_min = tails[ranked], tail_min[ranked]
    longest = 1 << int(np.ceil(np.log2(tail_min.size)))
    pad = ((0, 0), (0, longest))  # zero columns past the end: every slice of `longest` stays in range
    tails_x = jnp.asarray(np.pad(_products(signs_x, tails), pad))
    tails_y = jnp.asarray(np.pad(_products(signs_y, tails), pad))
    tail_bounds = jnp.asarray(np.pad(tail_min, (0, longest), constant_values=-1))
    sx, sy = jnp.asarray(signs_x), jnp.asarray(signs_y)
    best = (-1.0, None, 0.0)
    for start in range(0, heads.shape[0], _HEAD_CHUNK):
        block = heads[start : start + _HEAD_CHUNK]
        first = int(np.searchsorted(tail_min, block[:, -1].min(), side="right"))
        if first == tail_min.size:
            continue
        length = 1 << int(np.ceil(np.log2(tail_min.size - first)))  # bucketed lengths: few compilations
        rows = _HEAD_CHUNK - block.shape[0]
        padded = np.pad(block, ((0, rows), (0, 0)))
        head_max = np.pad(block[:, -1], (0, rows), constant_values=m)  # padding heads are never valid
        score, flat, difference = (np.asarray(a) for a in _best_in_block(
            sx, sy, jnp.asarray(padded), jnp.asarray(head_max), tails_x, tails_y, tail_bounds, first, length))
        if float(score) > best[0]:
            h, t = divmod(int(flat), length)
            best = (float(score), tuple(sorted(int(j) for j in (*block[h], *tails[first + t]))), float(difference))
    score, subset, difference = best
    return subset, 1 if difference >= 0 else -1, score


def _sign_product(x: np.ndarray, subset: tuple[int, ...]) -> np.ndarray:
    return np.prod(np.where(x[:, list(subset)] < 0, -1.0, 1.0), axis=1)


def sign_product_scan(
    x_train: Float[ArrayLike, "n m"],
    y_train: Float[ArrayLike, "M m"],
    x_test: Float[ArrayLike, "n2 m"],
    y_test: Float[ArrayLike, "M2 m"],
    order: int,
) -> SignProductScanResult:
    """The degree-`order` sign-product scan of samples `x` ($P$) against `y` ($Q$, e.g. $\\mathcal N(0, I)$):
    fit the subset on the training samples, test it on the held-out ones (module docstring).
    `order` $\\in 1..5$; the search is over all $\\binom mk$ subsets, bit-packed."""
    check_int("order", order, 1)
    if order > _MAX_ORDER:
        raise ValueError(f"`order` must be <= {_MAX_ORDER}, got {order}.")
    arrays = [np.asarray(check_points(name, a), np.float64) for name, a in
              (("x_train", x_train), ("y_train", y_train), ("x_test", x_test), ("y_test", y_test))]
    dims = {a.shape[1] for a in arrays}
    if len(dims) != 1:
        raise ValueError(f"the four samples must have one dimension m, got {sorted(dims)}.")
    m = dims.pop()
    if order > m:
        raise ValueError(f"`order` must be <= the dimension m = {m}, got {order}.")
    x_train, y_train, x_test, y_test = arrays
    signs = [np.where(a < 0, -1.0, 1.0).astype(np.float32) for a in (x_train, y_train)]
    subset, sign, _ = _scan(*signs, order)
    train_statistic = abs(float(_sign_product(x_train, subset).mean() - _sign_product(y_train, subset).mean()))
    statistic = sign * float(_sign_product(x_test, subset).mean() - _sign_product(y_test, subset).mean())
    subsets = math.comb(m, order)
    return SignProductScanResult(
        order=order, subset=subset, sign=sign, train_statistic=train_statistic, statistic=statistic,
        standard_error=math.sqrt(1 / x_test.shape[0] + 1 / y_test.shape[0]), subsets_scanned=subsets,
        operations_per_sample=order, fit_operations_per_sample=order * subsets,
    )


# ---------------------------------------------------------------- Lipschitz ReLU critics


def _gadget(a, b):
    """$g(a, b) = \\frac12(|a + b| - |a - b|)$ with $|t| = \\mathrm{relu}(t) + \\mathrm{relu}(-t)$."""
    relu = jax.nn.relu
    return 0.5 * (relu(a + b) + relu(-a - b) - relu(a - b) - relu(b - a))


def sign_product_critic(x: Float[ArrayLike, "... m"], subset: tuple[int, ...]) -> Float[Array, ...]:
    r"""$f_T(x) = \chi_T(x)\min_{j\in T}|x_j|$ as the ReLU network of the module docstring: a balanced binary
    tree of gadgets $g(a, b) = \frac12(|a + b| - |a - b|)$ over the coordinates of `subset` (1-Lipschitz)."""
    if len(subset) == 0:
        raise ValueError("`subset` must name at least one coordinate.")
    x = jnp.asarray(x)
    level = [x[..., j] for j in subset]
    while len(level) > 1:
        paired = [_gadget(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0]


@dataclasses.dataclass(frozen=True)
class CriticGapResult:
    r"""The held-out IPM gap of an explicit 1-Lipschitz critic (module docstring).

    **Fields:**
    - `subset`, `sign`: the critic $\sigma f_T$.
    - `gap`: $\sigma(\bar f_T(x) - \bar f_T(y))$ on the held-out samples (a $W_1$ lower bound, up to noise).
    - `standard_error`: $\sqrt{s_x^2/N_P + s_y^2/N_Q}$ (sample variances, ddof 1).
    - `relu_units`, `depth`: $4(|T| - 1)$ ReLUs in $\lceil\log_2|T|\rceil$ gadget layers.
    - `operations_per_sample`: $10(|T| - 1)$ (per gadget: 4 additions, 4 ReLUs, a difference and a halving).

    `z_score` is `gap / standard_error`; `p_value` its one-sided normal tail.
    """

    subset: tuple[int, ...]
    sign: int
    gap: float
    standard_error: float
    relu_units: int
    depth: int
    operations_per_sample: int

    @property
    def z_score(self) -> float:
        return self.gap / self.standard_error

    @property
    def p_value(self) -> float:
        return float(stats.norm.sf(self.z_score))


def lipschitz_critic_test(
    x_test: Float[ArrayLike, "n m"], y_test: Float[ArrayLike, "M m"], subset: tuple[int, ...], sign: int = 1
) -> CriticGapResult:
    """The held-out gap of the 1-Lipschitz ReLU critic $\\sigma f_T$ (`sign_product_critic`) between samples
    `x_test` ($P$) and `y_test` ($Q$); fit `subset` and `sign` elsewhere (e.g. `sign_product_scan`)."""
    x, y = (np.asarray(check_points(n, a), np.float64) for n, a in (("x_test", x_test), ("y_test", y_test)))
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"`x_test` and `y_test` must have one dimension, got {x.shape[1]} and {y.shape[1]}.")
    subset = tuple(int(j) for j in subset)
    if not subset or min(subset) < 0 or max(subset) >= x.shape[1] or len(set(subset)) != len(subset):
        raise ValueError(f"`subset` must be distinct coordinates of 0..{x.shape[1] - 1}, got {subset}.")
    if sign not in (-1, 1):
        raise ValueError(f"`sign` must be 1 or -1, got {sign!r}.")
    fx, fy = (sign * np.asarray(sign_product_critic(a, subset), np.float64) for a in (x, y))
    k = len(subset)
    return CriticGapResult(
        subset=subset, sign=sign, gap=float(fx.mean() - fy.mean()),
        standard_error=float(math.sqrt(fx.var(ddof=1) / fx.size + fy.var(ddof=1) / fy.size)),
        relu_units=4 * (k - 1), depth=math.ceil(math.log2(k)) if k > 1 else 0, operations_per_sample=10 * (k - 1),
    )


# ---------------------------------------------------------------- GF(2) linearization attack


@dataclasses.dataclass(frozen=True)
class LinearizationAttack:
    r"""The guess-and-determine linearization distinguisher of an XOR-AND generator (module docstring).

    **Fields:**
    - `dim`: $m$.
    - `guessed`: the guessed seed variables $G$ (one linear system per assignment, $2^{|G|}$ of them).
    - `unknowns`: $\#u$, the unguessed variables plus the uncovered AND monomials.
    - `redundancy`: $d_g = m - \operatorname{rank} A_g$ for each guess $g$ (assignment $g$: bit $i$ is the
      value of `guessed[i]`).
    - `parity_checks`: (guesses, $\max_g d_g$, $\lceil m/32\rceil$) uint32, the rows of each $H_g$ packed
      (unused rows 0); `targets`: (guesses, $\max_g d_g$) the parities $H_g c_g$.

    `false_accept_bound` is $\sum_g 2^{-d_g}$ (the acceptance probability of a uniform sign vector);
    `operations_per_sample` is $\sum_g d_g\, m$ (an AND and a parity per check row and output bit).
    """

    dim: int
    guessed: tuple[int, ...]
    unknowns: int
    redundancy: np.ndarray
    parity_checks: np.ndarray
    targets: np.ndarray

    @property
    def false_accept_bound(self) -> float:
        return float(np.sum(2.0 ** -self.redundancy.astype(np.float64)))

    @property
    def operations_per_sample(self) -> int:
        return int(np.sum(self.redundancy)) * self.dim

    def accepts(self, x: Float[ArrayLike, "N m"]) -> np.ndarray:
        """True where the sign bits $y = \\mathbf 1[x > 0]$ of a row of `x` are consistent with some guess."""
        x = np.asarray(check_points("x", x, dim=self.dim, dim_name="the attack's dimension"))
        packed = jnp.asarray(_pack_rows(x > 0))
        checks, targets = jnp.asarray(self.parity_checks), jnp.asarray(self.targets)
        chunk = max(1, 2**24 // max(1, checks.size))
        out = [np.asarray(_consistent(packed[i : i + chunk], checks, targets)) for i in range(0, packed.shape[0], chunk)]
        return np.concatenate(out)


@jax.jit
def _consistent(packed, checks, targets):
    parity = jnp.sum(jax.lax.population_count(checks[None] & packed[:, None, None, :]).astype(jnp.int32), axis=-1) & 1
    return jnp.any(jnp.all(parity == targets[None], axis=-1), axis=-1)


def _popcount(value: int) -> int:
    return bin(value).count("1")


def _uncovered_monomials(ands: np.ndarray, guessed_mask: int) -> set[int]:
    return {int(a) & ~guessed_mask for a in ands.tolist() if _popcount(int(a) & ~guessed_mask) >= 2}


def _choose_guesses(ands: np.ndarray, seed_dim: int, margin: int, max_guesses: int) -> int:
    """Greedy guess set (bit mask): the variable in the most uncovered AND monomials, until the margin holds."""
    m, guessed = ands.size, 0

    def short(mask):
        unknowns = seed_dim - _popcount(mask) + len(_uncovered_monomials(ands, mask))
        return m - unknowns - _popcount(mask) < margin

    while short(guessed) and _popcount(guessed) < max_guesses:
        monomials = _uncovered_monomials(ands, guessed)
        if not monomials:
            break
        degree = [sum(mono >> i & 1 for mono in monomials) for i in range(seed_dim)]
        guessed |= 1 << int(np.argmax(degree))
    return guessed


def linearization_attack(
    xor_masks: ArrayLike, and_masks: ArrayLike, seed_dim: int, *, margin: int = 10, max_guesses: int = 12
) -> LinearizationAttack:
    """The GF(2) guess-and-determine linearization distinguisher of the XOR-AND generator with these masks
    (module docstring): guesses chosen greedily until $m - \\#u - |G| \\ge$ `margin` (or `max_guesses` are
    guessed), one Gaussian elimination over GF(2) per guess, batched over the $2^{|G|}$ guesses."""
    check_int("seed_dim", seed_dim, 1)
    if seed_dim > 62:
        raise ValueError(f"`seed_dim` must be <= 62 (int64 bit masks), got {seed_dim}.")
    check_int("margin", margin, 0)
    check_int("max_guesses", max_guesses, 0)
    if max_guesses > 16:
        raise ValueError(f"`max_guesses` must be <= 16 (2^16 linear systems), got {max_guesses}.")
    linear, ands = _check_masks(xor_masks, and_masks, seed_dim)
    m = linear.size
    guessed_mask = _choose_guesses(ands, seed_dim, margin, max_guesses)
    guessed = [i for i in range(seed_dim) if guessed_mask >> i & 1]
    free = [i for i in range(seed_dim) if not guessed_mask >> i & 1]
    monomials = sorted(_uncovered_monomials(ands, guessed_mask))
    column = {1 << i: c for c, i in enumerate(free)} | {mono: len(free) + c for c, mono in enumerate(monomials)}
    unknowns = len(column)
    # Guess assignments as bit masks over the seed variables: guess g sets guessed[i] to bit i of g.
    g = np.arange(2 ** len(guessed), dtype=np.int64)
    assignment = np.zeros_like(g)
    for i, variable in enumerate(guessed):
        assignment |= ((g >> i) & 1) << variable
    system = np.zeros((g.size, m, unknowns + m), np.uint8)  # [A_g | I]
    constants = np.zeros((g.size, m), np.uint8)
    for j, (lin, conj) in enumerate(zip(linear.tolist(), ands.tolist())):
        for i in free:
            if lin >> i & 1:
                system[:, j, column[1 << i]] ^= 1
        constants[:, j] = np.bitwise_count(assignment & (lin & guessed_mask)) & 1
        if conj:
            active = ((conj & guessed_mask) & ~assignment) == 0  # the guessed AND variables are all 1
            rest = conj & ~guessed_mask
            if rest == 0:
                constants[:, j] ^= active
            else:
                system[:, j, column[rest]] ^= active.astype(np.uint8)
        system[:, j, unknowns + j] = 1
    rank = _eliminate(system, unknowns)
    rows = np.arange(m)
    null_rows = rows[None, :] >= rank[:, None]  # rows whose A part vanished: their identity part is a check
    checks = system[:, :, unknowns:] * null_rows[:, :, None]
    targets = (np.einsum("grj,gj->gr", checks.astype(np.int64), constants.astype(np.int64)) & 1).astype(np.uint8)
    order = np.argsort(~null_rows, axis=1, kind="stable")  # null rows first
    depth = max(1, int(m - rank.min()))
    checks = np.take_along_axis(checks, order[:, :, None], axis=1)[:, :depth]
    targets = np.take_along_axis(targets, order, axis=1)[:, :depth]
    return LinearizationAttack(
        dim=m, guessed=tuple(guessed), unknowns=unknowns, redundancy=(m - rank).astype(np.int64),
        parity_checks=_pack_rows(checks.astype(bool)), targets=targets,
    )


def _eliminate(system: np.ndarray, columns: int) -> np.ndarray:
    """Row-reduce the first `columns` columns of each (m, C) GF(2) matrix of the batch `system` in place,
    pivot rows moved to the top; returns each matrix's rank."""
    batch, m = system.shape[:2]
    rank = np.zeros(batch, np.int64)
    rows = np.arange(m)
    for c in range(columns):
        candidates = (system[:, :, c] == 1) & (rows[None, :] >= rank[:, None])
        has = np.nonzero(candidates.any(axis=1))[0]
        if has.size == 0:
            continue
        pivot = np.argmax(candidates[has], axis=1)
        top = rank[has]
        pivot_rows, top_rows = system[has, pivot].copy(), system[has, top].copy()
        system[has, top], system[has, pivot] = pivot_rows, top_rows
        hit = system[has, :, c].copy()
        hit[np.arange(has.size), top] = 0
        system[has] ^= hit[:, :, None] * pivot_rows[:, None, :]
        rank[has] += 1
    return rank


@dataclasses.dataclass(frozen=True)
class AttackTestResult:
    r"""A distinguisher that accepts or rejects each sample (the linearization attack).

    **Fields:**
    - `accept_rate_x`, `accept_rate_y`: the fractions of $P$'s and $Q$'s held-out samples accepted.
    - `statistic`: their difference.
    - `standard_error`: $\sqrt{\hat p(1 - \hat p)(1/N_P + 1/N_Q)}$ with the pooled rate $\hat p$ (the
      two-proportion test; 0 when $\hat p \in \{0, 1\}$).
    - `false_accept_bound`, `operations_per_sample`: the attack's (`LinearizationAttack`).

    `z_score` is `statistic / standard_error` (0 when both are 0); `p_value` its one-sided normal tail.
    """

    accept_rate_x: float
    accept_rate_y: float
    statistic: float
    standard_error: float
    false_accept_bound: float
    operations_per_sample: int

    @property
    def z_score(self) -> float:
        if self.standard_error == 0:
            return 0.0 if self.statistic == 0 else math.copysign(math.inf, self.statistic)
        return self.statistic / self.standard_error

    @property
    def p_value(self) -> float:
        return float(stats.norm.sf(self.z_score))


def linearization_test(attack: LinearizationAttack, x: Float[ArrayLike, "n m"], y: Float[ArrayLike, "M m"]) -> AttackTestResult:
    """Run `attack` on samples `x` ($P$) and `y` ($Q$): acceptance rates, their difference and its z-score."""
    if not isinstance(attack, LinearizationAttack):
        raise ValueError(f"`attack` must be a LinearizationAttack (`linearization_attack`), got {type(attack).__name__}.")
    accepted_x, accepted_y = attack.accepts(x), attack.accepts(y)
    rate_x, rate_y = float(accepted_x.mean()), float(accepted_y.mean())
    pooled = (accepted_x.sum() + accepted_y.sum()) / (accepted_x.size + accepted_y.size)
    error = math.sqrt(pooled * (1 - pooled) * (1 / accepted_x.size + 1 / accepted_y.size))
    return AttackTestResult(
        accept_rate_x=rate_x, accept_rate_y=rate_y, statistic=rate_x - rate_y, standard_error=error,
        false_accept_bound=attack.false_accept_bound, operations_per_sample=attack.operations_per_sample,
    )
