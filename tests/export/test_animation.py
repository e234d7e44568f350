"""Animation options: witness heat map, velocity arrows, PCA views for d > 2, generated samples;
frame counts and sizes read back with imageio."""

import imageio.v2 as imageio
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
import numpy_reference as ref
from flows.export import animation
from flows.export.projection import Projection


@pytest.fixture(scope="module")
def run3d():
    target = jax.random.normal(jax.random.PRNGKey(0), (40, 3)) * jnp.array([2.0, 0.5, 0.1]) + 1.0
    x0 = jax.random.normal(jax.random.PRNGKey(1), (30, 3))
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.5))
    return flow, flows.simulate(flow, x0, t1=2.0, ts=jnp.linspace(0, 2, 5), solver=flows.GradientDescent(step=0.5))


def _frames(path):
    reader = imageio.get_reader(path)
    frames = [np.asarray(f) for f in reader]
    reader.close()
    return frames


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_witness_arrows_and_pca_frames(run3d, tmp_path, suffix):
    flow, traj = run3d
    path = flows.export.animate_particles(
        traj, tmp_path / f"w{suffix}", target=flow.target, projection="pca", flow=flow, witness=True, arrows=True,
        frames=4, figsize=(5, 2.5), dpi=40, grid=20,
    )
    frames = _frames(path)
    assert len(frames) == 4 and frames[0].shape[:2] == (100, 200)
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).sum() > 0


def test_frame_data_is_the_witness_on_the_plane_and_the_projected_drift(run3d, monkeypatch):
    """Before drawing, each frame gets its heat map from one compiled witness call (counted) and its
    arrows from the drift -grad f (MMDFlow); both against the float64 NumPy reference. Witness values are means of
    at most 40 kernel values in [0, 1]: float64 rounding is below 40 eps ~ 1e-14, so 1e-12."""
    flow, traj = run3d
    calls = []
    compiled = animation._witness_on_plane
    monkeypatch.setattr(animation, "_witness_on_plane", lambda *a: calls.append(1) or compiled(*a))
    view = Projection.pca(np.asarray(flow.target))
    plane = animation._Plane.on(view, (-1.0, 3.0), (-2.0, 2.0), grid=7)
    indices = np.array([0, 2, 4])
    ticks = []
    data = animation._frame_data(traj, indices, np.asarray, view, plane, flow, witness=True, arrows=True, args=None,
                                 tick=lambda: ticks.append(1))
    assert len(calls) == len(indices) and len(data.heat) == len(indices) and len(ticks) == len(indices)
    params = {"bandwidth": 1.5}
    for f, i in enumerate(indices):
        x = np.asarray(traj.ys[i])
        expected = ref.witness("gaussian", params, plane.points, x, np.asarray(flow.target)).reshape(7, 7)
        np.testing.assert_allclose(data.heat[f], expected, rtol=0, atol=1e-12)
        velocity = -ref.witness_grad("gaussian", params, x, x, np.asarray(flow.target))
        np.testing.assert_allclose(data.arrows[f], velocity @ view.basis, rtol=0, atol=1e-12)
        np.testing.assert_allclose(data.shown[f], view(x), rtol=0, atol=0)
    np.testing.assert_array_equal(data.times, traj.ts[indices])


def test_generated_samples_from_parametric_states(tmp_path):
    # a "generator" whose state is a location: samples = state + fixed noise
    noise = np.asarray(jax.random.normal(jax.random.PRNGKey(2), (50, 2)))
    traj = flows.Trajectory(ts=np.linspace(0, 1, 5), ys={"loc": np.linspace(0, 2, 5)[:, None] * np.ones((5, 2))},
                            diagnostics={"mmd2": np.linspace(1, 0.1, 5)})
    log_density = lambda z: -0.5 * jnp.sum((z - 2.0) ** 2, axis=1)  # the target N((2, 2), I), as contours
    path = flows.export.animate_particles(traj, tmp_path / "g.gif", samples=lambda state: state["loc"] + noise,
                                   target_log_density=log_density, figsize=(4, 2), dpi=30)
    frames = _frames(path)
    assert len(frames) == 5 and frames[0].shape[:2] == (60, 120)
    with pytest.raises(ValueError, match="must be particle clouds"):
        flows.export.animate_particles(traj, tmp_path / "h.gif")


