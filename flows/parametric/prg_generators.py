r"""Generators whose outputs are sign patterns times half-normal magnitudes: Goldreich's local
pseudorandom generator with a Gaussian seed (Chen, Li, Li, Meka, ICLR 2022), and a weak one that
repeats its seed bits (the positive control).

Both take a latent $(z, w) \sim \mathcal N(0, I_n) \otimes \mathcal N(0, I_m)$, turn the seed into
bits $b_i = \mathbf 1[z_i > 0]$ (uniform on $\{0,1\}^n$), stretch the $n$ bits into $m$ output bits
$y = y(b) \in \{0,1\}^m$ and return

$$x_j = (2y_j - 1)\,|w_j|, \qquad j = 1..m.$$

Whenever $y_j(b)$ is a balanced bit, $x_j$ is exactly $\mathcal N(0, 1)$ (a symmetric sign times an
independent half-normal), yet the sign pattern $\operatorname{sign}(x)$ takes at most $2^n$ of the
$2^m$ values: the output lives on $2^n$ of the $2^m$ orthants, far (in $W_1$) from
$\mathcal N(0, I_m)$ when $n \ll m$ (`flows.analysis.sign_mixture_w1_bounds`).

- `GoldreichPRGGenerator`: $y_j = P(b_{S_j})$ with the predicate
  $P(u) = u_1 \oplus u_2 \oplus u_3 \oplus (u_4 \wedge u_5)$ on a random 5-uniform hypergraph
  $S_1..S_m \subset [n]$ (Goldreich 2000; the predicate of Chen et al., Section 3). Its
  `relu_network` is the same map written as a constant-depth ReLU network, as in the paper.
- `RepeatedBitsGenerator`: $y_j = b_{(j \bmod n)}$, every seed bit copied $m/n$ times. Each
  coordinate is still $\mathcal N(0, 1)$, but $x_j x_{j+n} \ge 0$ always: a quadratic test sees it.

Both are `eqx.Module`s called on ONE latent vector of length `latent_dim` $= n + m$ (the
`flows.parametric.generators` convention; use `flows.parametric.push_forward` for a batch); they have no trainable
parameters. `sign_patterns()` enumerates the $2^n$ seeds' sign patterns exactly, and `xor_and_masks()`
gives both as XOR-AND maps $y_j = \bigoplus_{i \in L_j} b_i \oplus \bigwedge_{i \in A_j} b_i$ (the AND term
absent when $A_j = \emptyset$), the structure the exact bias enumeration and the GF(2) attacks of
`flows.analysis` (sign patterns) work on.
"""

from __future__ import annotations

import abc
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int

from .._checks import check_choice, check_int, check_positive, check_positive_int

_ARITY = 5
_MAX_ENUMERATED_SEED_DIM = 24
_MAX_MASKED_SEED_DIM = 62  # bit masks over the seed variables are int64


@functools.partial(jax.jit, static_argnums=2)
def _candidate_hyperedges(key: Array, batch: int, seed_dim: int) -> Int[Array, "1024 5"]:
    """Batch `batch` of 1024 candidate hyperedges: 5 distinct variables each, uniformly at random (one compiled call)."""
    return jnp.argsort(jax.random.uniform(jax.random.fold_in(key, batch), (1024, seed_dim)), axis=1)[:, :_ARITY]


def _sample_hyperedges(seed_dim: int, dim: int, independence: int, key: Array, max_candidates: int) -> np.ndarray:
    """Hyperedges drawn in turn, each kept only if every set of <= `independence` kept hyperedges that
    contains it has a variable in an odd number of XOR parts and in no AND part (`GoldreichPRGGenerator`).

    A hyperedge is stored as two bit masks over the seed's variables (XOR part, AND part); for the
    kept sets $T$ of up to `independence - 1` hyperedges we keep (XOR of XOR masks, OR of AND masks):
    $\\sum_{i < k} \\binom{j}{i}$ pairs of masks after $j$ kept hyperedges, each candidate checked against
    all of them in one vectorised pass.
    """
    weights = np.int64(1) << np.arange(seed_dim, dtype=np.int64)
    subsets_odd, subsets_and = np.zeros(1, np.int64), np.zeros(1, np.int64)  # the empty set
    sizes = np.zeros(1, np.int64)
    kept: list[np.ndarray] = []
    batch, drawn = 0, 0
    while len(kept) < dim:
        candidates = np.asarray(_candidate_hyperedges(key, batch, seed_dim))
        batch += 1
        for edge in candidates:
            drawn += 1
            if drawn > max_candidates:
                raise ValueError(
                    f"no {independence}-wise independent hypergraph found for `seed_dim` = {seed_dim}, `dim` = {dim} "
                    f"after {max_candidates} candidates ({len(kept)} hyperedges kept): lower `dim` or `independence`, "
                    "or raise `seed_dim` or `max_candidates`."
                )
            odd = subsets_odd ^ int(weights[edge[:3]].sum())
            ands = subsets_and | int(weights[edge[3:]].sum())
            if np.any((odd & ~ands) == 0):
                continue
            kept.append(edge)
            grow = sizes < independence - 1
            subsets_odd = np.concatenate([subsets_odd, odd[grow]])
            subsets_and = np.concatenate([subsets_and, ands[grow]])
            sizes = np.concatenate([sizes, sizes[grow] + 1])
            if len(kept) == dim:
                break
    return np.stack(kept).astype(np.int32)


