"""Kernel cases the kernel, discrepancy and flow tests share: each kernel with its name and
parameters in the float64 NumPy reference (`numpy_reference.py`), and sample clouds."""

import jax
import numpy as np

import flows

KERNELS = {
    "gaussian": (flows.kernels.GaussianKernel(1.3), "gaussian", {"bandwidth": 1.3}),
    "imq": (flows.kernels.IMQKernel(scale=0.7, exponent=-0.5), "imq", {"scale": 0.7, "exponent": -0.5}),
    "imq_beta": (flows.kernels.IMQKernel(scale=1.5, exponent=-1.5), "imq", {"scale": 1.5, "exponent": -1.5}),
    "laplace": (flows.kernels.LaplaceKernel(0.8), "laplace", {"bandwidth": 0.8}),
    "energy": (flows.kernels.EnergyKernel(1.0), "energy", {"exponent": 1.0}),
    "riesz_1.5": (flows.kernels.EnergyKernel(1.5), "energy", {"exponent": 1.5}),
    "sum": (
        flows.kernels.SumKernel([flows.kernels.GaussianKernel(0.5), flows.kernels.IMQKernel()], weights=[2.0, 0.5]),
        "sum",
        {"weights": [2.0, 0.5], "parts": [("gaussian", {"bandwidth": 0.5}), ("imq", {"scale": 1.0, "exponent": -0.5})]},
    ),
}



def samples(seed, n, m, k, d=3):
    kx, ky, kz = jax.random.split(jax.random.PRNGKey(seed), 3)
    x = jax.random.normal(kx, (n, d))
    y = 0.7 * jax.random.normal(ky, (m, d)) + 0.5
    z = 1.5 * jax.random.normal(kz, (k, d))
    return x, y, z



def rel_err(a, b):
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / np.linalg.norm(np.asarray(b)))


def gaussian_run_config(seed: int, *, name: str | None = None, target_n: int = 30, initial_n: int = 20) -> str:
    """The top of the small `flows run` configs of the command-line tests, in float64: particles
    from N(0, I) toward samples of N((1, 1), 0.5² I) under a Gaussian kernel of bandwidth 1.5; each
    test appends its own `[flow]`, `[solver]`, `[time]` and `[output]` tables."""
    title = "" if name is None else f'name = "{name}"\n'
    return (
        f'{title}seed = {seed}\ndtype = "float64"\n'
        f'[target]\nkind = "gaussian"\nmean = [1.0, 1.0]\nstd = 0.5\nn = {target_n}\n'
        f'[initial]\nkind = "gaussian"\nn = {initial_n}\n'
        '[kernel]\nkind = "gaussian"\nbandwidth = 1.5\n'
    )
