"""Animations and plots read back with the libraries a user would open them with."""

import imageio.v2 as imageio
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows


@pytest.fixture(scope="module")
def run():
    target = jax.random.normal(jax.random.PRNGKey(0), (40, 3)) + 2.0
    x0 = jax.random.normal(jax.random.PRNGKey(1), (30, 3))
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.5))
    return target, flows.simulate(flow, x0, t1=4.0, ts=jnp.linspace(0, 4, 9))


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_animation_has_the_requested_frames_and_size(run, tmp_path, suffix):
    target, traj = run
    path = flows.export.animate_particles(traj, tmp_path / f"a{suffix}", target=target, frames=5, figsize=(4, 3), dpi=50, dims=(0, 2))
    reader = imageio.get_reader(path)
    frames = [np.asarray(f) for f in reader]
    reader.close()
    assert len(frames) == 5
    assert frames[0].shape[:2] == (150, 200)
    # the particles move, so the frames differ
    assert np.abs(frames[0].astype(int) - frames[-1].astype(int)).sum() > 0


def test_animation_rejects_bad_requests(run, tmp_path):
    target, traj = run
    with pytest.raises(ValueError, match="`path` must end in one of"):
        flows.export.animate_particles(traj, tmp_path / "a.avi")
    with pytest.raises(ValueError, match="`dims` must be two different coordinates"):
        flows.export.animate_particles(traj, tmp_path / "a.gif", dims=(0, 3))
    with pytest.raises(ValueError, match="`diagnostic` 'w2' is not in the trajectory"):
        flows.export.animate_particles(traj, tmp_path / "a.gif", diagnostic="w2")


def test_convergence_plot_is_written(run, tmp_path):
    _, traj = run
    figure = flows.export.plot_convergence({"flow": traj, "again": traj}, tmp_path / "c.png")
    image = imageio.imread(tmp_path / "c.png")
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert len(figure.axes[0].lines) == 2
    with pytest.raises(ValueError, match="has no diagnostic 'nope'"):
        flows.export.plot_convergence({"flow": traj}, diagnostic="nope")
