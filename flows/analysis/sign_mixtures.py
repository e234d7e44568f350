r"""$W_1$ (Euclidean cost) between a sign mixture of half-normals and $\mathcal N(0, I_m)$: exact
bounds by enumerating the signs (Chen, Li, Li, Meka, "Minimax Optimality (Probably) Doesn't Imply
Distribution Learning for GANs", ICLR 2022, Section 3: a generator whose outputs' signs come from
$2^n \ll 2^m$ seeds has every coordinate exactly $\mathcal N(0, 1)$, yet is $\Omega(\sqrt m)$ from
$\mathcal N(0, I_m)$ in $W_1$).

**The setting.** $P$ is the law of $x = s \odot a$ with $a$ i.i.d. half-normal and the sign
pattern $s$ drawn from a finite set $\{s_1..s_R\} \subset \{-1, 1\}^m$ independently of $a$ (the
outputs of `flows.GoldreichPRGGenerator` and `flows.RepeatedBitsGenerator`, $R \le 2^n$);
$Q = \mathcal N(0, I_m)$ is the same with $s$ uniform on all $2^m$ patterns. Neither $W_1(P, Q)$
nor its optimal coupling has a closed form (for $m = 2$, $s \in \{(+,+), (-,-)\}$ the exact value
lies strictly between the two bounds below), but both bounds are exactly computable:

**Lower bound (brute force over the seeds).** $f(x) = \operatorname{dist}(x, \operatorname{supp} P)$
is 1-Lipschitz and vanishes on $P$'s support, the union of the orthants $O_r = \{x: s_{r,j} x_j \ge 0\}$,
so by Kantorovich–Rubinstein duality $W_1(P, Q) \ge \mathbb E_Q f - \mathbb E_P f = \mathbb E_Q f$.
The projection onto $O_r$ zeroes the coordinates whose sign disagrees with $s_r$, so

$$f(g)^2 = \min_r \sum_{j:\,\operatorname{sign} g_j \ne s_{r,j}} g_j^2
       = \min_r \sum_j \big(g_j^2\,\mathbf 1[g_j > 0]\,\mathbf 1[s_{r,j} < 0] + g_j^2\,\mathbf 1[g_j < 0]\,\mathbf 1[s_{r,j} > 0]\big),$$

one matrix product with all $R$ patterns per batch of Gaussian points. $f$ is exact; its mean over
$Q$ is a Monte Carlo average over `num_samples` Gaussian points (reported with its standard
error). This $f$ is a perfect distinguisher ($f = 0$ on every generated point, $f > 0$ almost
surely under $Q$) that costs $R \cdot m$ per point: the brute force over $2^n$ seeds.

**Upper bound (a coupling that keeps the magnitudes).** Take $x = s \odot a$ and $g = \varepsilon \odot a$
with $\varepsilon$ uniform, independent of $s$ and $a$. Then $s \odot \varepsilon$ is uniform, the
number $H$ of disagreeing signs is Binomial$(m, \frac12)$, and
$\|x - g\| = 2\,\|a_{\{s \ne \varepsilon\}}\|$ with $\|a_{\{s\ne\varepsilon\}}\|^2 \sim \chi^2_H$, so

$$W_1(P, Q) \le U_m = \sum_{h=0}^m \binom{m}{h} 2^{-m}\; 2\sqrt2\,\frac{\Gamma(\frac{h+1}{2})}{\Gamma(\frac h2)}
\;\le\; \sqrt{2m},$$

for every sign law (a closed form; it is the exact $W_1 = \sqrt{2/\pi}$ for $m = 1$ and one sign).
"""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int


@dataclasses.dataclass(frozen=True)
class W1Bounds:
    r"""Bounds `lower` $\le W_1(P, \mathcal N(0, I_m)) \le$ `upper` (module docstring).

    **Fields:**
    - `lower`: $\mathbb E_Q \operatorname{dist}(g, \operatorname{supp} P)$, a Monte Carlo mean over Gaussian points.
    - `lower_standard_error`: the standard error of that mean (standard deviation / $\sqrt{\text{num\_samples}}$).
    - `upper`: the closed form $U_m$ (exact).
    """

    lower: float
    lower_standard_error: float
    upper: float


