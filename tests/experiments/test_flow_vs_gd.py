"""Experiment 5 (quick setting: the particle MMD flow): GD is first order in h, the step where
its MMD² starts to oscillate sits at the linear-stability estimate, and the costs are counted."""

import json

import numpy as np


def test_flow_vs_gd_quick(load_experiment, tmp_path):
    results = load_experiment("flow_vs_gd").main(quick=True, root=tmp_path)
    r = results["particles"]
    # explicit Euler is first order: max distance from the flow at equal time ∝ h (slope 1 ± 0.1)
    assert abs(r["distance_slope"] - 1.0) < 0.1, r["distance_slope"]
    assert abs(r["mmd2_gap_slope"] - 1.0) < 0.1, r["mmd2_gap_slope"]
    # the sweep (factor 2^(1/4)) brackets the linear-stability estimate 2/mu_max at the flow's limit:
    # the largest monotone step is below it, the first oscillating step within one sweep factor above
    h_linear = r["h_linear_stability_at_limit"]
    assert r["h_largest_monotone_below_onset"] < h_linear <= r["h_oscillation_onset"] <= 2**0.25 * h_linear
    assert r["h_linear_stability_min_on_path"] <= h_linear
    # small steps follow the flow: GD reaches ε at about the flow's hitting time (within 5%)
    first = r["distance"][0]
    assert abs(first["iterations_to_epsilon"] * first["h"] - r["t_epsilon"]) < 0.05 * r["t_epsilon"]
    # the adaptive solver: Tsit5 (FSAL) costs 6 drift evaluations a step plus one; tighter is dearer and closer
    costs = r["ode_cost"]
    assert all(c["drift_evaluations"] == 6 * c["steps"] + 1 for c in costs)
    assert np.all(np.diff([c["drift_evaluations"] for c in costs]) > 0)
    assert np.all(np.diff([c["max_distance_from_reference"] for c in costs]) < 0)
    assert all(c["mmd2_at_t_epsilon"] < 1.1 * r["epsilon"] for c in costs)
    # the files
    saved = json.loads((tmp_path / "experiments" / "results" / "flow_vs_gd.json").read_text())
    assert saved["quick"] is True and saved["particles"]["distance_slope"] == r["distance_slope"]
    page = (tmp_path / "EXPERIMENTS.md").read_text()
    assert "<!-- experiment 5: flow_vs_gd -->" in page and f"{r['distance_slope']:.3f}" in page
    for name in ("flow_vs_gd_mmd2.png", "flow_vs_gd_distance.png"):
        assert (tmp_path / "media" / name).stat().st_size > 10_000
