"""Sweeps on Dask: validation before work, stable ids, skip on re-run, failure reports, and the
same numbers on a real 2-worker LocalCluster as in one process (runtime and standalone engines)."""

from __future__ import annotations

import json
import os
import socket

import numpy as np
import pytest
import xarray as xr

from scenarios import sweep as S
from scenarios import tasks
from scenarios.cli import main
from simulator.config import ConfigError
from simulator.io import load_netcdf, load_zarr
from tests.conftest import small_config

#: Tasks run in this process by :func:`fake_task` (serial runs only), to count executions.
CALLS: list[float] = []


def fake_task(cfg):
    """Cheap task function: no simulation; fails for task.level == 13."""
    if cfg.task.level == 13:
        raise ValueError("level 13 is unlucky")
    CALLS.append(cfg.task.level)
    return xr.Dataset({"x": ((), 2.0 * cfg.task.level + cfg.seed, {"units": "1"}),
                       "cache": ((), os.environ.get("MNPOOL_CACHE", ""))})


@pytest.fixture(autouse=True)
def _outside_the_checkout(tmp_path, monkeypatch):
    """Task functions are imported from sys.path but never from the current folder (issue 16):
    run from a scratch folder, as a user would, so this module is importable on the workers."""
    monkeypatch.chdir(tmp_path)


def base_config():
    """10 units, 1.5 s trapezoid, 3 s calibration: a task takes ~1-2 s."""
    return small_config(10, level=15.0, rest_s=0.2, rise_s=0.5, plateau_s=0.5, fall_s=0.3,
                        rest_after_s=0.0).replace(calibration_ramp_s=2.0, calibration_hold_s=1.0)


def sweep_of(table, **extra):
    return S.Sweep.from_dict({"sweep": table, **extra})


# ----------------------------------------------------------------------------- specification
def test_grid_is_a_product_zip_advances_together_and_ids_are_stable():
    sw = sweep_of({"pool": {"n_units": [5, 6]}, "task.level": [10, 20, 30], "seed": [0, 1, 2]},
                  zip=[["task.level", "seed"]])
    combos = sw.combinations()
    assert len(combos) == 6
    assert combos[0] == {"pool.n_units": 5, "task.level": 10, "seed": 0}
    assert combos[1] == {"pool.n_units": 5, "task.level": 20, "seed": 1}
    assert combos[5] == {"pool.n_units": 6, "task.level": 30, "seed": 2}
    tasks = sw.tasks(base_config())
    assert [t.config.pool.n_units for t in tasks] == [5, 5, 5, 6, 6, 6]
    assert tasks[4].config.task.level == 20 and tasks[4].config.seed == 1
    ids = [t.id for t in tasks]
    assert len(set(ids)) == 6 and ids == [t.id for t in sw.tasks(base_config())]
    other = S.Sweep(sw.grid, sw.zip, function="tests.scenarios.test_sweep:fake_task")
    assert not set(ids) & {t.id for t in other.tasks(base_config())}
    assert len(sweep_of({"task.level": [1, 2], "seed": [3, 4]}, zip=True).combinations()) == 2
    assert len(sweep_of({"task.level": [1, 2], "seed": [3, 4]}).combinations()) == 4


@pytest.mark.parametrize("data, message", [
    ({"sweep": {"pool.n_unit": [5]}}, "sweep key 'pool.n_unit'.*unknown key"),
    ({"sweep": {"pool.n_units": [10, 5000]}}, r"sweep key 'pool.n_units' = 5000: pool.n_units = 5000 "
                                              r"is out of range; allowed \[1, 2000\]"),
    ({"sweep": {"seed.x": [1]}}, "sweep key 'seed.x'.*'seed' is a value"),
    ({"sweep": {"engine": ["gpu"]}}, "sweep key 'engine' = 'gpu'"),
    ({"sweep": {"task.level": 10}}, "sweep key 'task.level' must have a list"),
    ({"sweep": {"task.level": []}}, "non-empty list"),
    ({"sweep": {}}, "the sweep is empty"),
    ({"sweep": {"seed": [1, 2], "task.level": [1]}, "zip": [["seed", "task.level"]]},
     "equally many values: seed has 2, task.level has 1"),
    ({"sweep": {"seed": [1]}, "zip": [["seed", "dt_ms"]]}, "zip names 'dt_ms'"),
    ({"sweep": {"seed": [1]}, "grid": 1}, r"unknown key\(s\) grid in the sweep file"),
    ({"sweep": {"seed": [1, 1]}}, "duplicate tasks"),
    ({"sweep": {"seed": [1]}, "function": "nomodule"}, "must be 'module:function'"),
    ({"sweep": {"dt_ms": [0.1, 0.04], "fs_force_hz": [1000, 400]}},
     "sweep task dt_ms = 0.04, fs_force_hz = 400: fs_force_hz = 400: the sampling interval"),
])
def test_bad_sweeps_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        S.Sweep.from_dict(data).tasks(base_config())


