"""Experiment 3 of issue 7 (quick setting): a Goldreich PRG generator fools small discriminators while
the repeated-bits control is detected; exact N(0, 1) marginals; W1 bounded away from 0."""


def test_prg_generators_quick(load_experiment, tmp_path):
    """Every small test (MLP / logistic classifiers, WGAN-GP critic, MMD at 5 bandwidths) stays within
    chance +- 3 SE against the PRG; at least the quadratic tests (quadratic logistic, MMD) detect the
    repeated-bits control at > 3 SE; the brute force over 2^n seeds detects both (accuracy > 0.99);
    marginals: output bits exactly balanced over all seeds and KS (Bonferroni) p > 0.01; the exact
    lower bound on W1 exceeds 10 of its standard errors and 0.2 sqrt(m), below the upper bound."""
    results = load_experiment("prg_generators").main(quick=True, root=tmp_path)
    prg, weak = results["tests"]["PRG"], results["tests"]["repeated bits"]
    assert results["prg_at_chance"] and results["prg_largest_abs_z"] <= 3
    assert results["weak_detected"]
    assert {"logistic (quadratic)", "MMD σ = 0.5·median"} <= set(results["weak_detected_by"])
    assert prg["brute force (2^n seeds)"]["accuracy"] > 0.99 and weak["brute force (2^n seeds)"]["accuracy"] > 0.99
    m = results["setup"]["dim"]
    for generator in results["generators"].values():
        assert generator["largest_bias_by_order"][1] == 0.0
        assert generator["ks_bonferroni_p_value"] > 0.01
        assert 10 * generator["w1_lower_standard_error"] < generator["w1_lower"]
        assert 0.2 * m**0.5 < generator["w1_lower"] < generator["w1_upper"]
    assert results["generators"]["PRG"]["largest_bias_by_order"][2] == 0.0
    for name in ("prg_generators_marginals.png", "prg_generators_tests.png", "prg_generators_w1.png"):
        assert (tmp_path / "media" / name).stat().st_size > 1000
    assert (tmp_path / "experiments" / "results" / "prg_generators.json").exists()
    assert "PRG generators fool discriminators" in (tmp_path / "EXPERIMENTS.md").read_text()
