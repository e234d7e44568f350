"""experiments/benign_landscape.py in its quick setting: the MMD² landscape of the symmetric mixture
N(theta, I)/2 + N(-theta, I)/2 is benign at the data-scale bandwidth (Alon, Globerson, Wiesel, arXiv:2110.13452, 2021)."""

import numpy as np


def test_benign_landscape_quick(load_experiment, tmp_path):
    """At sigma = data scale >= 95% of 100 random starts reach the global minimum (flow and GD
    on the population objective, GD on the finite-sample one); no failure anywhere stalls at a local minimum; Newton finds
    strict saddles (a negative Hessian eigenvalue) on the ring |theta| = |theta*|/sqrt(3), theta
    orthogonal to theta* (radius to 1e-6, cosine < 1e-6), and every stationary non-minimum has a
    negative eigenvalue; the files are written."""
    results = load_experiment("benign_landscape").main(quick=True, root=tmp_path)
    for section in ("population", "finite_sample"):
        for label, rows in results[section].items():
            for method in ("flow", "gd") if section == "population" else results["setup"]["sample_methods"]:
                assert rows["runs"][f"{method} 1"]["success_fraction"] >= 0.95, (section, label, method)
            assert all(run["failures"]["local_minimum"] == 0 for key, run in rows["runs"].items() if "failures" in run)
    points = results["stationary_points"]["mixture d=2"]
    assert points["counts"]["strict saddle"] >= 1 and points["counts"]["other"] == 0
    assert points["largest_min_eigenvalue_at_non_minima"] < 0
    np.testing.assert_allclose(points["saddle_radius_over_theta_star"], 1 / np.sqrt(3), atol=1e-6)
    assert points["saddle_cosine_with_theta_star"] < 1e-6
    for name in ("media/benign_landscape_success.png", "media/benign_landscape_mixture.png",
                 "media/benign_landscape_spectra.png", "experiments/results/benign_landscape.json", "EXPERIMENTS.md"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert "Benign MMD landscape" in (tmp_path / "EXPERIMENTS.md").read_text()
