r"""Two-sample tests: can a discriminator tell samples $x \sim P$ from $y \sim Q$? They are the
distinguishers of Chen, Li, Li, Meka ("Minimax Optimality (Probably) Doesn't Imply Distribution
Learning for GANs", ICLR 2022): a generator that fools every small discriminator can still be far
from $Q$ in $W_1$ (`flows.analysis.sign_mixture_w1_bounds`).

- `mmd_permutation_test`: the MMD² V-statistic (`flows.mmd2`) and its permutation p-value
  (Gretton et al., JMLR 2012, Section 5): the pooled Gram matrix (`flows.kernel_matrix`) is formed
  once and each relabelling costs one quadratic form $v^\top K v$.
- `classifier_two_sample_test`: train a classifier (any callable point -> logit: `flows.MLPCritic`,
  `LogisticRegression`) with the logistic loss on a training split, report its accuracy on
  held-out samples (Lopez-Paz & Oquab, ICLR 2017). The classifier is fixed before it sees the test
  points, so under $P = Q$ the accuracy on $N_P + N_Q$ test points has mean 1/2 and standard error
  at most $\frac12 / \sqrt{N_P + N_Q}$ (balanced classes).
- `wgan_gp_critic_test`: train a critic $u$ to maximize the WGAN-GP objective
  $\mathbb E_P u - \mathbb E_Q u - \lambda\,\mathbb E(\|\nabla u(\hat x)\| - 1)^2$ (Gulrajani et al.,
  NeurIPS 2017) on the training split; the statistic is its held-out gap
  $\frac1{N_P}\sum u(x_i) - \frac1{N_Q}\sum u(y_j)$, with a permutation p-value over the held-out labels.

Training draws minibatches of `batch_size` per class and makes `steps` Adam updates in one
`lax.scan`; training and the held-out statistic are one compiled program per model, shapes and
optimizer settings.
"""

from __future__ import annotations

import dataclasses
import functools
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, ArrayLike, Float, PyTree

from .._checks import check_choice, check_points, check_positive
from .._trees import cast_floats
from ..games.wgan_gp import gradient_penalty
from ..kernels.base import AbstractKernel
from ..kernels.sums import kernel_matrix


@dataclasses.dataclass(frozen=True)
class PermutationTestResult:
    r"""A permutation test of $P = Q$.

    **Fields:**
    - `statistic`: the observed statistic (the MMD² V-statistic).
    - `p_value`: $(1 + \#\{b: T_b \ge T\}) / (1 + B)$ over the $B$ relabelled statistics $T_b$.
    - `null_mean`, `null_std`: the mean and standard deviation (ddof 1) of the $T_b$.

    `z_score` is $(T - \text{null\_mean}) / \text{null\_std}$.
    """

    statistic: float
    p_value: float
    null_mean: float
    null_std: float

    @property
    def z_score(self) -> float:
        return (self.statistic - self.null_mean) / self.null_std


@dataclasses.dataclass(frozen=True)
class ClassifierTestResult:
    r"""A classifier two-sample test.

    **Fields:**
    - `accuracy`: the balanced held-out accuracy.
    - `standard_error`: its standard error under $P = Q$,
      $\frac12\sqrt{\frac{1}{4N_P} + \frac{1}{4N_Q}}$ ($N_P$, $N_Q$ the test points per class).
    - `p_value`: the one-sided normal p-value of the accuracy exceeding 1/2.
    - `trained`: the trained classifier.

    `z_score` is $(\text{accuracy} - \frac12) / \text{standard\_error}$.
    """

    accuracy: float
    standard_error: float
    p_value: float
    trained: PyTree

    @property
    def z_score(self) -> float:
        return (self.accuracy - 0.5) / self.standard_error


