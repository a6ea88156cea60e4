"""One loading layer for every input file a command reads (TOML, NetCDF, JSON, MAT, CSV).

Every reader here turns a missing, unreadable, truncated or malformed file, and a file whose
content does not hold what the stage needs, into one :class:`InputError` whose message starts
with the file's name (``FILE: what is wrong``); the command line prints it as one
``mnpool: error:`` line and exits with status 2, before any work (issue 16).

The validators check what the stages rely on: a sampling rate that is a positive number and
agrees with the ``time`` axis, a finite positive duration below :data:`MAX_DURATION_S` that
agrees with the axis too, spike times inside the recording and spike units inside the pool, and
the variables a stage reads.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .config import ConfigError, abbreviate, load_toml

__all__ = ["InputError", "MAX_DURATION_S", "MAX_RATE_HZ", "read_toml", "read_json", "read_netcdf",
           "read_activity", "read_recording", "read_decomposition_file", "check_rate",
           "check_duration", "check_spikes", "require_variables"]

#: Longest activity or recording accepted [s] (the task limit of :class:`simulator.task.TaskConfig`).
MAX_DURATION_S = 3600.0
#: Highest sampling rate accepted [Hz].
MAX_RATE_HZ = 1.0e6


class InputError(ConfigError):
    """An input file cannot be read, or does not hold what the command needs."""

    def __init__(self, path: str | os.PathLike, what: str) -> None:
        super().__init__(f"{str(path)}: {what}")
        self.path = str(path)


def _existing(path: str | os.PathLike, what: str) -> Path:
    """``path`` as a Path, checked to be a non-empty, readable file."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, f"no such {what}")
    if not p.is_file():
        raise InputError(p, f"is not a file (expected a {what})")
    try:
        size = p.stat().st_size
        with p.open("rb"):
            pass
    except OSError as exc:
        raise InputError(p, f"cannot be read: {exc.strerror or exc}") from None
    if size == 0:
        raise InputError(p, f"is empty (expected a {what})")
    return p


def _reason(exc: BaseException) -> str:
    """One short line describing a decoder's exception."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return abbreviate(f"{type(exc).__name__}: {first}" if first else type(exc).__name__, 160)


def read_toml(path: str | os.PathLike) -> dict[str, Any]:
    """Read a TOML file (see :func:`simulator.config.load_toml`); every problem is one line."""
    return load_toml(path)


def read_json(path: str | os.PathLike, what: str = "JSON file") -> Any:
    """Read a JSON file (plain or gzip-compressed) strictly: UTF-8, no NaN, bounded nesting.

    Raises
    ------
    InputError
        Missing, empty, not UTF-8, not JSON, or nested too deeply.
    """
    import gzip
    p = _existing(path, what)
    try:
        raw = p.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (OSError, EOFError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise InputError(p, f"is not a valid {what} ({_reason(exc)})") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def read_netcdf(path: str | os.PathLike, *, kind: str | tuple[str, ...] | None = None,
                what: str = "NetCDF Dataset") -> xr.Dataset:
    """Load a Dataset written by :func:`simulator.io.save_netcdf`, checking its ``kind``.

    Parameters
    ----------
    path
        The ``.nc`` file.
    kind
        Accepted value(s) of ``attrs["kind"]`` (any if ``None``).
    what
        How the file is called in messages.

    Raises
    ------
    InputError
        Missing, empty, truncated or not NetCDF/HDF5; undecodable attributes; another kind.
    """
    from .io import load_netcdf
    p = _existing(path, what)
    try:
        with _quiet_destructors():
            ds = load_netcdf(p)
    except ConfigError as exc:
        raise InputError(p, str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the file is damaged
        raise InputError(p, f"is not a readable {what} ({_reason(exc)})") from None
    if kind is not None:
        kinds = (kind,) if isinstance(kind, str) else kind
        found = ds.attrs.get("kind")
        if found not in kinds:
            raise InputError(p, f"holds a Dataset of kind {_quote(found)}; expected "
                                f"{' or '.join(repr(k) for k in kinds)}")
    return ds


@contextmanager
def _quiet_destructors() -> Iterator[None]:
    """Silence errors raised by destructors of half-opened files (h5netcdf prints a traceback
    from ``File.__del__`` when a damaged file fails to open); the failure itself is reported."""
    old = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: None
    try:
        yield
    finally:
        gc.collect()
        sys.unraisablehook = old


def _quote(value: Any) -> str:
    return abbreviate(repr(value), 60)


def require_variables(ds: xr.Dataset, names: tuple[str, ...] | list[str], path: str | os.PathLike,
                      what: str) -> None:
    """Raise :class:`InputError` naming the variables of ``names`` that ``ds`` lacks."""
    missing = [n for n in names if n not in ds.variables]
    if missing:
        raise InputError(path, f"{what} lacks variable(s) {', '.join(missing)}")


def _number(value: Any) -> float | None:
    """``value`` as a float if it is a real number (not a string or a boolean), else None."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    return float(value)


