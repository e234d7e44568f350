"""PRG generators fool discriminators: Chen, Li, Li, Meka (ICLR 2022); MATH.md section 7.

    python experiments/prg_generators.py            # n = 16 seed bits, m = 64 outputs (minutes on CPU)
    python experiments/prg_generators.py --quick    # n = 8, m = 24 (seconds)

Set-up: a Goldreich PRG generator `flows.GoldreichPRGGenerator` with Gaussian seed z in R^n and
extra Gaussian w in R^m outputs x_j = (2 y_j - 1)|w_j|, y_j = P(b_{S_j}), b = 1[z > 0],
P = u1 xor u2 xor u3 xor (u4 and u5), on a hypergraph in which every k output bits are independent
(k = 3; 2 in --quick). Its positive control `flows.RepeatedBitsGenerator` repeats the seed bits.
Both outputs have exactly N(0, 1) coordinates and live on at most 2^n of the 2^m orthants.

Claims checked:
- every coordinate is N(0, 1): exact (each output bit is balanced over all 2^n seeds) and a
  Kolmogorov-Smirnov test per coordinate;
- W1(PRG, N(0, I_m)) is of order sqrt(m): bounds by enumerating the 2^n seeds
  (`flows.sign_mixture_w1_bounds`), while the Sinkhorn estimate from samples cannot tell it from two
  Gaussian samples;
- MLP classifiers, logistic classifiers (linear and quadratic features), WGAN-GP critics and MMD
  permutation tests at five bandwidths stay within chance +- 3 standard errors against the PRG, while
  the quadratic tests detect the repeated-bits generator; a brute-force test over the 2^n seeds
  (distance to the generator's orthants) detects both.
Writes media/prg_generators_*.png, experiments/results/prg_generators.json and its EXPERIMENTS.md section.
"""

from __future__ import annotations

import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)

import equinox as eqx  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

import flows  # noqa: E402
from report import Outputs, parse_args  # noqa: E402

NAME = "prg_generators"
BANDWIDTH_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
SETTINGS = {
    True: dict(seed_dim=12, dim=30, independence=3, n_train=800, n_test=800, steps=250, mmd_n=400,
               permutations=100, w1_samples=1024, sinkhorn_sizes=(100,), epsilon=0.5),
    False: dict(seed_dim=16, dim=64, independence=3, n_train=8000, n_test=4000, steps=3000, mmd_n=1500,
                permutations=200, w1_samples=4096, sinkhorn_sizes=(250, 500, 1000), epsilon=0.5),
}


@eqx.filter_jit
def _generate(generator, key, size: int):
    return flows.push_forward(generator, jax.random.normal(key, (size, generator.latent_dim)))


@eqx.filter_jit
def _gaussian(key, size: int, dim: int):
    return jax.random.normal(key, (size, dim))


def distinguishers(source, key, setting: dict, patterns) -> dict:
    """Every test of `source`'s samples against fresh N(0, I_m) samples: z-scores (0 under P = Q, standard
    deviation 1) and accuracies / p-values."""
    dim, n_train, n_test = setting["dim"], setting["n_train"], setting["n_test"]
    keys = jax.random.split(key, 10)
    x_train, x_test = source(keys[0], n_train), source(keys[1], n_test)
    y_train, y_test = _gaussian(keys[2], n_train, dim), _gaussian(keys[3], n_test, dim)
    training = dict(steps=setting["steps"], batch_size=256)
    out = {}
    classifiers = {
        "MLP classifier": flows.MLPCritic(dim, width=128, depth=2, activation="relu", key=keys[4]),
        "logistic (linear)": flows.LogisticRegression(dim, "linear"),
        "logistic (quadratic)": flows.LogisticRegression(dim, "quadratic"),
    }
    for label, model in classifiers.items():
        result = flows.classifier_two_sample_test(model, x_train, y_train, x_test, y_test, key=keys[5],
                                                  learning_rate=1e-3, **training)
        out[label] = dict(kind="accuracy", accuracy=result.accuracy, standard_error=result.standard_error,
                          z=result.z_score, p_value=result.p_value)
    critic = flows.MLPCritic(dim, width=128, depth=2, activation="relu", key=keys[6])
    result, _ = flows.wgan_gp_critic_test(critic, x_train, y_train, x_test, y_test, key=keys[7],
                                          learning_rate=1e-3, num_permutations=1000, **training)
    out["WGAN-GP critic"] = dict(kind="gap", gap=result.statistic, z=result.z_score, p_value=result.p_value)
    x, y = x_test[: setting["mmd_n"]], y_test[: setting["mmd_n"]]
    median = flows.median_bandwidth(x, y)
    for factor in BANDWIDTH_FACTORS:
        kernel = flows.GaussianKernel(jnp.asarray(factor * median))  # an array: one compilation for all bandwidths
        result = flows.mmd_permutation_test(x, y, kernel, key=jax.random.fold_in(keys[8], int(100 * factor)),
                                            num_permutations=setting["permutations"])
        out[f"MMD σ = {factor:g}·median"] = dict(kind="mmd", mmd2=result.statistic, bandwidth=factor * median,
                                                  z=result.z_score, p_value=result.p_value)
    # Brute force over the 2^n seeds (on the MMD tests' points): a point is "generated" iff it lies in one of the generator's orthants.
    inside_x = flows.distance_to_orthants(x, patterns) == 0
    inside_y = flows.distance_to_orthants(y, patterns) == 0
    accuracy = float((jnp.mean(inside_x) + jnp.mean(~inside_y)) / 2)
    standard_error = 0.5 * float(np.sqrt(0.5 / x.shape[0]))
    out["brute force (2^n seeds)"] = dict(kind="accuracy", accuracy=accuracy, standard_error=standard_error,
                                          z=(accuracy - 0.5) / standard_error)
    return out


