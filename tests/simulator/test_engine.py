"""Reproducibility: same config and seed give the same spikes, on both engines."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.simulation import calibrate, simulate
from tests.conftest import small_config


def _same(a, b):
    np.testing.assert_array_equal(a.spike_unit.values, b.spike_unit.values)
    np.testing.assert_allclose(a.spike_time.values, b.spike_time.values, rtol=0, atol=1e-9)
    np.testing.assert_allclose(a.force.values, b.force.values, rtol=1e-9, atol=1e-9)


def test_same_seed_same_spikes_runtime(small_trapezoid):
    cfg = small_config()
    again = simulate(cfg)
    _same(small_trapezoid, again)


def test_different_seed_different_spikes(small_trapezoid):
    other = simulate(small_config().replace(seed=1))
    assert other.sizes["spike"] != small_trapezoid.sizes["spike"] or not np.array_equal(
        other.spike_time.values, small_trapezoid.spike_time.values)


@pytest.mark.standalone
def test_runtime_and_standalone_give_the_same_spikes(small_trapezoid):
    cfg = small_config()
    cal = calibrate(cfg)
    standalone = simulate(cfg.replace(engine="standalone"), calibration=cal)
    _same(small_trapezoid, standalone)
    assert standalone.attrs["engine"] == "standalone"


@pytest.mark.standalone
def test_standalone_rerun_with_new_values_reuses_the_build():
    """A second run with other parameter values (seed, PIC level) reuses the compiled binary
    (same structure key) and still matches the runtime engine."""
    from simulator import engine
    cfg = small_config().replace(seed=5)
    cfg = cfg.replace(neuromodulation=cfg.neuromodulation.replace(level=0.5))
    cal = calibrate(cfg)
    key_before = engine._STANDALONE["key"]
    s = simulate(cfg.replace(engine="standalone"), calibration=cal)
    assert engine._STANDALONE["key"] == key_before or key_before is None
    r = simulate(cfg, calibration=cal)
    _same(r, s)


def test_unknown_engine_rejected():
    from simulator.config import ConfigError
    with pytest.raises(ConfigError, match="engine"):
        small_config().replace(engine="gpu")


@pytest.mark.standalone
def test_standalone_leaves_no_results_folders():
    from simulator import engine
    cfg = small_config(n_units=5, plateau_s=0.5, rise_s=0.3, fall_s=0.3)
    simulate(cfg.replace(engine="standalone"), calibration=calibrate(cfg))
    build_dir = engine._STANDALONE["dir"]
    assert not list(build_dir.glob("results_*"))