def independent_sign_coupling_cost(dim: int) -> float:
    """$U_m$ of the module docstring: $\\mathbb E\\|s \\odot a - \\varepsilon \\odot a\\|$ with uniform independent $\\varepsilon$."""
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
        raise ValueError(f"`dim` must be a positive integer, got {dim!r}.")
    total = 0.0
    for h in range(1, dim + 1):
        log_pmf = math.lgamma(dim + 1) - math.lgamma(h + 1) - math.lgamma(dim - h + 1) - dim * math.log(2)
        log_chi_mean = 0.5 * math.log(2) + math.lgamma((h + 1) / 2) - math.lgamma(h / 2)  # E sqrt(chi^2_h)
        total += 2 * math.exp(log_pmf + log_chi_mean)
    return total


@eqx.filter_jit
def distance_to_orthants(points: Float[Array, "N m"], patterns: Int[Array, "R m"], chunk: int = 256) -> Float[Array, " N"]:
    r"""$\operatorname{dist}(x, \bigcup_r O_r)$ for each row $x$ of `points`, the orthants $O_r$ of the sign
    patterns (rows of `patterns`, entries $\pm1$): $\min_r$ of the squared norm of $x$'s coordinates whose
    sign disagrees with $s_r$, as one product of $(x_+^2, x_-^2)$ with the patterns' indicators (sums of
    non-negative terms: exactly 0 inside an orthant), `chunk` points at a time (module docstring)."""
    negative = (patterns < 0).astype(points.dtype)
    wrong_sign = jnp.concatenate([negative, 1 - negative], axis=1)  # x_j > 0 is wrong where s_j < 0, and vice versa
    pad = (-points.shape[0]) % chunk
    blocks = jnp.pad(points, ((0, pad), (0, 0))).reshape(-1, chunk, points.shape[1])

    def block(x):
        squares = jnp.concatenate([jnp.where(x > 0, x * x, 0.0), jnp.where(x < 0, x * x, 0.0)], axis=1)
        return jnp.sqrt(jnp.min(squares @ wrong_sign.T, axis=1))

    return jax.lax.map(block, blocks).reshape(-1)[: points.shape[0]]


def sign_mixture_w1_bounds(
    patterns: Int[ArrayLike, "R m"], *, key: Array, num_samples: int = 4096, dtype=jnp.float32
) -> W1Bounds:
    """Bounds on $W_1(P, \\mathcal N(0, I_m))$ for the half-normal sign mixture $P$ with sign patterns the
    rows of `patterns` (entries $\\pm 1$; e.g. `generator.sign_patterns()`), module docstring.

    **Arguments:**
    - `patterns`: the sign patterns, shape (R, m); only the set matters for the lower bound.
    - `key`: `jax.random` key of the Gaussian points averaged for the lower bound.
    - `num_samples`: how many Gaussian points (the standard error falls as its inverse square root).
    - `dtype`: the Gaussian points' dtype.
    """
    patterns = jnp.asarray(patterns)
    if patterns.ndim != 2 or patterns.shape[0] == 0 or not bool(jnp.all(jnp.abs(patterns) == 1)):
        raise ValueError(f"`patterns` must be a non-empty (R, m) array of entries -1 and 1, got shape {tuple(patterns.shape)}.")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 2:
        raise ValueError(f"`num_samples` must be an integer >= 2, got {num_samples!r}.")
    g = jax.random.normal(key, (num_samples, patterns.shape[1]), dtype)
    distances = np.asarray(distance_to_orthants(g, patterns), dtype=np.float64)
    return W1Bounds(
        lower=float(distances.mean()),
        lower_standard_error=float(distances.std(ddof=1) / math.sqrt(num_samples)),
        upper=independent_sign_coupling_cost(patterns.shape[1]),
    )


