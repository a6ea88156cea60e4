"""The task runner of every multi-run command: sweeps, training scenarios and the atlas.

A task is one validated configuration (the subject), the protocol run on it through the one
experiment interface (:func:`scenarios.registry.run`), a stable id (a hash of everything that
defines its result) and the parameters that name it; a sweep's task function runs as the
:class:`CallFunction` protocol, so every task takes the same path. :func:`run_tasks` runs the
unfinished tasks on a ``dask.distributed`` cluster (by default a local one with one
single-threaded worker process per core; any scheduler by address) or serially in this process.
Results stream to ``OUT/tasks/<id>.nc`` as they complete (written by this process, so workers
need no shared file system) and failures go to ``OUT/failures.json`` with their parameters and
traceback, so a re-run skips the finished tasks and one failure never stops the others.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import traceback
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import xarray as xr
from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin

from scenarios.registry import experiment, run
from scenarios.session import Session
from simulator.config import Config, ConfigError, param
from simulator.simulation import SimulationConfig

__all__ = ["CONNECT_TIMEOUT_S", "TASKS_DIR", "Task", "SweepTask", "CallFunction", "TaskFunction", "Scheduler", "task_id",
           "resolve_function", "run_tasks", "default_workers"]


#: Seconds to wait for a Dask scheduler (and for its first worker) before giving up.
CONNECT_TIMEOUT_S = 5.0

#: A task function: full configuration in, small result Dataset out.
TaskFunction = Callable[[SimulationConfig], xr.Dataset]
#: Where tasks run: ``None`` (local cluster), ``"serial"``, a scheduler address or a Client.
Scheduler = str | Client | None


#: Sub-folder of the output folder that holds one result file per task.
TASKS_DIR = "tasks"


@dataclasses.dataclass(frozen=True)
class Task:
    """One task: a configuration to run, its id and the parameters that name it.

    Attributes
    ----------
    id
        Stable id: first 16 hex digits of the SHA-1 of the full configuration and task function.
    params
        The swept keys and this task's values, in the order of the sweep file.
    config
        The full, validated configuration of the task (the subject).
    protocol
        What is run on it, through the one experiment interface
        (``scenarios.registry.run(config, protocol)``): a registered protocol such as a
        :class:`~scenarios.battery.BatteryConfig` or a :class:`CallFunction`.
    """

    id: str
    params: dict[str, Any]
    config: SimulationConfig
    protocol: Config


#: The former name of :class:`Task` (sweeps were its first user).
SweepTask = Task


@dataclasses.dataclass(frozen=True)
class CallFunction(Config):
    """Protocol of a sweep task: call a task function (:data:`TaskFunction`) on the full
    configuration, its own task included (``function = "module:function"`` of a sweep file)."""

    section = "call_function"
    function: str = param("scenarios.sweep:summarize", doc="task function as 'module:function'")


@experiment(CallFunction)
def _call(session: Session, protocol: CallFunction) -> xr.Dataset:
    return resolve_function(protocol.function)(session.subject)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _describe(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {_plain(v)!r}" for k, v in params.items())


def task_id(cfg: SimulationConfig, function: str, **extra: Any) -> str:
    """Stable id of a task: 16 hex digits of SHA-1 over the canonical JSON of its definition.

    Parameters
    ----------
    cfg
        The task's full configuration.
    function
        The task function (``"module:function"``).
    **extra
        Anything else that changes the result (JSON-ready), e.g. ``battery=battery.to_dict()``.
    """
    text = json.dumps({"config": cfg.to_dict(), "function": function, **extra}, sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def resolve_function(spec: str) -> TaskFunction:
    """Import the task function named ``"module:function"``.

    This imports and runs code: a sweep file is as trusted as a script. To keep a file planted in
    the folder a sweep is started from from being run by name, the module is imported from the
    installed packages and ``sys.path`` without the current folder (``""``, ``"."`` or the
    working directory itself), unless it is already imported.

    Raises
    ------
    ConfigError
        If the module cannot be imported (or lies only in the current folder) or has no such
        callable.
    """
    import sys
    module_name, _, name = spec.partition(":")
    if not module_name or not name:
        raise ConfigError(f"task function {spec!r} must be written 'module:function'")
    if module_name in sys.modules:
        module = sys.modules[module_name]
    else:
        cwd = os.path.realpath(os.getcwd())
        saved = list(sys.path)
        sys.path[:] = [p for p in saved if p not in ("", ".") and os.path.realpath(p) != cwd]
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise ConfigError(f"task function {spec!r}: cannot import {module_name!r} from the "
                              f"installed packages ({exc}); modules in the current folder are "
                              "not imported") from None
        finally:
            sys.path[:] = saved
    fn = getattr(module, name, None)
    if not callable(fn):
        raise ConfigError(f"task function {spec!r}: {module_name!r} has no function {name!r}")
    return fn


def _execute(function: str, cfg: SimulationConfig, protocol: Config) -> tuple[bool, Any]:
    """Run one task where it is scheduled; never raises, so failures travel back as records."""
    try:
        result = run(cfg, protocol)
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
        # builds and calibrations are shared with this process (and with each other), and the
        # engine choice of 'auto' when it is set
        env = {"MNPOOL_CACHE": str(cache_dir())}
        if os.environ.get("MNPOOL_ENGINE"):
            env["MNPOOL_ENGINE"] = os.environ["MNPOOL_ENGINE"]
        cluster = LocalCluster(n_workers=workers or default_workers(), threads_per_worker=1,
                               processes=True, dashboard_address=None, env=env)
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


def _run_dask(client: Client, tasks: Sequence[Task], function: str) -> Iterator[tuple[Task, bool, Any]]:
    from distributed import as_completed
    futures = {client.submit(_execute, function, t.config, t.protocol, key=f"mnpool-sweep-{t.id}",
                             pure=False): t for t in tasks}
    for future in as_completed(futures):
        task = futures[future]
        try:
            ok, payload = future.result()
        except Exception as exc:  # noqa: BLE001 - e.g. the worker process died (KilledWorker)
            ok, payload = False, _failure_record(exc)
        future.release()
        yield task, ok, payload


def _run_serial(tasks: Sequence[Task], function: str) -> Iterator[tuple[Task, bool, Any]]:
    for task in tasks:
        yield (task, *_execute(function, task.config, task.protocol))


def _tag(ds: xr.Dataset, task: Task, function: str) -> xr.Dataset:
    """Attach the task's identity to its result, so every task file stands on its own."""
    ds = ds.copy()
    ds.attrs.update({"task_id": task.id, "params": {k: _plain(v) for k, v in task.params.items()},
                     "config": task.config.to_dict(), "function": function})
    return ds


