"""The command line is the Python API: every public flow, kernel, target and solver is reachable
from a config, every config key's default is its constructor's own (read by introspection, so a
default restated by hand that drifts fails here), and the config-only conveniences give what the
Python API gives for the same values."""

import copy
import inspect
import re
from pathlib import Path

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import flows
from flows import games, kernels, parametric, particle, targets
from flows.cli import config, entries, main
from flows.cli.registry import REQUIRED, ConfigError, Registry, owner
from flows.core.flow import AbstractFlow
from flows.core.simulate import simulate
from flows.core.time_grid import DEFAULT_SAVES

EMPTY = inspect.Parameter.empty
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _concrete(namespace, base, names=None) -> set[type]:
    names = namespace.__all__ if names is None else names
    found = [getattr(namespace, n) for n in names]
    return {
        c
        for c in found
        if inspect.isclass(c)
        and issubclass(c, base)
        and not inspect.isabstract(c)
        and not c.__name__.startswith("Abstract")
    }


def _made_by(registry) -> set[type]:
    return {owner(entry.call.make) for entry in registry}


def test_every_public_flow_kernel_target_and_solver_has_an_entry():
    public_flows = _concrete(particle, AbstractFlow) | {parametric.ParametricMMDFlow, parametric.PKGF}
    assert len(public_flows) == 11
    assert public_flows <= _made_by(entries.FLOWS)
    public_kernels = _concrete(kernels, kernels.AbstractKernel)
    assert {kernels.GaussianKernel, kernels.SumKernel, kernels.NetworkKernel} <= public_kernels
    assert public_kernels <= _made_by(entries.KERNELS)
    public_targets = _concrete(targets, targets.AbstractTarget, names=dir(targets))
    assert {targets.Gaussian, targets.GaussianMixture, targets.Spiral} <= public_targets
    assert public_targets <= _made_by(entries.TARGETS)
    public_solvers = _concrete(games, games.AbstractAdversarialGame) | {flows.GradientDescent}
    assert len(public_solvers) == 6  # GD, the MMD, parameter-penalty MMD, WGAN-GP, JS and f-GAN games
    assert public_solvers <= _made_by(entries.SOLVERS)


def _callables(entry):
    calls = [entry.call, *entry.also]
    return [c.make for call in calls for c in (call, *call.parts.values())]


@pytest.mark.parametrize("section", list(entries.ALL))
def test_every_config_default_is_the_python_default(section):
    """Each key's default is its callable's (None only where the run supplies a parameter Python
    requires); a config-only key belongs to a converter and shadows no parameter; a builder
    written in the command line states no defaults; `resolve` fills in exactly these."""
    registry = entries.ALL[section]
    for entry in registry:
        parameters = {name for make in _callables(entry) for name in inspect.signature(make).parameters}
        table = {"kind": entry.name}
        registry.fill_defaults(table)
        for name, key in entry.keys().items():
            where = f"{section}: {entry.name}.{name}"
            if key.source is None:
                assert key.reader is not None and name not in parameters, where
                assert key.default == key.reader.keys[name], where
            else:
                assert inspect.isclass(key.source) or inspect.isroutine(key.source), where
                python = inspect.signature(key.source).parameters[name].default
                if python is EMPTY and key.converter is not None and key.converter.unset:
                    assert key.default is None, where
                else:
                    assert key.default is python or (python is not EMPTY and key.default == python), where
                if key.source.__module__.startswith("flows.cli"):
                    assert key.default is REQUIRED, f"{where}: a default written in the command line"
            if key.default is REQUIRED:
                assert name not in table, where
            else:
                assert table[name] == (list(key.default) if isinstance(key.default, tuple) else key.default), where


def test_what_the_run_supplies_is_never_a_config_key():
    supplied = {"target", "kernel", "generator", "flow", "key", "dim", "dtype", "mean", "cov", "self"}
    for section, registry in entries.ALL.items():
        for entry in registry:
            exposed = set(entry.keys()) & supplied
            if section == "diagnostics":
                exposed -= {"kernel"}  # a diagnostic may name its own kernel table (default: the run's)
            if section in ("targets", "initial"):
                exposed -= {"mean"}  # a Gaussian's own mean
            assert not exposed, f"{section}: {entry.name} exposes {exposed}"


