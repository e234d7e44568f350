"""Every bad config value and bad output folder is refused before anything is simulated or
written: a `ConfigError` (exit status 2) whose message names the key or argument and says what
to set; the output folder is left as it was."""

import os
import re
import stat

import pytest

from flows.cli import config, main, runner
from flows.cli.registry import ConfigError

from cases import gaussian_run_config

CONFIG = gaussian_run_config(1, name="checks") + """
[solver]
kind = "gd"
step = 0.5

[time]
t1 = 1.0
saves = 3

[output]
dpi = 30
size = [3.0, 2.0]
"""

SDE_FLOW = '[flow]\nkind = "diffusion_mmd"\nnoise = 0.01\n[solver]'

BAD_CONFIGS = {  # name: ((text in CONFIG, its replacement), what the error says)
    "1-D target": (("mean = [1.0, 1.0]", "mean = 2.0"), r"`target` is 1-D .* `target.mean` as a list"),
    "projection out of range": (
        ("dpi = 30", "dpi = 30\nprojection = [0, 7]"),
        r"`output.projection` = \[0, 7\] is not valid for this 2-D target: two different coordinates in 0..1",
    ),
    "projection repeats a coordinate": (
        ("dpi = 30", "dpi = 30\nprojection = [1, 1]"), r"`output.projection` = \[1, 1\]"
    ),
    "step = true": (
        ("step = 0.5", "step = true"), r"`solver.step` must not be true or false \(booleans are not numbers\)"
    ),
    "bandwidth = true": (("bandwidth = 1.5", "bandwidth = true"), r"`kernel.bandwidth` must not be true or false"),
    'step = "0.5"': (
        ("step = 0.5", 'step = "0.5"'), r"`solver.step` must be a number, got the string '0.5': write it without quotes"
    ),
    'n = "20"': (("n = 20", 'n = "20"'), r"`initial.n` must be a number, got the string '20'"),
    "SDE flow, ODE solver": (
        ('[solver]\nkind = "gd"\nstep = 0.5', SDE_FLOW + '\nkind = "tsit5"'),
        r"`solver.kind` = 'tsit5' cannot integrate `flow.kind` = 'diffusion_mmd': the diffusion MMD flow is an SDE. "
        r"Set `solver.kind = \"euler\"` \(Euler-Maruyama\) or \"heun\", with a fixed step `solver.dt0`",
    ),
    "SDE flow, gradient descent": (
        ("[solver]", SDE_FLOW), r"`solver.kind` = 'gd' cannot integrate `flow.kind` = 'diffusion_mmd'"
    ),
    "fixed-step solver without dt0": (
        ('kind = "gd"\nstep = 0.5', 'kind = "euler"'), r"`solver.dt0` is required: Euler takes a fixed step"
    ),
}


@pytest.mark.parametrize("change, message", BAD_CONFIGS.values(), ids=BAD_CONFIGS)
def test_a_bad_config_is_refused_naming_the_key_and_nothing_is_written(tmp_path, capsys, change, message):
    text = CONFIG.replace(*change, 1)
    assert text != CONFIG
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        config.build(config.load(tmp_path / "bad.toml"))
    assert main(["run", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "out")]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


@pytest.fixture
def good(tmp_path):
    (tmp_path / "run.toml").write_text(CONFIG)
    return tmp_path / "run.toml"


def _refused(capsys, argv, message) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert re.search(message, err), err


def test_an_out_that_is_a_file_or_under_a_file_is_refused(good, tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    _refused(capsys, ["run", str(good), "--out", str(tmp_path / "file")],
             r"`--out` '.*file' is a file, not a folder: give a folder")
    _refused(capsys, ["run", str(good), "--out", str(tmp_path / "file" / "run")],
             r"`--out` '.*run' cannot be created: '.*file' is a file, not a folder")
    assert (tmp_path / "file").read_text() == "mine" and sorted(os.listdir(tmp_path)) == ["file", "run.toml"]


def test_a_read_only_out_is_refused(good, tmp_path, capsys, monkeypatch):
    folder = tmp_path / "read_only"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(folder, os.W_OK):  # root writes anywhere: let the probe file meet what others would
            def refused(*args, **kwargs):
                raise PermissionError(13, "Permission denied")

            monkeypatch.setattr(runner.tempfile, "TemporaryFile", refused)
        _refused(capsys, ["run", str(good), "--out", str(folder / "run")],
                 r"`--out` '.*run' is not writable \(Permission denied: '.*read_only'\); "
                 r"give a folder you can write to")
        assert os.listdir(folder) == []
    finally:
        folder.chmod(stat.S_IRWXU)


def test_a_folder_holding_a_run_is_refused_without_resume_or_overwrite(good, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(good), "--out", str(out), "--no-progress"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    _refused(capsys, ["run", str(good), "--out", str(out)],
             r"`--out` '.*out' holds a finished run: pass --resume to write any output it is missing, "
             r"--overwrite to replace it")
    (out / "trajectory.npz").unlink()  # as if the run were still going
    _refused(capsys, ["run", str(good), "--out", str(out)],
             r"holds an unfinished run: pass --resume to continue it from its checkpoints, --overwrite to start afresh")
    del before["trajectory.npz"]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # left as it was
    with pytest.raises(SystemExit):  # argparse: the two exclude each other
        main(["run", str(good), "--out", str(out), "--resume", "--overwrite"])
    assert "not allowed with argument" in capsys.readouterr().err
