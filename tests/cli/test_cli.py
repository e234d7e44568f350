"""The command line end to end on tiny configs: files, numbers equal to the Python API's, errors
that name the key before anything runs, `flows list`, `flows animate`, `flows compare`."""

import csv
import json
import re
from pathlib import Path

import diffrax
import imageio.v2 as imageio
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows.cli import config, entries, main, runner

ROOT = Path(__file__).resolve().parents[2]

CONFIG = """
name = "tiny"
seed = 7
dtype = "float64"

[target]
kind = "gaussian"
mean = [1.5, 1.0]
std = 0.5
n = 40

[initial]
kind = "gaussian"
n = 30
std = 1.0

[kernel]
kind = "gaussian"
bandwidth = 1.5

[solver]
kind = "tsit5"

[time]
t1 = 3.0
saves = 5

[diagnostics]
ed = { kind = "energy_distance" }
gw2 = { kind = "gaussian_w2" }

[checkpoint]
every = 2

[output]
animation = "gif"
frames = 3
size = [4.0, 2.0]
dpi = 40
"""


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    (folder / "tiny.toml").write_text(CONFIG)
    assert main(["run", str(folder / "tiny.toml"), "--out", str(folder / "run"), "--no-progress"]) == 0
    return folder


def test_run_writes_every_output_and_matches_the_python_api(finished_run, tmp_path):
    run = finished_run / "run"
    for name in ("config.json", "trajectory.npz", "metrics.csv", "metrics.json", "diagnostics.png", "final_state.png", "animation.gif"):
        assert (run / name).stat().st_size > 0, name
    assert not (run / "checkpoints").exists()
    frames = imageio.mimread(run / "animation.gif")
    assert len(frames) == 3 and frames[0].shape[:2] == (80, 160)

    # the same run by hand, with the documented keys: fold_in(PRNGKey(seed), 0 target | 1 initial | 2 run)
    key = jax.random.PRNGKey(7)
    target = jnp.array([1.5, 1.0]) + 0.5 * jax.random.normal(jax.random.fold_in(key, 0), (40, 2))
    x0 = jax.random.normal(jax.random.fold_in(key, 1), (30, 2))
    flow = flows.particle.MMDFlow(target, flows.kernels.GaussianKernel(1.5))
    expected = flows.simulate(
        flow, x0, t1=3.0, ts=np.linspace(0, 3, 5), solver=diffrax.Tsit5(),
        stepsize_controller=diffrax.PIDController(rtol=1e-4, atol=1e-6), key=jax.random.fold_in(key, 2),
        diagnostics={**flow.diagnostics(), "ed": flows.diagnostics.EnergyDistance(target),
                     "gw2": flows.diagnostics.GaussianW2(jnp.array([1.5, 1.0]), 0.25 * jnp.eye(2))},
        checkpoint=flows.Checkpoint(tmp_path / "ck", every=2),
    )
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert len(rows) == 5
    for name in ("mmd2", "energy", "ed", "gw2"):
        np.testing.assert_allclose([float(r[name]) for r in rows], expected.diagnostics[name], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(flows.Trajectory.load(run / "trajectory.npz").ys, expected.ys, rtol=1e-12, atol=1e-12)
    resolved = json.loads((run / "config.json").read_text())
    # simulate's own defaults (PIDController(rtol=1e-4, atol=1e-6) without dt0, as used above)
    assert resolved["solver"] == {"kind": "tsit5", "scan_kind": None, "dt0": None, "stepsize_controller": None, "max_steps": 100_000}
    assert resolved["time"] == {"t0": 0.0, "t1": 3.0, "saves": 5}
    assert resolved["output"]["fps"] == 15  # defaults filled in


def test_animate_and_compare(finished_run, tmp_path, capsys):
    run = finished_run / "run"
    assert main(["animate", str(run), "--format", "mp4", "--frames", "4", "--out", str(tmp_path / "a.mp4")]) == 0
    reader = imageio.get_reader(tmp_path / "a.mp4")
    frames = [np.asarray(f) for f in reader]
    reader.close()
    assert len(frames) == 4 and frames[0].shape[:2] == (80, 160)

    gd_config = CONFIG.replace('kind = "tsit5"', 'kind = "gd"\nstep = 0.25').replace('name = "tiny"', 'name = "tiny GD"')
    (tmp_path / "gd.toml").write_text(gd_config.replace('animation = "gif"', "animation = false"))
    assert main(["run", str(tmp_path / "gd.toml"), "--out", str(tmp_path / "gd"), "--no-progress"]) == 0
    assert main(["compare", str(run), str(tmp_path / "gd"), "--out", str(tmp_path / "cmp")]) == 0
    rows = {r["run"]: r for r in csv.DictReader(open(tmp_path / "cmp" / "compare.csv"))}
    assert set(rows) == {"tiny", "tiny GD"}
    gd = flows.Trajectory.load(tmp_path / "gd" / "trajectory.npz")
    assert float(rows["tiny GD"]["mmd2_end"]) == gd.diagnostics["mmd2"][-1]
    assert imageio.imread(tmp_path / "cmp" / "compare.png").shape[0] > 100


@pytest.mark.parametrize(
    "change, message",
    [
        (('kind = "gaussian"\nbandwidth = 1.5', 'kind = "gausian"'), "`kernel.kind` = 'gausian' is not a known kernel; valid choices: energy, gaussian, gaussian_sum"),
        (('kind = "tsit5"', 'kind = "tsit5"\nrtol = 1e-3'), "`solver.rtol` is not a parameter of solver 'tsit5'; valid keys: kind, scan_kind, dt0, stepsize_controller, max_steps"),
        (('kind = "tsit5"', 'kind = "sgd"'), r"`solver.learning_rate` is required for solver 'sgd' \(sgd\(step=1.0, learning_rate, "),
        (('kind = "tsit5"', 'kind = "euler"'), r"`solver` \(solver 'euler'\) is invalid: `solver.dt0` is required: Euler takes a fixed step"),
        (('kind = "tsit5"', 'kind = "euler"\ndt0 = 0.1\nstepsize_controller = { kind = "pid", rtol = 1e-3, atol = 1e-6 }'), "Euler has no error estimate"),
        (('kind = "tsit5"', 'kind = "tsit5"\nstepsize_controller = { kind = "pid" }'), "`solver.stepsize_controller.rtol` is required for step-size controller 'pid'"),
        (('kind = "tsit5"', 'kind = "tsit5"\nmax_steps = true'), r"`solver.max_steps` must not be true or false \(booleans are not numbers\), got True"),
        (("std = 0.5\n", "std = -0.5\n"), r"`target` \(target 'gaussian'\) is invalid: `target.std` must be a finite positive number, got -0.5"),
        (("std = 0.5\n", "std = true\n"), r"`target.std` must not be true or false"),
        (("std = 0.5\n", "std = 0.5\ncovariance = [[1.0, 0.0], [0.0, 1.0]]\n"), r"give `target.covariance` or `target.std`, not both"),
        (("n = 40\n", ""), r"`target.n` is required for target 'gaussian' \(gaussian\(mean, covariance=None, std=None, n\)\)"),
        (("bandwidth = 1.5", 'bandwidth = "mean"'), r"`kernel.bandwidth` must be a positive number or \"median\", got 'mean'"),
        (("t1 = 3.0", "t1 = -1.0"), r"`time`: `t1` must be greater than `t0` = 0.0, got t1 = -1.0"),
        (("saves = 5", "saves = 1"), r"`time.saves` must be an integer >= 2, got 1"),
        (("seed = 7", "seed = true"), r"`seed` must be an integer >= 0, got True"),
        (('animation = "gif"', 'animation = "avi"'), "`output.animation` = 'avi' is not valid; valid choices"),
        (('ed = { kind = "energy_distance" }', 'ed = { kind = "w3" }'), "`diagnostics.ed.kind` = 'w3' is not a known diagnostic; valid choices:"),
        (("[initial]", "[initail]"), "`initail` is not a config section or key"),
        (("dpi = 40", "dpi = 0"), "`output.dpi` must be an integer >= 1, got 0"),
    ],
)
def test_bad_configs_name_the_key_and_run_nothing(tmp_path, capsys, change, message):
    (tmp_path / "bad.toml").write_text(CONFIG.replace(*change, 1))
    assert main(["run", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "out")]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("path", sorted((ROOT / "experiments" / "configs").glob("*.toml")), ids=lambda p: p.stem)
def test_example_configs_are_valid(path):
    run = config.build({**config.load(path), "dtype": "float64"})  # builds every object, runs nothing (float64: the test session's mode)
    assert config.resolve(run.config) == run.config  # the resolved config is complete
    particles = runner.particle_view(run, flows.Trajectory(ts=np.zeros(1), ys=jax.tree_util.tree_map(lambda a: a[None], run.y0))).state(0)
    assert particles.ndim == 2 and particles.shape[1] == run.context.target_samples.shape[1]
    for name, diagnostic in run.simulate_kwargs["diagnostics"].items():  # each applies to the run's state (traced only)
        assert jax.eval_shape(diagnostic, run.simulate_kwargs["t0"], run.y0, None).dtype == jnp.float64, name


def test_list_names_every_registered_entry_with_its_keys_and_defaults(capsys):
    assert main(["list"]) == 0
    text = capsys.readouterr().out
    for reg in entries.ALL.values():
        assert f"{reg.description}" in text
        for entry in reg:
            assert f"  {entry.signature_text()}" in text and entry.description in text
    # the Python API's defaults, not the command line's: SinkhornFlow has no default epsilon,
    # GaussianKernel no default bandwidth, GradientDescent a default step of 1
    assert "  sinkhorn(epsilon, threshold=1e-06, " in text and "  gaussian(bandwidth) " in text and "  gd(step=1.0, optimizer=None)" in text
    assert '`bandwidth`: a positive number, or "median"' in text  # the conveniences are listed with the keys they apply to
    assert main(["list", "schedules"]) == 0
    assert capsys.readouterr().out.startswith("schedules: ")


def test_a_float32_gd_grid_builds_as_simulate_accepts_it(tmp_path):
    """`gd` with step 0.1 to t1 = 10 in float32: 10 / float32(0.1) is 99.9999985 iterations, which
    `simulate` accepts as 100 (the step is known to its own precision); the config used a fixed
    1e-9 tolerance and refused it. Both now use `flows.core.time_grid`."""
    text = CONFIG.replace('dtype = "float64"', 'dtype = "float32"').replace('kind = "tsit5"', 'kind = "gd"\nstep = 0.1')
    (tmp_path / "gd.toml").write_text(text.replace("t1 = 3.0", "t1 = 10.0"))
    run = config.build(config.load(tmp_path / "gd.toml"))
    ts = run.simulate_kwargs["ts"]
    np.testing.assert_allclose(ts, [0.0, 2.5, 5.0, 7.5, 10.0], rtol=1e-6)
    trajectory = flows.simulate(run.flow, run.y0, **{**run.simulate_kwargs, "diagnostics": {}})
    assert trajectory.stats["num_steps"] == 100