def main(quick: bool = False, root: Path | None = None) -> dict:
    started = time.perf_counter()
    out = Outputs(NAME, order=3, quick=quick, root=root)
    setting = SETTINGS[quick]
    n, m = setting["seed_dim"], setting["dim"]
    key = jax.random.PRNGKey(0)
    k_graph, k_prg, k_weak, k_null, k_w1, k_sink, k_hist = jax.random.split(key, 7)
    generators = {
        "PRG": flows.GoldreichPRGGenerator(n, m, key=k_graph, independence=setting["independence"]),
        "repeated bits": flows.RepeatedBitsGenerator(n, m),
    }
    patterns = {label: g.sign_patterns() for label, g in generators.items()}

    def sampler(generator):
        return lambda k, size: _generate(generator, k, size)

    results = {
        "setup": {**{k: v for k, v in setting.items()}, "m_over_n": m / n, "predicate": "u1^u2^u3^(u4&u5)",
                  "bandwidth_factors": BANDWIDTH_FACTORS},
        "generators": {},
    }
    # Exact facts by enumeration, and the marginals' normality check.
    samples = {}
    for label, generator in generators.items():
        biases = flows.sign_pattern_biases(patterns[label], max_order=3 if n <= 12 else 2)
        x = sampler(generator)(jax.random.fold_in(k_hist, len(samples)), setting["n_test"])
        samples[label] = np.asarray(x)
        ks = [stats.kstest(samples[label][:, j], "norm").pvalue for j in range(m)]
        bounds = flows.sign_mixture_w1_bounds(patterns[label], key=k_w1, num_samples=setting["w1_samples"])
        results["generators"][label] = {
            "distinct_sign_patterns": int(np.unique(np.asarray(patterns[label]), axis=0).shape[0]),
            "largest_bias_by_order": biases,
            "ks_min_p_value": float(min(ks)),
            "ks_bonferroni_p_value": float(min(1.0, m * min(ks))),
            "w1_lower": bounds.lower, "w1_lower_standard_error": bounds.lower_standard_error, "w1_upper": bounds.upper,
        }
    # Every distinguisher, against the PRG, the positive control, and a Gaussian (the null).
    sources = {label: sampler(g) for label, g in generators.items()}
    sources["Gaussian (null)"] = lambda k, size: _gaussian(k, size, m)
    results["tests"] = {
        label: distinguishers(source, jax.random.fold_in(k_null, i), setting, patterns["PRG"] if label != "repeated bits"
                              else patterns["repeated bits"])
        for i, (label, source) in enumerate(sources.items())
    }
    # Sinkhorn W1 estimates from samples vs the Gaussian-Gaussian baseline.
    sinkhorn = {label: [] for label in sources}
    for size in setting["sinkhorn_sizes"]:
        keys = jax.random.split(jax.random.fold_in(k_sink, size), len(sources) + 1)
        gaussian = _gaussian(keys[-1], size, m)
        for (label, source), k in zip(sources.items(), keys):
            sinkhorn[label].append(flows.sinkhorn_w1(source(k, size), gaussian, setting["epsilon"]))
    results["sinkhorn_w1"] = {"sizes": setting["sinkhorn_sizes"], "epsilon": setting["epsilon"], **sinkhorn}

    prg, weak, null = (results["tests"][k] for k in ("PRG", "repeated bits", "Gaussian (null)"))
    small = [k for k in prg if not k.startswith("brute")]
    results["prg_largest_abs_z"] = max(abs(prg[k]["z"]) for k in small)
    results["null_largest_abs_z"] = max(abs(null[k]["z"]) for k in small)
    results["weak_largest_z"] = max(weak[k]["z"] for k in small)
    results["weak_detected_by"] = [k for k in small if weak[k]["z"] > 3]
    results["prg_at_chance"] = bool(results["prg_largest_abs_z"] <= 3)
    results["weak_detected"] = bool(results["weak_largest_z"] > 3)
    results["wall_time_s"] = time.perf_counter() - started

    figures = {
        "marginals": _plot_marginals(samples, out.media(f"{NAME}_marginals.png")),
        "tests": _plot_tests(results["tests"], out.media(f"{NAME}_tests.png")),
        "w1": _plot_w1(results, out.media(f"{NAME}_w1.png")),
    }
    out.write_results(results)
    out.write_section("PRG generators fool discriminators", _section(results, setting, figures, out))
    return results