def test_the_section_defaults_are_simulates():
    assert config.DEFAULTS["time"] == {
        "t0": inspect.signature(simulate).parameters["t0"].default,
        "saves": DEFAULT_SAVES,
    }


def test_a_new_constructor_parameter_is_a_config_key_at_once():
    """A parameter with a plain default becomes a key with that default; one whose default is no
    config value (PIDController's `norm`, a function) is left to Python."""
    registry = Registry("thing", "for this test")

    def make(target, epsilon: float, backend: str = "auto", norm=np.linalg.norm):
        return target, epsilon, backend, norm

    entry = registry.add("thing", make, "a thing", context={"target": entries.TARGET_SAMPLES})
    assert {name: key.default for name, key in entry.keys().items()} == {"epsilon": REQUIRED, "backend": "auto"}
    assert entry.signature_text() == "thing(epsilon, backend='auto')"
    assert "norm" not in entries.CONTROLLERS.entry("pid", "").keys()


BASE = {
    "seed": 3,
    "dtype": "float64",
    "target": {"kind": "gaussian", "mean": [1.0, 0.5], "std": 0.5, "n": 24},
    "initial": {"kind": "gaussian", "n": 12},
    "kernel": {"kind": "gaussian", "bandwidth": 1.0},
    "time": {"t1": 1.0, "saves": 2},
}
KEY = jax.random.PRNGKey(3)


def _build(**sections):
    return config.build({**copy.deepcopy(BASE), **sections})


def _target_samples():
    return targets.Gaussian(jnp.array([1.0, 0.5]), 0.25 * jnp.eye(2)).sample(jax.random.fold_in(KEY, 0), 24)


TARGET_CASES = {
    "gaussian": (
        {"mean": [1.0, 0.0], "covariance": [[1.0, 0.3], [0.3, 0.5]]},
        lambda: targets.Gaussian(jnp.array([1.0, 0.0]), jnp.array([[1.0, 0.3], [0.3, 0.5]])),
    ),
    "low_rank_gaussian": (
        {"mean": [0.0, 1.0], "factor": [[1.0], [0.5]]},
        lambda: targets.Gaussian(jnp.array([0.0, 1.0]), factor=jnp.array([[1.0], [0.5]])),
    ),
    "mixture": (
        {"means": [[-1.0, 0.0], [1.0, 0.0]], "stds": [0.2, 0.4], "weights": [1.0, 3.0]},
        lambda: targets.GaussianMixture(
            jnp.array([[-1.0, 0.0], [1.0, 0.0]]), jnp.array([0.2, 0.4]), jnp.array([1.0, 3.0])
        ),
    ),
    "ring": ({"modes": 4}, lambda: targets.GaussianMixture.ring(4)),
    "symmetric_mixture": ({"theta": [2.0, 0.0]}, lambda: targets.GaussianMixture.symmetric(jnp.array([2.0, 0.0]))),
    "two_moons": ({}, targets.TwoMoons),
    "rings": ({"radii": [1.0, 2.5]}, lambda: targets.Rings((1.0, 2.5))),
    "checkerboard": ({"size": 2}, lambda: targets.Checkerboard(2)),
    "spiral": ({"noise": 0.1}, lambda: targets.Spiral(noise=0.1)),
}


@pytest.mark.parametrize("kind", sorted(TARGET_CASES))
def test_each_target_from_a_config_is_the_python_target_sampled_with_key_0(kind):
    keys, make = TARGET_CASES[kind]
    run = _build(target={"kind": kind, "n": 24, **keys})
    expected = make()
    np.testing.assert_array_equal(run.context.target_samples, expected.sample(jax.random.fold_in(KEY, 0), 24))
    assert type(run.context.target.source) is type(expected)


def test_every_target_has_a_case():
    assert set(TARGET_CASES) | {"npy"} == set(entries.TARGETS.names())


