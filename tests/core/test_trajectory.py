"""Trajectory files: exact round trips, atomic writes."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows._io import atomic_path
from flows.core.trajectory import CorruptFileError


@pytest.fixture(scope="module")
def trajectory():
    y = jax.random.normal(jax.random.PRNGKey(0), (30, 2)) + 1.0
    x0 = jax.random.normal(jax.random.PRNGKey(1), (20, 2))
    return flows.simulate(flows.particle.MMDFlow(y, flows.kernels.GaussianKernel(1.0)), x0, t1=2.0, ts=jnp.linspace(0, 2, 5))


def assert_same(a: flows.Trajectory, b: flows.Trajectory):
    np.testing.assert_array_equal(a.ts, b.ts)
    for la, lb in zip(jax.tree_util.tree_leaves(a.ys), jax.tree_util.tree_leaves(b.ys)):
        assert la.dtype == lb.dtype
        np.testing.assert_array_equal(la, lb)
    assert a.diagnostics.keys() == b.diagnostics.keys()
    for name in a.diagnostics:
        np.testing.assert_array_equal(a.diagnostics[name], b.diagnostics[name])
    assert a.stats == b.stats and a.result == b.result and a.metadata == b.metadata


def test_round_trip_is_exact(trajectory, tmp_path):
    path = trajectory.save(tmp_path / "run.npz")
    assert_same(flows.Trajectory.load(path), trajectory)
    assert os.listdir(tmp_path) == ["run.npz"]  # no temporary file left behind


def test_round_trip_of_a_pytree_state(tmp_path):
    ys = {"A": np.arange(24.0).reshape(3, 2, 4), "b": (np.ones((3, 4), np.float32), np.arange(3))}
    traj = flows.Trajectory(ts=np.arange(3.0), ys=ys, diagnostics={"loss": np.array([3.0, 2.0, 1.0])})
    traj.save(tmp_path / "p.npz")
    assert_same(flows.Trajectory.load(tmp_path / "p.npz", like=ys), traj)
    by_path = flows.Trajectory.load(tmp_path / "p.npz").ys
    assert sorted(by_path) == ["['A']", "['b'][0]", "['b'][1]"]
    with pytest.raises(ValueError, match="`like` has 1 leaves but the file holds 3"):
        flows.Trajectory.load(tmp_path / "p.npz", like=np.zeros(3))


def test_a_failed_write_leaves_the_old_file_whole(trajectory, tmp_path):
    path = trajectory.save(tmp_path / "run.npz")
    before = path.read_bytes()
    with pytest.raises(RuntimeError, match="killed"):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"half a file")
            raise RuntimeError("killed mid-write")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["run.npz"]


def test_load_rejects_other_files(tmp_path):
    np.savez(tmp_path / "other.npz", a=np.zeros(2), __meta__=np.frombuffer(b'{"format": "x"}', np.uint8))
    with pytest.raises(ValueError, match="not a flows trajectory file"):
        flows.Trajectory.load(tmp_path / "other.npz")


def _write_array(path, array, **kwargs):
    with open(path, "wb") as f:  # np.save(path) would add ".npy" to the name
        np.save(f, array, **kwargs)


def _foreign(path, trajectory):
    return {
        "text": lambda: path.write_text("a,b\n1,2\n"),
        "npy": lambda: _write_array(path, np.zeros(3)),
        "npz without metadata": lambda: np.savez(path, ts=np.zeros(3)),
        "pickled object": lambda: _write_array(path, np.array([{"a": 1}], dtype=object), allow_pickle=True),
        "truncated": lambda: path.write_bytes(trajectory.save(path).read_bytes()[:-100]),
    }


@pytest.mark.parametrize(
    "kind, reason",
    [
        ("text", "it is not an .npz archive, or it is truncated"),
        ("npy", r"it holds a single array \(.npy\), not an archive"),
        ("npz without metadata", "it has no `__meta__` record"),
        ("pickled object", "it is not an .npz archive, or it is truncated"),
        ("truncated", "it is not an .npz archive, or it is truncated"),
    ],
)
def test_load_names_a_file_that_is_not_a_trajectory(trajectory, tmp_path, kind, reason):
    path = tmp_path / "file.npz"
    _foreign(path, trajectory)[kind]()
    with pytest.raises(CorruptFileError, match=rf"`path` '.*file.npz' is not a flows trajectory file \(written by "
                       rf"Trajectory.save\): {reason}"):
        flows.Trajectory.load(path)
    with pytest.raises(FileNotFoundError, match="`path` '.*missing.npz' does not exist"):
        flows.Trajectory.load(tmp_path / "missing.npz")
