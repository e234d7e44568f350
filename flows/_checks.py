"""Argument checks at the Python boundary.

Every public entry point validates its inputs here, before anything is traced, so a bad
argument fails with a `ValueError` that names it and says what was expected. Values that are
JAX tracers (inside `jit`, `grad`, `vmap`) cannot be inspected and are passed through: the
checks cost nothing on the hot path.
"""

from __future__ import annotations

import numbers

import jax
import numpy as np


def is_concrete(value) -> bool:
    """True when `value` holds data we can read now (not a tracer inside a transformation)."""
    return not any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(value))


def check_positive(name: str, value) -> None:
    """Raise unless `value` (a scalar or array) is finite and strictly positive."""
    if not is_concrete(value):
        return
    if isinstance(value, (bool, np.bool_, str)):
        raise ValueError(f"`{name}` must be a finite positive number, got {value!r} (a {type(value).__name__}).")
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf" or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"`{name}` must be a finite positive number, got {value!r}.")


def check_non_negative(name: str, value) -> None:
    """Raise unless `value` (a scalar or array) is finite and >= 0."""
    if not is_concrete(value):
        return
    arr = np.asarray(value, dtype=float)
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"`{name}` must be a finite non-negative number, got {value!r}.")


def check_in_range(name: str, value, low: float, high: float, *, inclusive: bool = False) -> None:
    """Raise unless low < value < high (or low <= value <= high with `inclusive`)."""
    if not is_concrete(value):
        return
    v = float(value)
    ok = (low <= v <= high) if inclusive else (low < v < high)
    if not ok:
        brackets = "[{}, {}]" if inclusive else "({}, {})"
        raise ValueError(f"`{name}` must lie in {brackets.format(low, high)}, got {value!r}.")


def check_points(name: str, x, *, dim: int | None = None, dim_name: str | None = None):
    """Check a point cloud: a non-empty (n, d) array of finite numbers; return it as a JAX array.

    Arguments:
        name: the argument's name, used in the error message.
        x: the array to check.
        dim: the dimension `d` the cloud must have, if known.
        dim_name: what fixed `dim` (for the message), e.g. "target".
    """
    if isinstance(x, numbers.Number) or not hasattr(x, "shape"):
        x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"`{name}` must be a 2-D array of shape (n, d), got shape {tuple(x.shape)}.")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"`{name}` must be non-empty, got shape {tuple(x.shape)}.")
    if dim is not None and x.shape[1] != dim:
        source = f" to match `{dim_name}`" if dim_name else ""
        raise ValueError(
            f"`{name}` must have dimension d = {dim}{source}, got shape {tuple(x.shape)}."
        )
    check_finite(name, x)
    return jax.numpy.asarray(x)


def check_finite(name: str, tree) -> None:
    """Raise if any array in the pytree `tree` holds NaN or inf (skipped for tracers)."""
    if not is_concrete(tree):
        return
    for leaf in jax.tree_util.tree_leaves(tree):
        arr = np.asarray(leaf)
        if arr.dtype.kind in "fc" and not np.all(np.isfinite(arr)):
            bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
            raise ValueError(f"`{name}` must be finite, but {bad} entries are NaN or inf.")


def check_int(name: str, value, minimum: int = 1) -> int:
    """Raise unless `value` is an integer (not a bool) >= `minimum`; return it as an int."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def check_positive_int(name: str, value) -> int:
    """Raise unless `value` is a positive integer (not a bool); return it as an int."""
    return check_int(name, value, 1)


def check_bool(name: str, value) -> bool:
    """Raise unless `value` is True or False."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be True or False, got {value!r}.")
    return bool(value)


def check_key(name: str, key):
    """Raise unless `key` is given (a `jax.random` key); return it."""
    if key is None:
        raise ValueError(f"`{name}` must be a jax.random key (e.g. jax.random.PRNGKey(0)), got None.")
    return key


def check_choice(name: str, value, choices) -> None:
    """Raise unless `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {sorted(choices)}, got {value!r}.")


def check_gaussian(name: str, mean, cov):
    """Check a Gaussian's parameters: `mean` of shape (d,) and `cov` of shape (d, d), finite,
    symmetric and positive semi-definite (singular allowed); return both as JAX arrays.

    Symmetry is tested to $10^{-10} s$ and the smallest eigenvalue must be $\\ge -10^{-8} s$,
    $s = \\max(1, \\max_{ij}|S_{ij}|)$: rounding in a covariance computed as $AA^\\top$ or from
    samples passes, a genuinely indefinite matrix does not. Skipped for tracers.
    """
    values = cov  # checked as given: a float64 input is not rounded to float32 first
    mean = jax.numpy.atleast_1d(jax.numpy.asarray(mean))
    cov = jax.numpy.asarray(cov)
    d = mean.shape[0]
    if mean.ndim != 1 or cov.shape != (d, d):
        raise ValueError(
            f"`{name}` must be a mean of shape (d,) and a covariance of shape (d, d), "
            f"got {tuple(mean.shape)} and {tuple(cov.shape)}."
        )
    check_finite(f"{name} mean", mean)
    check_finite(f"{name} covariance", cov)
    if is_concrete(values):
        c = np.asarray(values, dtype=float)
        scale = max(1.0, float(np.abs(c).max()))
        if not np.allclose(c, c.T, atol=1e-10 * scale) or np.linalg.eigvalsh(c).min() < -1e-8 * scale:
            raise ValueError(f"`{name}` covariance must be symmetric positive semi-definite.")
    return mean, cov