def run_tasks(tasks: Sequence[Task], function: str, out: str | os.PathLike, *,
              scheduler: Scheduler = None, workers: int | None = None, progress: bool = True,
              desc: str = "mnpool sweep"
              ) -> tuple[list[dict[str, Any]], int]:
    """Run the unfinished ``tasks`` (no ``out/tasks/<id>.nc`` yet) and stream their results there.

    The engine of every multi-run command (sweeps, training scenarios, the atlas): tasks run on
    Dask (or serially), each finished result is written at once, a failed task is recorded in
    ``out/failures.json`` with its parameters and the others go on.

    Parameters
    ----------
    tasks
        Tasks with ids, parameters, configurations and protocols; each runs on a worker as
        ``scenarios.registry.run(task.config, task.protocol)``.
    function
        Name of the task function (``"module:function"``) recorded in every result's attrs.
    out
        Output folder.
    scheduler, workers
        As for :func:`run_sweep`.
    progress
        Progress bar of tasks done / total.
    desc
        Label of the progress bar and of failure messages.

    Returns
    -------
    failures, executed
        Failure records (sweep order) and the number of tasks run now.
    """
    out = Path(out)
    task_dir = out / TASKS_DIR
    todo = [t for t in tasks if not _finished(task_dir, t, function)]
    failures: list[dict[str, Any]] = []
    if todo:
        with _results(todo, function, scheduler, workers) as stream:
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


def _finished(task_dir: Path, task: Task, function: str) -> bool:
    """Whether ``task_dir/<id>.nc`` is a complete result of ``task``; a damaged file, or one of
    another task or function, is removed so the task runs again."""
    from simulator.io import load_netcdf
    path = task_dir / f"{task.id}.nc"
    for leftover in task_dir.glob(f".{task.id}.nc.*"):  # temporaries of a killed write
        leftover.unlink(missing_ok=True)
    if not path.is_file():
        return False
    try:
        attrs = load_netcdf(path).attrs
        ok = (attrs.get("task_id") == task.id and attrs.get("function") == function
              and json.dumps(attrs.get("config"), sort_keys=True)
              == json.dumps(task.config.to_dict(), sort_keys=True))
    except Exception:  # noqa: BLE001 - any failure to read it means the file must be redone
        ok = False
    if not ok:
        warnings.warn(f"task file {str(path)!r} is damaged or belongs to another task; "
                      "running the task again", stacklevel=3)
        path.unlink()
    return ok


@contextmanager
def _results(tasks: Sequence[Task], function: str, scheduler: Scheduler, workers: int | None
             ) -> Iterator[Iterator[tuple[Task, bool, Any]]]:
    if isinstance(scheduler, str) and scheduler == "serial":
        yield _run_serial(tasks, function)
        return
    with _dask_client(scheduler, workers) as client:
        yield _run_dask(client, tasks, function)


def _write_failures(out: Path, failures: list[dict[str, Any]]) -> None:
    from simulator.io import atomic_path
    with atomic_path(out / "failures.json", suffix=".json") as tmp:
        tmp.write_text(json.dumps(failures, indent=2) + "\n")