def _gram(kernel, x):
    return np.asarray(kernels.kernel_matrix(kernel, x, x))


def test_each_kernel_from_a_config_is_the_python_kernel():
    """Gram matrices on the target samples (float64) equal the Python kernel's to rounding."""
    x = _target_samples()
    median = kernels.median_bandwidth(x)
    cases = {
        "gaussian": ({"bandwidth": "median"}, kernels.GaussianKernel(median)),
        "laplace": ({"bandwidth": 0.7}, kernels.LaplaceKernel(0.7)),
        "imq": ({}, kernels.IMQKernel()),
        "matern": ({"bandwidth": 0.7, "smoothness": 2.5}, kernels.MaternKernel(0.7, 2.5)),
        "energy": ({"exponent": 1.5}, kernels.EnergyKernel(1.5)),
        "gaussian_sum": ({"bandwidths": "multiscale"}, flows.diagnostics.MMD2.multiscale(x).kernel),
        "sum": (
            {"kernels": [{"kind": "gaussian", "bandwidth": 1.0}, {"kind": "imq", "scale": 2.0}], "weights": [1.0, 3.0]},
            kernels.SumKernel([kernels.GaussianKernel(1.0), kernels.IMQKernel(2.0)], [1.0, 3.0]),
        ),
        "network": (
            {"inputs": [[0.5], [-1.0], [2.0]], "hidden": 1},
            kernels.NetworkKernel(jnp.array([[0.5], [-1.0], [2.0]]), hidden=1),
        ),
    }
    assert set(cases) == set(entries.KERNELS.names())
    for kind, (keys, expected) in cases.items():
        run = _build(kernel={"kind": kind, **keys})
        assert type(run.context.kernel) is type(expected), kind
        np.testing.assert_allclose(
            _gram(run.context.kernel, x), _gram(expected, x), rtol=1e-14, atol=1e-14, err_msg=kind
        )


def test_initial_gaussian_defaults_to_the_origin_and_std_means_std_squared_identity():
    run = _build(initial={"kind": "gaussian", "n": 12, "std": 0.5})
    expected = 0.5 * jax.random.normal(jax.random.fold_in(KEY, 1), (12, 2))
    np.testing.assert_allclose(run.y0, expected, rtol=1e-15, atol=0)
    assert run.config["initial"] == {"kind": "gaussian", "n": 12, "std": 0.5, "mean": None, "covariance": None}


def test_a_noise_schedule_a_backend_and_a_controller_table_are_the_python_objects():
    run = _build(
        flow={"kind": "noisy_mmd", "noise": {"kind": "piecewise", "values": [1.0, 0.1], "boundaries": [2.0]}},
        solver={"kind": "gd", "step": 0.5},
    )
    assert isinstance(run.flow.noise, particle.PiecewiseConstantSchedule)
    np.testing.assert_array_equal([run.flow.noise(t) for t in (0.0, 3.0)], [1.0, 0.1])
    run = _build(flow={"kind": "mmd", "backend": {"kind": "blocked", "row_block": 8}})
    assert run.config["flow"]["backend"] == {"kind": "blocked", "row_block": 8, "col_block": None}
    assert flows.kernels.resolve_backend(run.flow.backend) == kernels.BlockedSums(row_block=8)
    run = _build(solver={"kind": "dopri5", "stepsize_controller": {"kind": "pid", "rtol": 1e-7, "atol": 1e-9}})
    controller = run.simulate_kwargs["stepsize_controller"]
    assert isinstance(controller, diffrax.PIDController) and (controller.rtol, controller.atol) == (1e-7, 1e-9)
    assert controller.safety == inspect.signature(diffrax.PIDController).parameters["safety"].default


PARAMETRIC = {
    "target": {"kind": "ring", "modes": 4, "radius": 2.0, "std": 0.2, "n": 24},
    "initial": {"kind": "mixture_means", "means": 4, "scale": 0.2},
    "flow": {"kind": "parametric_mmd", "latents": 16},
    "time": {"t1": 2.0, "saves": 3},
}


