"""Standalone builds shared across processes: reuse, staleness, damage, concurrency, fallback."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simulator import engine, standalone
from simulator.network import Structure
from simulator.assembly import structure_for as _structure
from simulator.simulation import Calibration, simulate
from tests.conftest import small_config

UNIT_CAL = Calibration(1.0, np.array([0.0, 1.0]), np.array([0.0, 1.0]))
REPO = Path(__file__).resolve().parents[2]


def _tiny(**task):
    """A 4-unit, 0.4-s excitation step: a new structure of its own (compiles in seconds)."""
    t = dict(shape="constant", control="excitation", level=40.0, rest_s=0.0, plateau_s=0.4,
             rest_after_s=0.0)
    t.update(task)
    return small_config(n_units=4, **t)


def _stamps(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (folder / "main", folder / standalone.MANIFEST)}


@pytest.mark.standalone
def test_second_process_with_another_seed_compiles_nothing(tmp_path):
    """Two `mnpool simulate --engine standalone` commands, the second with another seed and another
    parameter value (monoaminergic level): it starts the binary built by the first (no code
    generation, no make: build files untouched, no compilation message) and gives other spikes."""
    cfg = tmp_path / "c.toml"
    text = ("calibration_ramp_s = 1.0\ncalibration_hold_s = 0.5\n[pool]\nn_units = 6\n"
            "[task]\nrest_s = 0.0\nrise_s = 0.2\nplateau_s = 0.3\nfall_s = 0.2\nrest_after_s = 0.0\n")
    cfg.write_text(text)
    env = dict(os.environ, MNPOOL_CACHE=str(tmp_path / "cache"))
    env.pop("MNPOOL_ENGINE", None)

    def mnpool(seed: int) -> str:
        done = subprocess.run([str(Path(sys.executable).parent / "mnpool"), "simulate", "--config", str(cfg),
                               "--out", str(tmp_path / f"out{seed}"), "--engine", "standalone",
                               "--seed", str(seed)], env=env, cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout + done.stderr

    first = mnpool(0)
    assert "compiling network" in first
    builds = sorted((tmp_path / "cache").glob("standalone-*[0-9a-f]"))
    assert builds
    stamps = {b: _stamps(b) for b in builds}
    cfg.write_text(text + "[neuromodulation]\nlevel = 0.5\n")
    second = mnpool(1)
    assert "compiling network" not in second and "stale" not in second
    assert {b: _stamps(b) for b in builds} == stamps
    from simulator.io import load_netcdf
    a, b = load_netcdf(tmp_path / "out0" / "activity.nc"), load_netcdf(tmp_path / "out1" / "activity.nc")
    assert a.attrs["engine"] == b.attrs["engine"] == "standalone"
    assert a.sizes["spike"] != b.sizes["spike"] or not np.array_equal(a.spike_time, b.spike_time)


@pytest.mark.standalone
@pytest.mark.slow
def test_stale_and_damaged_builds_are_rebuilt_with_a_message(capfd):
    """A build from another Brian2 version is rebuilt with a message; so is a binary that no
    longer runs. Both times the run completes with the spikes of the runtime engine."""
    cfg = _tiny(level=35.0)
    reference = simulate(cfg.replace(engine="runtime"), calibration=UNIT_CAL)
    folder = standalone.build_dir(_structure(cfg, cfg.task.duration_s))
    simulate(cfg.replace(engine="standalone"), calibration=UNIT_CAL)
    manifest = folder / standalone.MANIFEST
    manifest.write_text(manifest.read_text().replace('"brian2": "', '"brian2": "0.0-'))
    capfd.readouterr()
    again = simulate(cfg.replace(engine="standalone"), calibration=UNIT_CAL)
    assert "stale (built with Brian2 0.0-" in capfd.readouterr().err
    np.testing.assert_array_equal(again.spike_time, reference.spike_time)
    (folder / "main").write_bytes(b"\x7fELF garbage")
    damaged = simulate(cfg.replace(engine="standalone"), calibration=UNIT_CAL)
    assert "rebuilding the network" in capfd.readouterr().err
    assert damaged.attrs["engine"] == "standalone"
    np.testing.assert_array_equal(damaged.spike_time, reference.spike_time)


def _build_in_worker(args: tuple[str, Structure]) -> str:
    cache, structure = args
    os.environ["MNPOOL_CACHE"] = cache
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        build = standalone.ensure_build(structure, progress=True)
    assert (build.directory / "main").is_file()
    return buf.getvalue()


@pytest.mark.standalone
@pytest.mark.slow
def test_two_workers_building_the_same_structure_compile_it_once(tmp_path):
    """Two processes asking for the same new structure at once: one compiles under the lock,
    the other waits and reuses it; both get a working build."""
    structure = Structure(n_units=3, duration_s=0.123)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        logs = pool.map(_build_in_worker, [(str(tmp_path), structure)] * 2)
    assert sum("compiling network" in log for log in logs) == 1
    assert not list(tmp_path.glob("*.tmp-*"))


def test_auto_falls_back_to_runtime_without_a_compiler(monkeypatch, capfd):
    monkeypatch.delenv("MNPOOL_ENGINE", raising=False)
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    monkeypatch.setattr(standalone, "_PROBE", {})
    monkeypatch.setattr(engine, "_NOTICES", set())
    assert engine.resolve("auto") == "runtime"
    assert "no working C++ compiler" in capfd.readouterr().err
    assert engine.resolve("standalone") == "standalone"


def test_engine_env_chooses_auto(monkeypatch):
    monkeypatch.setenv("MNPOOL_ENGINE", "standalone")
    assert engine.resolve("auto") == "standalone"
    monkeypatch.setenv("MNPOOL_ENGINE", "gpu")
    with pytest.raises(ValueError, match="MNPOOL_ENGINE = 'gpu'"):
        engine.resolve("auto")


def test_unusable_cache_falls_back_to_runtime(tmp_path, monkeypatch, capfd):
    """A cache path that cannot hold builds (here: below a file): one notice, a runtime run."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("MNPOOL_CACHE", str(blocker / "cache"))
    monkeypatch.setattr(engine, "_NOTICES", set())
    cfg = _tiny(plateau_s=0.2)
    ds = simulate(cfg.replace(engine="standalone"), calibration=UNIT_CAL)
    assert ds.attrs["engine"] == "runtime"
    err = capfd.readouterr().err
    assert err.count("standalone engine unavailable") == 1 and "running on the runtime engine" in err


