"""Checkpoints: a resumed run gives exactly the arrays of an uninterrupted one, for both engines;
a run killed by a real signal loses only the chunk in progress and leaves no corrupt file."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flows
from flows.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def problem():
    target = jax.random.normal(jax.random.PRNGKey(0), (30, 2)) + 2.0
    x0 = jax.random.normal(jax.random.PRNGKey(1), (25, 2))
    return flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.5)), x0


def _same(a: flows.Trajectory, b: flows.Trajectory):
    np.testing.assert_array_equal(a.ts, b.ts)
    np.testing.assert_array_equal(a.ys, b.ys)
    assert a.diagnostics.keys() == b.diagnostics.keys()
    for name in a.diagnostics:
        np.testing.assert_array_equal(a.diagnostics[name], b.diagnostics[name])
    assert a.stats == b.stats


@pytest.mark.parametrize(
    "solver", [diffrax.Tsit5(), flows.GradientDescent(step=0.5, optimizer=optax.adam(0.05))], ids=["tsit5", "adam"]
)
def test_resuming_from_any_chunk_reproduces_the_uninterrupted_run(problem, tmp_path, solver):
    flow, x0 = problem
    kw = dict(t1=4.0, ts=jnp.linspace(0.0, 4.0, 9), solver=solver)
    full = flows.simulate(flow, x0, checkpoint=flows.Checkpoint(tmp_path / "a", every=3, keep=True), **kw)
    chunks = sorted((tmp_path / "a").glob("chunk_*.npz"))
    assert [c.name for c in chunks] == ["chunk_00000.npz", "chunk_00001.npz"]  # 9 saves: 3 + 3 + 3 (the last not written)
    chunks[1].unlink()  # as if killed while chunk 1 was being integrated
    resumed = flows.simulate(flow, x0, checkpoint=flows.Checkpoint(tmp_path / "a", every=3, resume=True), **kw)
    _same(full, resumed)
    assert not (tmp_path / "a").exists()  # chunk files are removed once the run is complete
    if isinstance(solver, diffrax.AbstractSolver):
        # chunking changes only where adaptive steps are cut: close to the single-chunk solve
        plain = flows.simulate(flow, x0, **kw)
        np.testing.assert_allclose(plain.ys, full.ys, atol=1e-4)
    else:
        # chunks written by another run (here: another initial state) are refused, not mixed in
        flows.simulate(flow, x0, checkpoint=flows.Checkpoint(tmp_path / "b", every=3, keep=True), **kw)
        with pytest.raises(ValueError, match="holds chunks of a different run"):
            flows.simulate(flow, x0 + 1.0, checkpoint=flows.Checkpoint(tmp_path / "b", every=3, resume=True), **kw)


def test_checkpoint_rejects_a_bad_interval(tmp_path):
    with pytest.raises(ValueError, match="`every` must be a positive integer"):
        flows.Checkpoint(tmp_path, every=0)


def _write_config(path: Path) -> Path:
    """A discrete run of 10 000 gradient steps in 40 chunks: long enough to be killed midway."""
    lines = [
        'name = "resume test"', "seed = 3", 'dtype = "float64"',
        "[target]", 'kind = "gaussian"', "mean = [2.0, 2.0]", "std = 0.5", "n = 80",
        "[initial]", 'kind = "gaussian"', "n = 80",
        "[kernel]", 'kind = "gaussian"', "bandwidth = 1.5",
        "[solver]", 'kind = "gd"', "step = 0.01",
        "[time]", "t1 = 100.0", "saves = 41",
        "[diagnostics]", 'ed = { kind = "energy_distance" }',
        "[checkpoint]", "every = 1",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_run_killed_by_a_signal_resumes_to_the_uninterrupted_result(tmp_path):
    config = _write_config(tmp_path / "run.toml")
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "flows", "run", str(config), "--out", str(out), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    second_chunk = out / "checkpoints" / "chunk_00001.npz"
    deadline = time.monotonic() + 300
    while not second_chunk.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert second_chunk.exists(), process.stderr.read().decode()[-2000:]
    written = sorted((out / "checkpoints").glob("chunk_*.npz"))
    assert not (out / "trajectory.npz").exists() and 2 <= len(written) < 35  # killed mid-run
    for chunk in written:  # every file on disk is whole
        with np.load(chunk) as data:
            assert json.loads(data["__meta__"].tobytes())["format"] == "flows.Checkpoint/1"

    resumed = subprocess.run(command + ["--resume"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert cli_main(["run", str(config), "--out", str(tmp_path / "whole"), "--no-progress"]) == 0
    _same(flows.Trajectory.load(out / "trajectory.npz"), flows.Trajectory.load(tmp_path / "whole" / "trajectory.npz"))
    assert (out / "metrics.csv").read_text() == (tmp_path / "whole" / "metrics.csv").read_text()


@pytest.mark.parametrize("damage", ["truncated", "foreign bytes"])
def test_a_damaged_chunk_is_recomputed_on_resume(problem, tmp_path, damage):
    """A chunk file cut short on disk (or overwritten by other bytes) is not fatal: it and the
    chunks after it are recomputed, with a warning naming it, and the resumed run equals the
    uninterrupted one bit for bit."""
    flow, x0 = problem
    kw = dict(t1=4.0, ts=jnp.linspace(0.0, 4.0, 9), solver=diffrax.Tsit5())
    full = flows.simulate(flow, x0, checkpoint=flows.Checkpoint(tmp_path / "a", every=3, keep=True), **kw)
    chunk = tmp_path / "a" / "chunk_00000.npz"
    content = chunk.read_bytes()
    chunk.write_bytes(content[: len(content) // 2] if damage == "truncated" else b"not an archive" * 10)
    with pytest.warns(RuntimeWarning, match=r"`checkpoint` chunk '.*chunk_00000.npz' is not a flows checkpoint chunk: "
                      r".*Recomputing chunk 0 and the chunks after it"):
        resumed = flows.simulate(flow, x0, checkpoint=flows.Checkpoint(tmp_path / "a", every=3, resume=True), **kw)
    _same(full, resumed)


def test_a_foreign_chunk_file_is_refused_by_name(problem, tmp_path):
    flow, x0 = problem
    kw = dict(t1=4.0, ts=jnp.linspace(0.0, 4.0, 9), solver=diffrax.Tsit5())
    flows.simulate(flow, x0, checkpoint=flows.Checkpoint(tmp_path / "a", every=3, keep=True), **kw)
    np.savez(tmp_path / "a" / "chunk_00001.npz", a=np.zeros(2), __meta__=np.frombuffer(b'{"format": "x"}', np.uint8))
    with pytest.raises(ValueError, match=r"holds chunk_00001.npz, which is not chunk 1 of a flows run; remove it"):
        flows.simulate(flow, x0, checkpoint=flows.Checkpoint(tmp_path / "a", every=3, resume=True), **kw)