@pytest.mark.parametrize("kind", ["mmd_gan", "parameter_penalty_mmd_gan", "wgan_gp", "js_gan", "f_gan"])
def test_each_game_runs_from_a_config_as_from_python(kind, tmp_path):
    """A game with an MLP critic (key fold_in(key, 5)) and Adam: its class defaults, and two
    iterations equal to the Python API's to rounding."""
    critic = {"kind": "mlp", "width": 8, "depth": 1}
    optimizer = {"kind": "adam", "learning_rate": 1e-2}
    run = _build(
        **copy.deepcopy(PARAMETRIC),
        solver={"kind": kind, "critic": critic, "generator_optimizer": optimizer, "critic_optimizer": optimizer},
    )
    solver = run.simulate_kwargs["solver"]
    cls = owner(entries.SOLVERS.entry(kind, "").call.make)
    assert type(solver) is cls and solver.n_critic == inspect.signature(cls).parameters["n_critic"].default
    trajectory = flows.simulate(run.flow, run.y0, **{**run.simulate_kwargs, "diagnostics": {}})

    ring = targets.GaussianMixture.ring(4, 2.0, 0.2)
    samples = ring.sample(jax.random.fold_in(KEY, 0), 24)
    generator = parametric.GaussianMixtureGenerator(jax.random.normal(jax.random.fold_in(KEY, 1), (4, 2)), 0.2)
    latents = jax.random.normal(jax.random.fold_in(KEY, 4), (16, generator.latent_dim))
    flow = parametric.ParametricMMDFlow(generator, samples, kernels.GaussianKernel(1.0), latents=latents)
    python_critic = games.MLPCritic(2, width=8, depth=1, key=jax.random.fold_in(KEY, 5), dtype=jnp.float64)
    python_solver = cls(python_critic, optax.adam(1e-2), optax.adam(1e-2))
    expected = flows.simulate(
        flow,
        generator,
        t1=2.0,
        ts=np.array([0.0, 1.0, 2.0]),
        solver=python_solver,
        key=jax.random.fold_in(KEY, 2),
        diagnostics={},
    )
    np.testing.assert_allclose(trajectory.ys.means, expected.ys.means, rtol=1e-12, atol=1e-12)
    assert np.abs(trajectory.ys.means[-1] - trajectory.ys.means[0]).max() > 0  # the generator moved


def test_population_mode_passes_the_exact_gaussian():
    run = _build(
        target={"kind": "gaussian", "mean": [1.0, 0.5], "covariance": [[1.0, 0.2], [0.2, 0.5]], "n": 24},
        initial={"kind": "affine", "matrix": [[1.0, 0.0], [0.0, 1.0]], "offset": [0.0, 0.0]},
        flow={"kind": "pkgf", "population": True, "solve": "dense"},
    )
    assert isinstance(run.flow.target, targets.Gaussian)
    np.testing.assert_array_equal(run.flow.target.covariance, [[1.0, 0.2], [0.2, 0.5]])


