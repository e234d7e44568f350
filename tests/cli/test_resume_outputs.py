"""Runs are resumable to the end: a run killed while it draws its animation is finished by
`--resume` (which writes only what is missing), the temporary file the kill left is removed at
the next start, `--overwrite` replaces a run, and an animation the new config does not ask for
does not outlive the run it belonged to."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio.v2 as imageio

from flows.cli import main

from cases import gaussian_run_config

ROOT = Path(__file__).resolve().parents[2]

CONFIG = gaussian_run_config(2, name="resume outputs", target_n=40, initial_n=30) + """
[solver]
kind = "gd"
step = 0.5

[time]
t1 = 20.0
saves = 41

[output]
animation = "gif"
witness = false
size = [3.0, 2.0]
dpi = 30
"""
OUTPUTS = ["animation.gif", "config.json", "diagnostics.png", "final_state.png", "metrics.csv", "metrics.json",
           "trajectory.npz"]


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_a_run_killed_while_drawing_its_animation_is_finished_by_resume(tmp_path):
    (tmp_path / "run.toml").write_text(CONFIG)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "flows", "run", str(tmp_path / "run.toml"), "--out", str(out), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not list(out.glob(".animation.*.tmp.gif")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)  # while the 41 frames are being drawn
    process.wait()
    left = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    assert "animation.gif" not in left and any(name.startswith(".animation.") for name in left), (
        left, process.stderr.read().decode()[-2000:])
    simulated = (out / "trajectory.npz").read_bytes()

    assert main(["run", str(tmp_path / "run.toml"), "--out", str(out), "--no-progress", "--resume"]) == 0
    assert sorted(os.listdir(out)) == OUTPUTS  # the animation written, the temporary file gone
    assert (out / "trajectory.npz").read_bytes() == simulated  # not simulated again
    assert len(imageio.mimread(out / "animation.gif")) == 41

    before = {name: os.stat(out / name).st_mtime_ns for name in OUTPUTS}
    assert main(["run", str(tmp_path / "run.toml"), "--out", str(out), "--no-progress", "--resume"]) == 0
    assert {name: os.stat(out / name).st_mtime_ns for name in OUTPUTS} == before  # finished: nothing rewritten


def test_overwrite_replaces_a_run_and_a_stale_animation_does_not_survive(tmp_path):
    small = CONFIG.replace("t1 = 20.0\nsaves = 41", "t1 = 2.0\nsaves = 3")
    (tmp_path / "gif.toml").write_text(small)
    (tmp_path / "none.toml").write_text(small.replace('animation = "gif"', "animation = false"))
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "gif.toml"), "--out", str(out), "--no-progress"]) == 0
    assert sorted(os.listdir(out)) == OUTPUTS
    assert main(["run", str(tmp_path / "none.toml"), "--out", str(out), "--no-progress", "--overwrite"]) == 0
    assert sorted(os.listdir(out)) == [name for name in OUTPUTS if name != "animation.gif"]

    # the output options are not part of the run: --resume with new ones redraws every output, the
    # animation the config now asks for included
    assert main(["run", str(tmp_path / "gif.toml"), "--out", str(out), "--no-progress", "--resume"]) == 0
    assert sorted(os.listdir(out)) == OUTPUTS
    assert main(["run", str(tmp_path / "none.toml"), "--out", str(out), "--no-progress", "--resume"]) == 0
    assert sorted(os.listdir(out)) == [name for name in OUTPUTS if name != "animation.gif"]
