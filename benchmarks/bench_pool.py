"""Throughput of the Brian2 pool: simulated seconds per wall second (10 s trapezoid, dt 0.1 ms).

Run with ``make bench``. For every pool size (N = 100, 300, 1000) and engine the benchmark
records ``sim_s_per_wall_s`` (higher is faster) and ``unit_s_per_wall_s`` in ``extra_info``;
the standalone figure excludes compilation, which is reported separately as ``compile_s``.
Nothing asserts on time; figures are recorded in ``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import tempfile
import time

import pytest

from simulator.models.pool import PoolConfig
from simulator.simulation import SimulationConfig, calibrate, simulate
from simulator.task import TaskConfig

TASK = TaskConfig(shape="trapezoid", level=30.0, rest_s=0.5, rise_s=2.5, plateau_s=4.0,
                  fall_s=2.5, rest_after_s=0.5)  # 10 s


@pytest.fixture(scope="module", autouse=True)
def _fresh_cache():
    """Benchmarks compile into a fresh cache so compile time is measured honestly."""
    old = os.environ.get("MNPOOL_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MNPOOL_CACHE"] = tmp
        yield
    if old is not None:
        os.environ["MNPOOL_CACHE"] = old


@pytest.mark.parametrize("engine", ["runtime", "standalone"])
@pytest.mark.parametrize("n_units", [100, 300, 1000])
def test_pool_throughput(benchmark, n_units, engine):
    cfg = SimulationConfig(pool=PoolConfig(n_units=n_units), task=TASK, engine=engine)
    cal = calibrate(cfg.replace(engine="runtime", calibration_ramp_s=2.0, calibration_hold_s=1.0))
    t0 = time.perf_counter()
    simulate(cfg, calibration=cal)  # first run: code generation + compilation (+ one run)
    first = time.perf_counter() - t0
    benchmark.pedantic(simulate, args=(cfg,), kwargs={"calibration": cal}, rounds=2, iterations=1)
    wall = benchmark.stats.stats.min
    benchmark.extra_info.update({
        "n_units": n_units, "engine": engine, "simulated_s": TASK.duration_s,
        "sim_s_per_wall_s": TASK.duration_s / wall,
        "unit_s_per_wall_s": n_units * TASK.duration_s / wall,
        "compile_s": max(first - wall, 0.0),
    })