def goldreich_predicate(u: Int[Array, "... 5"]) -> Int[Array, ...]:
    """$P(u) = u_1 \\oplus u_2 \\oplus u_3 \\oplus (u_4 \\wedge u_5)$ on the last axis (bits as 0/1 integers)."""
    return u[..., 0] ^ u[..., 1] ^ u[..., 2] ^ (u[..., 3] & u[..., 4])


class AbstractSignPatternGenerator(eqx.Module):
    """$x_j = (2y_j(b) - 1)|w_j|$ with $b = \\mathbf 1[z > 0]$ (module docstring); subclasses give `output_bits`."""

    seed_dim: eqx.AbstractVar[int]
    dim: eqx.AbstractVar[int]

    @abc.abstractmethod
    def output_bits(self, bits: Int[Array, " n"]) -> Int[Array, " m"]:
        """The stretched bits $y(b) \\in \\{0, 1\\}^m$ of seed bits $b \\in \\{0, 1\\}^n$ (0/1 integers)."""

    @abc.abstractmethod
    def xor_and_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """(XOR masks $L_j$, AND masks $A_j$) as int64 bit masks over the seed variables (bit $i$: variable
        $i$), shape (m,) each: $y_j = \\bigoplus_{i \\in L_j} b_i \\oplus \\bigwedge_{i \\in A_j} b_i$, the AND
        term absent when $A_j = \\emptyset$ (module docstring)."""

    @property
    def latent_dim(self) -> int:
        """$n + m$: the seed $z$ followed by the magnitudes' Gaussians $w$."""
        return self.seed_dim + self.dim

    def __call__(self, latent: Float[Array, " k"]) -> Float[Array, " m"]:
        z, w = latent[: self.seed_dim], latent[self.seed_dim :]
        y = self.output_bits((z > 0).astype(jnp.int32))
        return (2 * y - 1).astype(w.dtype) * jnp.abs(w)

    def sign_patterns(self) -> Int[Array, "2^n m"]:
        """$\\operatorname{sign}(x) = 2y(b) - 1 \\in \\{-1, 1\\}^m$ for every seed $b \\in \\{0,1\\}^n$ (row $r$:
        the bits of $r$, least significant first), each with probability $2^{-n}$. Exact enumeration:
        $2^n m$ bytes, so `seed_dim` $\\le 24$."""
        if self.seed_dim > _MAX_ENUMERATED_SEED_DIM:
            raise ValueError(f"`seed_dim` must be <= {_MAX_ENUMERATED_SEED_DIM} to enumerate its seeds, got {self.seed_dim}.")
        seeds = jnp.arange(2**self.seed_dim, dtype=jnp.int32)
        bits = (seeds[:, None] >> jnp.arange(self.seed_dim, dtype=jnp.int32)) & 1
        return (2 * jax.vmap(self.output_bits)(bits) - 1).astype(jnp.int8)


