"""The flows of issues 4 and 5 on the command line: an example config for each, and tiny runs of an
SDE flow, a score-based flow and a parametric flow with the MMD GAN solver whose files equal the
Python API's result for the same settings (keys fold_in(PRNGKey(seed), 0 target | 1 initial |
2 run | 4 flow | 5 solver)); an SDE run resumed from a checkpoint equals the uninterrupted one."""

import csv
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax

import flows
from flows.cli import config, entries, main, runner
from flows.targets import GaussianMixture

from cases import gaussian_run_config

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "experiments" / "configs").glob("*.toml"))


def test_every_flow_has_an_example_config():
    loaded = [config.resolve(config.load(path)) for path in EXAMPLES]
    assert {c["flow"]["kind"] for c in loaded} == set(entries.FLOWS.names())
    assert "mmd_gan" in {c["solver"]["kind"] for c in loaded}
    assert {"affine", "mlp", "mixture_means"} <= {c["initial"]["kind"] for c in loaded}


def _run(tmp_path: Path, text: str) -> tuple[flows.Trajectory, list[dict]]:
    (tmp_path / "run.toml").write_text(text)
    assert main(["run", str(tmp_path / "run.toml"), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    rows = list(csv.DictReader(open(tmp_path / "out" / "metrics.csv")))
    return runner.load_run(tmp_path / "out")[1], rows


def _column(rows: list[dict], name: str) -> np.ndarray:
    return np.array([float(r[name]) for r in rows])


SDE = gaussian_run_config(5) + """[flow]
kind = "diffusion_mmd"
noise = { kind = "step_decay", initial = 0.1, factor = 0.5, every = 0.5 }
[solver]
kind = "euler"
dt0 = 0.1
[time]
t1 = 1.0
saves = 6
[checkpoint]
every = 3
"""


def test_diffusion_mmd_flow_from_the_command_line_equals_the_python_api(tmp_path):
    trajectory, rows = _run(tmp_path, SDE)
    key = jax.random.PRNGKey(5)
    target = 1.0 + 0.5 * jax.random.normal(jax.random.fold_in(key, 0), (30, 2))
    x0 = jax.random.normal(jax.random.fold_in(key, 1), (20, 2))
    flow = flows.particle.DiffusionMMDFlow(target, flows.kernels.GaussianKernel(1.5), flows.particle.StepDecaySchedule(0.1, 0.5, 0.5))
    expected = flows.simulate(
        flow, x0, t1=1.0, ts=np.linspace(0, 1, 6), solver=diffrax.Euler(), dt0=0.1, stepsize_controller=diffrax.ConstantStepSize(), key=jax.random.fold_in(key, 2),
        checkpoint=flows.Checkpoint(tmp_path / "ck", every=3),  # the same chunks: each has its own Brownian tree
    )
    np.testing.assert_allclose(trajectory.ys, expected.ys, rtol=1e-12, atol=1e-12)
    for name in ("mmd2", "noise_level"):
        np.testing.assert_allclose(_column(rows, name), expected.diagnostics[name], rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(_column(rows, "noise_level"), [0.1, 0.1, 0.1, 0.05, 0.05, 0.025])


SCORE = """
seed = 2
dtype = "float64"
[target]
kind = "mixture"
means = [[-1.5, 0.0], [1.5, 0.0]]
stds = 0.5
n = 40
[initial]
kind = "gaussian"
n = 16
std = 0.5
[kernel]
kind = "gaussian"
bandwidth = 1.0
[flow]
kind = "svgd"
[solver]
kind = "heun"
dt0 = 0.1
[time]
t1 = 2.0
saves = 5
[diagnostics]
mass = { kind = "mode_mass", radius = 1.0 }
[output]
animation = "gif"
frames = 2
size = [4.0, 2.0]
dpi = 30
"""


def test_svgd_toward_a_mixture_density_from_the_command_line_equals_the_python_api(tmp_path):
    trajectory, rows = _run(tmp_path, SCORE)
    key = jax.random.PRNGKey(2)
    means = jnp.array([[-1.5, 0.0], [1.5, 0.0]])
    mixture = GaussianMixture(means, 0.5)
    target = mixture.sample(jax.random.fold_in(key, 0), 40)
    x0 = 0.5 * jax.random.normal(jax.random.fold_in(key, 1), (16, 2))
    flow = flows.particle.SVGDFlow(mixture, flows.kernels.GaussianKernel(1.0))
    mass = flows.diagnostics.ModeMass(means, 1.0)  # the mixture's centres, known to the CLI's target
    expected = flows.simulate(
        flow, x0, t1=2.0, ts=np.linspace(0, 2, 5), solver=diffrax.Heun(), dt0=0.1, stepsize_controller=diffrax.ConstantStepSize(), key=jax.random.fold_in(key, 2),
        diagnostics={**flow.diagnostics(), "mass": mass},
    )
    np.testing.assert_allclose(trajectory.ys, expected.ys, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(trajectory.diagnostics["mass"], expected.diagnostics["mass"], rtol=0, atol=1e-15)
    for name in flow.diagnostics():
        np.testing.assert_allclose(_column(rows, name), expected.diagnostics[name], rtol=1e-10, atol=1e-14)
    assert np.asarray(GaussianMixture(means, 0.5).sample(jax.random.fold_in(key, 0), 40) == target).all()
    assert (tmp_path / "out" / "animation.gif").stat().st_size > 0


PARAMETRIC = """
seed = 4
dtype = "float64"
[target]
kind = "ring"
modes = 4
radius = 2.0
std = 0.2
n = 40
[initial]
kind = "mixture_means"
means = 4
scale = 0.2
[kernel]
kind = "gaussian"
bandwidth = 1.0
[flow]
kind = "parametric_mmd"
latents = 32
fresh_latents = 16
[solver]
kind = "mmd_gan"
critic = { kind = "random_features", num_features = 16, bandwidth = 1.0 }
generator_optimizer = { kind = "sgd", learning_rate = 0.05 }
critic_optimizer = { kind = "sgd", learning_rate = 0.05 }
n_critic = 2
[time]
t1 = 6.0
saves = 4
[diagnostics]
ed = { kind = "energy_distance" }
coverage = { kind = "mode_coverage", radius = 1.0 }
[output]
animation = "gif"
frames = 2
size = [4.0, 2.0]
dpi = 30
"""


def test_mmd_gan_on_a_mixture_generator_from_the_command_line_equals_the_python_api(tmp_path):
    trajectory, rows = _run(tmp_path, PARAMETRIC)
    key = jax.random.PRNGKey(4)
    ring = GaussianMixture.ring(4, 2.0, 0.2)
    target = ring.sample(jax.random.fold_in(key, 0), 40)
    generator = flows.parametric.GaussianMixtureGenerator(jax.random.normal(jax.random.fold_in(key, 1), (4, 2)), 0.2)
    latents = jax.random.normal(jax.random.fold_in(key, 4), (32, 3))
    flow = flows.parametric.ParametricMMDFlow(generator, target, flows.kernels.GaussianKernel(1.0), latents=latents, fresh_latents=16)
    critic = flows.games.RandomFeatureCritic(2, 16, 1.0, key=jax.random.fold_in(key, 5), dtype=jnp.float64)
    solver = flows.games.MMDGAN(critic, optax.sgd(0.05), optax.sgd(0.05), n_critic=2)
    expected = flows.simulate(flow, generator, t1=6.0, ts=np.array([0.0, 2.0, 4.0, 6.0]), solver=solver, key=jax.random.fold_in(key, 2))
    np.testing.assert_allclose(trajectory.ys.means, expected.ys.means, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_column(rows, "mmd2"), expected.diagnostics["mmd2"], rtol=1e-12, atol=1e-15)
    # particle diagnostics see the generated samples on the fixed latent batch
    samples = flow.sample_trajectory(expected)
    energy = flows.diagnostics.EnergyDistance(target)
    coverage = flows.diagnostics.ModeCoverage(ring.means, 1.0)
    for i in range(4):
        np.testing.assert_allclose(float(rows[i]["ed"]), energy(0.0, samples.state(i), None), rtol=1e-12)
        assert float(rows[i]["coverage"]) == coverage(0.0, samples.state(i), None)
    assert (tmp_path / "out" / "animation.gif").stat().st_size > 0 and (tmp_path / "out" / "final_state.png").is_file()


def test_an_sde_run_resumed_from_a_checkpoint_equals_the_uninterrupted_run(tmp_path):
    target = jax.random.normal(jax.random.PRNGKey(0), (30, 2)) + 2.0
    x0 = jax.random.normal(jax.random.PRNGKey(1), (25, 2))
    flow = flows.particle.DiffusionMMDFlow(target, flows.kernels.GaussianKernel(1.5), 0.05)
    kw = dict(t1=1.6, ts=jnp.linspace(0.0, 1.6, 9), solver=diffrax.Euler(), dt0=0.1, stepsize_controller=diffrax.ConstantStepSize(), key=jax.random.PRNGKey(3))
    full = flows.simulate(flow, x0, checkpoint=flows.Checkpoint(tmp_path / "a", every=3, keep=True), **kw)
    chunks = sorted((tmp_path / "a").glob("chunk_*.npz"))
    assert len(chunks) == 2
    chunks[1].unlink()  # as if killed while chunk 1 was being integrated
    resumed = flows.simulate(flow, x0, checkpoint=flows.Checkpoint(tmp_path / "a", every=3, resume=True), **kw)
    np.testing.assert_array_equal(full.ts, resumed.ts)
    np.testing.assert_array_equal(full.ys, resumed.ys)
    for name in full.diagnostics:
        np.testing.assert_array_equal(full.diagnostics[name], resumed.diagnostics[name])
    assert full.stats == resumed.stats
    # the noise is really there: another key (same chunks, same compiled solve) ends elsewhere
    other = flows.simulate(flow, x0, checkpoint=flows.Checkpoint(tmp_path / "b", every=3), **{**kw, "key": jax.random.PRNGKey(4)})
    assert np.abs(other.ys[-1] - full.ys[-1]).max() > 0.05
