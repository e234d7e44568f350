"""The million-particle showcase in its quick setting (2 * 10^4 particles in 2-D, 4 * 10^3 in
3-D): the claim checked on the page (MMD² falls; the final drift is within the Fourier backend's
stated bound of the exact float64 one), a small GIF, and its section of EXPERIMENTS.md."""


def test_quick_showcase_flows_down_within_its_bound_and_writes_a_small_gif(load_experiment, tmp_path):
    experiment = load_experiment("million_particles")
    results = experiment.main(quick=True, root=tmp_path)
    two, three = results["runs"]["2d"], results["runs"]["3d"]
    assert two["mmd2_reduction"] > 1.5 and three["mmd2_reduction"] > 1.1
    for run in (two, three):
        assert run["max_rel_error"] <= run["bound_relative"] <= 1e-3
        assert run["time_per_step_s"] > 0 and run["wall_time_s"] > 0
    gif = tmp_path / "media" / "million_particles.gif"
    assert 0 < gif.stat().st_size < 2 * 1024**2
    page = (tmp_path / "EXPERIMENTS.md").read_text()
    assert "<!-- experiment 7: million_particles -->" in page and "20,000" in page
