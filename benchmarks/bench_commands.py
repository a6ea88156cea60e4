"""Whole-command wall times, as a user meets them: a new process per command, cold and warm.

* ``mnpool simulate`` of a 100- and a 300-unit pool, 20 s trapezoid to 30 %MVC (default engine);
* ``mnpool demo`` (200 units, 10 s, HD-sEMG, figures);
* one battery session of the training scenarios on a 100-unit subject (MVC, trapezoid, triangles,
  H/M curve, H and V at MVC, MEP, SICI, silent period, CMEP, startle), in a fresh interpreter;
* MyoGen 0.12's NEURON pool on the same 100-unit, 20-s job, when a Python with MyoGen is found
  (``$MYOGEN_PYTHON``, else ``/tmp/myogen-venv/bin/python``); skipped cleanly otherwise.

*Cold* is a fresh ``$MNPOOL_CACHE`` (standalone builds and calibrations made by the command);
*warm* is the same command again with another seed (new noise, nothing compiled or calibrated).
``extra_info`` records ``cold_s`` and ``warm_s``; the benchmark's own timing is the warm run.
Nothing asserts on time; figures go to ``benchmarks/README.md``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
MNPOOL = str(Path(sys.executable).parent / "mnpool")
POOL_TOML = """[pool]
n_units = {n}
[task]
shape = "trapezoid"
level = 30.0
rest_s = 0.5
rise_s = 3.0
plateau_s = 13.0
fall_s = 3.0
rest_after_s = 0.5
"""
BATTERY = """
import sys
from scenarios.training import run_battery
from simulator.models.pool import PoolConfig
from simulator.simulation import SimulationConfig
ds = run_battery(SimulationConfig(pool=PoolConfig(n_units=100), seed=int(sys.argv[1])))
assert ds.attrs["kind"] == "session"
"""


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr[-3000:]
    return wall


def _cold_and_warm(benchmark, tmp_path: Path, make_cmd) -> None:  # noqa: ANN001
    env = dict(os.environ, MNPOOL_CACHE=str(tmp_path / "cache"))
    env.pop("MNPOOL_ENGINE", None)
    cold = _timed(make_cmd(0, tmp_path / "cold"), env, tmp_path)
    warm = benchmark.pedantic(_timed, args=(make_cmd(1, tmp_path / "warm"), env, tmp_path),
                              rounds=1, iterations=1)
    benchmark.extra_info.update({"cold_s": cold, "warm_s": warm})


@pytest.mark.parametrize("n_units", [100, 300])
def test_simulate_20s(benchmark, tmp_path, n_units):
    config = tmp_path / "pool.toml"
    config.write_text(POOL_TOML.format(n=n_units))
    benchmark.extra_info.update({"n_units": n_units, "simulated_s": 20.0})
    _cold_and_warm(benchmark, tmp_path, lambda seed, out: [
        MNPOOL, "simulate", "--config", str(config), "--out", str(out), "--seed", str(seed), "--quiet"])


def test_demo(benchmark, tmp_path):
    _cold_and_warm(benchmark, tmp_path, lambda seed, out: [
        MNPOOL, "demo", "--out", str(out), "--seed", str(seed), "--quiet"])


def test_battery_session_100_units(benchmark, tmp_path):
    _cold_and_warm(benchmark, tmp_path, lambda seed, out: [sys.executable, "-c", BATTERY, str(seed)])


def _myogen_python() -> str | None:
    path = os.environ.get("MYOGEN_PYTHON", "/tmp/myogen-venv/bin/python")
    if not (shutil.which(path) or Path(path).is_file()):
        return None
    probe = subprocess.run([path, "-c", "import myogen"], capture_output=True)
    return path if probe.returncode == 0 else None


def test_myogen_side_by_side(benchmark, tmp_path):
    """The same 100-unit, 20-s job on MyoGen's NEURON pool and on mnpool, in one run: the ratio
    is mnpool's warm whole-command time over MyoGen's whole-script time."""
    python = _myogen_python()
    if python is None:
        pytest.skip("MyoGen is not installed (set MYOGEN_PYTHON to a Python that imports myogen)")
    config = tmp_path / "pool.toml"
    config.write_text(POOL_TOML.format(n=100))
    env = dict(os.environ, MNPOOL_CACHE=str(tmp_path / "cache"))
    env.pop("MNPOOL_ENGINE", None)
    _timed([MNPOOL, "simulate", "--config", str(config), "--out", str(tmp_path / "o0"), "--quiet"],
           env, tmp_path)  # builds and calibration: the warm state a returning user has
    with tempfile.TemporaryDirectory() as tmp:
        myogen = _timed([python, str(HERE / "myogen_pool.py"), "100", "20"], dict(os.environ), Path(tmp))
    mine = benchmark.pedantic(_timed, args=([MNPOOL, "simulate", "--config", str(config), "--out",
                                             str(tmp_path / "o1"), "--seed", "1", "--quiet"], env, tmp_path),
                              rounds=1, iterations=1)
    benchmark.extra_info.update({"myogen_s": myogen, "mnpool_warm_s": mine, "ratio": mine / myogen})