def test_animation_option_errors(run3d, tmp_path):
    flow, traj = run3d
    with pytest.raises(ValueError, match="`witness` and `arrows` need the `flow`"):
        flows.export.animate_particles(traj, tmp_path / "a.gif", witness=True)
    with pytest.raises(ValueError, match='`projection` = "pca" is fitted on the target'):
        flows.export.animate_particles(traj, tmp_path / "a.gif", projection="pca")
    with pytest.raises(ValueError, match="`frames` must be at least 1"):
        flows.export.animate_particles(traj, tmp_path / "a.gif", frames=0)


def test_pca_projection_finds_the_principal_axes():
    # samples stretched along (1, 1, 0)/sqrt2 most, then along z
    z = np.asarray(jax.random.normal(jax.random.PRNGKey(3), (2000, 3))) * [5.0, 2.0, 0.3]
    rotation = np.array([[1, -1, 0], [1, 1, 0], [0, 0, np.sqrt(2)]]) / np.sqrt(2)
    samples = z @ rotation.T + [1.0, 2.0, 3.0]
    view = Projection.pca(samples)
    assert abs(view.basis[:, 0] @ rotation[:, 0]) == pytest.approx(1.0, abs=1e-3)
    assert abs(view.basis[:, 1] @ rotation[:, 1]) == pytest.approx(1.0, abs=1e-3)
    u = np.array([[0.5, -1.0]])
    np.testing.assert_allclose(view(view.lift(u)), u, atol=1e-12)  # lift is a right inverse


def test_diagnostic_panels_and_final_state(run3d, tmp_path):
    flow, traj = run3d
    figure = flows.export.plot_diagnostics({"a": traj, "b": traj}, tmp_path / "d.png")
    assert sum(ax.get_visible() for ax in figure.axes) == 3  # mmd2, energy, dissipation
    assert all(len(ax.lines) == 2 for ax in figure.axes if ax.get_visible())
    figure = flows.export.plot_final_state(traj, tmp_path / "f.png", target=flow.target, projection="pca")
    assert len(figure.axes[0].collections) == 3
    assert imageio.imread(tmp_path / "f.png").shape[0] > 100


def test_comparison_shows_each_run_at_equal_times(run3d, tmp_path):
    """A flow saved on 3 times and GD saved every step: with clock="time" each frame shows every
    run's last saved state at or before the frame's time (pooled saved times, evenly spread)."""
    from flows.export.comparison_animation import _frame_states

    flow, gd = run3d  # GD: ts 0, 0.5, ..., 2
    ode = flows.simulate(flow, gd.ys[0], t1=2.0, ts=jnp.array([0.0, 0.8, 2.0]))
    times, shown = _frame_states([ode, gd], "time", None)
    np.testing.assert_allclose(times, [0.0, 0.5, 0.8, 1.0, 1.5, 2.0])
    np.testing.assert_array_equal(shown, [[0, 0], [0, 1], [1, 1], [1, 2], [1, 3], [2, 4]])
    path = flows.export.animate_comparison({"ODE": ode, "GD h = 0.5": gd}, tmp_path / "c.gif", target=flow.target,
                                    projection="pca", frames=4, panel_size=2.0, dpi=30, title="flow vs GD")
    frames = _frames(path)
    assert len(frames) == 4 and frames[0].shape[:2] == (69, 180)  # (2 + 0.3) x 30 by 3 panels x 2 x 30
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).sum() > 0


