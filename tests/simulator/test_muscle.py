"""Twitch and force model (Fuglevand, Winter & Patla 1993)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.models.muscle import R_LINEAR, fusion_gain


def test_gain_is_one_in_linear_range_and_continuous():
    r = np.linspace(0, R_LINEAR, 50)
    assert np.allclose(fusion_gain(r), 1.0)
    assert fusion_gain(R_LINEAR + 1e-9) == pytest.approx(1.0, abs=1e-6)


@settings(max_examples=50, deadline=None)
@given(st.floats(R_LINEAR, 20), st.floats(1e-3, 5))
def test_mean_force_follows_the_sigmoid_and_saturates(r, dr):
    """Mean force per twitch amplitude ~ r * g(r) = (1 - exp(-2 r^3)) / norm: rises with rate,
    never falls, and is bounded (Fuglevand 1993, Fig. 2)."""
    norm = (1 - np.exp(-2 * R_LINEAR**3)) / R_LINEAR
    assert (r + dr) * fusion_gain(r + dr) >= r * fusion_gain(r) - 1e-12
    assert r * fusion_gain(r) == pytest.approx((1 - np.exp(-2 * r**3)) / norm)
    assert r * fusion_gain(r) <= 1.0 / norm + 1e-9


def test_negative_rate_rejected():
    with pytest.raises(ValueError):
        fusion_gain(-0.1)


def test_isolated_twitch_shape_in_brian2():
    """One spike produces P (t/T) exp(1 - t/T): peak P at t = T."""
    from simulator.simulation import Calibration, simulate, unit_table
    from tests.conftest import small_config

    from simulator.inputs.afferent import AfferentConfig
    from simulator.models.interneurons import InterneuronConfig
    cfg = small_config(n_units=3, shape="constant", control="excitation", level=0.0,
                       rest_s=0.0, plateau_s=0.6, rest_after_s=0.0).replace(
        afferent=AfferentConfig(resting_rate_hz=0.0),
        interneurons=InterneuronConfig(reciprocal_inhibition=0.0))
    props = unit_table(cfg)
    n_in = int(round(cfg.task.duration_s / 1e-3)) + 1
    pulse = np.zeros(n_in)
    pulse[50:51] = 1.0  # 1 ms at 50 ms
    amp = np.array([props["rheobase_na"][0] * 20e-9, 0.0, 0.0])
    ds = simulate(cfg, injection=(amp, pulse),
                  calibration=Calibration(1.0, np.array([0.0, 1.0]), np.array([0.0, 1.0])))
    spikes = ds.spike_time.values[ds.spike_unit.values == 0]
    assert spikes.size == 1
    t = ds.time.values - spikes[0]
    T = props["contraction_time_ms"][0] * 1e-3
    P = props["twitch_n"][0]
    expected = np.where(t > 0, P * (t / T) * np.exp(1 - t / T), 0.0)
    assert ds.force.values.max() == pytest.approx(P, rel=0.01)
    assert t[np.argmax(ds.force.values)] == pytest.approx(T, abs=2e-3)
    assert np.max(np.abs(ds.force.values - expected)) < 0.02 * P
