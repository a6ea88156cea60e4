"""Parameter sweeps on Dask: one base configuration, a grid of overrides, one Dataset of results.

A sweep is a base :class:`~simulator.simulation.SimulationConfig` plus a table of dotted
configuration keys, each with a list of values (DESIGN.md, "Scale out on Dask")::

    function = "scenarios.sweep:summarize"   # optional: any importable module:function
    zip = [["neuromodulation.level", "seed"]] # optional: keys that vary together

    [sweep]
    "pool.n_units" = [50, 100]
    "neuromodulation.level" = [0.5, 1.0, 2.0]
    seed = [0, 1, 2]

The tasks are the Cartesian product of the value lists (keys grouped by ``zip`` advance together;
``zip = true`` zips every key). Every task's configuration is validated before anything runs, and
its id is a hash of its full configuration and task function, so a re-run skips the tasks whose
result file already exists. A task function maps one configuration to a small
:class:`xarray.Dataset` (the same signature for every experiment, so the runner never
special-cases one); the default, :func:`summarize`, simulates the task and reduces it to motor-unit
measures (:func:`simulator.measures.unit_summary`) and force statistics.

Tasks run on a ``dask.distributed`` cluster (by default a local one with one single-threaded
worker process per core; any scheduler by address) or serially in this process. Results stream to
``OUT/tasks/<id>.nc`` as they complete (written by this process, so workers need no shared file
system), failures go to ``OUT/failures.json`` with their parameters and traceback, and the
finished tasks are gathered into ``OUT/sweep.nc`` (and ``OUT/sweep.zarr``) along a ``task``
dimension with one coordinate per swept key.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import importlib
import itertools
import json
import os
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin

from simulator.config import ConfigError, load_toml
from simulator.simulation import SimulationConfig

__all__ = ["DEFAULT_FUNCTION", "DEFAULT_MEASURE", "SUMMARY_MEASURES", "CONNECT_TIMEOUT_S", "Sweep", "SweepTask",
           "SweepResult", "TaskFunction", "Scheduler", "load_sweep", "resolve_function", "summarize",
           "run_sweep", "run_tasks", "gather", "plot_sweep", "default_workers", "task_id"]

#: Task function used when a sweep names none.
DEFAULT_FUNCTION = "scenarios.sweep:summarize"
#: Per-task measures of :func:`summarize`: name -> (unit, long name).
SUMMARY_MEASURES: dict[str, tuple[str, str]] = {
    "mvc_n": ("N", "maximal voluntary force"),
    "force_mean_mvc": ("%MVC", "mean force on the plateau"),
    "force_sd_mvc": ("%MVC", "standard deviation of force on the plateau"),
    "force_cov_pct": ("%", "coefficient of variation of force on the plateau"),
    "tracking_rmse_mvc": ("%MVC", "root-mean-square force tracking error"),
    "n_spikes": ("1", "number of discharges"),
    "n_recruited": ("1", "units with a recruitment threshold"),
    "plateau_rate_pps": ("pps", "mean discharge rate of units firing on the plateau"),
}
#: Summary measure plotted by default.
DEFAULT_MEASURE = "force_cov_pct"
#: Seconds to wait for a Dask scheduler (and for its first worker) before giving up.
CONNECT_TIMEOUT_S = 5.0

#: A task function: full configuration in, small result Dataset out.
TaskFunction = Callable[[SimulationConfig], xr.Dataset]
#: Where tasks run: ``None`` (local cluster), ``"serial"``, a scheduler address or a Client.
Scheduler = str | Client | None

_FILE_KEYS = ("sweep", "zip", "function")
_TASKS_DIR = "tasks"


# ----------------------------------------------------------------------------- specification
@dataclasses.dataclass(frozen=True)
class SweepTask:
    """One task of a sweep.

    Attributes
    ----------
    id
        Stable id: first 16 hex digits of the SHA-1 of the full configuration and task function.
    params
        The swept keys and this task's values, in the order of the sweep file.
    config
        The full, validated configuration of the task.
    """

    id: str
    params: dict[str, Any]
    config: SimulationConfig


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A grid of configuration overrides and the task function applied to every point.

    Parameters
    ----------
    grid
        ``((dotted key, (value, ...)), ...)`` in file order; e.g. ``(("pool.n_units", (50, 100)),)``.
    zip
        Groups of keys whose values advance together (equal lengths); other keys form a product.
    function
        Task function as ``"module:function"`` (see :data:`TaskFunction`).

    Raises
    ------
    ConfigError
        On an empty grid, a key given twice, an empty or non-list value, a ``zip`` group naming an
        unknown key or of unequal lengths, or a malformed ``function``.
    """

    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    zip: tuple[tuple[str, ...], ...] = ()
    function: str = DEFAULT_FUNCTION

    def __post_init__(self) -> None:
        if not self.grid:
            raise ConfigError("the sweep is empty: give at least one key with a list of values "
                              "in the [sweep] table")
        keys = [k for k, _ in self.grid]
        doubled = sorted({k for k in keys if keys.count(k) > 1})
        if doubled:
            raise ConfigError(f"sweep key(s) given twice: {', '.join(doubled)}")
        for key, values in self.grid:
            if not isinstance(values, tuple) or not values:
                raise ConfigError(f"sweep key {key!r} must have a non-empty list of values, "
                                  f"got {values!r}")
        lengths = dict((k, len(v)) for k, v in self.grid)
        seen: set[str] = set()
        for group in self.zip:
            for key in group:
                if key not in lengths:
                    raise ConfigError(f"zip names {key!r}, which is not a key of the [sweep] table")
                if key in seen:
                    raise ConfigError(f"zip names {key!r} in more than one group")
                seen.add(key)
            if len({lengths[k] for k in group}) > 1:
                sizes = ", ".join(f"{k} has {lengths[k]}" for k in group)
                raise ConfigError(f"zipped keys need equally many values: {sizes}")
        if self.function.count(":") != 1 or not all(self.function.split(":")):
            raise ConfigError(f"function = {self.function!r} must be 'module:function'")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sweep:
        """Build from a sweep file's mapping (``[sweep]`` table, optional ``zip``, ``function``).

        Keys of ``[sweep]`` may be quoted (``"pool.n_units" = [...]``) or TOML dotted keys
        (``pool.n_units = [...]``, i.e. nested tables); both mean the same configuration key.
        """
        unknown = sorted(set(data) - set(_FILE_KEYS))
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(unknown)} in the sweep file; "
                              f"allowed keys are: {', '.join(_FILE_KEYS)}")
        table = data.get("sweep")
        if not isinstance(table, Mapping):
            raise ConfigError("the sweep file needs a [sweep] table of configuration keys -> lists")
        grid: list[tuple[str, tuple[Any, ...]]] = []
        for key, values in _flatten(table):
            if not isinstance(values, list):
                raise ConfigError(f"sweep key {key!r} must have a list of values, got {values!r}")
            grid.append((key, tuple(tuple(v) if isinstance(v, list) else v for v in values)))
        keys = [k for k, _ in grid]
        zipped = data.get("zip", [])
        if zipped is True:
            groups = (tuple(keys),)
        elif zipped is False:
            groups = ()
        elif isinstance(zipped, list) and all(isinstance(g, list) and g and
                                              all(isinstance(k, str) for k in g) for g in zipped):
            groups = tuple(tuple(g) for g in zipped)
        else:
            raise ConfigError(f"zip = {zipped!r} must be true, false or a list of lists of "
                              "sweep keys, e.g. [[\"neuromodulation.level\", \"seed\"]]")
        function = data.get("function", DEFAULT_FUNCTION)
        if not isinstance(function, str):
            raise ConfigError(f"function = {function!r} must be a 'module:function' string")
        return cls(grid=tuple(grid), zip=groups, function=function)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping in the sweep-file layout (JSON/TOML-ready)."""
        return {"sweep": {k: [list(v) if isinstance(v, tuple) else v for v in vals]
                          for k, vals in self.grid},
                "zip": [list(g) for g in self.zip], "function": self.function}

    @property
    def keys(self) -> tuple[str, ...]:
        """The swept configuration keys, in file order."""
        return tuple(k for k, _ in self.grid)

    # ------------------------------------------------------------------ expansion
    def combinations(self) -> list[dict[str, Any]]:
        """Every point of the sweep as ``{key: value}`` (the last axis varies fastest)."""
        values = dict(self.grid)
        group_of = {k: g for g in self.zip for k in g}
        axes: list[tuple[str, ...]] = []
        for key in self.keys:
            axis = group_of.get(key, (key,))
            if axis not in axes:
                axes.append(axis)
        points = [[dict(zip(axis, row)) for row in zip(*(values[k] for k in axis))] for axis in axes]
        out = []
        for combo in itertools.product(*points):
            merged: dict[str, Any] = {}
            for part in combo:
                merged.update(part)
            out.append({k: merged[k] for k in self.keys})
        return out

    def tasks(self, base: SimulationConfig) -> list[SweepTask]:
        """Validated tasks of the sweep applied to ``base``.

        Each key and value is first checked alone on ``base`` (so an error names the key), then
        every combination is built (cross-field checks name the combination).

        Raises
        ------
        ConfigError
            On an unknown key, a value out of range, an invalid combination or duplicate tasks.
        """
        base_dict = base.to_dict()
        for key, values in self.grid:
            for value in values:
                try:
                    SimulationConfig.from_dict(_override(base_dict, {key: value}))
                except ConfigError as exc:
                    raise ConfigError(f"sweep key {key!r} = {_plain(value)!r}: {exc}") from None
        tasks = []
        for params in self.combinations():
            try:
                cfg = SimulationConfig.from_dict(_override(base_dict, params))
            except ConfigError as exc:
                raise ConfigError(f"sweep task {_describe(params)}: {exc}") from None
            tasks.append(SweepTask(task_id(cfg, self.function), params, cfg))
        ids = [t.id for t in tasks]
        if len(set(ids)) < len(ids):
            twice = next(t for t in tasks if ids.count(t.id) > 1)
            raise ConfigError(f"the sweep has duplicate tasks (same full configuration), e.g. "
                              f"{_describe(twice.params)}; remove repeated values")
        return tasks


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def _override(base: dict[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Deep copy of the config mapping ``base`` with dotted keys set to new values."""
    data = copy.deepcopy(base)
    for key, value in params.items():
        parts = key.split(".")
        node = data
        for depth, part in enumerate(parts[:-1]):
            child = node.get(part)
            if not isinstance(child, dict):
                where = ".".join(parts[:depth + 1])
                raise ConfigError(f"unknown key {key!r}: {where!r} is not a section of the "
                                  "configuration" if child is None else
                                  f"unknown key {key!r}: {where!r} is a value, not a section")
            node = child
        node[parts[-1]] = list(value) if isinstance(value, tuple) else value
    return data


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _describe(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {_plain(v)!r}" for k, v in params.items())


def task_id(cfg: SimulationConfig, function: str) -> str:
    """Stable id of a task: 16 hex digits of SHA-1 over the canonical config JSON and function."""
    text = json.dumps({"config": cfg.to_dict(), "function": function}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]




def load_sweep(path: str | os.PathLike) -> Sweep:
    """Read a sweep file (TOML; see the module docstring).

    Parameters
    ----------
    path
        The sweep TOML file.

    Raises
    ------
    ConfigError
        If the file is missing, not TOML, or not a valid sweep.
    """
    return Sweep.from_dict(load_toml(path))


def resolve_function(spec: str) -> TaskFunction:
    """Import the task function named ``"module:function"``.

    Raises
    ------
    ConfigError
        If the module cannot be imported or has no such callable.
    """
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"task function {spec!r}: cannot import {module_name!r} ({exc})") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ConfigError(f"task function {spec!r}: {module_name!r} has no function {name!r}")
    return fn


