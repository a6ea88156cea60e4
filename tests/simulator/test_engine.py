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
    (same structure key: nothing is rewritten in its folder) and still matches the runtime engine."""
    from simulator import standalone
    from simulator.assembly import structure_for as _structure
    cfg = small_config()
    cal = calibrate(cfg)
    simulate(cfg.replace(engine="standalone"), calibration=cal)
    folder = standalone.build_dir(_structure(cfg, cfg.task.duration_s))
    stamps = {p: p.stat().st_mtime_ns for p in (folder / "main", folder / standalone.MANIFEST)}
    other = cfg.replace(seed=5, neuromodulation=cfg.neuromodulation.replace(level=0.5))
    s = simulate(other.replace(engine="standalone"), calibration=cal)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps
    r = simulate(other.replace(engine="runtime"), calibration=cal)
    _same(r, s)


def test_unknown_engine_rejected():
    from simulator.config import ConfigError
    with pytest.raises(ConfigError, match="engine"):
        small_config().replace(engine="gpu")


@pytest.mark.standalone
def test_standalone_leaves_no_results_in_the_build():
    """Runs write their inputs and results to a temporary folder, never into the shared build."""
    from simulator import standalone
    from simulator.assembly import structure_for as _structure
    cfg = small_config(n_units=5, plateau_s=0.5, rise_s=0.3, fall_s=0.3)
    folder = standalone.build_dir(_structure(cfg, cfg.task.duration_s))
    simulate(cfg.replace(engine="standalone"), calibration=calibrate(cfg))
    before = sorted(p.name for p in folder.rglob("*"))
    simulate(cfg.replace(engine="standalone", seed=3), calibration=calibrate(cfg))
    assert sorted(p.name for p in folder.rglob("*")) == before
    assert not list(folder.glob("results_*"))
