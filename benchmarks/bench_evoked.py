"""Wall time of the standard evoked-response curves on a 100-unit subject (default engine).

* a full H/M recruitment curve: 20 intensities x 5 repeats = 100 trials (batched in one network) of
  0.13 s at rest, averaged, measured on the bipolar EMG;
* a TMS recruitment curve: 15 intensities x 5 repeats.

The subject's calibration and MUAP templates are computed once before timing (they belong to the
subject, not to the curve). ``extra_info`` records trials per second. Nothing asserts on time;
figures are recorded in ``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

from scenarios import evoked as E
from simulator.models.pool import PoolConfig
from simulator.simulation import SimulationConfig

SUBJECT = SimulationConfig(pool=PoolConfig(n_units=100))


@pytest.fixture(scope="module")
def session():
    old = os.environ.get("MNPOOL_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MNPOOL_CACHE"] = tmp
        s = E.Session(SUBJECT)
        s.trial(E.Stimulus(nerve_time_s=0.05, nerve_ma=10.0), background_pct=0.0, duration_s=0.13,
                repeat=0)  # MUAP templates and Cython code, outside the timing
        yield s
    if old is not None:
        os.environ["MNPOOL_CACHE"] = old


@pytest.mark.parametrize("curve", ["h_m", "tms"])
def test_recruitment_curve_wall_time(benchmark, session, curve):
    if curve == "h_m":
        protocol = E.HReflexProtocol(intensities_ma=tuple(np.linspace(5.0, 24.0, 20)), repeats=5)
    else:
        protocol = E.MEPProtocol(intensities_pct=tuple(np.linspace(30.0, 100.0, 15)), repeats=5)
    n_trials = (len(getattr(protocol, "intensities_ma", ())) or len(protocol.intensities_pct)) * protocol.repeats
    ds = benchmark.pedantic(E.run, args=(SUBJECT, protocol), kwargs={"session": session}, rounds=1,
                            iterations=1)
    benchmark.extra_info["trials"] = n_trials
    benchmark.extra_info["trials_per_s"] = n_trials / benchmark.stats.stats.mean
    assert ds.sizes["intensity"] in (15, 20)
