"""Wall time of the 10-subject Del Vecchio 2019 scenario (library file, 100-unit subjects,
MVC + trapezoid battery, pre and post: 20 sessions) on a local Dask cluster of 2 workers,
from an empty cache (calibrations included, as a user's first run). ``extra_info`` records
sessions per minute. Nothing asserts on time; figures go to ``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import tempfile

from scenarios import training as T


def test_del_vecchio_10_subjects(benchmark, tmp_path):
    scenario = T.load_scenario("del_vecchio_2019")
    old = os.environ.get("MNPOOL_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MNPOOL_CACHE"] = tmp
        sig = benchmark.pedantic(T.run_training, args=(scenario, tmp_path / "out"),
                                 kwargs={"workers": 2, "progress": False}, rounds=1, iterations=1)
    if old is not None:
        os.environ["MNPOOL_CACHE"] = old
    sessions = 2 * scenario.cohort.n_subjects
    benchmark.extra_info["sessions"] = sessions
    benchmark.extra_info["sessions_per_min"] = 60 * sessions / benchmark.stats.stats.mean
    assert sig.sizes["subject"] == scenario.cohort.n_subjects
