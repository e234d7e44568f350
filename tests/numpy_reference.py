"""Independent float64 NumPy implementations of the kernels, MMD and witness, with explicit
pairwise differences (no matrix expansion, no autodiff): the reference the JAX code is checked
against. Formulas: Gaussian exp(-r^2/(2 s^2)), IMQ (c^2 + r^2)^b, Laplace exp(-r/s), Riesz -r^p
(gradients 0 at r = 0 for the last two), sums term by term; MMD^2 = E k(x, x') + E k(y, y')
- 2 E k(x, y) as V-statistic (all pairs) or U-statistic (i != j), witness
f(z) = mean_i k(x_i, z) - mean_j k(y_j, z) (Gretton et al., JMLR 2012)."""

from __future__ import annotations

import numpy as np


def pairwise_differences(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(N, M, d) array of x_i - y_j."""
    return np.asarray(x, float)[:, None, :] - np.asarray(y, float)[None, :, :]


def kernel_values(name: str, params: dict, diff: np.ndarray) -> np.ndarray:
    r = np.sqrt(np.sum(diff**2, axis=-1))
    if name == "gaussian":
        return np.exp(-(r**2) / (2 * params["bandwidth"] ** 2))
    if name == "imq":
        return (params["scale"] ** 2 + r**2) ** params["exponent"]
    if name == "laplace":
        return np.exp(-r / params["bandwidth"])
    if name == "energy":
        return -(r ** params["exponent"])
    if name == "sum":
        return sum(w * kernel_values(n, p, diff) for w, (n, p) in zip(params["weights"], params["parts"]))
    raise KeyError(name)


def kernel_gradients(name: str, params: dict, diff: np.ndarray) -> np.ndarray:
    """grad_x k(x, y) at each difference x - y, shape (..., d); 0 where x = y for the singular kernels."""
    r = np.sqrt(np.sum(diff**2, axis=-1, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "gaussian":
            s2 = params["bandwidth"] ** 2
            return -diff / s2 * np.exp(-(r**2) / (2 * s2))
        if name == "imq":
            c2, b = params["scale"] ** 2, params["exponent"]
            return 2 * b * (c2 + r**2) ** (b - 1) * diff
        if name == "laplace":
            g = -np.exp(-r / params["bandwidth"]) / params["bandwidth"] * diff / r
            return np.where(r > 0, g, 0.0)
        if name == "energy":
            p = params["exponent"]
            g = -p * r ** (p - 2) * diff
            return np.where(r > 0, g, 0.0)
    if name == "sum":
        return sum(w * kernel_gradients(n, p, diff) for w, (n, p) in zip(params["weights"], params["parts"]))
    raise KeyError(name)


def mmd2(name, params, x, y, unbiased=False) -> float:
    kxx = kernel_values(name, params, pairwise_differences(x, x))
    kyy = kernel_values(name, params, pairwise_differences(y, y))
    kxy = kernel_values(name, params, pairwise_differences(x, y))
    n, m = len(x), len(y)
    if unbiased:
        return (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    return kxx.mean() + kyy.mean() - 2 * kxy.mean()


def witness(name, params, z, x, y) -> np.ndarray:
    return kernel_values(name, params, pairwise_differences(z, x)).mean(1) - kernel_values(
        name, params, pairwise_differences(z, y)
    ).mean(1)


def witness_grad(name, params, z, x, y) -> np.ndarray:
    return kernel_gradients(name, params, pairwise_differences(z, x)).mean(1) - kernel_gradients(
        name, params, pairwise_differences(z, y)
    ).mean(1)