# ----------------------------------------------------------------------------- default task
def summarize(cfg: SimulationConfig) -> xr.Dataset:
    """Simulate ``cfg`` and reduce it to motor-unit measures and force statistics.

    The plateau is where the target is at least 95 % of its peak (the whole task if the target
    is zero throughout).

    Parameters
    ----------
    cfg
        Full simulation configuration.

    Returns
    -------
    xarray.Dataset
        Per unit (dim ``unit``): the variables of :func:`simulator.measures.unit_summary`
        (thresholds [%MVC], rates [pps], ISI CoV, delta-F [pps]). Scalars: ``mvc_n`` [N],
        ``force_mean_mvc`` and ``force_sd_mvc`` on the plateau [%MVC], ``force_cov_pct`` [%],
        ``tracking_rmse_mvc`` over the task [%MVC], ``n_spikes``, ``n_recruited`` (units with a
        recruitment threshold) and ``plateau_rate_pps``, the mean discharge rate of the units
        firing on the plateau [pps].
    """
    from simulator.measures import spike_trains, unit_summary
    from simulator.simulation import simulate
    ds = simulate(cfg)
    units = unit_summary(ds)
    t = ds["time"].values
    force = ds["force_mvc"].values
    target = ds["target"].values
    plateau = target >= 0.95 * target.max() if target.max() > 0 else np.ones(t.size, bool)
    t0, t1 = t[plateau][0], t[plateau][-1]
    counts = np.array([np.count_nonzero((s >= t0) & (s <= t1)) for s in spike_trains(ds).values()])
    firing = counts >= 2
    mean_f, sd_f = float(force[plateau].mean()), float(force[plateau].std())
    values = {
        "mvc_n": float(ds.attrs["mvc_n"]),
        "force_mean_mvc": mean_f,
        "force_sd_mvc": sd_f,
        "force_cov_pct": 100.0 * sd_f / mean_f if mean_f > 0 else np.nan,
        "tracking_rmse_mvc": float(np.sqrt(np.mean((force - target) ** 2))),
        "n_spikes": int(ds.sizes["spike"]),
        "n_recruited": int(np.isfinite(units["recruitment_threshold"].values).sum()),
        "plateau_rate_pps": (float(counts[firing].mean() / (t1 - t0)) if firing.any() and t1 > t0
                             else np.nan),
    }
    for name, (unit, long_name) in SUMMARY_MEASURES.items():
        units[name] = ((), values[name], {"units": unit, "long_name": long_name})
    units.attrs = {"kind": "sweep_summary", "seed": cfg.seed}
    return units


