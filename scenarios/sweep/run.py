"""Running a sweep: expand, run the tasks (:mod:`scenarios.tasks`), gather the results into one
Dataset along ``task`` and draw the figure."""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from scenarios.sweep.figures import plot_sweep
from scenarios.sweep.spec import DEFAULT_FUNCTION, Sweep
from scenarios.sweep.summary import SUMMARY_MEASURES
from scenarios.tasks import TASKS_DIR, Scheduler, Task, _plain, resolve_function, run_tasks
from simulator.config import ConfigError
from simulator.simulation import SimulationConfig

__all__ = ["SweepResult", "run_sweep", "gather"]


@dataclasses.dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`.

    Attributes
    ----------
    dataset
        Every finished task gathered along ``task`` (None if none has finished).
    failures
        One record per failed task: ``id``, ``params``, ``error``, ``message``, ``traceback``.
    executed
        Tasks run by this call (finished or failed).
    skipped
        Tasks whose result already existed.
    out
        Output folder.
    """

    dataset: xr.Dataset | None
    failures: list[dict[str, Any]]
    executed: int
    skipped: int
    out: Path


def run_sweep(base: SimulationConfig, sweep: Sweep, out: str | os.PathLike, *,
              scheduler: Scheduler = None, workers: int | None = None, measure: str | None = None,
              figure: bool = True, progress: bool = True) -> SweepResult:
    """Run every task of ``sweep`` on ``base``, streaming results to ``out``.

    Parameters
    ----------
    base
        Base configuration; each task overrides the swept keys.
    sweep
        The grid and task function.
    out
        Output folder: ``tasks/<id>.nc`` (one per finished task), ``failures.json``,
        ``sweep.nc`` and ``sweep.zarr`` (all tasks finished so far).
    scheduler
        ``None``: a local Dask cluster of ``workers`` single-threaded processes; ``"serial"``: run
        in this process without Dask; a scheduler address (``"tcp://host:8786"``); or a
        ``distributed.Client``.
    workers
        Number of local worker processes (default: one per core); only with ``scheduler=None``.
    measure
        Per-task measure plotted in ``sweep.png`` (see :func:`plot_sweep`).
    figure
        Write ``sweep.png``. With a custom task function an unknown ``measure`` only skips the
        figure (with a warning), since its variables are known once results exist.
    progress
        Show a progress bar of tasks done / total.

    Returns
    -------
    SweepResult

    Raises
    ------
    ConfigError
        Before any task runs: an invalid sweep or task configuration, an unknown task function,
        ``out`` not a folder, ``workers`` with another scheduler, or an unreachable scheduler.
    """
    tasks = sweep.tasks(base)
    resolve_function(sweep.function)
    if measure is not None and sweep.function == DEFAULT_FUNCTION and measure not in SUMMARY_MEASURES:
        raise ConfigError(f"measure {measure!r} is not a per-task measure of {DEFAULT_FUNCTION}; "
                          f"choose one of {', '.join(SUMMARY_MEASURES)}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} exists and is not a folder")
    if workers is not None and (scheduler is not None or workers < 1):
        raise ConfigError(f"workers = {workers} applies to a local cluster only and must be >= 1")
    failures, executed = run_tasks(tasks, sweep.function, out, scheduler=scheduler, workers=workers,
                                   progress=progress)
    ds = gather(tasks, out, base=base, sweep=sweep)
    if figure and ds is not None:
        try:
            plot_sweep(ds, out / "sweep.png", measure)
        except ConfigError as exc:
            warnings.warn(f"no sweep figure: {exc}", stacklevel=2)
    return SweepResult(ds, failures, executed=executed, skipped=len(tasks) - executed, out=out)


def _coordinate(values: Sequence[Any]) -> np.ndarray:
    # list-valued parameters (tuple fields) cannot be a 1-D coordinate: store them as JSON text
    if any(isinstance(v, (tuple, list)) for v in values):
        return np.array([json.dumps(_plain(v)) for v in values])
    return np.asarray(values)


def gather(tasks: Sequence[Task], out: str | os.PathLike, *, base: SimulationConfig,
           sweep: Sweep) -> xr.Dataset | None:
    """Gather the finished tasks' files into one Dataset and write ``sweep.nc`` / ``sweep.zarr``.

    Parameters
    ----------
    tasks
        All tasks of the sweep, in sweep order (unfinished ones are left out).
    out
        Output folder holding ``tasks/<id>.nc``.
    base, sweep
        Recorded in the Dataset's attrs.

    Returns
    -------
    xarray.Dataset or None
        Dims ``task`` (the ids) plus those of the results (padded with NaN where they differ,
        e.g. ``unit`` for different pool sizes); one coordinate per swept key along ``task``;
        ``config`` (task), the full configuration as JSON. None if no task has finished.
    """
    from simulator import __version__
    from simulator.io import load_netcdf, save_netcdf, save_zarr
    out = Path(out)
    done = [t for t in tasks if (out / TASKS_DIR / f"{t.id}.nc").is_file()]
    if not done:
        return None
    parts = []
    for task in done:
        part = load_netcdf(out / TASKS_DIR / f"{task.id}.nc")
        part.attrs = {}
        parts.append(part.expand_dims(task=[task.id]))
    ds = xr.concat(parts, dim="task", data_vars="all", coords="minimal", compat="override",
                   join="outer", combine_attrs="drop")
    coords = {key: ("task", _coordinate([t.params[key] for t in done]), {"long_name": f"swept {key}"})
              for key in sweep.keys}
    ds = ds.assign_coords(coords)
    ds["config"] = ("task", np.array([t.config.to_json() for t in done]),
                    {"long_name": "full configuration of the task (JSON)"})
    ds.attrs = {"kind": "sweep", "base_config": base.to_dict(), "seed": base.seed,
                "sweep": sweep.to_dict(), "function": sweep.function,
                "parameters": list(sweep.keys), "n_tasks": len(tasks), "n_finished": len(done),
                "mnpool_version": __version__}
    save_netcdf(ds, out / "sweep.nc")
    try:
        import zarr  # noqa: F401  (declared dependency; the NetCDF file is the primary output)
    except ImportError:  # pragma: no cover
        return ds
    save_zarr(ds, out / "sweep.zarr")
    return ds
