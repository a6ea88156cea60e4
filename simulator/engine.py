"""Run a network on Brian2's runtime (Cython) or ``cpp_standalone`` device.

* **runtime** builds the objects in this process and runs them with the Cython code-generation
  target (NumPy where Cython is unavailable), with a progress bar.
* **standalone** generates C++ once per :class:`simulator.network.Structure` into a build folder
  under the cache directory (``$MNPOOL_CACHE`` or ``~/.cache/mnpool``), compiles it once, and
  re-runs the binary with every parameter and input passed through ``run_args``. Within one
  process the compiled network stays loaded; other processes (Dask workers) reuse the compiled
  folder, guarded by a file lock, and write results to their own results folder.

No Brian2 random number generator is used anywhere: every random input is drawn with NumPy from
the run's seed and passed as values, which is what makes the two engines give the same spikes.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from .cache import cache_dir
from .network import DRIVE_SIGNALS, NERVE_STATES, PATHWAY_CURRENTS, Built, Structure, build

__all__ = ["ENGINES", "Values", "Results", "run"]

ENGINES = ("runtime", "standalone")

#: Values of one run: ``{"mn.C_s": array, "drive.kp": scalar, "ta.indep_ta": 2-D array, ...}``
#: in SI base units; names are ``group.variable`` or ``ta.<TimedArray name>``.
Values = dict[str, Any]


@dataclasses.dataclass
class Results:
    """Raw outputs of one run (SI units)."""

    spike_time: np.ndarray
    spike_unit: np.ndarray
    t: np.ndarray
    force: np.ndarray
    excitation: np.ndarray
    target: np.ndarray
    signals: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    pathways: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    voltage: dict[str, np.ndarray] | None = None
    voltage_t: np.ndarray | None = None
    nerve: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


def _quantity(group: Any, name: str, value: Any) -> Any:
    from brian2 import Quantity
    dim = group.variables[name].dim
    return Quantity(np.asarray(value, dtype=float), dim=dim)


def _split(built: Built, key: str) -> tuple[Any, str]:
    group_name, var = key.split(".", 1)
    if group_name == "ta":
        return built.timed_arrays[var], ""
    return {"mn": built.mn, "drive": built.drive}[group_name], var


def _collect(built: Built) -> Results:
    # Copy everything: Brian2 2.11 monitors expose views of C++-owned buffers that are freed
    # together with the network objects.
    def grab(x: Any, dtype: Any = float) -> np.ndarray:
        return np.array(x, dtype=dtype, copy=True)

    st = built.state
    voltage = voltage_t = None
    if built.voltage is not None:
        voltage = {v: grab(getattr(built.voltage, v + "_")) for v in ("v_s", "v_d", "m_pic")}
        voltage_t = grab(built.voltage.t_)
    spike_t = grab(built.spikes.t_[:])
    spike_i = grab(built.spikes.i[:], np.int32)
    order = np.lexsort((spike_i, spike_t))
    return Results(
        spike_time=spike_t[order],
        spike_unit=spike_i[order],
        t=grab(st.t_[:]),
        force=grab(st.force_[0]),
        excitation=grab(st.exc_[0]),
        target=grab(st.goal_[0]),
        signals={k: grab(getattr(st, k + "_")[0]) for k in DRIVE_SIGNALS},
        pathways={k: grab(getattr(built.pathways, k + "_")) for k in PATHWAY_CURRENTS},
        voltage=voltage,
        voltage_t=voltage_t,
        nerve={k: grab(getattr(built.mn, k + "_")[:]) for k in NERVE_STATES},
    )


# ----------------------------------------------------------------------------- runtime
def _run_runtime(structure: Structure, values: Values, progress: bool) -> Results:
    import brian2 as b2
    _ensure_runtime()
    timed = {k[3:]: v for k, v in values.items() if k.startswith("ta.")}
    built = build(structure, timed)
    for key, value in values.items():
        if not key.startswith("ta."):
            target, var = _split(built, key)
            setattr(target, var, _quantity(target, var, value))
    report = None
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=round(structure.duration_s, 3), unit="sim s", desc="Brian2 runtime",
                   bar_format="{l_bar}{bar}| {n:.1f}/{total:.1f} sim s [{elapsed}<{remaining}]")

        def report(elapsed, completed, start, duration):  # noqa: ANN001 - Brian2 callback
            bar.n = float(completed) * structure.duration_s
            bar.refresh()
    try:
        built.network.run(structure.duration_s * b2.second, report=report, report_period=1 * b2.second)
    finally:
        if bar is not None:
            bar.n = structure.duration_s
            bar.close()
    return _collect(built)


def _ensure_runtime() -> None:
    import brian2 as b2
    from brian2.devices.device import get_device, runtime_device
    if get_device() is not runtime_device:
        b2.device.reinit()
        from brian2.devices.device import reset_device
        reset_device(runtime_device)
        _STANDALONE["built"] = None
        _STANDALONE["key"] = None
    try:
        import Cython  # noqa: F401
        b2.prefs.codegen.target = "cython"
    except ImportError:  # pragma: no cover - Cython is a declared dependency
        b2.prefs.codegen.target = "numpy"
    b2.prefs.logging.std_redirection = False


# ----------------------------------------------------------------------------- standalone
_STANDALONE: dict[str, Any] = {"key": None, "built": None, "dir": None}


def _build_standalone(structure: Structure) -> None:
    import brian2 as b2
    from brian2.utils.filelock import FileLock
    key = structure.key()
    if _STANDALONE["key"] == key:  # _ensure_runtime() clears the key when it leaves standalone
        return
    directory = cache_dir() / f"standalone-{key}"
    directory.mkdir(parents=True, exist_ok=True)
    b2.device.reinit()
    b2.set_device("cpp_standalone", directory=str(directory), build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    built = build(structure)
    built.network.run(structure.duration_s * b2.second)
    with FileLock(str(directory) + ".lock"):
        b2.device.build(directory=str(directory), compile=True, run=False, with_output=False)
    _STANDALONE.update(key=key, built=built, dir=directory)


def _run_standalone(structure: Structure, values: Values, progress: bool) -> Results:
    import brian2 as b2
    if progress:
        print(f"Brian2 cpp_standalone: building/reusing network {structure.key()} "
              f"({structure.n_units} units, {structure.duration_s:g} s)", flush=True)
    _build_standalone(structure)  # no-op when this structure is already loaded
    built: Built = _STANDALONE["built"]
    run_args: dict[Any, Any] = {}
    for key, value in values.items():
        target, var = _split(built, key)
        if not var:
            run_args[target] = np.asarray(value, dtype=float).reshape(target.values.shape)
        else:
            view = getattr(target, var)
            arr = np.asarray(value, dtype=float)
            if target.variables[var].scalar:
                arr = arr.reshape(())
            run_args[view] = _quantity(target, var, arr)
    results_dir = f"results_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    b2.device.run(run_args=run_args, with_output=False, results_directory=results_dir)
    try:
        return _collect(built)
    finally:  # results are copied into memory; don't let sweeps fill the build folder
        shutil.rmtree(Path(_STANDALONE["dir"]) / results_dir, ignore_errors=True)


def run(structure: Structure, values: Values, engine: str = "runtime", *, progress: bool = False) -> Results:
    """Simulate ``structure`` with ``values`` on the chosen engine.

    Parameters
    ----------
    structure
        Network structure (number of units, duration, steps, recordings).
    values
        Every parameter and input (see :data:`Values`).
    engine
        ``"runtime"`` or ``"standalone"``.
    progress
        Show a progress bar (runtime) or build messages (standalone).

    Returns
    -------
    Results
    """
    if engine not in ENGINES:
        raise ValueError(f"engine = {engine!r} is not allowed; expected one of {', '.join(ENGINES)}")
    if engine == "runtime":
        return _run_runtime(structure, values, progress)
    return _run_standalone(structure, values, progress)
