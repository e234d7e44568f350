"""Experiment 6 (experiments/gan_objectives.py): JS-GAN vs MMD flow vs PKGF on the 8-Gaussians ring."""

import json

import numpy as np


def test_gan_objectives_quick(load_experiment, tmp_path):
    """Quick setting (1 seed, short runs). Claim: the particle MMD flow covers all 8 modes at the end,
    with more than half its particles within 3 std of a mode (it reaches ~0.89). Invariants for every
    method and saved time: coverage is an integer in [0, 8]; the high-quality fraction is in [0, 1]
    and lies between 8 x the smallest and 8 x the largest mode share (it is their sum; 1e-6);
    coverage at the stricter share 1/16 never exceeds coverage at 1/32 (monotone in the threshold)."""
    results = load_experiment("gan_objectives").main(quick=True, root=tmp_path)
    methods = results["methods"]
    assert set(methods) == {"JS-GAN", "PKGF", "MMD flow"}
    assert methods["MMD flow"]["final_modes"] == [8]
    assert methods["MMD flow"]["final_high_quality"][0] > 0.5
    for summary in methods.values():
        modes = np.asarray(summary["modes_over_time"])
        strict = np.asarray(summary["modes_strict_over_time"])
        quality = np.asarray(summary["high_quality_over_time"])
        assert modes.shape == strict.shape == quality.shape == (1, 31)
        assert np.all((modes >= 0) & (modes <= 8)) and np.all(modes == np.round(modes))
        assert np.all(strict <= modes)
        assert np.all((quality >= 0) & (quality <= 1))
        hq = summary["final_high_quality"][0]
        assert 8 * summary["final_smallest_mode_share"][0] - 1e-6 <= hq <= 8 * summary["final_largest_mode_share"][0] + 1e-6
        assert np.all(np.diff(summary["times"]) > 0)
    saved = json.loads((tmp_path / "experiments" / "results" / "gan_objectives.json").read_text())
    assert saved["quick"] is True and saved["methods"]["MMD flow"]["final_modes"] == [8]
    for name in ("gan_objectives_coverage.png", "gan_objectives_samples.png", "gan_objectives.gif"):
        assert (tmp_path / "media" / name).stat().st_size > 1000
    assert (tmp_path / "media" / "gan_objectives.gif").stat().st_size < 2_000_000
    assert "## 6. GAN objectives" in (tmp_path / "EXPERIMENTS.md").read_text()
