"""Run a network on Brian2's runtime (Cython) or ``cpp_standalone`` device.

* **standalone** (the default where a C++ compiler works): every network structure is
  generated and compiled once into the cache directory (``$MNPOOL_CACHE`` or
  ``~/.cache/mnpool``) and the binary is re-run with every parameter and input as command-line
  values, by this process and every later one (:mod:`simulator.standalone`);
* **runtime** builds the objects in this process and runs them with the Cython code-generation
  target (NumPy where Cython is unavailable), with a progress bar; it is the fallback where no
  compiler works, with a one-line notice;
* **auto** picks one of them (:func:`resolve`).

No Brian2 random number generator is used anywhere: every random input is drawn with NumPy from
the run's seed and passed as values, which is what makes the two engines give the same spikes.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

import numpy as np

from .config import ConfigError
from .network import DRIVE_SIGNALS, NERVE_STATES, PATHWAY_CURRENTS, Built, Structure, build

__all__ = ["ENGINES", "Values", "Results", "run", "resolve", "check_environment"]

ENGINES = ("auto", "runtime", "standalone")

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
    engine: str = "runtime"
    #: Nerve latches at the end of every trial segment but the last, ``(unit, segment)``
    #: (multi-segment runs only; the last segment's are :attr:`nerve`).
    latches: dict[str, np.ndarray] | None = None


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
        latches=None if built.latches is None else
        {k: grab(getattr(built.latches, k + "_"))[:, 1:] for k in NERVE_STATES},
    )


# ----------------------------------------------------------------------------- runtime
def _run_runtime(structure: Structure, values: Values, progress: bool) -> Results:
    import brian2 as b2
    _ensure_runtime()
    timed = {k[3:]: v for k, v in values.items() if k.startswith("ta.")}
    built = build(structure, timed, runtime=True)
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
    try:
        import Cython  # noqa: F401
        b2.prefs.codegen.target = "cython"
    except ImportError:  # pragma: no cover - Cython is a declared dependency
        b2.prefs.codegen.target = "numpy"
    b2.prefs.logging.std_redirection = False
    # Brian2's Ctrl+C handler ends a run early and returns its truncated results as if complete;
    # an interrupted command must stop instead, so that nothing half-simulated is written.
    b2.prefs.core.stop_on_keyboard_interrupt = False


# ----------------------------------------------------------------------------- standalone
def _run_standalone(structure: Structure, values: Values, progress: bool) -> Results:
    from . import standalone
    compiled = standalone.ensure_build(structure, progress=progress)
    try:
        out = standalone.run_build(compiled, values)
    except standalone.BinaryFailed as exc:  # a damaged binary: rebuild it once
        print(f"mnpool: {exc}; rebuilding the network", file=sys.stderr, flush=True)
        standalone.discard(compiled)
        out = standalone.run_build(standalone.ensure_build(structure, progress=progress), values)
    return _results_from_outputs(out)


def _results_from_outputs(out: dict[str, np.ndarray]) -> Results:
    order = np.lexsort((out["spikes.i"], out["spikes.t"]))
    voltage = voltage_t = None
    if "voltage.t" in out:
        voltage = {v: out[f"voltage.{v}"] for v in ("v_s", "v_d", "m_pic")}
        voltage_t = out["voltage.t"]
    return Results(
        spike_time=out["spikes.t"][order],
        spike_unit=out["spikes.i"][order].astype(np.int32),
        t=out["state.t"],
        force=out["state.force"][0],
        excitation=out["state.exc"][0],
        target=out["state.goal"][0],
        signals={k: out[f"state.{k}"][0] for k in DRIVE_SIGNALS},
        pathways={k: out[f"pathways.{k}"] for k in PATHWAY_CURRENTS},
        voltage=voltage,
        voltage_t=voltage_t,
        nerve={k: out[f"mn.{k}"] for k in NERVE_STATES},
        latches={k: out[f"latches.{k}"][:, 1:] for k in NERVE_STATES} if "latches.ax_m" in out else None,
        engine="standalone",
    )


# ----------------------------------------------------------------------------- choice
_NOTICES: set[str] = set()


def _notice(text: str) -> None:
    """Print a one-line notice on stderr, once per process."""
    if text not in _NOTICES:
        _NOTICES.add(text)
        print(f"mnpool: {text}", file=sys.stderr, flush=True)


def resolve(engine: str) -> str:
    """The engine that ``engine`` runs on: ``"auto"`` is ``$MNPOOL_ENGINE`` when set, else
    ``"standalone"`` where a C++ compiler works (probed once, cached) and ``"runtime"`` otherwise."""
    if engine not in ENGINES:
        raise ValueError(f"engine = {engine!r} is not allowed; expected one of {', '.join(ENGINES)}")
    if engine != "auto":
        return engine
    chosen = os.environ.get("MNPOOL_ENGINE", "").strip()
    if chosen:
        if chosen not in ("runtime", "standalone"):
            raise ConfigError(f"MNPOOL_ENGINE = {chosen!r} is not allowed; expected runtime or standalone")
        return chosen
    from .standalone import compiler_works
    if compiler_works():
        return "standalone"
    _notice("no working C++ compiler (make and $CXX or g++); running on the slower runtime engine")
    return "runtime"


def check_environment() -> None:
    """Check the environment variables that choose how networks run, before any work.

    Raises
    ------
    simulator.config.ConfigError
        ``$MNPOOL_ENGINE`` names no engine, or ``$MNPOOL_SCRATCH`` is not a writable folder.
    """
    from .standalone import scratch_root
    if os.environ.get("MNPOOL_ENGINE", "").strip():
        resolve("auto")  # with the variable set, this only checks its value (no compiler probe)
    scratch_root()


def run(structure: Structure, values: Values, engine: str = "auto", *, progress: bool = False) -> Results:
    """Simulate ``structure`` with ``values`` on the chosen engine.

    Parameters
    ----------
    structure
        Network structure (number of units, duration, steps, recordings).
    values
        Every parameter and input (see :data:`Values`).
    engine
        ``"auto"`` (see :func:`resolve`), ``"runtime"`` or ``"standalone"``. When the
        standalone engine cannot build or run a network (no compiler, unwritable cache), the
        run falls back to the runtime engine with a one-line notice: both give the same spikes.
    progress
        Show a progress bar (runtime) or build messages (standalone).

    Returns
    -------
    Results
        ``Results.engine`` says which engine ran.
    """
    engine = resolve(engine)
    if engine == "standalone":
        from .standalone import StandaloneError
        try:
            return _run_standalone(structure, values, progress)
        except StandaloneError as exc:
            _notice(f"standalone engine unavailable ({exc}); running on the runtime engine")
    return _run_runtime(structure, values, progress)
