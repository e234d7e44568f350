"""experiments/benign_landscape.py in its quick setting (Alon, Globerson, Wiesel, arXiv:2110.13452, 2021):
the claims as the page now states them, each able to fail, and the page rendered from the results file."""

import json

import numpy as np


def test_benign_landscape_quick(load_experiment, tmp_path):
    """Population (mixture d = 2): at sigma = data scale >= 95% of 100 random starts reach the global
    minimum, flow and GD counted separately, and no population run stalls at a local minimum.
    Low rank (5, 2, 2), zero mean: the closed-form families hold one global minimum, strict saddles
    and no degenerate family, and every stationary point the Levenberg-Marquardt search finds belongs
    to a family (13 of 16 starts converge, measured). Mixture: Newton finds the ring of strict saddles
    |theta| = |theta*|/sqrt(3) orthogonal to theta* (radius to 1e-6, cosine < 1e-6). Finite sample: the
    reference is the best end point, a local minimizer (gradient and Hessian), no run ends below it,
    and every failure stalled at a local minimum lies strictly above it."""
    module = load_experiment("benign_landscape")
    results = module.main(quick=True, root=tmp_path)
    for label, rows in results["population"].items():
        for method in ("flow", "gd"):
            assert rows["runs"][f"{method} 1"]["success_fraction"] >= 0.95, (label, method)
        assert all(run["failures"]["local_minimum"] == 0 for run in rows["runs"].values())
    points = results["low_rank_points"]["low rank (d,k,r)=(5,2,2), zero mean"]
    assert points["counts"]["global minimum"] == 1 and points["counts"]["strict saddle"] >= 1 and points["counts"]["degenerate"] == 0
    assert points["largest_min_eigenvalue_at_non_minima"] < 0 and points["gradient_norm_max"] < 1e-12
    assert points["search"]["converged"] >= 8 and points["search"]["unmatched"] == 0
    mixture = results["stationary_points"]["mixture d=2"]
    assert mixture["counts"]["strict saddle"] >= 1 and mixture["counts"]["other"] == 0
    np.testing.assert_allclose(mixture["saddle_radius_over_theta_star"], 1 / np.sqrt(3), atol=1e-6)
    assert mixture["saddle_cosine_with_theta_star"] < 1e-6
    for rows in results["finite_sample"].values():
        for ratio in results["setup"]["sample_ratios"]:
            reference = rows["runs"][f"reference {ratio:g}"]
            assert reference["local_minimizer"] and reference["mmd2"] <= reference["best_end_mmd2"] + 1e-15
            for method in results["setup"]["sample_methods"]:
                run = rows["runs"][f"{method} {ratio:g}"]
                assert run["final_mmd2_median"] >= reference["mmd2"] - 1e-12
                assert all(v > reference["mmd2"] + 1e-6 for v in run["local_minimum_values"])
    for name in ("media/benign_landscape_success.png", "media/benign_landscape_mixture.png",
                 "media/benign_landscape_spectra.png", "experiments/results/benign_landscape.json"):
        assert (tmp_path / name).stat().st_size > 0, name
    document = json.loads((tmp_path / "experiments" / "results" / "benign_landscape.json").read_text())
    page = (tmp_path / "EXPERIMENTS.md").read_text()
    assert "## 1. Benign MMD landscape" in page and module.render(document).strip() in page
    assert module.readme(document) in (tmp_path / "README.md").read_text()
    # `python experiments/report.py benign_landscape` renders the same page again from the file alone
    load_experiment("report").rerender("benign_landscape", tmp_path)
    assert (tmp_path / "EXPERIMENTS.md").read_text() == page