@pytest.mark.standalone
def test_run_files_go_to_the_scratch_folder_and_are_removed(tmp_path, monkeypatch):
    """The files a compiled run exchanges with Python live in ``$MNPOOL_SCRATCH`` (default: RAM,
    /dev/shm) only while it runs; the spikes are those of a run through the disk."""
    cfg = _tiny(level=45.0)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    seen: list[list[str]] = []
    run_build = standalone.run_build

    def watching(build_, values):
        out = run_build(build_, values)
        seen.append(sorted(p.name for p in scratch.iterdir()))
        return out

    monkeypatch.setattr(standalone, "run_build", watching)
    monkeypatch.setenv("MNPOOL_SCRATCH", str(scratch))
    in_scratch = simulate(cfg.replace(engine="standalone"), calibration=UNIT_CAL)
    assert seen == [[]] and not list(scratch.iterdir())  # the run's folder is gone afterwards
    monkeypatch.delenv("MNPOOL_SCRATCH")
    default = simulate(cfg.replace(engine="standalone"), calibration=UNIT_CAL)
    np.testing.assert_array_equal(in_scratch.spike_time, default.spike_time)


def test_scratch_folder_that_is_not_a_folder_is_refused_before_any_run(tmp_path, monkeypatch):
    from simulator.config import ConfigError
    monkeypatch.setenv("MNPOOL_SCRATCH", str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match="MNPOOL_SCRATCH = .*missing.* is not a writable folder"):
        engine.check_environment()
    monkeypatch.setenv("MNPOOL_SCRATCH", str(tmp_path))
    engine.check_environment()
    assert standalone.scratch_root() == str(tmp_path)
    monkeypatch.delenv("MNPOOL_SCRATCH")
    assert standalone.scratch_root() in ("/dev/shm", None)


def test_run_folders_of_dead_processes_are_removed(tmp_path):
    """A run killed mid-way leaves its folder; the next run removes it (not a live process's)."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    orphan = tmp_path / f"{standalone.RUN_PREFIX}{dead}-abc123"
    alive = tmp_path / f"{standalone.RUN_PREFIX}{os.getpid()}-def456"
    other = tmp_path / "unrelated"
    for folder in (orphan, alive, other):
        folder.mkdir()
        (folder / "in_ta.dat").write_bytes(b"0" * 10)
    standalone._remove_dead_runs(tmp_path)
    assert not orphan.exists() and alive.exists() and other.exists()