class GoldreichPRGGenerator(AbstractSignPatternGenerator):
    r"""Goldreich's local PRG with a Gaussian seed: $x_j = (2P(b_{S_j}) - 1)|w_j|$ (module docstring).

    **Arguments:**
    - `seed_dim`: $n \ge 5$, the seed length.
    - `dim`: $m$, the output length (a PRG when $m > n$; Chen et al. take $m = n^s$, $1 < s < 1.5$).
    - `key`: draws the hypergraph: each $S_j$ is 5 distinct indices of $[n]$, uniformly at random;
      the order inside $S_j$ says which variables enter the XOR (first three) and which the AND
      (last two).
    - `independence`: $k \in \{1..5\}$ (default 3). Candidates $S_j$ are drawn in turn and rejected
      unless every set $T$ of at most $k$ hyperedges has a variable that lies in the XOR part of
      an odd number of them and in none of their AND parts. Then $\bigoplus_{j\in T} y_j$ is a
      balanced bit (that variable enters it linearly), so every $k$ output bits are independent
      and uniform, and every moment of $x$ of degree $\le k$ equals the Gaussian's (the
      unique-neighbour expansion that Goldreich's PRG asks of its hypergraph; a small random
      hypergraph lacks it: at $n = 16$, $m = 64$ some output pairs have sign correlation 1/2).
      Sets of more than $k$ outputs are not certified: their sign products may be biased
      (`flows.analysis.sign_biases_by_order` enumerates them exactly).
    - `max_candidates`: give up (`ValueError`) after this many draws.

    **Attributes:** `hyperedges`, shape (m, 5), integers (static for `eqx.partition`).
    """

    hyperedges: Int[Array, "m 5"]
    seed_dim: int = eqx.field(static=True)
    dim: int = eqx.field(static=True)
    independence: int = eqx.field(static=True)

    def __init__(self, seed_dim: int, dim: int, *, key: Array, independence: int = 3, max_candidates: int = 50_000):
        check_int("seed_dim", seed_dim, _ARITY)
        if seed_dim > _MAX_MASKED_SEED_DIM:
            raise ValueError(f"`seed_dim` must be <= {_MAX_MASKED_SEED_DIM} (int64 bit masks), got {seed_dim}.")
        check_positive_int("dim", dim)
        check_int("independence", independence, 1)
        check_choice("independence", independence, (1, 2, 3, 4, 5))
        self.hyperedges = jnp.asarray(_sample_hyperedges(seed_dim, dim, independence, key, max_candidates))
        self.seed_dim = seed_dim
        self.dim = dim
        self.independence = independence

    def output_bits(self, bits):
        return goldreich_predicate(bits[self.hyperedges])

    def xor_and_masks(self):
        """$L_j = \\{S_{j,1}, S_{j,2}, S_{j,3}\\}$, $A_j = \\{S_{j,4}, S_{j,5}\\}$ as bit masks."""
        weights = np.int64(1) << np.asarray(self.hyperedges, np.int64)
        return weights[:, :3].sum(axis=1), weights[:, 3:].sum(axis=1)

    def relu_network(
        self, latent: Float[Array, " k"], sharpness: float = 1e-3, magnitude_bound: float = 40.0
    ) -> Float[Array, " m"]:
        r"""The generator as a depth-6 ReLU network (Chen et al., Section 3), $\mathrm{relu}(t) = \max(t, 0)$:

        - bit: $\tilde b_i = \mathrm{relu}(z_i/\delta) - \mathrm{relu}(z_i/\delta - 1)$ ($= b_i$ unless $0 < z_i < \delta$);
        - on bits, $u \oplus v = \mathrm{relu}(u - v) + \mathrm{relu}(v - u)$ and
          $u \wedge v = \mathrm{relu}(u + v - 1)$, so $\tilde y_j = P(\tilde b_{S_j})$ exactly;
        - $|w| = \mathrm{relu}(w) + \mathrm{relu}(-w)$ and $(1 - y)|w| = \mathrm{relu}(|w| - C y)$ for
          $y \in \{0, 1\}$, $|w| \le C$, so $x_j = |w_j| - 2\,\mathrm{relu}(|w_j| - C\tilde y_j)$.

        It equals `self(latent)` whenever no $z_i \in (0, \delta)$ and every $|w_j| \le C$.

        **Arguments:** `latent` ($z$, $w$), `sharpness` ($\delta > 0$), `magnitude_bound` ($C > 0$).
        """
        check_positive("sharpness", sharpness)
        check_positive("magnitude_bound", magnitude_bound)
        relu = jax.nn.relu
        z, w = latent[: self.seed_dim], latent[self.seed_dim :]
        bits = relu(z / sharpness) - relu(z / sharpness - 1)
        u = bits[self.hyperedges]

        def xor(a, b):
            return relu(a - b) + relu(b - a)

        y = xor(xor(xor(u[:, 0], u[:, 1]), u[:, 2]), relu(u[:, 3] + u[:, 4] - 1))
        magnitude = relu(w) + relu(-w)
        return magnitude - 2 * relu(magnitude - magnitude_bound * y)


class RepeatedBitsGenerator(AbstractSignPatternGenerator):
    """The weak generator: $y_j = b_{(j \\bmod n)}$, each seed bit repeated (module docstring).

    **Arguments:** `seed_dim` ($n \\ge 1$) and `dim` ($m$).
    """

    seed_dim: int = eqx.field(static=True)
    dim: int = eqx.field(static=True)

    def __init__(self, seed_dim: int, dim: int):
        check_positive_int("seed_dim", seed_dim)
        check_positive_int("dim", dim)
        self.seed_dim = seed_dim
        self.dim = dim

    def output_bits(self, bits):
        return bits[jnp.arange(self.dim) % self.seed_dim]

    def xor_and_masks(self):
        """$L_j = \\{j \\bmod n\\}$ and no AND term: a linear map of the seed bits."""
        if self.seed_dim > _MAX_MASKED_SEED_DIM:
            raise ValueError(f"`seed_dim` must be <= {_MAX_MASKED_SEED_DIM} for int64 bit masks, got {self.seed_dim}.")
        return np.int64(1) << (np.arange(self.dim, dtype=np.int64) % self.seed_dim), np.zeros(self.dim, np.int64)