@dataclasses.dataclass(frozen=True)
class CriticTestResult:
    r"""A WGAN-GP critic test: a permutation test of the trained critic's held-out gap.

    **Fields:**
    - `statistic`: the held-out gap $\frac1{N_P}\sum_i u(x_i) - \frac1{N_Q}\sum_j u(y_j)$.
    - `p_value`: $(1 + \#\{b: T_b \ge T\}) / (1 + B)$ over the $B$ gaps $T_b$ of relabelled test points.
    - `null_mean`, `null_std`: the mean and standard deviation (ddof 1) of the $T_b$.
    - `trained`: the trained critic $u$.

    `z_score` is $(T - \text{null\_mean}) / \text{null\_std}$.
    """

    statistic: float
    p_value: float
    null_mean: float
    null_std: float
    trained: PyTree

    @property
    def z_score(self) -> float:
        return (self.statistic - self.null_mean) / self.null_std


def _check_count(name: str, value, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}.")


def _check_samples(x_train, y_train, x_test, y_test) -> tuple[Array, Array, Array, Array]:
    x_train = check_points("x_train", x_train)
    dim = x_train.shape[1]
    return (
        x_train,
        check_points("y_train", y_train, dim=dim, dim_name="x_train"),
        check_points("x_test", x_test, dim=dim, dim_name="x_train"),
        check_points("y_test", y_test, dim=dim, dim_name="x_train"),
    )


@eqx.filter_jit
def _permuted_statistics(kernel: AbstractKernel, x: Array, y: Array, key: Array, num_permutations: int) -> tuple[Array, Array]:
    pooled = jnp.concatenate([x, y])
    gram = kernel_matrix(kernel, pooled, pooled)
    n, total = x.shape[0], pooled.shape[0]
    labels = jnp.concatenate([jnp.full(n, 1.0 / n), jnp.full(total - n, -1.0 / (total - n))]).astype(gram.dtype)

    def statistic(v):
        return v @ gram @ v

    permuted = jax.vmap(lambda k: statistic(jax.random.permutation(k, labels)))(jax.random.split(key, num_permutations))
    return statistic(labels), permuted


def _permutation_summary(observed: Array, permuted: Array) -> dict[str, float]:
    """The fields a permutation test reports: the statistic, its p-value, the null's mean and spread."""
    exceed = jnp.sum(permuted >= observed)
    return {
        "statistic": float(observed),
        "p_value": float((1 + exceed) / (1 + permuted.shape[0])),
        "null_mean": float(jnp.mean(permuted)),
        "null_std": float(jnp.std(permuted, ddof=1)),
    }


def mmd_permutation_test(
    x: Float[ArrayLike, "n d"], y: Float[ArrayLike, "m d"], kernel: AbstractKernel, *, key: Array,
    num_permutations: int = 200,
) -> PermutationTestResult:
    """Permutation test of $P = Q$ with the MMD² V-statistic (`flows.mmd2(x, y, kernel)`).

    The p-value is $(1 + \\#\\{b: \\mathrm{MMD}^2_b \\ge \\mathrm{MMD}^2\\}) / (1 + B)$ over $B$ =
    `num_permutations` random relabellings of the pooled sample: exact level under $P = Q$.
    """
    x = check_points("x", x)
    y = check_points("y", y, dim=x.shape[1], dim_name="x")
    _check_count("num_permutations", num_permutations)
    observed, permuted = _permuted_statistics(kernel, x, y, key, num_permutations)
    return PermutationTestResult(**_permutation_summary(observed, permuted))


