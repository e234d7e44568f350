"""`simulate` refuses a flow, state, solver and step that do not go together before anything is
traced, with a `ValueError` naming the argument and what to pass (diffrax and the compiled loop
would otherwise fail deep inside with messages that do not say); the bar's label is the caller's."""

import importlib

import diffrax
import jax
import jax.numpy as jnp
import optax
import pytest

import flows

simulate_module = importlib.import_module("flows.core.simulate")  # the module (flows.core.simulate is the function)

TARGET = jax.random.normal(jax.random.PRNGKey(0), (20, 2)) + 1.0
X0 = jax.random.normal(jax.random.PRNGKey(1), (15, 2))
KERNEL = flows.kernels.GaussianKernel(1.0)
MMD = flows.particle.MMDFlow(TARGET, KERNEL)
DIFFUSION = flows.particle.DiffusionMMDFlow(TARGET, KERNEL, 0.01)
LANGEVIN = flows.particle.LangevinFlow(flows.targets.Gaussian(jnp.ones(2), 0.25 * jnp.eye(2)))
KEY = jax.random.PRNGKey(2)

CASES = {
    "Euler without dt0": (MMD, X0, dict(solver=diffrax.Euler()),
                          r"`dt0` is required: diffrax.Euler has no error estimate, so it takes a fixed step; "
                          r"pass dt0=\.\.\. \(e.g. dt0=0.01: 100 steps\)"),
    "Euler with a PID controller": (MMD, X0, dict(solver=diffrax.Euler(), dt0=0.1,
                                                  stepsize_controller=diffrax.PIDController(rtol=1e-3, atol=1e-6)),
                                    r"`stepsize_controller`: diffrax.Euler has no error estimate .* leave "
                                    r"stepsize_controller out"),
    "SDE with the default Tsit5": (DIFFUSION, X0, dict(key=KEY),
                                   r"`solver`: the diffusion MMD flow is an SDE and diffrax.Tsit5 solves ODEs only; "
                                   r"pass a diffrax SDE solver with a fixed step, e.g. solver=diffrax.Euler\(\), dt0="),
    "SDE with Dopri5": (LANGEVIN, X0, dict(key=KEY, solver=diffrax.Dopri5()),
                        r"`solver`: Langevin dynamics is an SDE and diffrax.Dopri5 solves ODEs only; .* dt0=0.01"),
    "SDE with gradient descent": (LANGEVIN, X0, dict(key=KEY, solver=flows.GradientDescent(0.1)),
                                  r"`solver`: Langevin dynamics is an SDE and GradientDescent is discrete"),
    "integer particles under GD": (MMD, jnp.zeros((15, 2), int), dict(solver=flows.GradientDescent(0.5)),
                                   r"`y0` must be floating point for GradientDescent, which updates it in place .* "
                                   r"got int\d+: pass y0.astype\(jnp.float32\)"),
    "integer particles under Adam": (MMD, jnp.zeros((15, 2), int), dict(solver=optax.adam(0.1)),
                                     r"`y0` must be floating point for GradientDescent"),
    "an empty label": (MMD, X0, dict(progress=""), r"`progress` must be True, False or the bar's label"),
}


@pytest.mark.parametrize("flow, y0, kwargs, message", CASES.values(), ids=CASES)
def test_a_mismatch_is_refused_before_anything_is_traced(monkeypatch, flow, y0, kwargs, message):
    def never(*args, **kw):
        raise AssertionError("an engine ran")

    monkeypatch.setattr(simulate_module, "run_ode", never)
    monkeypatch.setattr(simulate_module, "run_discrete", never)
    with pytest.raises(ValueError, match=message):
        flows.simulate(flow, y0, t1=1.0, **kwargs)


@pytest.mark.parametrize("solver", [diffrax.Euler(), diffrax.Heun(), diffrax.ShARK()], ids=lambda s: type(s).__name__)
def test_sde_solvers_pass_the_check(solver):
    simulate_module.check_solver_fits(DIFFUSION, X0, solver, 0.0, 1.0, 0.1, None, True)
    assert simulate_module.solves_sdes(solver) and not simulate_module.solves_sdes(diffrax.Tsit5())


def test_the_bar_carries_the_callers_label(capsys):
    flows.simulate(MMD, X0, t1=1.0, solver=optax.adam(0.1), diagnostics={}, progress="adam, lr 0.1")
    err = capsys.readouterr().err
    assert "adam, lr 0.1: 100%" in err and "GradientDescent" not in err
    flows.simulate(MMD, X0, t1=1.0, solver=optax.adam(0.1), diagnostics={}, progress=True)
    assert "GradientDescent: 100%" in capsys.readouterr().err  # the default: the solver's class
