"""Shared fixtures: an isolated cache folder and small simulations reused by several tests."""

from __future__ import annotations

import os

import matplotlib
import numpy as np
import pytest
from hypothesis import settings

matplotlib.use("Agg")

# Property-based tests: a quick, derandomized pass in `make test` (the same examples on every run,
# so CI cannot fail by chance), a thorough random one in `make test-all`
# (HYPOTHESIS_PROFILE=thorough); a test's own @settings(max_examples=...) still wins.
settings.register_profile("default", max_examples=15, derandomize=True)
settings.register_profile("thorough", max_examples=100)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Calibrations and standalone builds go to a per-session folder, never the user's cache."""
    old = os.environ.get("MNPOOL_CACHE")
    os.environ["MNPOOL_CACHE"] = str(tmp_path_factory.mktemp("mnpool_cache"))
    # 'auto' runs on the runtime engine in tests: compiling a binary for every network
    # structure of the suite costs more than it saves; the standalone engine is tested by name
    old_engine = os.environ.get("MNPOOL_ENGINE")
    os.environ["MNPOOL_ENGINE"] = "runtime"
    yield
    for name, value in (("MNPOOL_CACHE", old), ("MNPOOL_ENGINE", old_engine)):
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def small_config(n_units: int = 30, **task):
    """A small, quick configuration (short calibration) used across the fast tests."""
    from simulator.models.pool import PoolConfig
    from simulator.simulation import SimulationConfig
    from simulator.task import TaskConfig
    t = dict(shape="trapezoid", level=20.0, rest_s=0.3, rise_s=1.5, plateau_s=2.0, fall_s=1.5,
             rest_after_s=0.3)
    t.update(task)
    return SimulationConfig(pool=PoolConfig(n_units=n_units), task=TaskConfig(**t),
                            calibration_ramp_s=3.0, calibration_hold_s=1.0)


@pytest.fixture(scope="session")
def small_trapezoid():
    """30-unit pool, 20 %MVC trapezoid (runtime engine)."""
    from simulator.simulation import simulate
    return simulate(small_config())


@pytest.fixture(params=["runtime", pytest.param("standalone", marks=pytest.mark.standalone)])
def engine(request) -> str:
    """Each test that takes ``engine`` runs on both Brian2 engines (the standalone run is marked
    ``standalone``; deselect with ``-m "not standalone"``), as Brian2's own suite runs on every
    code-generation target."""
    return request.param


@pytest.fixture(scope="session")
def rng():
    return np.random.default_rng(12345)