class LogisticRegression(eqx.Module):
    r"""Logistic regression's logit $\beta_0 + \beta^\top \phi(x)$ with features $\phi(x) = x$ (`"linear"`)
    or $(x, (x_i x_j)_{i \le j})$ (`"quadratic"`: it can see correlations, not only means).

    **Arguments:** `dim` ($d$), `features`, `dtype`. Starts at $\beta = 0$.
    """

    coefficients: Float[Array, " p"]
    intercept: Float[Array, ""]
    features: str = eqx.field(static=True)

    def __init__(self, dim: int, features: str = "quadratic", *, dtype=jnp.float32):
        _check_count("dim", dim)
        check_choice("features", features, ("linear", "quadratic"))
        size = dim if features == "linear" else dim + dim * (dim + 1) // 2
        self.coefficients = jnp.zeros(size, dtype)
        self.intercept = jnp.zeros((), dtype)
        self.features = features

    def feature_map(self, x: Float[Array, " d"]) -> Float[Array, " p"]:
        """$\\phi(x)$: $x$, then (quadratic) the products $x_i x_j$, $i \\le j$."""
        if self.features == "linear":
            return x
        rows, cols = jnp.triu_indices(x.shape[0])
        return jnp.concatenate([x, x[rows] * x[cols]])

    def __call__(self, x: Float[Array, " d"]) -> Float[Array, ""]:
        return self.feature_map(x) @ self.coefficients.astype(x.dtype) + self.intercept.astype(x.dtype)


@functools.lru_cache(maxsize=None)
def _adam(learning_rate: float, b1: float = 0.9, b2: float = 0.999) -> optax.GradientTransformation:
    """One optax Adam per setting, so the compiled training loops are reused across calls."""
    return optax.adam(learning_rate, b1=b1, b2=b2)


def _train(model, loss, x, y, key, steps, batch_size, optimizer):
    """`steps` optax updates of `model`'s inexact arrays on `loss(model, xb, yb, key)`, minibatches of
    `batch_size` drawn with replacement from each class. Every minibatch index comes from one uniform draw
    before the loop (index floor(u N) for u uniform on [0, 1)), so the compiled loop body holds no random-number code
    beyond what `loss` itself draws."""
    params, static = eqx.partition(model, eqx.is_inexact_array)
    state = optimizer.init(params)
    k_batch, k_loss = jax.random.split(key)
    u = jax.random.uniform(k_batch, (2, steps, batch_size))
    x_index = jnp.minimum((u[0] * x.shape[0]).astype(jnp.int32), x.shape[0] - 1)
    y_index = jnp.minimum((u[1] * y.shape[0]).astype(jnp.int32), y.shape[0] - 1)

    def step(carry, inputs):
        params, state = carry
        i, j, kl = inputs
        grads = jax.grad(lambda p: loss(eqx.combine(p, static), x[i], y[j], kl))(params)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, _), _ = jax.lax.scan(step, (params, state), (x_index, y_index, jax.random.split(k_loss, steps)))
    return eqx.combine(params, static)


def _logistic_loss(model, xb, yb, key):
    """Binary cross-entropy: label 1 for P's samples `xb`, 0 for Q's `yb`."""
    return jnp.mean(jax.nn.softplus(-jax.vmap(model)(xb))) + jnp.mean(jax.nn.softplus(jax.vmap(model)(yb)))


def _balanced_accuracy(classifier, x: Array, y: Array) -> Array:
    return (jnp.mean(jax.vmap(classifier)(x) > 0) + jnp.mean(jax.vmap(classifier)(y) <= 0)) / 2


@eqx.filter_jit
def _train_classifier(model, x, y, x_test, y_test, key, steps, batch_size, optimizer):
    """The trained classifier and its held-out balanced accuracy, in one compiled program."""
    trained = _train(model, _logistic_loss, x, y, key, steps, batch_size, optimizer)
    return trained, _balanced_accuracy(trained, x_test, y_test)