# ----------------------------------------------------------------------------- execution
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


def _execute(function: str, cfg: SimulationConfig, kwargs: Mapping[str, Any] | None = None
             ) -> tuple[bool, Any]:
    """Run one task where it is scheduled; never raises, so failures travel back as records."""
    try:
        result = resolve_function(function)(cfg, **(kwargs or {}))
        if not isinstance(result, xr.Dataset):
            raise TypeError(f"{function} returned {type(result).__name__}, not an xarray.Dataset")
        return True, result
    except Exception as exc:  # noqa: BLE001 - any task error is reported, the sweep goes on
        return False, _failure_record(exc)


def _failure_record(exc: BaseException) -> dict[str, str]:
    # the innermost frames say where it broke; the outer ones are always the runner's own
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-4))
    return {"error": type(exc).__name__, "message": str(exc), "traceback": tb}


def default_workers() -> int:
    """Number of CPU cores this process may use (the default number of local workers)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


class _ImportBrian2(WorkerPlugin):
    """Worker plugin: import Brian2 on every worker's main thread before any task runs.

    Brian2 installs a SIGINT handler on import, which Python allows only on the main thread;
    tasks run on a worker's executor thread, so the first import must happen here (plugins are
    set up on the worker's event-loop thread, which is its main thread).
    """

    name = "mnpool-import-brian2"

    def setup(self, worker: Any) -> None:  # noqa: D102 - WorkerPlugin hook
        import brian2  # noqa: F401


def _prepared(client: Client) -> Client:
    client.register_plugin(_ImportBrian2())
    return client


@contextmanager
def _dask_client(scheduler: Scheduler, workers: int | None) -> Iterator[Client]:
    """A connected ``distributed.Client``: local cluster, scheduler address, or the given client."""
    from distributed import LocalCluster
    if isinstance(scheduler, Client):
        yield _prepared(scheduler)
        return
    if scheduler is None:
        from simulator.cache import cache_dir
        # workers are fresh processes: hand them the cache folder explicitly so standalone
        # builds and calibrations are shared with this process (and with each other)
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                               processes=True, dashboard_address=None,
                               env={"MNPOOL_CACHE": str(cache_dir())})
        with cluster, Client(cluster) as client:
            yield _prepared(client)
        return
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"cannot reach the Dask scheduler at {scheduler!r} within "
                          f"{CONNECT_TIMEOUT_S:g} s ({type(exc).__name__}: {exc}); start it with "
                          "'dask scheduler' or drop --scheduler to use a local cluster") from None
    with client:
        try:
            client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
        except TimeoutError:
            raise ConfigError(f"the Dask scheduler at {scheduler!r} has no workers; start one per "
                              f"node with 'dask worker {scheduler}'") from None
        yield _prepared(client)


def _run_dask(client: Client, tasks: Sequence[SweepTask], function: str,
              kwargs: Mapping[str, Any] | None = None) -> Iterator[tuple[SweepTask, bool, Any]]:
    from distributed import as_completed
    futures = {client.submit(_execute, function, t.config, kwargs, key=f"mnpool-sweep-{t.id}",
                             pure=False): t for t in tasks}
    for future in as_completed(futures):
        task = futures[future]
        try:
            ok, payload = future.result()
        except Exception as exc:  # noqa: BLE001 - e.g. the worker process died (KilledWorker)
            ok, payload = False, _failure_record(exc)
        future.release()
        yield task, ok, payload


def _run_serial(tasks: Sequence[SweepTask], function: str, kwargs: Mapping[str, Any] | None = None
                ) -> Iterator[tuple[SweepTask, bool, Any]]:
    for task in tasks:
        yield (task, *_execute(function, task.config, kwargs))


def _tag(ds: xr.Dataset, task: SweepTask, function: str) -> xr.Dataset:
    """Attach the task's identity to its result, so every task file stands on its own."""
    ds = ds.copy()
    ds.attrs.update({"task_id": task.id, "params": {k: _plain(v) for k, v in task.params.items()},
                     "config": task.config.to_dict(), "function": function})
    return ds


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


