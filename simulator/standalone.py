"""Compiled ``cpp_standalone`` networks, built once per structure and reused by every process.

A network :class:`~simulator.network.Structure` is generated and compiled once by Brian2 into
``<cache>/standalone-<key>`` (``$MNPOOL_CACHE`` or ``~/.cache/mnpool``). Next to the binary the
build writes a *manifest* (``mnpool-build.json``): for every value of a run (``mn.C_s``,
``ta.indep_ta``...) the command-line name and size the binary expects, and for every recorded
output the file the binary writes and its layout. Any later run, in this process or another
one, reads the manifest and starts the binary directly: no Brian2 import, no code generation,
no ``make``. Values travel as Brian2's ``run_args`` do (``name=value`` or ``name=file``).

Concurrency and damage:

* builds happen in a private temporary folder under an exclusive file lock, the manifest is
  written last and the folder is renamed into place, so a worker never sees half a build and
  two workers never compile the same structure at once;
* a build whose manifest is missing or unreadable, was made by another Brian2 version or
  another manifest format, or whose binary is missing, is *stale*: it is rebuilt with a
  one-line message on stderr; so is a build whose binary fails to run (once per process).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from .network import DRIVE_SIGNALS, NERVE_STATES, PATHWAY_CURRENTS, Structure, build, fit_timed

__all__ = ["StandaloneError", "BinaryFailed", "StandaloneBuild", "ensure_build", "run_build",
           "build_dir", "compiler_works", "scratch_root", "MANIFEST"]

#: Name of the manifest file inside a build folder.
MANIFEST = "mnpool-build.json"
#: Version of the manifest layout (a build with another one is rebuilt).
FORMAT = 3


class StandaloneError(RuntimeError):
    """The standalone engine cannot build or run a network (the message says why)."""


class BinaryFailed(StandaloneError):
    """The compiled binary did not start, failed or wrote no results (a damaged build)."""


def _brian2_version() -> str:
    return metadata.version("brian2")


def _cache_root() -> Path:
    from .cache import cache_dir
    return cache_dir()


def build_dir(structure: Structure) -> Path:
    """Build folder of ``structure`` (``<cache>/standalone-<key>``)."""
    return _cache_root() / f"standalone-{structure.key()}"


@dataclasses.dataclass(frozen=True)
class StandaloneBuild:
    """A compiled network: its folder and the manifest of its inputs and outputs.

    Attributes
    ----------
    directory
        Build folder (holds ``main`` and ``static_arrays/``).
    inputs
        ``value key -> {"arg": command-line name, "dtype": numpy dtype, "size": elements}``.
    outputs
        ``output name -> {"file": result file name, "dtype": numpy dtype, "cols": columns of a
        2-D monitor array or None}``.
    """

    directory: Path
    inputs: dict[str, dict[str, Any]]
    outputs: dict[str, dict[str, Any]]


# ----------------------------------------------------------------------------- manifest
def _load(directory: Path) -> tuple[StandaloneBuild | None, str]:
    """The build in ``directory``, or None and the reason it cannot be used."""
    path = directory / MANIFEST
    if not directory.exists():
        return None, "missing"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        return None, f"unreadable manifest ({type(exc).__name__})"
    if data.get("format") != FORMAT:
        return None, f"manifest format {data.get('format')!r}, expected {FORMAT}"
    if data.get("brian2") != _brian2_version():
        return None, f"built with Brian2 {data.get('brian2')}, this is Brian2 {_brian2_version()}"
    binary = directory / "main"
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        return None, "the compiled binary is missing"
    return StandaloneBuild(directory, data["inputs"], data["outputs"]), ""


def _manifest(built: Any) -> dict[str, Any]:
    """Describe the run arguments and result files of the Brian2 objects ``built`` (standalone
    device active, after the build)."""
    import brian2 as b2
    from brian2.core.variables import ArrayVariable
    device = b2.get_device()
    inputs: dict[str, dict[str, Any]] = {}
    for key, group in (("mn", built.mn), ("drive", built.drive)):
        for name, var in group.variables.items():
            if (isinstance(var, ArrayVariable) and not var.read_only and not name.startswith("_")
                    and getattr(var.owner, "name", None) == group.name and not var.dynamic):
                inputs[f"{key}.{name}"] = {"arg": f"{group.name}.{name}",
                                           "dtype": np.dtype(var.dtype).str, "size": int(var.size)}
    used = set(device.timed_arrays.values())  # the code of the run reads only these
    for name, ta in built.timed_arrays.items():
        if ta.name in used:
            inputs[f"ta.{name}"] = {"arg": f"{ta.name}.values", "dtype": ta.values.dtype.str,
                                    "size": int(ta.values.size),
                                    "cols": int(ta.values.size // ta.values.shape[0])}

    def out(var: Any, cols: int | None = None) -> dict[str, Any]:
        return {"file": device.get_array_filename(var), "dtype": np.dtype(var.dtype).str, "cols": cols}

    outputs = {"spikes.t": out(built.spikes.variables["t"]), "spikes.i": out(built.spikes.variables["i"]),
               "state.t": out(built.state.variables["t"])}
    outputs.update({f"state.{k}": out(built.state.variables[k], 1) for k in DRIVE_SIGNALS})
    outputs.update({f"pathways.{k}": out(built.pathways.variables[k], 2) for k in PATHWAY_CURRENTS})
    outputs.update({f"mn.{k}": out(built.mn.variables[k]) for k in NERVE_STATES})
    if built.latches is not None:
        outputs.update({f"latches.{k}": out(built.latches.variables[k], int(built.mn.N))
                        for k in NERVE_STATES})
    if built.voltage is not None:
        n_rec = len(built.voltage.record)
        outputs["voltage.t"] = out(built.voltage.variables["t"])
        outputs.update({f"voltage.{k}": out(built.voltage.variables[k], n_rec)
                        for k in ("v_s", "v_d", "m_pic")})
    return {"format": FORMAT, "brian2": _brian2_version(), "inputs": inputs, "outputs": outputs}


# ----------------------------------------------------------------------------- building
@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Exclusive lock on ``path`` across processes (released when the process dies)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: Brian2's portable lock
        from brian2.utils.filelock import FileLock
        with FileLock(str(path)):
            yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _compile(structure: Structure, directory: Path) -> None:
    """Generate and compile ``structure`` into ``directory`` and write its manifest."""
    import brian2 as b2
    from brian2.devices.device import reset_device, runtime_device
    b2.device.reinit()
    b2.set_device("cpp_standalone", directory=str(directory), build_on_run=False)
    b2.prefs.devices.cpp_standalone.openmp_threads = 0
    try:
        built = build(structure)
        built.network.run(structure.duration_s * b2.second)
        b2.device.build(directory=str(directory), compile=True, run=False, with_output=False)
        manifest = _manifest(built)
    finally:  # every later Brian2 use in this process starts from the runtime device
        b2.device.reinit()
        reset_device(runtime_device)
    (directory / MANIFEST).write_text(json.dumps(manifest))


def ensure_build(structure: Structure, *, progress: bool = False) -> StandaloneBuild:
    """The compiled build of ``structure``, compiling it only if no usable build exists.

    Raises
    ------
    StandaloneError
        The cache folder is not writable or the compilation failed.
    """
    try:
        directory = build_dir(structure)
    except OSError as exc:
        raise StandaloneError(f"cannot use the cache folder: {exc}") from exc
    found, reason = _load(directory)
    if found is not None:
        return found
    try:
        with _exclusive(directory.with_name(directory.name + ".lock")):
            found, reason = _load(directory)  # another worker may have built it meanwhile
            if found is not None:
                return found
            if reason != "missing":
                print(f"mnpool: standalone build {directory} is stale ({reason}); rebuilding",
                      file=sys.stderr, flush=True)
            if progress:
                print(f"Brian2 cpp_standalone: compiling network {structure.key()} "
                      f"({structure.n_units} units, {structure.duration_s:g} s), once per structure",
                      flush=True)
            tmp = directory.with_name(f"{directory.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:6]}")
            try:
                _compile(structure, tmp)
                if directory.exists():
                    shutil.rmtree(directory)
                os.replace(tmp, directory)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        raise StandaloneError(f"cannot build in {directory.parent}: {exc}") from exc
    except Exception as exc:  # Brian2 compilation errors come as several exception types
        raise StandaloneError(f"compilation of network {structure.key()} failed: "
                              f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from exc
    found, reason = _load(directory)
    if found is None:
        raise StandaloneError(f"build {directory} unusable right after compiling: {reason}")
    return found


def discard(build_: StandaloneBuild) -> None:
    """Remove a build that failed to run, so that the next :func:`ensure_build` recompiles it."""
    with _exclusive(build_.directory.with_name(build_.directory.name + ".lock")):
        (build_.directory / MANIFEST).unlink(missing_ok=True)


# ----------------------------------------------------------------------------- running
#: Free space a RAM-backed scratch folder must have to be used for a run's files [bytes].
SCRATCH_MIN_FREE = 1 << 30


def scratch_root() -> str | None:
    """Folder for the files a compiled run exchanges with Python (inputs, monitor outputs).

    ``$MNPOOL_SCRATCH`` if set; else ``/dev/shm`` where it is a writable RAM-backed folder with
    at least :data:`SCRATCH_MIN_FREE` free; else None (the system's temporary folder). A battery
    session passes ~150 MB through these files: on this project's 2-core VM, writing them to
    disk cost ~2.5 s of kernel time per 7.8-s session, in RAM ~0.3 s (benchmarks/README.md,
    tenth session). The files live only for the run; the folder of a run whose process was
    killed is removed by the next run (:func:`_remove_dead_runs`), so RAM is not left filled.

    Raises
    ------
    simulator.config.ConfigError
        ``$MNPOOL_SCRATCH`` is set but is not a writable folder.
    """
    chosen = os.environ.get("MNPOOL_SCRATCH", "").strip()
    if chosen:
        if not (os.path.isdir(chosen) and os.access(chosen, os.W_OK | os.X_OK)):
            from .config import ConfigError
            raise ConfigError(f"MNPOOL_SCRATCH = {chosen!r} is not a writable folder; "
                             "name one that is, or unset it")
        return chosen
    shm = "/dev/shm"
    try:
        if os.path.isdir(shm) and os.access(shm, os.W_OK | os.X_OK) \
                and shutil.disk_usage(shm).free >= SCRATCH_MIN_FREE:
            return shm
    except OSError:
        pass
    return None


#: Prefix of a run's folder in the scratch folder, followed by the pid of the process running it.
RUN_PREFIX = "mnpool-run-"


def _remove_dead_runs(root: Path) -> None:
    """Remove the run folders in ``root`` left by processes that no longer exist (killed during
    a run, e.g. a Dask worker): in ``/dev/shm`` they would hold RAM until the next reboot."""
    try:
        entries = list(root.glob(f"{RUN_PREFIX}*-*"))
    except OSError:
        return
    for entry in entries:
        pid = entry.name[len(RUN_PREFIX):].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # gone: its folder is an orphan
            shutil.rmtree(entry, ignore_errors=True)
        except (PermissionError, OSError):  # alive (another user's) or cannot tell: leave it
            continue


def _arguments(build_: StandaloneBuild, values: dict[str, Any], folder: Path) -> list[str]:
    args = []
    for key, value in values.items():
        spec = build_.inputs.get(key)
        if spec is None:
            raise StandaloneError(f"value {key!r} is not a variable of the compiled network")
        arr = np.ascontiguousarray(value, dtype=np.dtype(spec["dtype"]))
        if arr.size == 1 and math.isfinite(float(arr.reshape(-1)[0])):
            args.append(f"{spec['arg']}={arr.reshape(-1)[0].item()!r}")
            continue
        if arr.size == 1:  # a non-finite value cannot go on the command line
            arr = np.full(spec["size"], arr.reshape(-1)[0], dtype=arr.dtype)
        elif "cols" in spec and 0 < arr.size < spec["size"]:
            # the build's TimedArrays are padded (network.padded): pad the values alike
            table = arr if arr.ndim == 2 else arr.reshape(-1, spec["cols"])
            arr = np.ascontiguousarray(fit_timed(table, spec["size"] // spec["cols"], spec["cols"]),
                                       dtype=arr.dtype).reshape(-1)
        if arr.size != spec["size"]:
            raise StandaloneError(f"value {key!r} has {arr.size} elements, the network expects "
                                  f"{spec['size']}")
        path = folder / f"in_{key}.dat"
        arr.tofile(path)
        args.append(f"{spec['arg']}={path}")
    return args


def run_build(build_: StandaloneBuild, values: dict[str, Any]) -> dict[str, np.ndarray]:
    """Run the compiled network with ``values`` (SI units); return its outputs by name.

    2-D monitor outputs come as ``(recorded index, time)`` arrays, like Brian2's monitors.

    Raises
    ------
    StandaloneError
        A value does not fit the network (:class:`BinaryFailed`: the binary failed or wrote no
        results).
    """
    root = scratch_root()
    _remove_dead_runs(Path(root or tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix=f"{RUN_PREFIX}{os.getpid()}-", dir=root) as tmp:
        folder = Path(tmp)
        args = _arguments(build_, values, folder)
        try:
            proc = subprocess.run([str(build_.directory / "main"), "--results_dir", f"{folder}{os.sep}",
                                   *args], cwd=build_.directory, capture_output=True, text=True)
        except OSError as exc:
            raise BinaryFailed(f"cannot start {build_.directory / 'main'}: {exc}") from exc
        # the binary only warns about an input file of the wrong size: treat it as a failure
        if proc.returncode != 0 or "Error reading" in proc.stderr or "Cannot set" in proc.stderr:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
            raise BinaryFailed(f"{build_.directory / 'main'} failed (exit {proc.returncode}): {tail[0]}")
        outputs = {}
        for name, spec in build_.outputs.items():
            try:
                data = np.fromfile(folder / spec["file"], dtype=np.dtype(spec["dtype"]))
            except OSError as exc:
                raise BinaryFailed(f"the run wrote no {name} ({exc})") from exc
            outputs[name] = data if spec["cols"] is None else data.reshape(-1, spec["cols"]).T
        return outputs


# ----------------------------------------------------------------------------- compiler probe
_PROBE: dict[str, bool] = {}


def compiler_works() -> bool:
    """Whether ``make`` and the C++ compiler Brian2's makefile uses (``$CXX``, else ``g++``)
    compile a small program; probed once per compiler and cached on disk."""
    cxx = os.environ.get("CXX", "g++")
    if cxx in _PROBE:
        return _PROBE[cxx]
    exe, make = shutil.which(cxx.split()[0]), shutil.which("make")
    record = None
    try:
        record = _cache_root() / "compiler-probe.json"
        known = json.loads(record.read_text()) if record.is_file() else {}
    except (OSError, ValueError):
        known = {}
    ident = f"{cxx}|{exe}|{make}"
    if ident in known:
        _PROBE[cxx] = bool(known[ident])
        return _PROBE[cxx]
    ok = False
    if exe and make:
        with tempfile.TemporaryDirectory(prefix="mnpool-cxx-") as tmp:
            src = Path(tmp) / "probe.cpp"
            src.write_text("#include <vector>\nint main() { std::vector<int> v(1); return v[0]; }\n")
            try:
                done = subprocess.run([*cxx.split(), str(src), "-o", str(Path(tmp) / "probe")],
                                      capture_output=True, timeout=120)
                ok = done.returncode == 0 and subprocess.run([str(Path(tmp) / "probe")]).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
    _PROBE[cxx] = ok
    if record is not None:
        with contextlib.suppress(OSError):
            known[ident] = ok
            record.write_text(json.dumps(known))
    return ok