def test_unknown_function_and_unreachable_scheduler_fail_before_any_work(tmp_path, monkeypatch):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="cannot import 'tests.nothing'"):
        S.run_sweep(base_config(), sweep_of({"seed": [1]}, function="tests.nothing:f"), out)
    with pytest.raises(ConfigError, match="has no function 'nope'"):
        S.run_sweep(base_config(), sweep_of({"seed": [1]}, function="tests.scenarios.test_sweep:nope"), out)
    monkeypatch.setattr(tasks, "CONNECT_TIMEOUT_S", 1.0)  # the runner reads it where it lives
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ConfigError, match=f"cannot reach the Dask scheduler at 'tcp://127.0.0.1:{port}'"):
        S.run_sweep(base_config(), sweep_of({"seed": [1]}), out, scheduler=f"tcp://127.0.0.1:{port}")
    with pytest.raises(ConfigError, match="applies to a local cluster only"):
        S.run_sweep(base_config(), sweep_of({"seed": [1]}), out, scheduler="serial", workers=2)
    assert not out.exists()


# ----------------------------------------------------------------------------- runner
def test_rerun_skips_finished_tasks_and_failures_are_reported(tmp_path):
    sw = sweep_of({"task.level": [10, 13, 20], "seed": [1]}, function="tests.scenarios.test_sweep:fake_task")
    CALLS.clear()
    res = S.run_sweep(base_config(), sw, tmp_path, scheduler="serial", progress=False)
    assert CALLS == [10, 20] and (res.executed, res.skipped) == (3, 0)
    ds = load_netcdf(tmp_path / "sweep.nc")
    np.testing.assert_array_equal(ds["task.level"].values, [10, 20])
    np.testing.assert_array_equal(ds["x"].values, [21.0, 41.0])
    xr.testing.assert_identical(ds, load_zarr(tmp_path / "sweep.zarr"))
    assert ds.attrs["n_tasks"] == 3 and ds.attrs["n_finished"] == 2
    assert json.loads(ds["config"].values[1])["task"]["level"] == 20
    failures = json.loads((tmp_path / "failures.json").read_text())
    assert [f["params"] for f in failures] == [{"task.level": 13, "seed": 1}]
    assert failures[0]["error"] == "ValueError" and failures[0]["message"] == "level 13 is unlucky"
    assert "fake_task" in failures[0]["traceback"]
    assert (tmp_path / "sweep.png").stat().st_size > 5000
    # a re-run only retries the failed task; a finished one is never run twice
    again = S.run_sweep(base_config(), sw, tmp_path, scheduler="serial", figure=False, progress=False)
    assert CALLS == [10, 20] and (again.executed, again.skipped) == (1, 2)
    assert len(again.failures) == 1
    # the same grid plus one value runs just the new task
    more = sweep_of({"task.level": [10, 13, 20, 30], "seed": [1]}, function="tests.scenarios.test_sweep:fake_task")
    res = S.run_sweep(base_config(), more, tmp_path, scheduler="serial", figure=False, progress=False)
    assert CALLS == [10, 20, 30] and res.dataset.sizes["task"] == 3


def test_failures_on_a_cluster_are_reported_and_workers_share_the_cache(tmp_path):
    """Real 2-worker LocalCluster: a raising task does not stop the sweep, and every worker
    process sees this process's MNPOOL_CACHE."""
    from simulator.cache import cache_dir
    sw = sweep_of({"task.level": [10, 13, 20, 30]}, function="tests.scenarios.test_sweep:fake_task")
    res = S.run_sweep(base_config(), sw, tmp_path, workers=2, progress=False)
    assert [f["params"] for f in res.failures] == [{"task.level": 13}]
    assert "level 13 is unlucky" in (tmp_path / "failures.json").read_text()
    np.testing.assert_array_equal(res.dataset["x"].values, [20.0, 40.0, 60.0])
    assert set(res.dataset["cache"].values) == {str(cache_dir())}
    assert len(list((tmp_path / "tasks").glob("*.nc"))) == 3


