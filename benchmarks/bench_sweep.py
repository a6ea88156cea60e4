"""Throughput of the sweep runner: tasks per second with 1 and 2 Dask workers.

The same sweep of 8 small tasks (N = 20 units, 2 s trapezoid, 8 target levels, one subject so one
cached calibration) runs serially in this process and on a ``LocalCluster`` of 1 and 2
single-threaded worker processes, on the runtime and the standalone engine. The cluster is
started (and its workers warmed up by one untimed run: Brian2 import, code generation or
compilation) before timing, so the figure is steady-state throughput; the start-up is reported as
``startup_s``. ``extra_info`` records ``tasks_per_s`` and, for 2 workers, ``speedup`` over
1 worker. Nothing asserts on time; figures are recorded in ``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import tempfile
import time

import pytest

from scenarios.sweep import Sweep, run_sweep
from simulator.models.pool import PoolConfig
from simulator.simulation import SimulationConfig, calibrate
from simulator.task import TaskConfig

TASK = TaskConfig(shape="trapezoid", level=20.0, rest_s=0.2, rise_s=0.6, plateau_s=0.6, fall_s=0.4,
                  rest_after_s=0.2)  # 2 s
SWEEP = Sweep(grid=(("task.level", (5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0)),))
_TASKS_PER_S: dict[tuple[str, int], float] = {}


def _base(engine: str) -> SimulationConfig:
    return SimulationConfig(pool=PoolConfig(n_units=20), task=TASK, engine=engine,
                            calibration_ramp_s=2.0, calibration_hold_s=1.0)


@pytest.fixture(scope="module", autouse=True)
def _fresh_cache():
    """A fresh cache, calibrated once in this process (the calibration is not the benchmark)."""
    old = os.environ.get("MNPOOL_CACHE")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MNPOOL_CACHE"] = tmp
        calibrate(_base("runtime"))
        yield
    if old is not None:
        os.environ["MNPOOL_CACHE"] = old


@pytest.mark.parametrize("engine", ["runtime", "standalone"])
@pytest.mark.parametrize("workers", [0, 1, 2], ids=["serial", "1worker", "2workers"])
def test_sweep_throughput(benchmark, tmp_path, workers, engine):
    from distributed import Client, LocalCluster
    base = _base(engine)
    runs = iter(range(1000))

    def fresh_out():  # every round starts from an empty folder (nothing to skip)
        return (tmp_path / f"run{next(runs)}",), {}

    t0 = time.perf_counter()
    if workers:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        scheduler = client
    else:
        cluster = client = None
        scheduler = "serial"
    startup = time.perf_counter() - t0
    try:
        def sweep(out):
            res = run_sweep(base, SWEEP, out, scheduler=scheduler, figure=False, progress=False)
            assert not res.failures, res.failures
        sweep(tmp_path / "warmup")
        benchmark.pedantic(sweep, setup=fresh_out, rounds=2, iterations=1)
    finally:
        if client is not None:
            client.close()
            cluster.close()
    n = len(SWEEP.combinations())
    rate = n / benchmark.stats.stats.min
    _TASKS_PER_S[(engine, workers)] = rate
    info = {"engine": engine, "workers": workers or "serial", "tasks": n, "n_units": 20,
            "simulated_s": TASK.duration_s, "tasks_per_s": rate, "startup_s": startup}
    if workers == 2 and (engine, 1) in _TASKS_PER_S:
        info["speedup"] = rate / _TASKS_PER_S[(engine, 1)]
    benchmark.extra_info.update(info)
