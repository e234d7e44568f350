r"""A critic whose function class is the RKHS of a flow's random-feature kernel, so a game played
with it has the flow as its exact-critic limit.

`flows.kernels.RandomFeatureApproximation(key, D)` replaces a shift-invariant kernel $k$ by
$k_D(x, y) = \sum_{l=1}^L a_l\cos\langle\omega_l, x - y\rangle$ (Rahimi & Recht, NeurIPS 2007), the
frequencies and amplitudes from `kernel.spectral_sample(key, D, d, dtype)`. Its feature map is
$\varphi(x) = (\sqrt{a_l}\cos\langle\omega_l, x\rangle, \sqrt{a_l}\sin\langle\omega_l, x\rangle)_{l \le L}$
($k_D(x, y) = \varphi(x)\cdot\varphi(y)$), and the linear critics $u_w = w\cdot\varphi$ are the whole RKHS
$\mathcal H_D$ of $k_D$, with $\|u_w\|_{\mathcal H_D} = \|w\|$ (the $2L$ features are linearly
independent functions). So the regularized critic objectives of the MMD GAN games,
$\mathbb{E}_\nu u - \mathbb{E}_q u - \frac12 Q(u) - \frac\lambda2\|w\|^2$ with $Q$ the x-space penalty
$\mathbb{E}_q\|\nabla u\|^2$ (`flows.games.MMDGAN`) or the parameter penalty $\|A_\theta u\|^2$
(`flows.games.ParameterPenaltyMMDGAN`), are maximized over $\mathcal H_D$ exactly, and the
generator step at the maximizer is the step of `PKGF(..., penalty="x")` or
`PKGF(..., penalty="parameter")` with kernel $k$ and `backend=critic.backend()`: the same kernel
for critic and flow, on the same samples.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._checks import check_key, check_positive_int
from ..kernels.backends import RandomFeatureApproximation
from ..kernels.base import AbstractKernel
from .critics import AbstractCritic


class KernelFeatureCritic(AbstractCritic):
    r"""$u_w(x) = \sum_l \sqrt{a_l}\,(w_l\cos\langle\omega_l, x\rangle + w_{L+l}\sin\langle\omega_l, x\rangle)$, the
    linear critic on the random Fourier features of `kernel` that
    `RandomFeatureApproximation(key, features)` sums (module docstring). Only the weights $w$
    (2L, zero at the start) are trained.

    **Arguments:**
    - `kernel`: a shift-invariant kernel with the `spectral_sample` capability (`GaussianKernel`,
      `IMQKernel`, `SumKernel` of them).
    - `dim`: $d$.
    - `features`: D, frequencies per kernel part (L = D per part).
    - `key`: the key of the frequencies (the flow's backend must use the same one: `backend()`).
    - `dtype`: the frequencies' dtype; the flow's kernel sums draw theirs in the state's dtype,
      so give the same one for an exact match.
    """

    frequencies: Float[Array, "L d"]
    amplitudes: Float[Array, " L"]
    weights: Float[Array, " F"]
    key: Array
    features: int = eqx.field(static=True)

    def __init__(self, kernel: AbstractKernel, dim: int, features: int = 256, *, key: Array, dtype=jnp.float32):
        if not isinstance(kernel, AbstractKernel):
            raise ValueError(f"`kernel` must be a flows kernel (e.g. GaussianKernel), got {type(kernel).__name__}.")
        check_positive_int("dim", dim)
        check_positive_int("features", features)
        check_key("key", key)
        self.frequencies, self.amplitudes = kernel.spectral_sample(key, features, dim, dtype, for_gradients=True)
        self.weights = jnp.zeros(2 * self.amplitudes.shape[0], dtype)
        self.key, self.features = key, features

    def feature_map(self, x: Float[Array, " d"]) -> Float[Array, " F"]:
        r"""$\varphi(x)$, (2L,): $k_D(x, y) = \varphi(x)\cdot\varphi(y)$."""
        angles = self.frequencies.astype(x.dtype) @ x
        root = jnp.sqrt(self.amplitudes.astype(x.dtype))
        return jnp.concatenate([root * jnp.cos(angles), root * jnp.sin(angles)])

    def __call__(self, x):
        return self.feature_map(x) @ self.weights.astype(x.dtype)

    def trainable(self):
        spec = jax.tree_util.tree_map(lambda _: False, self)
        return eqx.tree_at(lambda c: c.weights, spec, True)

    def backend(self) -> RandomFeatureApproximation:
        """The kernel-sum backend whose kernel $k_D$ is this critic's: pass it as a flow's `backend=`."""
        return RandomFeatureApproximation(self.key, self.features)
