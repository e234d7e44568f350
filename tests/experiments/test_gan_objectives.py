"""Experiment 6 (experiments/gan_objectives.py): the JS-GAN, five f-GANs and AdaGAN against the MMD flow and PKGF on
the 8-Gaussians ring, mode coverage and held-out MMD²."""

import json

import numpy as np


def test_gan_objectives_quick(load_experiment, tmp_path):
    """Quick setting (1 seed, short runs). The page's claim testable with one seed holds: the particle MMD flow
    covers all 8 modes, with more than half its particles within 3 std of a mode and a held-out MMD² within
    0.01 of 0 (the noise level of fresh data is ~0.01). Budgets as stated: every game and the matched AdaGAN make the
    same number of generator steps, the full-components AdaGAN components x steps. The f-GAN JS run is the
    JS-GAN run (the same gradients): the same coverage at
    every saved time and held-out MMD² within 1e-6. AdaGAN: beta_t = 1/t gives equal final mixture weights
    (1e-12) and every stage's data weights sum to 1 (1e-9), the first stage's uniform. Invariants for every method and saved time: coverage an integer in [0, 8]; the high-quality fraction in
    [0, 1] and between 8 x the smallest and 8 x the largest mode share (1e-6); coverage at 1/16 never above
    coverage at 1/32."""
    module = load_experiment("gan_objectives")
    results = module.main(quick=True, root=tmp_path)
    methods = results["methods"]
    assert set(methods) == set(module.METHODS) and len(methods) == 10
    assert results["verdicts"]["mmd_flow_covers"]["refuted"] is False
    flow = methods["MMD flow"]
    assert flow["final_modes"] == [8] and flow["final_high_quality"][0] > 0.5 and abs(flow["heldout_mmd2"][0]) < 0.01
    steps = {methods[m]["generator_steps"] for m in (*module.GAMES, "AdaGAN (matched)")}
    assert steps == {results["setup"]["gan_steps"]}
    components, each = results["setup"]["adagan"]["AdaGAN (full components)"]
    assert methods["AdaGAN (full components)"]["generator_steps"] == components * each
    assert methods["f-GAN JS"]["modes_over_time"] == methods["JS-GAN"]["modes_over_time"]
    assert abs(methods["f-GAN JS"]["heldout_mmd2"][0] - methods["JS-GAN"]["heldout_mmd2"][0]) < 1e-6
    for adagan in results["adagan"].values():
        components = adagan["components"]
        np.testing.assert_allclose(adagan["mixture_weights"][0], np.full(components, 1 / components), atol=1e-12)
        np.testing.assert_allclose(adagan["data_weights_sum"][0], 1.0, atol=1e-9)
        assert adagan["data_weights_max"][0][0] == 1 / results["setup"]["n_data"]
    for summary in methods.values():
        modes = np.asarray(summary["modes_over_time"])
        strict = np.asarray(summary["modes_strict_over_time"])
        quality = np.asarray(summary["high_quality_over_time"])
        assert modes.shape == strict.shape == quality.shape and modes.shape[0] == 1 and modes.shape[1] >= 6
        assert np.all((modes >= 0) & (modes <= 8)) and np.all(modes == np.round(modes))
        assert np.all(strict <= modes)
        assert np.all((quality >= 0) & (quality <= 1))
        hq = summary["final_high_quality"][0]
        assert 8 * summary["final_smallest_mode_share"][0] - 1e-6 <= hq <= 8 * summary["final_largest_mode_share"][0] + 1e-6
        assert np.all(np.diff(summary["times"]) >= 0)
    saved = json.loads((tmp_path / "experiments" / "results" / "gan_objectives.json").read_text())
    assert saved["quick"] is True and saved["methods"]["MMD flow"]["final_modes"] == [8]
    for name in ("gan_objectives_coverage.png", "gan_objectives_samples.png", "gan_objectives_summary.png", "gan_objectives.gif"):
        assert (tmp_path / "media" / name).stat().st_size > 1000
    assert (tmp_path / "media" / "gan_objectives.gif").stat().st_size < 2_000_000
    page = (tmp_path / "EXPERIMENTS.md").read_text()
    assert "## 6. GAN objectives" in page and "Budgets" in page
