"""Feedback on all long work: the progress bars of `flows run` (the solver's config name on the
simulation's bar, then the outputs and the animation's frames) and of `flows animate`; help text
on every argument; `flows --version`; no traceback when the reader of the output goes away; a
run that diverges exits with status 1."""

import argparse
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

from flows.cli import commands, main

from cases import gaussian_run_config

ROOT = Path(__file__).resolve().parents[2]

ADAM = gaussian_run_config(0, name="adam") + """[solver]
kind = "adam"
learning_rate = 0.05
[time]
t1 = 4.0
saves = 3
[output]
animation = "gif"
size = [3.0, 2.0]
dpi = 30
"""


def test_run_and_animate_show_progress_with_the_solvers_name(tmp_path, capsys):
    (tmp_path / "adam.toml").write_text(ADAM)
    assert main(["run", str(tmp_path / "adam.toml"), "--out", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "adam: 100%" in err and "GradientDescent" not in err  # the config's name for the solver
    assert "outputs: 100%" in err and "5/5" in err  # tables, figures and the animation
    assert "animation.gif: 100%" in err and "6/6" in err  # 3 frames: heat maps, then drawing
    assert main(["animate", str(tmp_path / "out"), "--out", str(tmp_path / "again.gif"), "--frames", "2"]) == 0
    assert "again.gif: 100%" in capsys.readouterr().err
    assert main(["run", str(tmp_path / "adam.toml"), "--out", str(tmp_path / "quiet"), "--no-progress"]) == 0
    assert "100%" not in capsys.readouterr().err


def _actions(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from ((f"{name} {a.dest}", a) for a in sub._actions)
            for choice in action._choices_actions:
                yield f"command {choice.dest}", choice
        else:
            yield action.dest, action


def test_every_argument_has_help_text():
    missing = [name for name, action in _actions(commands.parser()) if not action.help]
    assert not missing, missing


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    try:
        expected = importlib.metadata.version(commands.DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        expected = f"(not installed as {commands.DISTRIBUTION}"
    assert capsys.readouterr().out.startswith(f"flows {expected}")


def test_a_closed_pipe_ends_quietly():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "flows", "list"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    process.stdout.close()  # the reader has gone before the first line is written (`flows list | head -0`)
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 128 + 13 and "Traceback" not in stderr, stderr


def test_a_run_that_diverges_exits_with_status_1(tmp_path, capsys):
    """Langevin dynamics toward N(m, 0.25 I) by Euler-Maruyama with dt0 = 10: each step multiplies
    x - m by 1 - 10 / 0.25 = -39: the spread check stops it long before float64 overflows."""
    langevin = '[flow]\nkind = "langevin"\n[solver]\nkind = "euler"\ndt0 = 10.0'
    text = ADAM.replace('[solver]\nkind = "adam"\nlearning_rate = 0.05', langevin)
    (tmp_path / "langevin.toml").write_text(text.replace("t1 = 4.0", "t1 = 3000.0"))
    assert main(["run", str(tmp_path / "langevin.toml"), "--out", str(tmp_path / "out"), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert "flows run: the run diverged: the particles spread to" in err and "divergence_scale" in err, err
    assert "spread to inf" not in err, err
    assert not (tmp_path / "out" / "trajectory.npz").exists()
