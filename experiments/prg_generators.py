"""PRG generators fool discriminators: Chen, Li, Li, Meka, "Minimax Optimality (Probably) Doesn't Imply Distribution Learning for GANs", ICLR 2022.

    python experiments/prg_generators.py            # n = 16 seed bits, m = 64 outputs (minutes on CPU)
    python experiments/prg_generators.py --quick    # n = 12, m = 30 (seconds)

Set-up: a Goldreich PRG generator `flows.parametric.GoldreichPRGGenerator` with Gaussian seed z in R^n and
extra Gaussian w in R^m outputs x_j = (2 y_j - 1)|w_j|, y_j = P(b_{S_j}), b = 1[z > 0],
P = u1 xor u2 xor u3 xor (u4 and u5), on a hypergraph in which every k output bits are independent
(k = 3). Its positive control `flows.parametric.RepeatedBitsGenerator` repeats the seed bits.
Both outputs have exactly N(0, 1) coordinates and live on at most 2^n of the 2^m orthants.

Claims checked:
- every coordinate is N(0, 1): exact (each output bit is balanced over all 2^n seeds) and a
  Kolmogorov-Smirnov test per coordinate;
- W1(PRG, N(0, I_m)) is of order sqrt(m): bounds by enumerating the 2^n seeds
  (`flows.analysis.sign_mixture_w1_bounds`), while the Sinkhorn estimate from samples cannot tell it from two
  Gaussian samples;
- MLP classifiers, logistic classifiers (linear and quadratic features), WGAN-GP critics and MMD
  permutation tests at five bandwidths stay within chance +- 3 standard errors against the PRG, while
  the quadratic tests detect the repeated-bits generator; a brute-force test over the 2^n seeds
  (distance to the generator's orthants) detects both;
- a grand tour (`flows.export.grand_tour`: 2-D views of R^m turning along geodesics through chosen planes)
  shows PRG and Gaussian samples alike in every view, with the MMD^2 between each view and the same
  view of a Gaussian sample at the Gaussian-vs-Gaussian level, while the repeated-bits samples leave
  two quadrants empty in the plane (x_1, x_{n+1}) of two copies of one seed bit.
--quick keeps, to stay within seconds, the MLP classifier, the MMD tests and the brute force (no
logistic regressions, WGAN-GP critic or Sinkhorn estimates), and shows the tour's key planes only. Samples are float32 (no claim needs float64); the sign biases and
the W1 upper bound are exact.
Writes media/prg_generators_*.png, media/prg_generators.gif, experiments/results/prg_generators.json
and its EXPERIMENTS.md section.
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
SOURCES = ("PRG", "repeated bits", "Gaussian (null)")
SETTINGS = {
    True: dict(seed_dim=12, dim=30, independence=3, n_train=800, n_test=800, steps=200, mmd_n=400,
               permutations=100, w1_samples=400, sinkhorn_sizes=(), epsilon=0.5, tour_points=300,
               frames_per_segment=1, dpi=50, classifiers=("MLP classifier",), wgan_gp=False),
    False: dict(seed_dim=16, dim=64, independence=3, n_train=8000, n_test=4000, steps=3000, mmd_n=1500,
                permutations=200, w1_samples=4096, sinkhorn_sizes=(250, 500, 1000), epsilon=0.5, tour_points=600,
                frames_per_segment=9, dpi=70, classifiers=("MLP classifier", "logistic (linear)", "logistic (quadratic)"),
                wgan_gp=True),
}
WIDTH = 128  # hidden width of the MLP classifier and the WGAN-GP critic (depth 2, ReLU)


@eqx.filter_jit
def _draw(generators: tuple, key, size: int, baseline_size: int, num_mlps: int):
    """Every random input of the experiment in one compiled call (one normal draw, sliced: each random call
    site costs its own compilation): `size` float32 samples of each generator and of N(0, I_m) (the null),
    in the order of SOURCES; an independent N(0, I_m) reference sample of `size` for each; an N(0, I_m)
    baseline of `baseline_size` (Sinkhorn and the tour); the tour's random plane (m, 2); and `num_mlps`
    freshly initialised MLPs (the MLP classifier, then the WGAN-GP critic), the same initial networks for
    every source."""
    dim, count = generators[0].dim, len(SOURCES)
    widths = [g.latent_dim for g in generators] + [dim] * (2 * count - len(generators))
    shapes = [(size, w) for w in widths] + [(baseline_size, dim), (2, dim)]
    flat = jax.random.normal(key, (sum(a * b for a, b in shapes),), jnp.float32)
    pieces, start = [], 0
    for a, b in shapes:
        pieces.append(flat[start : start + a * b].reshape(a, b))
        start += a * b
    latents, references, (baseline, plane) = pieces[:count], pieces[count : 2 * count], pieces[2 * count :]
    sources = [flows.parametric.push_forward(g, z) for g, z in zip(generators, latents)] + latents[len(generators) :]
    mlps = tuple(flows.games.MLPCritic(dim, width=WIDTH, depth=2, activation="relu", key=k, dtype=jnp.float32)
                 for k in jax.random.split(jax.random.fold_in(key, 1), num_mlps))
    return sources, references, baseline, plane.T, mlps


@eqx.filter_jit
def _sign_patterns(generator):
    return generator.sign_patterns()


@eqx.filter_jit
def _view_mmd2(frames, x, reference, kernel):
    """MMD² between the views x F and reference F, for each frame F of `frames` and each source (leading axis of x)."""
    view = jax.vmap(lambda f, a: flows.discrepancies.mmd2(a @ f, reference @ f, kernel), in_axes=(0, None))
    return jax.vmap(lambda a: view(frames, a))(x)


def distinguishers(x, y, mlps: tuple, key, setting: dict, patterns) -> dict:
    """Every test of a source's samples `x` against N(0, I_m) samples `y` (train split first, then test),
    with the freshly initialised MLPs `mlps` (classifier, then critic): z-scores (0 under P = Q, standard deviation 1) and
    accuracies / p-values."""
    dim, n_train = setting["dim"], setting["n_train"]
    keys = jax.random.split(key, 3)
    x_train, x_test, y_train, y_test = x[:n_train], x[n_train:], y[:n_train], y[n_train:]
    training = dict(steps=setting["steps"], batch_size=256)
    out = {}
    models = {"MLP classifier": lambda: mlps[0], "logistic (linear)": lambda: flows.analysis.LogisticRegression(dim, "linear"),
              "logistic (quadratic)": lambda: flows.analysis.LogisticRegression(dim, "quadratic")}
    for label in setting["classifiers"]:
        result = flows.analysis.classifier_two_sample_test(models[label](), x_train, y_train, x_test, y_test, key=keys[0],
                                                  learning_rate=1e-3, **training)
        out[label] = dict(kind="accuracy", accuracy=result.accuracy, standard_error=result.standard_error,
                          z=result.z_score, p_value=result.p_value)
    if setting["wgan_gp"]:
        result = flows.analysis.wgan_gp_critic_test(mlps[1], x_train, y_train, x_test, y_test, key=keys[1],
                                              learning_rate=1e-3, num_permutations=1000, **training)
        out["WGAN-GP critic"] = dict(kind="gap", gap=result.statistic, z=result.z_score, p_value=result.p_value)
    x, y = x_test[: setting["mmd_n"]], y_test[: setting["mmd_n"]]
    median = flows.kernels.median_bandwidth(x, y)
    for factor in BANDWIDTH_FACTORS:
        kernel = flows.kernels.GaussianKernel(jnp.asarray(factor * median, x.dtype))  # an array: one compilation for all bandwidths
        result = flows.analysis.mmd_permutation_test(x, y, kernel, key=jax.random.fold_in(keys[2], int(100 * factor)),
                                            num_permutations=setting["permutations"])
        out[f"MMD σ = {factor:g}·median"] = dict(kind="mmd", mmd2=result.statistic, bandwidth=factor * median,
                                                  z=result.z_score, p_value=result.p_value)
    # Brute force over the 2^n seeds (on the MMD tests' points): a point is "generated" iff it lies in one of the generator's orthants.
    inside_x = np.asarray(flows.analysis.distance_to_orthants(x, patterns)) == 0
    inside_y = np.asarray(flows.analysis.distance_to_orthants(y, patterns)) == 0
    accuracy = float((inside_x.mean() + (~inside_y).mean()) / 2)
    standard_error = 0.5 * float(np.sqrt(0.5 / x.shape[0]))
    out["brute force (2^n seeds)"] = dict(kind="accuracy", accuracy=accuracy, standard_error=standard_error,
                                          z=(accuracy - 0.5) / standard_error)
    return out


def tour_planes(seed_dim: int, dim: int, random_plane) -> tuple[list[str], list[np.ndarray]]:
    """The tour's key planes (names, spanning (m, 2) matrices): a coordinate plane; the plane (x_0, x_n) of two
    copies of seed bit 0 in the repeated-bits generator; the plane of the sum of all copies of bit 0 and
    x_0 - x_n; a uniformly random plane; back to the start."""
    e = np.eye(dim)
    copies = np.arange(0, dim, seed_dim)
    names = ["(x_1, x_2)", f"(x_1, x_{seed_dim + 1})", f"(sum of the {len(copies)} copies of bit 1, x_1 - x_{seed_dim + 1})",
             "a random plane", "(x_1, x_2)"]
    planes = [e[:, [0, 1]], e[:, [0, seed_dim]], np.stack([e[copies].sum(0), e[0] - e[seed_dim]], axis=1),
              np.asarray(random_plane, np.float64), e[:, [0, 1]]]
    return names, planes


def grand_tour_views(x: dict, baseline, random_plane, setting: dict, path: Path) -> dict:
    """The grand tour: every source's first `tour_points` test samples seen through each frame, the MMD² of
    each view against the same view of the common Gaussian baseline, and the GIF of the three side by side."""
    names, planes = tour_planes(setting["seed_dim"], setting["dim"], random_plane)
    steps = setting["frames_per_segment"]
    frames = flows.export.grand_tour(planes, steps)
    points = setting["tour_points"]
    clouds = np.stack([np.asarray(x[label][setting["n_train"] : setting["n_train"] + points], np.float64) for label in SOURCES])
    kernel = flows.kernels.GaussianKernel(1.0)  # the views' marginals are N(0, 1): bandwidth 1
    curves = np.asarray(_view_mmd2(jnp.asarray(frames, jnp.float32), jnp.asarray(clouds, jnp.float32),
                                   baseline[:points], kernel), np.float64)
    diagnostic = "MMD² to N(0, I), same view"
    ts = np.arange(len(frames)) / steps  # tour time: key plane k at t = k
    panels = {"PRG": "PRG (Goldreich)", "Gaussian (null)": "N(0, I)", "repeated bits": "repeated bits"}
    runs = {
        panels[label]: flows.Trajectory(ts, np.einsum("nm,tmk->tnk", clouds[SOURCES.index(label)], frames),
                                        diagnostics={diagnostic: curves[SOURCES.index(label)]})
        for label in panels
    }
    flows.export.animate_comparison(runs, path, diagnostic=diagnostic, fps=4, panel_size=2.6, dpi=setting["dpi"],
                             title=f"A grand tour of 2-D views of R^{setting['dim']} (key planes at t = 0, 1, 2, 3, 4)")
    at_planes = {label: curves[i, ::steps].tolist() for i, label in enumerate(SOURCES)}
    # Under P = Q the V-statistic's mean is (2 / N)(k(0) - E k(X, X')) with E k(X, X') = (1 / 3)^{d/2} = 1/3 for
    # X, X' ~ N(0, I_2) and σ = 1: the level of a view in which the source looks Gaussian.
    null_mean = 2 * (1 - 1 / 3) / points
    return {"key_planes": names, "frames": len(frames), "points": points, "kernel_bandwidth": 1.0, "mmd2_null_mean": null_mean,
            "mmd2_at_key_planes": at_planes, "mmd2_max": {label: float(curves[i].max()) for i, label in enumerate(SOURCES)},
            "mmd2_curves": {label: curves[i].tolist() for i, label in enumerate(SOURCES)}}


def main(quick: bool = False, root: Path | None = None) -> dict:
    started = time.perf_counter()
    out = Outputs(NAME, order=3, quick=quick, root=root)
    setting = SETTINGS[quick]
    n, m = setting["seed_dim"], setting["dim"]
    key = jax.random.PRNGKey(0)
    k_graph, k_draw, k_tests, k_w1 = jax.random.split(key, 4)
    generators = {
        "PRG": flows.parametric.GoldreichPRGGenerator(n, m, key=k_graph, independence=setting["independence"]),
        "repeated bits": flows.parametric.RepeatedBitsGenerator(n, m),
    }
    patterns = {label: _sign_patterns(g) for label, g in generators.items()}
    size = setting["n_train"] + setting["n_test"]
    baseline_size = max((setting["tour_points"], *setting["sinkhorn_sizes"]))
    drawn, references, baseline, random_plane, mlps = _draw(tuple(generators.values()), k_draw, size, baseline_size,
                                                            2 if setting["wgan_gp"] else 1)
    x, references = dict(zip(SOURCES, drawn)), dict(zip(SOURCES, references))

    results = {
        "setup": {**{k: v for k, v in setting.items()}, "m_over_n": m / n, "predicate": "u1^u2^u3^(u4&u5)",
                  "bandwidth_factors": BANDWIDTH_FACTORS, "dtype": "float32"},
        "generators": {},
    }
    # Exact facts by enumeration, and the marginals' normality check on the test samples.
    samples = {label: np.asarray(x[label][setting["n_train"] :], np.float64) for label in generators}
    for label in generators:
        biases = flows.parametric.sign_pattern_biases(patterns[label], max_order=3 if n <= 12 else 2)
        ks = [stats.kstest(samples[label][:, j], "norm").pvalue for j in range(m)]
        bounds = flows.analysis.sign_mixture_w1_bounds(patterns[label], key=k_w1, num_samples=setting["w1_samples"])
        results["generators"][label] = {
            "distinct_sign_patterns": int(np.unique(np.asarray(patterns[label]), axis=0).shape[0]),
            "largest_bias_by_order": biases,
            "ks_min_p_value": float(min(ks)),
            "ks_bonferroni_p_value": float(min(1.0, m * min(ks))),
            "w1_lower": bounds.lower, "w1_lower_standard_error": bounds.lower_standard_error, "w1_upper": bounds.upper,
        }
    # Every distinguisher, against the PRG, the positive control, and a Gaussian (the null).
    results["tests"] = {
        label: distinguishers(x[label], references[label], mlps, jax.random.fold_in(k_tests, i), setting,
                              patterns["repeated bits" if label == "repeated bits" else "PRG"])
        for i, label in enumerate(SOURCES)
    }
    # Sinkhorn W1 estimates from samples vs the Gaussian-Gaussian baseline, in float64 (the two agree to a few
    # digits, so the comparison is made at the higher precision).
    sinkhorn = {
        label: [flows.discrepancies.sinkhorn_w1(*(np.asarray(a, np.float64) for a in (x[label][setting["n_train"] : setting["n_train"] + count],
                                                                         baseline[:count])), setting["epsilon"])
                for count in setting["sinkhorn_sizes"]]
        for label in SOURCES
    }
    results["sinkhorn_w1"] = {"sizes": setting["sinkhorn_sizes"], "epsilon": setting["epsilon"], **sinkhorn}

    prg, weak, null = (results["tests"][k] for k in SOURCES)
    small = [k for k in prg if not k.startswith("brute")]
    results["prg_largest_abs_z"] = max(abs(prg[k]["z"]) for k in small)
    results["null_largest_abs_z"] = max(abs(null[k]["z"]) for k in small)
    results["weak_largest_z"] = max(weak[k]["z"] for k in small)
    results["weak_detected_by"] = [k for k in small if weak[k]["z"] > 3]
    results["prg_at_chance"] = bool(results["prg_largest_abs_z"] <= 3)
    results["weak_detected"] = bool(results["weak_largest_z"] > 3)

    figures = {
        "tour": out.media(f"{NAME}.gif"),
        "marginals": _plot_marginals(samples, out.media(f"{NAME}_marginals.png")),
        "tests": _plot_tests(results["tests"], out.media(f"{NAME}_tests.png")),
        "w1": _plot_w1(results, out.media(f"{NAME}_w1.png")),
    }
    results["tour"] = grand_tour_views(x, baseline, random_plane, setting, figures["tour"])
    results["wall_time_s"] = time.perf_counter() - started
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
    for label in SOURCES if sink["sizes"] else ():  # (no Sinkhorn estimates in the quick setting)
        ax.plot(sink["sizes"], sink[label], "o-", label=f"Sinkhorn, {label} vs N(0, I)")
    bounds = results["generators"]["PRG"]
    ax.axhline(bounds["w1_lower"], color="C0", ls="--", label="PRG: exact lower bound (2^n seeds)")
    ax.axhline(bounds["w1_upper"], color="k", ls=":", label="upper bound $U_m$ (any sign law)")
    ax.axhline(0, color="C2", ls="--", lw=0.8, label="N(0, I) vs N(0, I): W1 = 0")
    ax.set(xscale="log" if sink["sizes"] else "linear", xlabel="samples per side N", ylabel="$W_1$",
           title=f"$W_1$ to N(0, I), m = {results['setup']['dim']}")
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
    tour = results["tour"]
    tour_max, tour_at = tour["mmd2_max"], tour["mmd2_at_key_planes"]
    linear_note = (" Linear logistic regression sees only means, which are 0 for all three, so it is blind to both "
                   "(the expected negative)." if "logistic (linear)" in tests["PRG"] else "")
    sinkhorn_note = "" if not sink["sizes"] else f"""
