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

Modules: :mod:`~scenarios.sweep.spec` (the grid and its tasks), :mod:`~scenarios.sweep.summary`
(the default task), :mod:`~scenarios.sweep.run` (run and gather), :mod:`~scenarios.sweep.figures`;
the tasks themselves run on :mod:`scenarios.tasks`, shared with training and the atlas.
"""

from scenarios.sweep.figures import plot_sweep
from scenarios.sweep.run import SweepResult, gather, run_sweep
from scenarios.sweep.spec import DEFAULT_FUNCTION, Sweep, load_sweep
from scenarios.sweep.summary import DEFAULT_MEASURE, SUMMARY_MEASURES, summarize
from scenarios.tasks import (CONNECT_TIMEOUT_S, Scheduler, SweepTask, TaskFunction, default_workers,
                             resolve_function, run_tasks, task_id)

__all__ = ["DEFAULT_FUNCTION", "DEFAULT_MEASURE", "SUMMARY_MEASURES", "CONNECT_TIMEOUT_S", "Sweep", "SweepTask",
           "SweepResult", "TaskFunction", "Scheduler", "load_sweep", "resolve_function", "summarize",
           "run_sweep", "run_tasks", "gather", "plot_sweep", "default_workers", "task_id"]