def test_two_worker_cluster_gives_the_same_numbers_as_serial(tmp_path, monkeypatch):
    """The required determinism check: real simulations on a real LocalCluster (2 processes),
    each worker calibrating from an empty cache, equal the serial run exactly."""
    sw = sweep_of({"task.level": [10, 20], "seed": [0, 1]})
    serial = S.run_sweep(base_config(), sw, tmp_path / "serial", scheduler="serial", progress=False)
    assert not serial.failures
    monkeypatch.setenv("MNPOOL_CACHE", str(tmp_path / "fresh_cache"))
    dask = S.run_sweep(base_config(), sw, tmp_path / "dask", workers=2, progress=False)
    assert not dask.failures and dask.executed == 4
    # the calibration belongs to the subject's force apparatus, not its seed: one for both seeds
    assert len(list((tmp_path / "fresh_cache" / "calibrations").glob("*.npz"))) == 1
    xr.testing.assert_identical(serial.dataset, dask.dataset)
    ds = serial.dataset
    assert set(S.SUMMARY_MEASURES) <= set(ds.data_vars)
    assert ds.sizes == {"task": 4, "unit": 10}
    np.testing.assert_array_equal(ds["seed"].values, [0, 1, 0, 1])
    assert (ds["n_spikes"].values > 0).all()
    # a higher target recruits more units and needs more discharges
    assert (ds["n_spikes"].values[2:] > ds["n_spikes"].values[:2]).all()
    assert ds["force_mean_mvc"].values[2:].mean() > ds["force_mean_mvc"].values[:2].mean()


@pytest.mark.standalone
@pytest.mark.slow
def test_standalone_engine_on_two_workers(tmp_path, monkeypatch):
    """Two workers build the same standalone network into one shared folder at the same time
    (file lock) and give the runtime engine's numbers."""
    sw = sweep_of({"seed": [0, 1, 2, 3]})
    runtime = S.run_sweep(base_config(), sw, tmp_path / "runtime", scheduler="serial", progress=False)
    monkeypatch.setenv("MNPOOL_CACHE", str(tmp_path / "fresh_cache"))
    res = S.run_sweep(base_config().replace(engine="standalone"), sw, tmp_path / "standalone",
                      workers=2, progress=False)
    assert not res.failures, res.failures
    builds = list((tmp_path / "fresh_cache").glob("standalone-*/main"))
    assert len(builds) == 2  # calibration and task structures, each built once and shared
    for name in S.SUMMARY_MEASURES:
        np.testing.assert_allclose(res.dataset[name].values, runtime.dataset[name].values,
                                   rtol=1e-6, err_msg=name)


# ----------------------------------------------------------------------------- command line
def test_cli_sweep_writes_results_and_reports_failures(tmp_path, capsys):
    base = tmp_path / "base.toml"
    base.write_text("calibration_ramp_s = 2.0\n[pool]\nn_units = 10\n")
    spec = tmp_path / "sweep.toml"
    spec.write_text('function = "tests.scenarios.test_sweep:fake_task"\n[sweep]\ntask.level = [5, 13, 25]\n')
    out = tmp_path / "out"
    code = main(["sweep", "--config", str(base), "--sweep", str(spec), "--out", str(out), "--serial",
                 "--seed", "4", "--measure", "x", "--quiet"])
    assert code == 1
    text = capsys.readouterr().out
    assert "2 of 3 tasks finished" in text and "1 task(s) failed" in text
    ds = load_netcdf(out / "sweep.nc")
    np.testing.assert_array_equal(ds["x"].values, [14.0, 54.0])  # 2 * level + seed 4
    assert (out / "sweep.png").is_file() and (out / "sweep.zarr").is_dir()


def test_cli_bad_sweep_exits_2_and_writes_nothing(tmp_path, capsys):
    spec = tmp_path / "sweep.toml"
    spec.write_text('[sweep]\n"pool.n_units" = [10, 5000]\n')
    out = tmp_path / "out"
    assert main(["sweep", "--sweep", str(spec), "--out", str(out), "--serial"]) == 2
    err = capsys.readouterr().err
    assert "mnpool: error: sweep key 'pool.n_units' = 5000: pool.n_units = 5000 is out of range" in err
    spec.write_text('[sweep]\nseed = [1]\n')
    assert main(["sweep", "--sweep", str(spec), "--out", str(out), "--measure", "nope"]) == 2
    assert "measure 'nope' is not a per-task measure" in capsys.readouterr().err
    assert not out.exists()
