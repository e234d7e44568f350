"""Figures that read well: overlapping convergence curves stay apart (dash pattern, markers), and
the side-by-side animation has ticks on its panels and a legend naming the grey target."""

import numpy as np
import pytest

import flows
from flows.export import comparison_animation


def _trajectory(values: np.ndarray, d: int = 2) -> flows.Trajectory:
    n = len(values)
    ys = np.stack([np.full((5, d), float(k)) for k in range(n)])
    return flows.Trajectory(ts=np.linspace(0.0, 1.0, n), ys=ys, diagnostics={"mmd2": values})


def test_curves_that_coincide_are_told_apart():
    same = np.geomspace(1.0, 1e-3, 41)
    runs = {f"run {k}": _trajectory(same) for k in range(3)}  # three identical curves, drawn on top of each other
    figure = flows.export.plot_convergence(runs)
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == list(runs)
    assert len({(line.get_linestyle(), line.get_marker()) for line in lines}) == 3
    # the markers sit at different saved times, so each run's shows where the others' lines hide it
    marked = [set(np.arange(41)[line.get_markevery()[0]::line.get_markevery()[1]]) for line in lines]
    assert all(len(m) >= 5 for m in marked)
    assert not (marked[0] & marked[1] or marked[1] & marked[2] or marked[0] & marked[2])
    legend = [handle for handle in figure.axes[0].get_legend().legend_handles]
    assert len({(h.get_linestyle(), h.get_marker()) for h in legend}) == 3  # and so does the legend


@pytest.mark.parametrize("d", [2, 1], ids=["scatter", "histogram"])
def test_the_side_by_side_panels_have_ticks_and_a_legend_for_the_target(d):
    runs = comparison_animation._check_runs(
        {"flow": _trajectory(np.geomspace(1, 0.1, 4), d), "GD": _trajectory(np.geomspace(1, 0.2, 4), d)},
        None, "mmd2", "time", None, None, None,
    )
    target = np.random.default_rng(0).normal(size=(50, d))
    _, shown = comparison_animation._frame_states(runs.trajectories, "time", None)
    if d == 1:
        panels = comparison_animation._HistogramPanels.build(runs, target, shown, None, None)
    else:
        panels = comparison_animation._ScatterPanels.build(runs, target, shown, (0, 1), None, None, None)
    layout = comparison_animation._layout(runs, panels, "mmd2", "time", 3.0, 40, None)
    layout.canvas.draw()
    axes = layout.canvas.figure.axes
    for ax in axes[:2]:  # the two run panels
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_visible()]
        assert len(ax.get_xticks()) >= 2 and any(labels), ax.get_title()
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["target"]
    assert axes[1].get_legend() is None  # once is enough