def check_rate(ds: xr.Dataset, attr: str, path: str | os.PathLike, what: str) -> float:
    """Check ``attrs[attr]`` is a sampling rate [Hz] that agrees with the ``time`` axis.

    The axis must be one-dimensional, finite, start at 0 s and be evenly sampled at the rate
    (within 1e-6 relative).

    Returns
    -------
    float
        The rate [Hz].
    """
    raw = ds.attrs.get(attr)
    fs = _number(raw)
    if raw is None:
        raise InputError(path, f"{what} has no attrs['{attr}'] (sampling rate in Hz)")
    if fs is None or not np.isfinite(fs) or not 0 < fs <= MAX_RATE_HZ:
        raise InputError(path, f"{what} attrs['{attr}'] = {_quote(raw)} must be a number of Hz "
                               f"in (0, {MAX_RATE_HZ:g}]")
    if "time" not in ds.variables or ds["time"].ndim != 1:
        raise InputError(path, f"{what} has no one-dimensional 'time' axis")
    t = np.asarray(ds["time"].values, dtype=float)
    if t.size == 0:
        raise InputError(path, f"{what} has no samples (its 'time' axis is empty)")
    if not np.all(np.isfinite(t)):
        raise InputError(path, f"{what} 'time' axis has non-finite values")
    if abs(t[0]) > 0.5 / fs:
        raise InputError(path, f"{what} 'time' axis starts at {t[0]:g} s, not 0 s")
    if t.size > 1:
        step = np.diff(t)
        if np.any(np.abs(step - 1.0 / fs) > 1e-6 / fs + 1e-9 * np.abs(t[1:])):
            fs_axis = 1.0 / float(np.median(step)) if np.median(step) > 0 else float("nan")
            raise InputError(path, f"mismatched sampling rates: {what} attrs['{attr}'] = {fs:g} Hz "
                                   f"but its time axis is sampled at {fs_axis:g} Hz")
    return fs


def check_duration(ds: xr.Dataset, fs: float, path: str | os.PathLike, what: str,
                   limit_s: float = MAX_DURATION_S) -> float:
    """Check ``attrs["duration_s"]`` (if present) is finite, positive, below ``limit_s`` and
    covers the ``time`` axis; return the duration [s] (from the axis if absent)."""
    n = ds.sizes["time"]
    axis = n / fs
    raw = ds.attrs.get("duration_s")
    if raw is None:
        duration = axis
    else:
        value = _number(raw)
        if value is None or not np.isfinite(value) or value <= 0:
            raise InputError(path, f"{what} attrs['duration_s'] = {_quote(raw)} must be a "
                                   "finite positive number of seconds")
        duration = value
    if duration > limit_s:
        raise InputError(path, f"{what} lasts {duration:g} s; at most {limit_s:g} s is allowed")
    if abs(duration - axis) > 2.0 / fs + 1e-9 * duration:
        raise InputError(path, f"{what} attrs['duration_s'] = {duration:g} s disagrees with its "
                               f"time axis ({n} samples at {fs:g} Hz = {axis:g} s)")
    return duration


