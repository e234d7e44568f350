"""Diagnostic groups: the recorder calls a group once for all of its members in a run's mapping,
asks it for exactly the quantities recorded, keeps plain diagnostics as they are, and `simulate`
records through it in both engines."""

from typing import ClassVar

import diffrax
import jax.numpy as jnp
import numpy as np
import pytest

import flows
from flows.core import AbstractDiagnosticGroup
from flows.core.diagnostic_groups import DiagnosticRecorder

CALLS: list[tuple[str, ...]] = []


class Moments(AbstractDiagnosticGroup):
    """The state's mean and mean square, noting (at trace time) which quantities it was asked for."""

    quantities: ClassVar[tuple[str, ...]] = ("mean", "square")
    scale: float = 1.0

    def __call__(self, t, y, args, names):
        CALLS.append(names)
        recorded = {"mean": self.scale * jnp.mean(y), "square": self.scale * jnp.mean(y**2)}
        return {name: recorded[name] for name in names}


Y = jnp.arange(6.0).reshape(3, 2)


def test_members_of_one_group_share_one_call_and_keep_their_values():
    group = Moments()
    diagnostics = {"m": group.member("mean"), "plain": lambda t, y, args: jnp.max(y), "s": group.member("square"),
                   "m_again": group.member("mean")}
    CALLS.clear()
    recorded = DiagnosticRecorder.of(diagnostics)(0.0, Y, None)
    assert CALLS == [("mean", "square")]  # one call, each quantity asked for once
    assert recorded.keys() == diagnostics.keys()
    assert float(recorded["m"]) == float(recorded["m_again"]) == 2.5
    assert float(recorded["s"]) == pytest.approx(np.mean(np.arange(6.0) ** 2), rel=1e-15)
    assert float(recorded["plain"]) == 5.0
    CALLS.clear()
    assert float(diagnostics["s"](0.0, Y, None)) == float(recorded["s"])  # a member alone computes only itself
    assert CALLS == [("square",)]


def test_distinct_group_objects_are_called_separately():
    a, b = Moments(), Moments(scale=2.0)
    CALLS.clear()
    recorded = DiagnosticRecorder.of({"a": a.member("mean"), "b": b.member("mean")})(0.0, Y, None)
    assert CALLS == [("mean",), ("mean",)]
    assert (float(recorded["a"]), float(recorded["b"])) == (2.5, 5.0)


def test_unknown_quantity_is_refused_with_the_group_s_quantities():
    with pytest.raises(ValueError, match=r"`name` must be one of \('mean', 'square'\) for Moments, got 'median'"):
        Moments().member("median")


@pytest.mark.parametrize("solver", [flows.GradientDescent(step=0.1), diffrax.Euler()], ids=["discrete", "diffrax"])
def test_simulate_records_group_members_under_their_names(solver):
    """Both engines record a group's members (renamed keys included) beside plain diagnostics,
    equal to the members evaluated on the saved states."""
    flow = flows.particle.MMDFlow(Y + 1.0, flows.kernels.GaussianKernel(1.0))
    group = Moments()
    diagnostics = {"centre": group.member("mean"), "spread": group.member("square"), "energy": flow.energy_at}
    dt0 = None if isinstance(solver, flows.GradientDescent) else 0.1
    trajectory = flows.simulate(flow, Y, t1=0.3, solver=solver, dt0=dt0, diagnostics=diagnostics)
    assert sorted(trajectory.diagnostics) == ["centre", "energy", "spread"]
    for name, fn in diagnostics.items():
        expected = [float(fn(t, y, None)) for t, y in zip(trajectory.ts, trajectory.ys)]
        np.testing.assert_allclose(trajectory.diagnostics[name], expected, rtol=1e-6, err_msg=name)
