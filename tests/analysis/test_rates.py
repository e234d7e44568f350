"""`fit_rate` recovers known exponential and power-law rates; bad requests are refused."""


import jax
import numpy as np
import pytest

import flows


def test_rate_fit_recovers_known_rates():
    ts = np.linspace(0.0, 10.0, 101)
    exact = flows.analysis.fit_rate(ts=ts, values=3.0 * np.exp(-0.7 * ts), model="exponential")
    assert exact.rate == pytest.approx(0.7, rel=1e-12) and exact.prefactor == pytest.approx(3.0, rel=1e-12)
    assert exact.r_squared == pytest.approx(1.0, abs=1e-12)
    # 5 % multiplicative noise from a fixed key: the rate within 2 %, and auto picks the right model
    noise = np.exp(0.05 * np.asarray(jax.random.normal(jax.random.PRNGKey(0), ts.shape)))
    noisy = flows.analysis.fit_rate(ts=ts, values=3.0 * np.exp(-0.7 * ts) * noise)
    assert noisy.model == "exponential" and noisy.rate == pytest.approx(0.7, rel=2e-2) and noisy.r_squared > 0.99
    power = flows.analysis.fit_rate(ts=ts[1:], values=2.0 * ts[1:] ** (-1.5) * noise[1:], t_min=0.5)
    assert power.model == "power" and power.rate == pytest.approx(1.5, rel=2e-2)
    assert power.t_range[0] >= 0.5
    np.testing.assert_allclose(power.predict([1.0, 2.0]), 2.0 * np.array([1.0, 2.0]) ** -1.5, rtol=5e-2)



def test_rate_fit_on_a_trajectory_and_bad_requests():
    traj = flows.Trajectory(ts=np.arange(5.0), ys=np.zeros((5, 1, 1)), diagnostics={"mmd2": np.exp(-2.0 * np.arange(5.0))})
    assert flows.analysis.fit_rate(traj, model="exponential").rate == pytest.approx(2.0, rel=1e-12)
    with pytest.raises(ValueError, match="`model` must be one of"):
        flows.analysis.fit_rate(traj, model="linear")
    with pytest.raises(ValueError, match="`diagnostic` 'w2' is not in the trajectory"):
        flows.analysis.fit_rate(traj, "w2")
    with pytest.raises(ValueError, match="at least 3 positive finite values"):
        flows.analysis.fit_rate(ts=[0.0, 1.0], values=[1.0, 0.5])