def classifier_two_sample_test(
    classifier: eqx.Module,
    x_train: Float[ArrayLike, "n d"],
    y_train: Float[ArrayLike, "m d"],
    x_test: Float[ArrayLike, "n2 d"],
    y_test: Float[ArrayLike, "m2 d"],
    *,
    key: Array,
    steps: int = 2000,
    batch_size: int = 256,
    learning_rate: float = 1e-3,
) -> ClassifierTestResult:
    """Classifier two-sample test (module docstring): train `classifier` (point -> logit; positive
    means "from $P$") with Adam on the logistic loss, then the balanced held-out accuracy
    $\\frac12(\\Pr_{x \\in \\text{x\\_test}}[\\text{logit} > 0] + \\Pr_{y \\in \\text{y\\_test}}[\\text{logit} \\le 0])$.
    """
    x_train, y_train, x_test, y_test = _check_samples(x_train, y_train, x_test, y_test)
    _check_count("steps", steps)
    _check_count("batch_size", batch_size)
    check_positive("learning_rate", learning_rate)
    dtype = x_train.dtype
    classifier = cast_floats(classifier, dtype)
    trained, accuracy = _train_classifier(classifier, x_train, y_train, x_test, y_test, key, steps, batch_size,
                                          _adam(float(learning_rate)))
    accuracy = float(accuracy)
    # Under P = Q each class's hit rate is a mean of independent Bernoullis with probabilities p and 1 - p.
    standard_error = 0.5 * math.sqrt(0.25 / x_test.shape[0] + 0.25 / y_test.shape[0])
    p_value = float(jax.scipy.stats.norm.sf((accuracy - 0.5) / standard_error))
    return ClassifierTestResult(accuracy=accuracy, standard_error=standard_error, p_value=p_value, trained=trained)


class _WGANGPLoss(eqx.Module):
    penalty: float

    def __call__(self, critic, xb, yb, key):
        gap = jnp.mean(jax.vmap(critic)(xb)) - jnp.mean(jax.vmap(critic)(yb))
        return -gap + self.penalty * gradient_penalty(critic, xb, yb, key)


@eqx.filter_jit
def _train_critic(critic, x, y, x_test, y_test, key, steps, batch_size, optimizer, penalty, num_permutations):
    """The trained critic and its held-out gap with the permuted gaps, in one compiled program."""
    k_train, k_perm = jax.random.split(key)
    trained = _train(critic, _WGANGPLoss(penalty), x, y, k_train, steps, batch_size, optimizer)
    return trained, _permuted_gaps(trained, x_test, y_test, k_perm, num_permutations)


def wgan_gp_critic_test(
    critic: eqx.Module,
    x_train: Float[ArrayLike, "n d"],
    y_train: Float[ArrayLike, "m d"],
    x_test: Float[ArrayLike, "n2 d"],
    y_test: Float[ArrayLike, "m2 d"],
    *,
    key: Array,
    steps: int = 2000,
    batch_size: int = 256,
    learning_rate: float = 1e-4,
    penalty: float = 10.0,
    num_permutations: int = 1000,
) -> CriticTestResult:
    """WGAN-GP critic test (module docstring): train `critic` (e.g. `flows.MLPCritic`) with Adam
    (β = (0.5, 0.9), as Gulrajani et al.) on $-(\\text{gap}) + \\lambda\\,$`gradient_penalty`, then
    permutation-test its held-out gap. The result holds the trained critic (`trained`).
    """
    x_train, y_train, x_test, y_test = _check_samples(x_train, y_train, x_test, y_test)
    _check_count("steps", steps)
    _check_count("batch_size", batch_size)
    _check_count("num_permutations", num_permutations)
    check_positive("learning_rate", learning_rate)
    check_positive("penalty", penalty)
    dtype = x_train.dtype
    critic = cast_floats(critic, dtype)
    optimizer = _adam(float(learning_rate), 0.5, 0.9)
    trained, (observed, permuted) = _train_critic(critic, x_train, y_train, x_test, y_test, key, steps, batch_size,
                                                  optimizer, float(penalty), num_permutations)
    return CriticTestResult(**_permutation_summary(observed, permuted), trained=trained)


def _permuted_gaps(critic, x: Array, y: Array, key: Array, num_permutations: int) -> tuple[Array, Array]:
    values = jax.vmap(critic)(jnp.concatenate([x, y]))
    n, total = x.shape[0], values.shape[0]
    labels = jnp.concatenate([jnp.full(n, 1.0 / n), jnp.full(total - n, -1.0 / (total - n))]).astype(values.dtype)
    permuted = jax.vmap(lambda k: jax.random.permutation(k, labels) @ values)(jax.random.split(key, num_permutations))
    return labels @ values, permuted