def test_comparison_of_one_dimensional_runs_draws_histograms(tmp_path):
    """1-D runs are drawn as histograms: the densities integrate to the share of particles inside
    the bins, one frame per saved time, frames change as the particles move; `xlim` sets the
    window (and the bins); no PCA in 1-D."""
    from flows.export.comparison_animation import _density

    points = np.array([[0.1], [0.2], [0.9], [5.0]])
    edges = np.linspace(0.0, 1.0, 5)
    np.testing.assert_allclose(_density(points, edges), np.array([2, 0, 0, 1]) / (4 * 0.25))  # 5.0 lies outside
    target = jax.random.normal(jax.random.PRNGKey(0), (50, 1))
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.0))
    x0 = jax.random.normal(jax.random.PRNGKey(1), (30, 1)) + 3.0
    gd = flows.simulate(flow, x0, t1=2.0, ts=jnp.linspace(0, 2, 5), solver=flows.GradientDescent(step=0.5))
    runs = {"GD": gd, "GD, shifted": flows.Trajectory(ts=gd.ts, ys=gd.ys - 1.0, diagnostics=gd.diagnostics)}
    path = flows.export.animate_comparison(runs, tmp_path / "h.gif", target=target, panel_size=2.0, dpi=30)
    frames = _frames(path)
    assert len(frames) == 5 and frames[0].shape[:2] == (60, 180)  # 2 x 30 by 3 panels x 2 x 30
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).sum() > 0
    with pytest.raises(ValueError, match="`projection` needs d >= 2"):
        flows.export.animate_comparison(runs, tmp_path / "p.gif", target=target, projection="pca")
    with pytest.raises(ValueError, match="`xlim` must be"):
        flows.export.animate_comparison(runs, tmp_path / "p.gif", xlim=(1.0, -1.0))
    windowed = _frames(flows.export.animate_comparison(runs, tmp_path / "w.gif", target=target, panel_size=2.0, dpi=30,
                                                xlim=(-3.0, 5.0), frames=1))
    assert len(windowed) == 1 and np.abs(windowed[0].astype(int) - frames[0].astype(int)).sum() > 0


def test_comparison_index_clock_samples_and_errors(run3d, tmp_path):
    flow, gd = run3d
    noise = np.asarray(jax.random.normal(jax.random.PRNGKey(3), (20, 3)))
    params = flows.Trajectory(ts=np.arange(5.0) * 10, ys={"loc": np.linspace(0, 1, 5)[:, None] * np.ones((5, 3))},
                              diagnostics={"mmd2": np.linspace(1, 0.1, 5)})
    path = flows.export.animate_comparison({"particles": gd, "generator": params}, tmp_path / "i.mp4", clock="index",
                                    samples={"generator": lambda s: s["loc"] + noise}, panel_size=2.0, dpi=32)
    assert len(_frames(path)) == 5
    with pytest.raises(ValueError, match='needs runs with the same number of saved states'):
        short = flows.Trajectory(ts=gd.ts[:3], ys=gd.ys[:3], diagnostics={"mmd2": gd.diagnostics["mmd2"][:3]})
        flows.export.animate_comparison({"a": gd, "b": short}, tmp_path / "x.gif", clock="index")
    with pytest.raises(ValueError, match="`clock` must be one of"):
        flows.export.animate_comparison({"a": gd}, tmp_path / "x.gif", clock="iterations")
    with pytest.raises(ValueError, match="missing from the runs \\['b'\\]"):
        flows.export.animate_comparison({"a": gd, "b": flows.Trajectory(ts=gd.ts, ys=gd.ys)}, tmp_path / "x.gif")
    with pytest.raises(ValueError, match="`samples` names runs that are not in `trajectories`"):
        flows.export.animate_comparison({"a": gd}, tmp_path / "x.gif", samples={"z": lambda s: s})
    with pytest.raises(ValueError, match="non-empty mapping"):
        flows.export.animate_comparison({}, tmp_path / "x.gif")
    with pytest.raises(ValueError, match="`path` must end in one of"):
        flows.export.animate_comparison({"a": gd}, tmp_path / "x.png")