@pytest.mark.parametrize(
    "sections, message",
    [
        (
            {"flow": {"kind": "sinkhorn", "epsilon": 0.1, "max_iterations": True}},
            r"`flow.max_iterations` must not be true or false"),
        ({"flow": {"kind": "noisy_mmd", "noise": True}}, r"`flow.noise` must not be true or false"),
        ({"kernel": {"kind": "gaussian", "bandwidth": False}}, r"`kernel.bandwidth` must not be true or false",
        ),
        (
            {"flow": {"kind": "sliced_wasserstein", "n_projections": 8, "resample": 1}},
            r"`flow.resample` must be True or False, got 1",
        ),
        (
            {"flow": {"kind": "sinkhorn"}},
            r"`flow.epsilon` is required for flow 'sinkhorn' \(sinkhorn\(epsilon, threshold=1e-06",
        ),
        ({"flow": {"kind": "svgd"}, "target": {"kind": "two_moons", "n": 10}}, r"`flow` needs the target's score"),
        (
            {
                "flow": {"kind": "pkgf", "population": True},
                "target": {"kind": "ring", "n": 10},
                "initial": {"kind": "mixture_means", "means": 2, "scale": 0.1},
            },
            r"`flow.population` needs a Gaussian target",
        ),
        (
            {"flow": {"kind": "parametric_mmd"}, "initial": {"kind": "mixture_means", "means": 2, "scale": 0.1}},
            r"`flow` \(flow 'parametric_mmd'\) is invalid: `latents` \(a fixed latent batch, shape \(m, k\)\) is required",
        ),
        (
            {"flow": {"kind": "noisy_mmd", "noise": {"kind": "step_decay"}}},
            r"`flow.noise.initial` is required for noise schedule 'step_decay'",
        ),
        (
            {
                "solver": {
                    "kind": "mmd_gan",
                    "critic": "mlp",
                    "generator_optimizer": {"kind": "sgd", "learning_rate": 0.1},
                    "critic_optimizer": {"kind": "sgd", "learning_rate": 0.1},
                }
            },
            r"`solver.critic` must be a critic table \{kind = ..., ...\}, got 'mlp'",
        ),
        (
            {"kernel": {"kind": "sum", "kernels": [{"kind": "gaussian"}]}},
            r"`kernel.kernels\[0\].bandwidth` is required for kernel 'gaussian'",
        ),
        ({"diagnostics": {"m": {"kind": "mode_mass"}}}, r"`diagnostics.m.centres` is needed \(the mode centres\)"),
        (
            {"diagnostics": {"w": {"kind": "gaussian_w2"}}, "target": {"kind": "spiral", "n": 10}},
            r"`diagnostics.w` needs a Gaussian target",
        ),
    ],
)
def test_bad_keys_are_named_before_anything_runs(sections, message):
    with pytest.raises(ConfigError, match=message):
        _build(**sections)


def test_a_diagnostic_may_name_its_own_kernel_table():
    run = _build(
        diagnostics={
            "wide": {"kind": "mmd2", "kernel": {"kind": "gaussian", "bandwidth": 3.0}},
            "own": {"kind": "mmd2"},
        }
    )
    assert run.config["diagnostics"]["own"] == {"kind": "mmd2", "kernel": None, "unbiased": False, "backend": "auto"}
    diagnostics = run.simulate_kwargs["diagnostics"]
    x = run.y0
    wide = flows.diagnostics.MMD2(run.context.target_samples, kernels.GaussianKernel(3.0))
    own = flows.diagnostics.MMD2(run.context.target_samples, kernels.GaussianKernel(1.0))
    np.testing.assert_allclose(diagnostics["wide"](0.0, x, None), wide(0.0, x, None), rtol=1e-14)
    np.testing.assert_allclose(diagnostics["own"](0.0, x, None), own(0.0, x, None), rtol=1e-14)
    assert not np.isclose(float(wide(0.0, x, None)), float(own(0.0, x, None)))


def test_list_prints_one_section(capsys):
    assert main(["list", "controllers"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("controllers: ") and "  pid(rtol, atol, pcoeff=0, " in text and "targets:" not in text


@pytest.mark.parametrize("text", [README, config.__doc__], ids=["README", "config docstring"])
def test_the_documented_config_builds(text, tmp_path):
    (block,) = re.findall(r"```toml\n(.*?)```", text, flags=re.DOTALL)
    (tmp_path / "documented.toml").write_text(block)
    run = config.build({**config.load(tmp_path / "documented.toml"), "dtype": "float64"})
    controller = run.simulate_kwargs["stepsize_controller"]
    assert isinstance(run.flow, particle.MMDFlow) and (controller.rtol, controller.atol) == (1e-4, 1e-6)


def test_the_readme_flow_table_names_each_flows_class():
    rows = [line.split("|") for line in README.splitlines() if line.startswith("| `")]
    for entry in entries.FLOWS:
        (row,) = [r for r in rows if f"`{entry.name}`" in r[1]]
        assert f"{owner(entry.call.make).__name__}`" in row[2], entry.name