def run_tasks(tasks: Sequence[SweepTask], function: str, out: str | os.PathLike, *,
              scheduler: Scheduler = None, workers: int | None = None, progress: bool = True,
              kwargs: Mapping[str, Any] | None = None, desc: str = "mnpool sweep"
              ) -> tuple[list[dict[str, Any]], int]:
    """Run the unfinished ``tasks`` (no ``out/tasks/<id>.nc`` yet) and stream their results there.

    The engine of every multi-run command (sweeps, training scenarios, the atlas): tasks run on
    Dask (or serially), each finished result is written at once, a failed task is recorded in
    ``out/failures.json`` with its parameters and the others go on.

    Parameters
    ----------
    tasks
        Tasks with ids, parameters and configurations.
    function
        ``"module:function"`` called as ``function(config, **kwargs)`` on a worker.
    out
        Output folder.
    scheduler, workers
        As for :func:`run_sweep`.
    progress
        Progress bar of tasks done / total.
    kwargs
        Extra keyword arguments of the task function (must pickle).
    desc
        Label of the progress bar and of failure messages.

    Returns
    -------
    failures, executed
        Failure records (sweep order) and the number of tasks run now.
    """
    out = Path(out)
    task_dir = out / _TASKS_DIR
    todo = [t for t in tasks if not (task_dir / f"{t.id}.nc").is_file()]
    failures: list[dict[str, Any]] = []
    if todo:
        with _results(todo, function, scheduler, workers, kwargs) as stream:
            from simulator.io import save_netcdf
            from tqdm.auto import tqdm
            with tqdm(total=len(tasks), initial=len(tasks) - len(todo), unit="task",
                      desc=desc, disable=not progress) as bar:
                for task, ok, payload in stream:
                    if ok:
                        save_netcdf(_tag(payload, task, function), task_dir / f"{task.id}.nc")
                    else:
                        failures.append({"id": task.id, "params": {k: _plain(v) for k, v in
                                                                   task.params.items()}, **payload})
                        bar.write(f"{desc}: task {task.id} ({_describe(task.params)}) failed: "
                                  f"{payload['error']}: {payload['message']}")
                    bar.update()
    order = {t.id: i for i, t in enumerate(tasks)}
    failures.sort(key=lambda f: order[f["id"]])
    out.mkdir(parents=True, exist_ok=True)
    _write_failures(out, failures)
    return failures, len(todo)