def _plot_marginals(samples: dict, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, 2.6), dpi=110)
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 4, sharey=True)
    grid = np.linspace(-4, 4, 200)
    for ax, j in zip(axes, (0, 1, 2, 3)):
        for label, x in samples.items():
            ax.hist(x[:, j], bins=40, range=(-4, 4), density=True, histtype="step", label=label)
        ax.plot(grid, stats.norm.pdf(grid), "k--", lw=0.8, label="N(0, 1)")
        ax.set(title=f"coordinate {j + 1}", xlabel="$x_j$")
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    return path


def _plot_tests(tests: dict, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    names = [k for k in next(iter(tests.values())) if not k.startswith("brute")]
    figure = Figure(figsize=(9.0, 3.8), dpi=110)
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    ax.axhspan(-3, 3, color="grey", alpha=0.2, label="chance ± 3 SE")
    width = 0.8 / len(tests)
    for i, (label, rows) in enumerate(tests.items()):
        z = [rows[k]["z"] for k in names]
        ax.bar(np.arange(len(names)) + (i - (len(tests) - 1) / 2) * width, z, width, label=label)
    ax.set_xticks(np.arange(len(names)), names, rotation=25, ha="right", fontsize=7)
    ax.set(ylabel="z-score vs N(0, I)  (SE units)", yscale="symlog")
    ax.axhline(0, color="k", lw=0.5)
    ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    return path


def _plot_w1(results: dict, path: Path) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 3.8), dpi=110)
    FigureCanvasAgg(figure)
    ax = figure.subplots()
    sink = results["sinkhorn_w1"]
    for label in ("PRG", "repeated bits", "Gaussian (null)"):
        ax.plot(sink["sizes"], sink[label], "o-", label=f"Sinkhorn, {label} vs N(0, I)")
    bounds = results["generators"]["PRG"]
    ax.axhline(bounds["w1_lower"], color="C0", ls="--", label="PRG: exact lower bound (2^n seeds)")
    ax.axhline(bounds["w1_upper"], color="k", ls=":", label="upper bound $U_m$ (any sign law)")
    ax.axhline(0, color="C2", ls="--", lw=0.8, label="N(0, I) vs N(0, I): W1 = 0")
    ax.set(xscale="log", xlabel="samples per side N", ylabel="$W_1$", title=f"$W_1$ to N(0, I), m = {results['setup']['dim']}")
    ax.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path)
    return path


def _power_of_ten(value: float) -> str:
    exponent = int(np.floor(np.log10(value)))
    return f"{value / 10**exponent:.1f} \\cdot 10^{{{exponent}}}"


def _biases(biases: dict) -> str:
    return ", ".join(f"order {k}: {v:g}" for k, v in biases.items())


