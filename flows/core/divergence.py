r"""How `simulate` tells a diverging run from a converging one, beyond NaN and inf.

A run has diverged when, at some iteration (discrete engine) or saved time (diffrax),

1. the state holds a NaN or inf;
2. the state's *spread* exceeds `divergence_scale` times its reference: for a particle cloud
   $x_1..x_N$ and a target with centre $c$ (its mean), the spread is
   $s(x) = \max_i \|x_i - c\|$ and the reference is $\max(s(\text{target}), s(x(t_0)))$, the larger
   of the target's own spread and the initial cloud's, so a cloud thrown a hundred times farther
   than anything it started from or was sent to is caught while it is still finite (a Gaussian
   kernel's gradient vanishes far away: particles thrown out stay there, finite, forever);
3. a diagnostic holds a NaN or inf while the state is finite (a discrepancy overflowing on a
   cloud at $10^{20}$, or an inner solver that did not converge).

Each raises `FlowDivergedError` with the time and what to change. A flow says how far its state
reaches with `AbstractFlow.spread` (the particle flows: `PointCloudSpread` about their target's
centre); flows without one (generators' parameters, a user's own flow) get checks 1 and 3.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PyTree

DEFAULT_DIVERGENCE_SCALE = 100.0


class FlowDivergedError(FloatingPointError):
    """A simulation diverged: the state became NaN or inf, spread far beyond its target's scale,
    or a diagnostic became NaN or inf (or the solver could not go on)."""


class PointCloudSpread(eqx.Module):
    """The spread $s(x) = \\max_i \\|x_i - c\\|$ of a point cloud (N, d) about a centre $c$, with the
    target's own spread (`target`, a scalar) as the reference.

    **Fields:** `centre` ($c$, shape (d,)) and `target` ($s$ of the target's points).
    """

    centre: Float[Array, " d"]
    target: Float[Array, ""]

    @classmethod
    def about(cls, points: Float[Array, "m d"]) -> PointCloudSpread:
        """The spread about the mean of `points`, with their own spread as the reference."""
        centre = jnp.mean(points, axis=0)
        return cls(centre, jnp.max(jnp.linalg.norm(points - centre, axis=1)))

    def __call__(self, y: Float[Array, "n d"]) -> Float[Array, ""]:
        return jnp.max(jnp.linalg.norm(y - self.centre.astype(y.dtype), axis=-1))

    def of_saves(self, ys: np.ndarray) -> np.ndarray:
        """$s$ at every saved state of `ys` (T, N, d), in NumPy (float64; inf for overflowing states)."""
        with np.errstate(over="ignore", invalid="ignore"):
            offsets = np.asarray(ys, np.float64) - np.asarray(self.centre, np.float64)
            return np.max(np.hypot.reduce(offsets, axis=-1), axis=-1)  # hypot: no overflow while |x| is finite


class SpreadBound(eqx.Module):
    """A run's check 2: the state diverged when `spread(y)` > `bound` (or is NaN).

    **Fields:** the flow's `spread`, the `bound` = `scale` × `reference`, with the `reference`
    (the larger of the target's spread and the initial state's) and the `scale` kept for messages.
    """

    spread: PointCloudSpread
    bound: Float[Array, ""]
    reference: float = eqx.field(static=True)
    scale: float = eqx.field(static=True)

    def exceeded(self, y: PyTree) -> Array:
        """Whether `y` is past the bound (traced, for the discrete engine's loop)."""
        return ~(self.spread(y) <= self.bound.astype(y.dtype))

    def message(self, value: float) -> str:
        return (
            f"the particles spread to {value:.3g} from the target's centre, more than divergence_scale = "
            f"{self.scale:g} times the reference {self.reference:.3g} (the larger of the target's spread and "
            "the initial cloud's, as max_i |x_i - centre|)"
        )


def check_divergence_scale(value) -> float | None:
    """`divergence_scale` as a float (finite, > 1) or None (check 2 off); `ValueError` otherwise."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not math.isfinite(float(value)) \
            or float(value) <= 1.0:
        raise ValueError(
            f"`divergence_scale` must be a finite number > 1, or None to turn the spread check off; got {value!r}."
        )
    return float(value)


def spread_bound(spread: PointCloudSpread | None, y0: PyTree, scale: float | None) -> SpreadBound | None:
    """Check 2 for a run from `y0`: None when the flow has no spread, the check is off, or the
    reference is zero (a point target, started on it)."""
    if spread is None or scale is None:
        return None
    reference = max(float(spread.target), float(spread(y0)))
    if not (math.isfinite(reference) and reference > 0):
        return None
    return SpreadBound(spread, jnp.asarray(scale * reference), reference, scale)


def nonfinite_rows(tree: PyTree) -> np.ndarray:
    """Boolean per leading index (saved time): does any leaf hold a NaN or inf there?"""
    leaves = [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(tree)]
    flags = [~np.isfinite(leaf.reshape(leaf.shape[0], -1)).all(axis=1) for leaf in leaves if leaf.dtype.kind in "fc"]
    if not flags:
        return np.zeros(0, bool)
    return np.any(np.stack(flags), axis=0)


def first_bad_diagnostic(diagnostics: dict[str, np.ndarray]) -> tuple[int, str] | None:
    """(saved index, name) of the first diagnostic value that is NaN or inf (the first name in
    order at that index), or None."""
    best = None
    for name, values in diagnostics.items():
        bad = nonfinite_rows({name: values})
        if bad.any():
            index = int(np.argmax(bad))
            if best is None or index < best[0]:
                best = (index, name)
    return best