@contextmanager
def _results(tasks: Sequence[SweepTask], function: str, scheduler: Scheduler, workers: int | None,
             kwargs: Mapping[str, Any] | None = None) -> Iterator[Iterator[tuple[SweepTask, bool, Any]]]:
    if isinstance(scheduler, str) and scheduler == "serial":
        yield _run_serial(tasks, function, kwargs)
        return
    with _dask_client(scheduler, workers) as client:
        yield _run_dask(client, tasks, function, kwargs)


def _write_failures(out: Path, failures: list[dict[str, Any]]) -> None:
    from simulator.io import atomic_path
    with atomic_path(out / "failures.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(failures, indent=2) + "\n")


def _coordinate(values: Sequence[Any]) -> np.ndarray:
    # list-valued parameters (tuple fields) cannot be a 1-D coordinate: store them as JSON text
    if any(isinstance(v, (tuple, list)) for v in values):
        return np.array([json.dumps(_plain(v)) for v in values])
    return np.asarray(values)


def gather(tasks: Sequence[SweepTask], out: str | os.PathLike, *, base: SimulationConfig,
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
    done = [t for t in tasks if (out / _TASKS_DIR / f"{t.id}.nc").is_file()]
    if not done:
        return None
    parts = []
    for task in done:
        part = load_netcdf(out / _TASKS_DIR / f"{task.id}.nc")
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


# ----------------------------------------------------------------------------- figure
def plot_sweep(ds: xr.Dataset, path: str | os.PathLike, measure: str | None = None) -> Path:
    """Plot one per-task measure against the first swept parameter and save it as PNG.

    Every task is a dot; the line joins the means over the other swept parameters.

    Parameters
    ----------
    ds
        Gathered sweep Dataset (:func:`gather`).
    path
        PNG file to write.
    measure
        A variable with only the ``task`` dimension (default :data:`DEFAULT_MEASURE` if present,
        else the first such variable).

    Raises
    ------
    ConfigError
        If ``measure`` is not a per-task variable of ``ds``.
    """
    from simulator.plotting import _pyplot, save_figure
    scalars = [v for v in ds.data_vars if ds[v].dims == ("task",) and v != "config"
               and np.issubdtype(ds[v].dtype, np.number)]
    if measure is None:
        measure = DEFAULT_MEASURE if DEFAULT_MEASURE in scalars else (scalars[0] if scalars else None)
    if measure not in scalars:
        raise ConfigError(f"measure {measure!r} is not a per-task number of the sweep; "
                          f"available: {', '.join(scalars) or 'none'}")
    key = ds.attrs["parameters"][0]
    x = ds[key].values
    y = ds[measure].values.astype(float)
    numeric = np.issubdtype(x.dtype, np.number)
    levels = np.unique(x)
    pos = x.astype(float) if numeric else np.searchsorted(levels, x).astype(float)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(pos, y, "o", alpha=0.6, label="task")
    means = [np.nanmean(y[x == lv]) if np.isfinite(y[x == lv]).any() else np.nan for lv in levels]
    ax.plot(levels.astype(float) if numeric else np.arange(levels.size), means, "-", lw=2,
            label="mean over other parameters" if len(ds.attrs["parameters"]) > 1 else "mean")
    if not numeric:
        ax.set_xticks(np.arange(levels.size), [str(v) for v in levels])
    unit = ds[measure].attrs.get("units", "")
    ax.set_xlabel(key)
    ax.set_ylabel(f"{measure} [{unit}]" if unit else measure)
    ax.set_title(f"{ds.attrs.get('n_finished', ds.sizes['task'])} tasks", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    return save_figure(fig, path)