def check_spikes(ds: xr.Dataset, duration_s: float, path: str | os.PathLike, what: str) -> None:
    """Check spike times are finite and inside ``[0, duration_s)`` and spike units inside the
    ``unit`` dimension."""
    st = np.asarray(ds["spike_time"].values, dtype=float)
    bad = ~np.isfinite(st) | (st < 0) | (st >= duration_s)
    if np.any(bad):
        first = st[bad][0]
        raise InputError(path, f"{what} has {int(bad.sum())} spike time(s) outside the recording "
                               f"[0, {duration_s:g}) s (e.g. {first:g})")
    su = np.asarray(ds["spike_unit"].values)
    n_units = ds.sizes.get("unit", 0)
    if su.size and (not np.issubdtype(su.dtype, np.integer) or su.min() < 0 or su.max() >= n_units):
        raise InputError(path, f"{what} spike_unit values must be integers in [0, {n_units - 1}]")
    if st.shape != su.shape:
        raise InputError(path, f"{what} spike_time and spike_unit differ in length")


#: Variables the EMG synthesis reads from an activity Dataset.
ACTIVITY_VARIABLES = ("spike_time", "spike_unit", "n_fibres", "fibre_cv_m_s", "force")


def read_activity(path: str | os.PathLike, limit_s: float = MAX_DURATION_S) -> xr.Dataset:
    """Load and validate an activity Dataset (``mnpool simulate``) for ``mnpool emg``."""
    what = "activity"
    ds = read_netcdf(path, kind="activity", what="activity Dataset")
    require_variables(ds, ACTIVITY_VARIABLES, path, what)
    fs = check_rate(ds, "fs_force_hz", path, what)
    duration = check_duration(ds, fs, path, what, limit_s)
    check_spikes(ds, duration, path, what)
    return ds


def read_recording(path: str | os.PathLike, *, truth: bool = False,
                   limit_s: float = MAX_DURATION_S) -> xr.Dataset:
    """Load and validate a recording Dataset (``mnpool emg``) for decomposition or scoring.

    Parameters
    ----------
    path
        The ``recording.nc`` file.
    truth
        Also require the ground truth (``spike_unit``, ``spike_sample``, ``spike_time``), as
        scoring does.
    limit_s
        Longest recording accepted [s].
    """
    what = "recording"
    ds = read_netcdf(path, kind="recording", what="recording Dataset")
    require_variables(ds, ("emg",), path, what)
    if ds["emg"].dims != ("time", "channel"):
        raise InputError(path, f"{what} 'emg' has dims {ds['emg'].dims}; expected ('time', 'channel')")
    fs = check_rate(ds, "fs_hz", path, what)
    duration = ds.sizes["time"] / fs
    if duration > limit_s:
        raise InputError(path, f"{what} lasts {duration:g} s; at most {limit_s:g} s is allowed")
    if not np.all(np.isfinite(ds["emg"].values)):
        raise InputError(path, f"{what} 'emg' has non-finite samples")
    if truth:
        if "spike_unit" not in ds.variables:
            raise InputError(path, "the recording has no ground truth (variables 'spike_unit' and "
                                   "'spike_sample'); only simulated recordings can be scored")
        require_variables(ds, ("spike_unit", "spike_sample", "spike_time"), path, what)
        check_spikes(ds, duration, path, what)
    return ds


def read_decomposition_file(path: str | os.PathLike, fmt: str | None = None, *,
                            fs_hz: float | None = None) -> xr.Dataset:
    """Read a decomposition in any format (see :func:`simulator.io.read_decomposition`).

    A damaged file, a file of another schema, and a mnpool NetCDF file that is not a
    decomposition (e.g. the recording itself) are one :class:`InputError`.
    """
    from .io import read_decomposition
    p = _existing(path, "decomposition file")
    try:
        ds = read_decomposition(p, fmt, fs_hz=fs_hz)
    except InputError:
        raise
    except ConfigError as exc:  # the readers name the file first: keep one copy of the name
        msg = str(exc)
        for prefix in (f"{str(p)!r}: ", f"{str(p)!r} "):
            if msg.startswith(prefix):
                msg = msg[len(prefix):]
        raise InputError(p, msg) from None
    except Exception as exc:  # noqa: BLE001 - any decoder failure means the file is damaged
        raise InputError(p, f"is not a readable decomposition ({_reason(exc)})") from None
    if "kind" in ds.attrs and ds.attrs["kind"] != "decomposition":
        raise InputError(p, f"holds a Dataset of kind {_quote(ds.attrs['kind'])}, not a "
                            "decomposition")
    for name in ("spike_unit", "spike_sample"):
        if name not in ds.variables:
            raise InputError(p, f"decomposition lacks variable {name!r}")
    return ds