From samples the distance is invisible too: the Sinkhorn estimate ($\\varepsilon = {sink['epsilon']}$, Euclidean cost)
at N = {', '.join(map(str, sink['sizes']))} is {', '.join(f'{v:.2f}' for v in sink['PRG'])} for PRG vs Gaussian and
{', '.join(f'{v:.2f}' for v in sink['Gaussian (null)'])} for two Gaussian samples: the empirical $W_1$ in {m}
dimensions is dominated by its $N^{{-1/m}}$ sampling error."""
    return f"""
**Claim** (Chen, Li, Li, Meka, ICLR 2022): a constant-depth ReLU generator
fed Gaussian seeds can be far from $\\mathcal N(0, I_m)$ in $W_1$ while no small discriminator can
tell: a Goldreich local PRG with $n$ seed bits and $m > n$ outputs.

**Setting.** `flows.parametric.GoldreichPRGGenerator` with $n = {n}$, $m = {m}$ ($m = n^{{{np.log(m) / np.log(n):.2f}}}$),
predicate $u_1 \\oplus u_2 \\oplus u_3 \\oplus (u_4 \\wedge u_5)$, a hypergraph drawn so that every
{setting['independence']} output bits are independent (so every moment of degree
$\\le {setting['independence']}$ equals the Gaussian's: exact largest sign biases by order over all
$2^{{{n}}}$ seeds: {_biases(prg['largest_bias_by_order'])}{certified}); positive control `flows.parametric.RepeatedBitsGenerator`
($y_j = b_{{j \\bmod n}}$; biases {_biases(weak['largest_bias_by_order'])}). Distinguishers are trained on
{setting['n_train']} samples per side ({setting['steps']} Adam steps, batch 256) and evaluated on
{setting['n_test']} fresh samples per side; MMD permutation tests use {setting['mmd_n']} per side,
{setting['permutations']} permutations, Gaussian kernels at {', '.join(f'{f:g}' for f in BANDWIDTH_FACTORS)}
× the median distance. The third column runs every test on a Gaussian sample (the null).

