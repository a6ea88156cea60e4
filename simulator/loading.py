"""One loading layer for every input file a command reads (TOML, NetCDF, JSON, MAT, CSV).

Every reader here turns a missing, unreadable, truncated or malformed file, and a file whose
content does not hold what the stage needs, into one :class:`InputError` whose message starts
with the file's name (``FILE: what is wrong``); the command line prints it as one
``mnpool: error:`` line and exits with status 2, before any work (issue 16).

The Dataset readers then run the one check of each kind (:mod:`simulator._schema`): a sampling
rate that is a positive number and agrees with the ``time`` axis, a finite positive duration up
to :data:`simulator._schema.MAX_DURATION_S` that agrees with the axis too, spike times inside the
recording and spike units inside the pool, and the variables a stage reads.
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

import xarray as xr

from ._schema import MAX_DURATION_S, check_activity, check_recording
from .config import ConfigError, abbreviate, load_toml

__all__ = ["InputError", "read_toml", "read_json", "read_netcdf", "read_activity",
           "read_recording", "read_decomposition_file"]


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
    except BaseException:
        gc.collect()  # run those destructors now, while they are silenced (only after a failure:
        raise         # a full collection costs ~0.1 s in a process holding Brian2)
    finally:
        sys.unraisablehook = old


def _quote(value: Any) -> str:
    return abbreviate(repr(value), 60)


def _checked(path: str | os.PathLike, check: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a check of :mod:`simulator._schema`, naming ``path`` in its error."""
    try:
        return check(*args, **kwargs)
    except ConfigError as exc:
        raise InputError(path, str(exc)) from None


def read_activity(path: str | os.PathLike, limit_s: float = MAX_DURATION_S) -> xr.Dataset:
    """Load an activity Dataset (``mnpool simulate``) and check it for ``mnpool emg``
    (:func:`simulator._schema.check_activity`)."""
    ds = read_netcdf(path, kind="activity", what="activity Dataset")
    _checked(path, check_activity, ds, limit_s)
    return ds


def read_recording(path: str | os.PathLike, *, truth: bool = False,
                   limit_s: float = MAX_DURATION_S) -> xr.Dataset:
    """Load a recording Dataset (``mnpool emg``) and check it for decomposition or scoring
    (:func:`simulator._schema.check_recording`; ``truth`` also requires the ground truth)."""
    ds = read_netcdf(path, kind="recording", what="recording Dataset")
    _checked(path, check_recording, ds, truth=truth, limit_s=limit_s)
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
