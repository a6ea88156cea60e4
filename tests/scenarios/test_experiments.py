"""Contraction protocols share one signature and report literature-convention outcomes."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.experiments import CONTRACTIONS, EXPERIMENTS, TrapezoidProtocol, TriangleProtocol, run
from simulator import measures as M
from simulator.config import ConfigError
from simulator.models.pool import PoolConfig
from simulator.simulation import SimulationConfig

SUBJECT = SimulationConfig(pool=PoolConfig(n_units=25), calibration_ramp_s=2.0, calibration_hold_s=1.5)


def test_rate_force_gain_of_a_known_train():
    """A unit whose rate rises 0.5 pps per %MVC on a linear force ramp has gain 0.5."""
    t = np.linspace(0, 10, 10001)
    force = 3.0 * t  # %MVC
    spikes, x = [], 1.0
    while x < 10:
        spikes.append(x)
        x += 1.0 / (8 + 0.5 * (3.0 * x - 3.0))
    assert M.rate_force_gain(np.array(spikes), t, force, window_s=0.5) == pytest.approx(0.5, rel=0.05)


SHORT = {"mvc": {"duration_s": 2.5}, "trapezoid": {"rise_s": 1.0, "plateau_s": 1.5, "fall_s": 1.0},
         "triangle": {"ramp_s": 3.0}, "ballistic": {}}


@pytest.mark.parametrize("name", sorted(CONTRACTIONS))
def test_every_protocol_runs_with_one_signature(name):
    ds = run(SUBJECT, EXPERIMENTS[name](**SHORT[name]), seed=1)
    assert ds.attrs["experiment"] == name and ds.attrs["seed"] == 1
    assert ds.sizes["unit"] == 25
    for v in ("mvc_n", "force_mean", "mean_rate", "n_recruited", "median_rate_force_gain"):
        assert v in ds and ds[v].attrs["units"]
    if name == "mvc":
        assert ds.force_mean.item() == pytest.approx(100.0, abs=8.0)
        assert 20.0 <= ds.mean_rate.item() <= 45.0


def test_trapezoid_outcomes_and_reproducibility():
    """Plateau force near target; same seed, same thresholds. Accuracy of force tracking is
    checked in tests/simulator/test_physiology.py with the default calibration; here the 2-s
    calibration ramp (fast) underestimates the sustained force that PICs add once units are
    on, so since the PIC re-fit (issue 12) the plateau overshoots to 22-23 %MVC (21 with the
    default calibration): the tolerance is 3.5 %MVC, was 2.5."""
    a = run(SUBJECT, TrapezoidProtocol(level=20.0, rise_s=1.0, plateau_s=2.0, fall_s=1.0), seed=4)
    b = run(SUBJECT, TrapezoidProtocol(level=20.0, rise_s=1.0, plateau_s=2.0, fall_s=1.0), seed=4)
    assert a.force_mean.item() == pytest.approx(20.0, abs=3.5)
    np.testing.assert_array_equal(a.recruitment_threshold.values, b.recruitment_threshold.values)
    assert a.median_rate_force_gain.item() > 0


def test_bad_protocol_values_and_types():
    with pytest.raises(ConfigError, match="triangle.level"):
        TriangleProtocol(level=150.0)
    with pytest.raises(ConfigError, match="is not one of"):
        run(SUBJECT, object())


def test_experiment_cli(tmp_path):
    from scenarios.cli import main
    from simulator.io import load_netcdf
    cfg = tmp_path / "c.toml"
    cfg.write_text("calibration_ramp_s = 2.0\ncalibration_hold_s = 1.5\n[pool]\nn_units = 10\n"
                   "[trapezoid]\nlevel = 15\nrise_s = 1\nplateau_s = 1\nfall_s = 1\n")
    assert main(["experiment", "trapezoid", "--config", str(cfg), "--out", str(tmp_path / "o"),
                 "--quiet"]) == 0
    ds = load_netcdf(tmp_path / "o" / "experiment.nc")
    assert ds.attrs["protocol"]["level"] == 15 and (tmp_path / "o" / "experiment.png").is_file()
    assert main(["experiment", "trapezoid", "--config", str(cfg), "--out", str(tmp_path / "p"),
                 "--seed", "-3"]) == 2