**Grand tour** (the animation). `flows.export.grand_tour` turns a 2-D view of $\\mathbb R^{{{m}}}$ along
Grassmann geodesics through the planes {'; '.join(f"{name} (t = {k})" for k, name in enumerate(tour['key_planes']))}.
Each panel shows the same view of {tour['points']} samples; the last panel plots, for each source,
the MMD² (Gaussian kernel, σ = 1) between its view and the same view of an independent
$\\mathcal N(0, I_{{{m}}})$ sample, against the tour time t. PRG and Gaussian look alike in every view:
the largest MMD² over the {tour['frames']} views is {tour_max['PRG']:.4f} for the PRG and {tour_max['Gaussian (null)']:.4f}
for the Gaussian itself, the sampling noise of {tour['points']} points (mean $4/(3N) = {tour['mmd2_null_mean']:.4f}$
when the two laws agree). The repeated-bits cloud
leaves two quadrants empty in the plane (x_1, x_{n + 1}) at t = 1, because both coordinates carry
seed bit 1 and always share a sign: MMD² {tour_at['repeated bits'][1]:.4f} there (PRG {tour_at['PRG'][1]:.4f}, Gaussian
{tour_at['Gaussian (null)'][1]:.4f}). At t = 2 it splits into two clusters along the sum of the
{len(range(0, m, n))} copies of bit 1, which all share one sign (MMD² {tour_at['repeated bits'][2]:.4f}). In a coordinate plane (t = 0) or a random plane (t = 3) it looks Gaussian
too ({tour_at['repeated bits'][0]:.4f}, {tour_at['repeated bits'][3]:.4f}): a tour finds the weak generator only by passing
through the right planes. For the PRG every moment of degree ≤ {setting['independence']} of every view equals the
Gaussian's ({setting['independence']}-wise independent bits), and no view of the tour tells them apart.

![grand tour]({out.link(figures['tour'])})

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
by: {', '.join(results['weak_detected_by']) or 'none'}.{linear_note}

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
statistically detectable and what small (polynomial-size) discriminators detect.{sinkhorn_note}

![w1]({out.link(figures['w1'])})

Wall time {results['wall_time_s']:.0f} s (a 2-core CPU shared with other jobs).
"""


if __name__ == "__main__":
    args = parse_args(__doc__)
    summary = main(quick=args.quick, root=args.root)
    print({k: summary[k] for k in ("prg_largest_abs_z", "null_largest_abs_z", "weak_largest_z", "weak_detected_by",
                                   "prg_at_chance", "weak_detected", "wall_time_s")})
