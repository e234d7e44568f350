"""What a kernel can do is a method of its class: the tile formulas (autodiff defaults on
`AbstractKernel`, matrix forms on radial kernels, the Gaussian's augmented product) and the
capabilities `spectral_sample` and `gaussian_components`, each checked against an independent
answer, and refused with a `ValueError` naming the kernel where a kernel lacks it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows.kernels.radial import AbstractRadialKernel

import numpy_reference as ref
from cases import KERNELS, rel_err, samples

K = flows.kernels


class Pointwise(K.AbstractKernel):
    """A radial kernel seen only through `__call__`: the autodiff defaults of `AbstractKernel`."""

    inner: K.AbstractKernel

    def __call__(self, x, y):
        return self.inner(x, y)


class Polynomial(K.AbstractKernel):
    """$k(a, b) = (a \\cdot b + 1)^2$: a user kernel with only `__call__`."""

    def __call__(self, a, b):
        return (a @ b + 1.0) ** 2


# --- tile formulas ---------------------------------------------------------------------------


@pytest.mark.parametrize("case", KERNELS)
def test_radial_tiles_equal_the_autodiff_defaults(case):
    """Every radial override (centred `prepare`, Gram, gradient, value-and-gradient and Hessian sums,
    the dense Hessian blocks, the diagonal) equals the `vmap`/autodiff default of the same pointwise kernel, in
    float64 to 1e-10 relative (the two differ by rounding only; no coincident points, where the
    singular kernels' derivatives are defined by convention)."""
    kernel, _, _ = KERNELS[case]
    generic = Pointwise(kernel)
    x, y, _ = samples(20, 9, 7, 1)
    w = jax.random.normal(jax.random.PRNGKey(21), (7,))
    v = jax.random.normal(jax.random.PRNGKey(22), y.shape)
    a = jax.random.normal(jax.random.PRNGKey(23), (7,))
    for ours, theirs in (
        *zip(K.kernel_value_grad_sum(kernel, x, y, a, w), (K.kernel_sum(generic, x, y, a), K.kernel_grad_sum(generic, x, y, w))),
        (K.kernel_matrix(kernel, x, y), K.kernel_matrix(generic, x, y)),
        (K.kernel_grad_sum(kernel, x, y, w), K.kernel_grad_sum(generic, x, y, w)),
        (K.kernel_hessian_sum(kernel, x, y, v), K.kernel_hessian_sum(generic, x, y, v)),
        (K.kernel_hessian_matrix(kernel, x, y), K.kernel_hessian_matrix(generic, x, y)),
        (kernel.diagonal(x), generic.diagonal(x)),
    ):
        assert ours.shape == theirs.shape
        assert np.linalg.norm(ours - theirs) <= 1e-10 * np.linalg.norm(theirs)  # both 0: the Riesz diagonal


def test_gaussian_profile_tile_equals_the_squared_distance_path():
    """The Gaussian's own `profile_tile` (exponent from one augmented product) equals the radial
    default (profile of the squared-distance matrix) for orders 0, 1, 2, to 1e-12 relative in
    float64, and its exponent is <= 0 with exactly 0 at coincident points."""
    kernel = K.GaussianKernel(0.7)
    x, y, _ = samples(23, 12, 10, 1)
    y = y.at[:2].set(x[:2])
    xp, yp = kernel.prepare(x, y)
    ours = kernel.profile_tile(xp, yp, (0, 1, 2))
    default = AbstractRadialKernel.profile_tile(kernel, xp, yp, (0, 1, 2))
    for a, b in zip(ours, default):
        assert rel_err(a, b) < 1e-12
    exponent = kernel.exponent_tile(xp, yp)
    assert bool(jnp.all(exponent <= 0)) and float(exponent[0, 0]) == 0.0 and float(exponent[1, 1]) == 0.0


def test_user_kernel_hessian_blocks_and_diagonal_by_autodiff():
    """A kernel defining only `__call__` gets its dense Hessian blocks and its diagonal from the
    defaults: d_{a_p} d_{b_q} (a.b + 1)^2 = 2 b_p a_q + 2 (a.b + 1) delta_pq, k(a, a) = (|a|^2 + 1)^2,
    so the U-statistic MMD^2 matches NumPy."""
    x, y, _ = samples(24, 6, 5, 1)
    xn, yn = np.asarray(x), np.asarray(y)
    k = Polynomial()
    inner = xn @ yn.T + 1
    expected = 2 * np.einsum("jp,iq->ipjq", yn, xn) + 2 * inner[:, None, :, None] * np.eye(3)[None, :, None, :]
    np.testing.assert_allclose(K.kernel_hessian_matrix(k, x, y), expected, rtol=1e-12)
    np.testing.assert_allclose(k.diagonal(x), (np.sum(xn**2, axis=1) + 1) ** 2, rtol=1e-12)
    gram = lambda a, b: (a @ b.T + 1) ** 2
    kxx, kyy = gram(xn, xn), gram(yn, yn)
    u = (kxx.sum() - np.trace(kxx)) / 30 + (kyy.sum() - np.trace(kyy)) / 20 - 2 * gram(xn, yn).mean()
    np.testing.assert_allclose(flows.discrepancies.mmd2(x, y, k, unbiased=True), u, rtol=1e-12)


# --- gaussian_components -----------------------------------------------------------------------


def test_gaussian_components_of_a_nested_sum():
    """SumKernel([G(0.5), SumKernel([G(1), G(2)], [3, 0.25])], [2, 0.5]) has the components
    (2, 0.5), (1.5, 1), (0.125, 2) (weights multiply down the nesting); they reproduce the kernel's
    values, and the closed-form MMD^2 is the components' weighted sum of single-Gaussian ones."""
    kernel = K.SumKernel(
        [K.GaussianKernel(0.5), K.SumKernel([K.GaussianKernel(1.0), K.GaussianKernel(2.0)], weights=[3.0, 0.25])],
        weights=[2.0, 0.5],
    )
    components = kernel.gaussian_components()
    assert [(float(c), float(s)) for c, s in components] == [(2.0, 0.5), (1.5, 1.0), (0.125, 2.0)]
    assert K.GaussianKernel(1.7).gaussian_components() == ((1.0, 1.7),)
    x, y, _ = samples(25, 8, 6, 1)
    diff = ref.pairwise_differences(x, y)
    by_components = sum(c * ref.kernel_values("gaussian", {"bandwidth": s}, diff) for c, s in components)
    np.testing.assert_allclose(K.kernel_matrix(kernel, x, y), by_components, rtol=1e-12)
    m1, s1, m2, s2 = np.zeros(2), np.array([[1.0, 0.3], [0.3, 0.5]]), np.array([1.0, -0.5]), np.diag([2.0, 0.0])
    single = [c * flows.discrepancies.gaussian_mmd2(m1, s1, m2, s2, K.GaussianKernel(s)) for c, s in components]
    np.testing.assert_allclose(flows.discrepancies.gaussian_mmd2(m1, s1, m2, s2, kernel), sum(single), rtol=1e-13)


@pytest.mark.parametrize(
    "kernel, name",
    [
        (K.IMQKernel(), "IMQKernel"),
        (K.LaplaceKernel(1.0), "LaplaceKernel"),
        (K.EnergyKernel(1.0), "EnergyKernel"),
        (K.SumKernel([K.GaussianKernel(1.0), K.IMQKernel()]), "IMQKernel"),  # the part that lacks it
        (K.NetworkKernel(np.ones((4, 3))), "NetworkKernel"),
        (Polynomial(), "Polynomial"),
    ],
)
def test_kernels_without_gaussian_components_are_refused_by_name(kernel, name):
    with pytest.raises(ValueError, match=f"GaussianKernel or a SumKernel of them.*got {name}"):
        kernel.gaussian_components()
    with pytest.raises(ValueError, match=name):
        flows.discrepancies.gaussian_mmd2(np.zeros(2), np.eye(2), np.ones(2), np.eye(2), kernel)


# --- spectral_sample ---------------------------------------------------------------------------

SPECTRAL = {
    "gaussian": (K.GaussianKernel(1.3), "gaussian", {"bandwidth": 1.3}),
    "imq": (K.IMQKernel(scale=0.7, exponent=-1.5), "imq", {"scale": 0.7, "exponent": -1.5}),
    "laplace": (K.LaplaceKernel(0.8), "laplace", {"bandwidth": 0.8}),
    "sum": (
        K.SumKernel([K.GaussianKernel(0.5), K.LaplaceKernel(2.0)], weights=[2.0, 0.5]),
        "sum",
        {"weights": [2.0, 0.5], "parts": [("gaussian", {"bandwidth": 0.5}), ("laplace", {"bandwidth": 2.0})]},
    ),
}


@pytest.mark.parametrize("case", SPECTRAL)
def test_spectral_sample_is_the_kernels_spectrum(case):
    """Bochner: k_D(v) = sum_l a_l cos<omega_l, v> with D = 2^16 frequencies per part is within
    5 k(0)/sqrt(D) of k(v) at 20 differences v (each term is bounded by a_l, so the Monte-Carlo
    standard deviation is at most k(0)/sqrt(D); 5 of them), with one amplitude total k(0) and
    D frequencies per part of a sum."""
    kernel, name, params = SPECTRAL[case]
    features = 2**16
    omegas, amplitudes = kernel.spectral_sample(jax.random.PRNGKey(26), features, 3, jnp.float64)
    parts = 2 if case == "sum" else 1
    assert omegas.shape == (parts * features, 3) and amplitudes.shape == (parts * features,)
    k0 = float(ref.kernel_values(name, params, np.zeros((1, 3)))[0])
    np.testing.assert_allclose(float(jnp.sum(amplitudes)), k0, rtol=1e-12)
    v = np.asarray(jax.random.normal(jax.random.PRNGKey(27), (20, 3)))
    k_d = np.cos(v @ np.asarray(omegas).T) @ np.asarray(amplitudes)
    assert np.max(np.abs(k_d - ref.kernel_values(name, params, v))) < 5 * k0 / np.sqrt(features)


@pytest.mark.parametrize(
    "kernel, name",
    [(K.EnergyKernel(1.0), "EnergyKernel"), (K.NetworkKernel(np.ones((4, 3))), "NetworkKernel"), (Polynomial(), "Polynomial"),
     (K.SumKernel([K.GaussianKernel(1.0), K.EnergyKernel(1.5)]), "EnergyKernel")],
)
def test_kernels_without_a_spectrum_are_refused_by_name(kernel, name):
    with pytest.raises(ValueError, match=f"`kernel`: {name} has no known spectral distribution"):
        kernel.spectral_sample(jax.random.PRNGKey(0), 8, 3, jnp.float64)


@pytest.mark.parametrize("kernel", [K.LaplaceKernel(1.0), K.SumKernel([K.GaussianKernel(1.0), K.LaplaceKernel(1.0)])])
def test_laplace_spectrum_is_for_values_only(kernel):
    """The Laplace spectrum is Cauchy: sampled for values, refused `for_gradients` (alone or inside
    a sum), so random-feature gradient and Hessian sums refuse it while values go through."""
    key = jax.random.PRNGKey(0)
    kernel.spectral_sample(key, 8, 3, jnp.float64)
    with pytest.raises(ValueError, match="LaplaceKernel have infinite variance"):
        kernel.spectral_sample(key, 8, 3, jnp.float64, for_gradients=True)
    x, y, _ = samples(28, 5, 4, 1)
    backend = K.RandomFeatureApproximation(key, features=8)
    assert K.kernel_sum(kernel, x, y, backend=backend).shape == (5,)
    with pytest.raises(ValueError, match="infinite variance"):
        K.kernel_grad_sum(kernel, x, y, backend=backend)
    with pytest.raises(ValueError, match="infinite variance"):
        K.kernel_hessian_sum(kernel, x, y, jnp.ones_like(y), backend=backend)


# --- backend sizes ----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -3, 2.0, True, "8"])
def test_block_sizes_are_positive_ints_or_none(value):
    K.BlockedSums(row_block=None, col_block=None)
    for name in ("row_block", "col_block"):
        with pytest.raises(ValueError, match=f"`{name}` must be an integer >= 1"):
            K.BlockedSums(**{name: value})
    with pytest.raises(ValueError, match="`dense_limit` must be an integer >= 1"):
        K.AutoSums(dense_limit=value)
