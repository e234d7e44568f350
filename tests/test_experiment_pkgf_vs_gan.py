"""Experiment 2 (MMD GAN as a gradient flow, Mroueh & Nguyen 2021) in its quick setting: its claims
and its files."""


def test_pkgf_descends_at_the_rate_alpha_gives(tmp_path, load_experiment):
    results = load_experiment("pkgf_vs_gan").main(quick=True, root=tmp_path)
    affine = results["affine"]

    alpha = affine["alpha"]
    assert alpha["mmd2_never_rises"]  # a descent direction: MMD² non-increasing along the PKGF ODE
    assert alpha["alpha_min"] > 0  # the convergence condition holds along the run (measured min 0.0195)
    # d log MMD²/dt = -2α: finite differences on the saved grid (Δt = 0.2) against the trapezoid
    # mean of α; both are O(Δt²) approximations (measured: median 7.0e-4, integrated 3.7e-3)
    assert alpha["rate_relative_error_median"] < 1e-2
    assert alpha["identity_log_error_max"] < 1e-2
    assert alpha["bound_holds"] and alpha["bound_over_actual_final"] >= 1.0  # measured 49.8 at t = 20

    sweep = affine["sweep"]
    # the Gauss-Newton step h = 1 converges to round-off without oscillating (measured 0.0)
    assert sweep["PKGF-GD"]["1"]["final_mmd2"] < 1e-10 and not sweep["PKGF-GD"]["1"]["oscillated"]
    # the game oscillates at the largest step size (and, measured, at every one in the quick sweep)
    largest = f"{max(results['setup']['step_sizes']):g}"
    assert sweep["GAN"][largest]["oscillated"] or sweep["GAN"][largest]["diverged"]

    for name in ("pkgf_vs_gan_sweep.png", "pkgf_vs_gan_alpha.png"):
        assert (tmp_path / "media" / name).stat().st_size > 10_000
    assert (tmp_path / "experiments" / "results" / "pkgf_vs_gan.json").exists()
    assert "## 2. MMD GAN as a gradient flow" in (tmp_path / "EXPERIMENTS.md").read_text()
