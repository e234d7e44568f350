r"""AdaGAN: boosting generative models (Tolstikhin, Gelly, Bousquet, Simon-Gabriel, Schölkopf, NeurIPS 2017).
A mixture of generators is built one component at a time, each trained (by any adversarial game) on the
data reweighted towards what the mixture so far misses.

**The reweighting.** Let $G$ be the current mixture, $P$ the data distribution and $\beta \in (0, 1]$ the
weight of the next component $Q$ in $(1 - \beta)G + \beta Q$. For every f-divergence the best $Q$ is
$$Q^*_\beta = \tfrac1\beta\big(\lambda^* dP - (1 - \beta)\,dG\big)_+,$$
with $\lambda^*$ the unique value making it a probability (Tolstikhin et al., Section 2: the same
$Q^*_\beta$ for every f-divergence). On the $N$ data points, with $h_i = \frac{dG}{dP}(x_i)$, that is the sample reweighting
$$w_i = \frac{1}{\beta N}\big(\lambda^* - (1 - \beta)\,h_i\big)_+, \qquad \textstyle\sum_i w_i = 1$$
(`adagan_weights`): points the mixture already covers ($h_i$ large) lose weight, points it misses
($h_i \approx 0$) get the largest weight $\lambda^*/(\beta N)$. $\lambda^*$ comes from sorting: with
$a_{(1)} \le \dots \le a_{(N)}$ the sorted $(1 - \beta)h_i$, the active set is the $k$ smallest, where
$\lambda_k = (\beta N + \sum_{i \le k} a_{(i)})/k$ and $k$ is the largest index with $a_{(k)} < \lambda_k$
(the same argument as a projection onto the simplex).

**The density ratio.** $h = dG/dP$ is estimated by a classifier: a critic $u$ trained with the logistic
loss to tell data (label 1) from mixture samples (label 0), i.e. to maximize
$\mathbb E_P \ln\sigma(u) + \mathbb E_G \ln\sigma(-u)$; at the optimum $\sigma(u) = p/(p + g)$, so
$h = (1 - \sigma(u))/\sigma(u) = e^{-u}$ (`AdaGAN.data_weights`).

**The loop** (`AdaGAN.fit`). Component 1 is trained on the data as given; for $t = 2..T$: choose
$\beta_t$ (a constant, or $1/t$, which weights all components equally), reweight the data, train
component $t$ on the data resampled with those weights (multinomial resampling of the $N$ points), and set
the mixture to $(1 - \beta_t)G_{t-1} + \beta_t G^c_t$. Every component is trained by the same game
(`flows.games.JSGAN`, `FGAN`, ...) through `flows.simulate`, for `steps` generator steps:
the total budget is `components * steps` generator gradient evaluations.

`GeneratorMixture` is the mixture as one generator: its latent is $(u, z)$, the component is chosen by
$\Phi(u)$ (uniform) against the cumulative weights and applied to $z$.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array, ArrayLike, Float

from .._checks import check_key, check_points, check_positive_int
from ..core.simulate import simulate
from ..kernels.base import AbstractKernel
from ..parametric.generators import push_forward, trainable_parameters
from ..parametric.mmd import ParametricMMDFlow
from .critics import AbstractCritic
from .game import AbstractAdversarialGame
from .js_gan import js_gan_value


def _check_mixture_weight(value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(f"`mixture_weight` must be a number in (0, 1], got {value!r}.")


def adagan_threshold(density_ratios: Float[ArrayLike, " N"], mixture_weight: float) -> float:
    r"""$\lambda^*$ such that $\frac1{\beta N}\sum_i(\lambda^* - (1 - \beta)h_i)_+ = 1$ (module docstring), for
    density ratios $h_i \ge 0$ and $\beta$ = `mixture_weight` in $(0, 1]$."""
    h = np.asarray(density_ratios, np.float64)
    if h.ndim != 1 or h.size == 0 or not np.all(np.isfinite(h)) or np.any(h < 0):
        raise ValueError("`density_ratios` must be a non-empty (N,) array of finite non-negative numbers.")
    _check_mixture_weight(mixture_weight)
    a = np.sort((1 - mixture_weight) * h)
    counts = np.arange(1, a.size + 1)
    candidates = (mixture_weight * a.size + np.cumsum(a)) / counts
    active = int(np.nonzero(a < candidates)[0].max())  # a_(1) < lambda_1 always: never empty
    return float(candidates[active])


def adagan_weights(density_ratios: Float[ArrayLike, " N"], mixture_weight: float) -> np.ndarray:
    r"""$w_i = \frac1{\beta N}(\lambda^* - (1 - \beta)h_i)_+$, summing to 1 (module docstring)."""
    h = np.asarray(density_ratios, np.float64)
    threshold = adagan_threshold(h, mixture_weight)
    return np.maximum(threshold - (1 - mixture_weight) * h, 0.0) / (mixture_weight * h.size)


class GeneratorMixture(eqx.Module):
    r"""$\sum_t \alpha_t G_t$ as one generator (module docstring): latent $(u, z)$, component
    $\min\{t: \Phi(u) \le \sum_{s \le t}\alpha_s\}$ applied to $z$.

    **Arguments:** `generators` (equinox modules with one latent dimension $k$ and one output
    dimension), `weights` ($\alpha$, non-negative, normalized here).
    """

    generators: tuple
    weights: Float[Array, " T"]
    component_latent_dim: int = eqx.field(static=True)

    def __init__(self, generators: Sequence[eqx.Module], weights: Float[ArrayLike, " T"]):
        generators = tuple(generators)
        weights = np.asarray(weights, np.float64)
        if not generators or weights.shape != (len(generators),) or np.any(weights < 0) or not weights.sum() > 0:
            raise ValueError("`weights` must be one non-negative number per generator, not all 0.")
        dims = {int(getattr(g, "latent_dim", -1)) for g in generators}
        if len(dims) != 1 or dims == {-1}:
            raise ValueError(f"the `generators` must share one `latent_dim`, got {sorted(dims)}.")
        self.generators = generators
        self.weights = jnp.asarray(weights / weights.sum())
        self.component_latent_dim = dims.pop()

    @property
    def latent_dim(self) -> int:
        return 1 + self.component_latent_dim

    def component(self, latent: Float[Array, " k"]) -> Array:
        """The index of the component that `latent` selects."""
        uniform = jax.scipy.stats.norm.cdf(latent[0])
        edges = jnp.cumsum(self.weights.astype(latent.dtype))
        return jnp.minimum(jnp.searchsorted(edges, uniform), len(self.generators) - 1)

    def __call__(self, latent: Float[Array, " k"]) -> Array:
        z = latent[1:]
        return jax.lax.switch(self.component(latent), [lambda z, g=g: g(z) for g in self.generators], z)


@dataclasses.dataclass(frozen=True)
class AdaGANResult:
    r"""What `AdaGAN.fit` built.

    **Fields:**
    - `mixture`: the final `GeneratorMixture`.
    - `components`: the trained component generators $G^c_1..G^c_T$.
    - `trajectories`: each component's training run (`flows.Trajectory` of its parameters).
    - `mixture_weights`: $\beta_t$ for $t = 1..T$ ($\beta_1 = 1$).
    - `data_weights`: the data weights $w$ each component was trained on ((T, N); uniform for $t = 1$).
    """

    mixture: GeneratorMixture
    components: tuple
    trajectories: tuple
    mixture_weights: tuple
    data_weights: np.ndarray


class AdaGAN(eqx.Module):
    r"""AdaGAN boosting (module docstring) around an adversarial `game`.

    **Arguments:**
    - `game`: the game that trains each component (e.g. `flows.games.JSGAN(...)`); every component's
      run starts from the game's initial critic.
    - `classifier`: the critic trained to tell data from the mixture (its output is the logit $u$).
    - `classifier_optimizer`: optax optimizer of the classifier (e.g. `optax.adam(1e-3)`).
    - `components`: $T$, the number of components.
    - `steps`: generator steps per component.
    - `classifier_steps`: classifier steps (minibatches of `batch_size` per class) per reweighting.
    - `batch_size`: fresh latents per generator step, and the classifier's minibatch.
    - `mixture_weight`: $\beta$ for every $t \ge 2$, or None for $\beta_t = 1/t$ (default).
    """

    game: AbstractAdversarialGame
    classifier: AbstractCritic
    classifier_optimizer: optax.GradientTransformation
    components: int = eqx.field(static=True)
    steps: int = eqx.field(static=True)
    classifier_steps: int = eqx.field(static=True)
    batch_size: int = eqx.field(static=True)
    mixture_weight: float | None = eqx.field(static=True)

    def __init__(
        self,
        game: AbstractAdversarialGame,
        classifier: AbstractCritic,
        classifier_optimizer: optax.GradientTransformation,
        *,
        components: int = 5,
        steps: int = 1000,
        classifier_steps: int = 500,
        batch_size: int = 256,
        mixture_weight: float | None = None,
    ):
        if not isinstance(game, AbstractAdversarialGame):
            raise ValueError(f"`game` must be an adversarial game (e.g. JSGAN), got {type(game).__name__}.")
        if not isinstance(classifier, AbstractCritic):
            raise ValueError(f"`classifier` must be a flows critic (e.g. MLPCritic), got {type(classifier).__name__}.")
        if not isinstance(classifier_optimizer, optax.GradientTransformation):
            raise ValueError(f"`classifier_optimizer` must be an optax optimizer, got {type(classifier_optimizer).__name__}.")
        for name, value in (("components", components), ("steps", steps), ("classifier_steps", classifier_steps),
                            ("batch_size", batch_size)):
            check_positive_int(name, value)
        if mixture_weight is not None:
            _check_mixture_weight(mixture_weight)
        self.game, self.classifier, self.classifier_optimizer = game, classifier, classifier_optimizer
        self.components, self.steps, self.classifier_steps = components, steps, classifier_steps
        self.batch_size, self.mixture_weight = batch_size, mixture_weight

    def beta(self, t: int) -> float:
        """$\\beta_t$: 1 for the first component, then `mixture_weight` or $1/t$."""
        if t == 1:
            return 1.0
        return self.mixture_weight if self.mixture_weight is not None else 1.0 / t

    def density_ratios(self, mixture: eqx.Module, data: Float[Array, "N d"], key: Array) -> Array:
        """$h_i = e^{-u(x_i)}$ from the classifier trained on the data against as many mixture samples."""
        k_mix, k_train = jax.random.split(key)
        generated = _push_forward(mixture, jax.random.normal(k_mix, (data.shape[0], mixture.latent_dim), data.dtype))
        trained = _train_classifier(self.classifier, self.classifier_optimizer, data, generated, k_train,
                                    self.classifier_steps, self.batch_size)
        return jnp.exp(-jax.vmap(trained)(data))

    def data_weights(self, mixture: eqx.Module, data: Float[ArrayLike, "N d"], beta: float, *, key: Array) -> np.ndarray:
        """The AdaGAN weights of the data points for a next component of weight `beta` (module docstring)."""
        data = check_points("data", data)
        check_key("key", key)
        return adagan_weights(np.asarray(self.density_ratios(mixture, data, key)), beta)

    def fit(
        self,
        generators: Sequence[eqx.Module],
        data: Float[ArrayLike, "N d"],
        kernel: AbstractKernel,
        *,
        key: Array,
        saves: int = 8,
    ) -> AdaGANResult:
        """Train the `components` components from the initial generators `generators` (one each), on `data`.
        `kernel` is the carrier flow's (`ParametricMMDFlow`: the game reads its target samples and latents;
        its MMD² is each run's diagnostic); `saves` states are saved per component run."""
        generators = tuple(generators)
        if len(generators) != self.components:
            raise ValueError(f"`generators` must hold `components` = {self.components} initial generators, got {len(generators)}.")
        data = check_points("data", data)
        check_key("key", key)
        check_positive_int("saves", saves)
        n = data.shape[0]
        trained, trajectories, betas, weights = [], [], [], []
        mixture_alphas = np.zeros(0)
        w = np.full(n, 1.0 / n)
        for t in range(1, self.components + 1):
            k_weights, k_resample, k_game, key = jax.random.split(key, 4)
            beta = self.beta(t)
            if t > 1:
                mixture = GeneratorMixture(trained, mixture_alphas)
                w = self.data_weights(mixture, data, beta, key=k_weights)
                target = data[jax.random.choice(k_resample, n, (n,), p=jnp.asarray(w, data.dtype))]
            else:
                target = data
            flow = ParametricMMDFlow(generators[t - 1], target, kernel, fresh_latents=self.batch_size,
                                     latents=jax.random.normal(k_resample, (self.batch_size, generators[t - 1].latent_dim), data.dtype))
            ts = np.unique(np.round(np.linspace(0, self.steps, saves))) * float(self.game.step)
            trajectory = simulate(flow, generators[t - 1], t1=float(ts[-1]), ts=ts, solver=self.game, key=k_game,
                                  diagnostics={"mmd2": flow.mmd2})
            params = jax.tree_util.tree_map(lambda leaf: leaf[-1], trajectory.ys)
            trained.append(eqx.combine(params, trainable_parameters(generators[t - 1])[1]))
            trajectories.append(trajectory)
            betas.append(beta)
            weights.append(w)
            mixture_alphas = np.append((1 - beta) * mixture_alphas, beta)
        return AdaGANResult(mixture=GeneratorMixture(trained, mixture_alphas), components=tuple(trained),
                            trajectories=tuple(trajectories), mixture_weights=tuple(betas), data_weights=np.stack(weights))


_push_forward = eqx.filter_jit(push_forward)  # one compilation per mixture structure


@eqx.filter_jit
def _train_classifier(classifier, optimizer, data, generated, key, steps: int, batch_size: int):
    """Adam-style ascent of E_data ln sigma(u) + E_generated ln sigma(-u) on minibatches (one lax.scan)."""
    weights, static = eqx.partition(classifier, classifier.trainable())
    state = optimizer.init(weights)
    batch = min(batch_size, data.shape[0], generated.shape[0])

    def step(carry, k):
        w, s = carry
        k_p, k_q = jax.random.split(k)
        yb = data[jax.random.randint(k_p, (batch,), 0, data.shape[0])]
        xb = generated[jax.random.randint(k_q, (batch,), 0, generated.shape[0])]
        grads = jax.grad(lambda w_: -js_gan_value(eqx.combine(w_, static), xb, yb))(w)
        updates, s = optimizer.update(grads, s, w)
        return (optax.apply_updates(w, updates), s), None

    (weights, _), _ = jax.lax.scan(step, (weights, state), jax.random.split(key, steps))
    return eqx.combine(weights, static)

