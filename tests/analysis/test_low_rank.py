"""The low-rank Gaussian landscape's stationary points (flows/analysis/low_rank.py; Alon, Globerson &
Wiesel, arXiv:2110.13452, 2021) against a case solved by hand: G(z) = a z (d = 2, k = 1) and the
rank-1 target N(0, diag(s, 0)). On the null direction e2 the MMD² is the scalar function
f(t) = (1 + 2t/σ²)^(-1/2) - 2c (1 + t/σ²)^(-1/2) + const, c = (1 + s/σ²)^(-1/2), whose critical point
(found here by bracketing in NumPy) is the saddle; a = 0 is a maximum (zero-mean model) and a = √s e1
the global minimum. Hessians are checked against central finite differences of an independent
NumPy closed form. Float64 (conftest)."""

import numpy as np
import pytest
from scipy.optimize import brentq

import flows

S, SIGMA = 1.5, 1.2


def numpy_mmd2(a, b, cov_star, mean_star, sigma):
    """Population MMD² of N(b, a a^T) vs N(mean_star, cov_star), Gaussian kernel, by the Gaussian integral
    E exp(-|Z|²/2σ²) = det(I + C/σ²)^(-1/2) exp(-m^T (C + σ² I)^(-1) m / 2)."""
    d = cov_star.shape[0]
    cov = np.outer(a, a) if a.ndim == 1 else a @ a.T

    def e(m, c):
        return np.linalg.det(np.eye(d) + c / sigma**2) ** -0.5 * np.exp(-0.5 * m @ np.linalg.solve(c + sigma**2 * np.eye(d), m))

    zero = np.zeros(d)
    return e(zero, 2 * cov) + e(zero, 2 * cov_star) - 2 * e(b - mean_star, cov + cov_star)


def numpy_hessian(f, theta, h=1e-4):
    p = theta.size
    out = np.zeros((p, p))
    for i in range(p):
        for j in range(p):
            ei, ej = np.eye(p)[i] * h, np.eye(p)[j] * h
            out[i, j] = (f(theta + ei + ej) - f(theta + ei - ej) - f(theta - ei + ej) + f(theta - ei - ej)) / (4 * h * h)
    return out


def by_hand_saddle():
    c = (1 + S / SIGMA**2) ** -0.5
    derivative = lambda t: -(1 + 2 * t / SIGMA**2) ** -1.5 / SIGMA**2 + c * (1 + t / SIGMA**2) ** -1.5 / SIGMA**2
    return brentq(derivative, 1e-9, 100.0, xtol=1e-15)


def test_the_rank_one_case_has_its_maximum_saddle_and_minimum():
    """Three families: a = 0 (local maximum), a = √t e2 with t the bracketed root (a strict saddle:
    one negative eigenvalue, towards e1), a = √s e1 (the global minimum, MMD² = 0); gradients vanish
    (1e-12), t agrees to 1e-10, spectra agree with finite differences (1e-6 relative)."""
    cov_star = np.diag([S, 0.0])
    points = flows.analysis.low_rank_critical_points(cov_star, 1, SIGMA)
    assert isinstance(points, flows.analysis.LowRankCriticalPoints)
    assert points.rank == 1 and points.counts == {"global minimum": 1, "strict saddle": 1, "local maximum": 1, "degenerate": 0}
    assert np.all(points.gradient_norms < 1e-12)
    kinds = dict(zip(points.kinds, range(len(points.kinds))))
    saddle, minimum, maximum = kinds["strict saddle"], kinds["global minimum"], kinds["local maximum"]
    assert points.null_directions[saddle] == 1 and points.subsets[saddle] == ()
    assert points.variances[saddle][0] == pytest.approx(by_hand_saddle(), rel=1e-10)
    np.testing.assert_allclose(np.abs(points.factors[minimum][:, 0]), [np.sqrt(S), 0.0], atol=1e-12)
    assert abs(points.mmd2[minimum]) < 1e-14 and np.all(points.factors[maximum] == 0)
    for index in (saddle, minimum, maximum):
        a = points.factors[index][:, 0]
        expected = np.linalg.eigvalsh(numpy_hessian(lambda t: numpy_mmd2(t, np.zeros(2), cov_star, np.zeros(2), SIGMA), a))
        np.testing.assert_allclose(points.spectra[index], expected, rtol=1e-6, atol=1e-8)
    assert points.spectra[saddle][0] < 0 < points.spectra[saddle][1]
    assert np.all(points.spectra[maximum] < 0) and np.all(points.spectra[minimum] > 0)


def test_with_an_unknown_mean_the_points_move_nowhere_and_the_maximum_becomes_a_saddle():
    """theta = (a, b): the same three families at b = b*; their spectra gain the b-block, positive
    definite (2Q (S + Σ* + σ² I)^-1 at δ = 0), so a = 0 is now a strict saddle; finite differences agree."""
    cov_star, mean_star = np.diag([S, 0.0]), np.array([0.7, -0.3])
    points = flows.analysis.low_rank_critical_points(cov_star, 1, SIGMA, mean=mean_star)
    assert points.unknown_mean and points.spectra.shape == (3, 4)
    assert points.counts == {"global minimum": 1, "strict saddle": 2, "local maximum": 0, "degenerate": 0}
    for index in range(3):
        theta = np.concatenate([points.factors[index][:, 0], mean_star])
        f = lambda t: numpy_mmd2(t[:2], t[2:], cov_star, mean_star, SIGMA)
        np.testing.assert_allclose(points.spectra[index], np.linalg.eigvalsh(numpy_hessian(f, theta)), rtol=1e-6, atol=1e-8)


def test_match_finds_each_family_and_rejects_a_non_stationary_covariance():
    """Rotating the null direction (d = 3, rank 1, so the null space is a plane) keeps a family; a
    generic covariance matches none."""
    cov_star = np.diag([S, 0.0, 0.0])
    points = flows.analysis.low_rank_critical_points(cov_star, 2, SIGMA)
    np.testing.assert_array_equal(points.match(points.covariances), np.arange(len(points.kinds)))
    saddle = points.kinds.index("strict saddle")
    v = np.array([0.0, 0.6, 0.8])
    rotated = points.variances[saddle][0] * np.outer(v, v)
    assert points.match(rotated[None])[0] == saddle
    assert points.match(np.diag([1.0, 0.2, 0.1])[None])[0] == -1
    assert points.counts["degenerate"] == 0


def test_misspecified_rank_one_fit_is_the_global_minimum_of_the_model():
    """k = 1 < r = 2: no family reaches MMD² = 0; the lowest (along the top eigenvector) has no
    negative eigenvalue and is labelled the global minimum, the other one-direction family is a saddle."""
    points = flows.analysis.low_rank_critical_points(np.diag([2.0, 0.5]), 1, 1.0)
    best = points.kinds.index("global minimum")
    assert points.subsets[best] == (0,) and points.mmd2[best] > 1e-3
    assert points.mmd2[best] == pytest.approx(points.mmd2.min()) and points.mmd2[best] < points.value_at_infinity
    assert points.counts["strict saddle"] == 1 and points.counts["local maximum"] == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"covariance": np.eye(2), "latent_dim": 0, "bandwidth": 1.0}, "`latent_dim`"),
        ({"covariance": np.eye(2), "latent_dim": 1, "bandwidth": -1.0}, "`bandwidth`"),
        ({"covariance": np.array([[1.0, 2.0], [2.0, 1.0]]), "latent_dim": 1, "bandwidth": 1.0}, "covariance"),
    ],
)
def test_bad_arguments_raise_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flows.analysis.low_rank_critical_points(**kwargs)