def _section(results: dict, setting: dict, figures: dict, out: Outputs) -> str:
    n, m = setting["seed_dim"], setting["dim"]
    mlp_cost = m * 128 + 128 * 128 + 128  # multiply-adds of the width-128, depth-2 MLP per point
    prg, weak = results["generators"]["PRG"], results["generators"]["repeated bits"]
    enumerated = max(int(k) for k in prg["largest_bias_by_order"])
    certified = (f"; order {setting['independence']} is certified by the construction, not enumerated"
                 if enumerated < setting["independence"] else "")
    tests = results["tests"]
    rows = []
    for name in tests["PRG"]:
        cells = []
        for label in tests:
            r = tests[label][name]
            value = f"{r['accuracy']:.3f}" if r["kind"] == "accuracy" else f"p = {r['p_value']:.3g}"
            cells.append(f"{value} (z = {r['z']:+.1f})")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    sink = results["sinkhorn_w1"]
    return f"""
**Claim** (Chen, Li, Li, Meka, ICLR 2022; `MATH.md` section 7): a constant-depth ReLU generator
fed Gaussian seeds can be far from $\\mathcal N(0, I_m)$ in $W_1$ while no small discriminator can
tell: a Goldreich local PRG with $n$ seed bits and $m > n$ outputs.

**Setting.** `flows.GoldreichPRGGenerator` with $n = {n}$, $m = {m}$ ($m = n^{{{np.log(m) / np.log(n):.2f}}}$),
predicate $u_1 \\oplus u_2 \\oplus u_3 \\oplus (u_4 \\wedge u_5)$, a hypergraph drawn so that every
{setting['independence']} output bits are independent (so every moment of degree
$\\le {setting['independence']}$ equals the Gaussian's: exact largest sign biases by order over all
$2^{{{n}}}$ seeds: {_biases(prg['largest_bias_by_order'])}{certified}); positive control `flows.RepeatedBitsGenerator`
($y_j = b_{{j \\bmod n}}$; biases {_biases(weak['largest_bias_by_order'])}). Distinguishers are trained on
{setting['n_train']} samples per side ({setting['steps']} Adam steps, batch 256) and evaluated on
{setting['n_test']} fresh samples per side; MMD permutation tests use {setting['mmd_n']} per side,
{setting['permutations']} permutations, Gaussian kernels at {', '.join(f'{f:g}' for f in BANDWIDTH_FACTORS)}
× the median distance. The third column runs every test on a Gaussian sample (the null).

**Marginals.** Every output bit is balanced over the $2^{{{n}}}$ seeds (largest bias
{prg['largest_bias_by_order'][1]:g}), so each coordinate is exactly $\\mathcal N(0, 1)$;
Kolmogorov–Smirnov on {setting['n_test']} samples, Bonferroni over the {m} coordinates:
p = {prg['ks_bonferroni_p_value']:.2f} (PRG), {weak['ks_bonferroni_p_value']:.2f} (repeated bits).

![marginals]({out.link(figures['marginals'])})

**Distinguishers** (held-out accuracy, or permutation p-value; z = deviation from chance in
standard errors):

| test | {' | '.join(tests)} |
|---|{'---|' * len(tests)}
{chr(10).join(rows)}

Against the PRG the largest |z| of the small tests is {results['prg_largest_abs_z']:.2f}
({'within' if results['prg_at_chance'] else 'OUTSIDE'} chance ± 3 SE; on the Gaussian null:
{results['null_largest_abs_z']:.2f}). The repeated-bits control is
{'detected' if results['weak_detected'] else 'NOT detected'} (largest z = {results['weak_largest_z']:.1f})
by: {', '.join(results['weak_detected_by']) or 'none'}. Linear logistic regression sees only means,
which are 0 for all three, so it is blind to both (the expected negative).

![tests]({out.link(figures['tests'])})

**$W_1$ and the statistical–computational gap.** Enumerating the $2^{{{n}}}$ seeds gives the
1-Lipschitz function $f(x) = \\operatorname{{dist}}(x, \\text{{the generator's orthants}})$, zero on every
generated point, so $W_1(\\text{{PRG}}, \\mathcal N(0, I_{{{m}}})) \\ge \\mathbb E f(g) =
{prg['w1_lower']:.3f} \\pm {prg['w1_lower_standard_error']:.3f}$ (repeated bits:
{weak['w1_lower']:.3f}), against the upper bound $U_{{{m}}} = {prg['w1_upper']:.2f}$ of the coupling that keeps
the magnitudes ($\\le \\sqrt{{2m}} = {np.sqrt(2 * m):.2f}$): the lower bound is
{prg['w1_lower'] / np.sqrt(m):.2f}$\\sqrt m$, while $W_1(\\mathcal N(0, I), \\mathcal N(0, I)) = 0$. The same
$f$ as a test (the "brute force" row) classifies the held-out points with accuracy
{tests['PRG']['brute force (2^n seeds)']['accuracy']:.3f}, at a cost of $2^{{{n}}} \\cdot 2 \\cdot {m} \\approx {_power_of_ten(2**n * 2 * m)}$
operations per point, against about ${_power_of_ten(mlp_cost)}$ for the MLP classifier: the gap between what is
statistically detectable and what small (polynomial-size) discriminators detect. From samples the distance is invisible too:
the Sinkhorn estimate ($\\varepsilon = {sink['epsilon']}$, Euclidean cost) at N = {', '.join(map(str, sink['sizes']))}
is {', '.join(f'{v:.2f}' for v in sink['PRG'])} for PRG vs Gaussian and
{', '.join(f'{v:.2f}' for v in sink['Gaussian (null)'])} for two Gaussian samples: the empirical
$W_1$ in {m} dimensions is dominated by its $N^{{-1/m}}$ sampling error.

![w1]({out.link(figures['w1'])})

Wall time {results['wall_time_s']:.0f} s (a 2-core CPU shared with other jobs).
"""


if __name__ == "__main__":
    args = parse_args(__doc__)
    summary = main(quick=args.quick, root=args.root)
    print({k: summary[k] for k in ("prg_largest_abs_z", "null_largest_abs_z", "weak_largest_z", "weak_detected_by",
                                   "prg_at_chance", "weak_detected", "wall_time_s")})
