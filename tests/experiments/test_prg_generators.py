"""Experiment 3 of issue 7 (quick setting): a Goldreich PRG generator fools small discriminators while
the repeated-bits control is detected; exact N(0, 1) marginals; W1 bounded away from 0; the grand tour
shows the control, not the PRG."""


def test_prg_generators_quick(load_experiment, tmp_path):
    """Every small test of the quick setting (MLP classifier, MMD at 5 bandwidths) stays within chance
    +- 3 SE against the PRG; the MLP classifier and the MMD test at half the median distance detect the
    repeated-bits control at > 3 SE; the brute force over 2^n seeds
    detects both (accuracy > 0.99); marginals: output bits exactly balanced over all seeds and KS
    (Bonferroni) p > 0.01; the exact lower bound on W1 exceeds 10 of its standard errors and 0.2 sqrt(m),
    below the upper bound. Grand tour: in the plane (x_1, x_{n+1}) the repeated-bits view's MMD² to the
    Gaussian view exceeds 5 times its mean under P = Q, 4 / (3N), while the PRG's and the Gaussian's stay
    below 3 times that mean in every view; the GIF is written (1 kB to 1.5 MB)."""
    results = load_experiment("prg_generators").main(quick=True, root=tmp_path)
    prg, weak = results["tests"]["PRG"], results["tests"]["repeated bits"]
    assert results["prg_at_chance"] and results["prg_largest_abs_z"] <= 3
    assert results["weak_detected"]
    assert {"MLP classifier", "MMD σ = 0.5·median"} <= set(results["weak_detected_by"])
    assert prg["brute force (2^n seeds)"]["accuracy"] > 0.99 and weak["brute force (2^n seeds)"]["accuracy"] > 0.99
    m = results["setup"]["dim"]
    for generator in results["generators"].values():
        assert generator["largest_bias_by_order"][1] == 0.0
        assert generator["ks_bonferroni_p_value"] > 0.01
        assert 10 * generator["w1_lower_standard_error"] < generator["w1_lower"]
        assert 0.2 * m**0.5 < generator["w1_lower"] < generator["w1_upper"]
    assert results["generators"]["PRG"]["largest_bias_by_order"][2] == 0.0
    tour = results["tour"]
    assert tour["mmd2_at_key_planes"]["repeated bits"][1] > 5 * tour["mmd2_null_mean"]
    assert max(tour["mmd2_max"]["PRG"], tour["mmd2_max"]["Gaussian (null)"]) < 3 * tour["mmd2_null_mean"]
    for name in ("prg_generators_marginals.png", "prg_generators_tests.png", "prg_generators_w1.png"):
        assert (tmp_path / "media" / name).stat().st_size > 1000
    assert 1000 < (tmp_path / "media" / "prg_generators.gif").stat().st_size < 1.5e6
    assert (tmp_path / "experiments" / "results" / "prg_generators.json").exists()
    assert "PRG generators fool discriminators" in (tmp_path / "EXPERIMENTS.md").read_text()
