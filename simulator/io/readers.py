"""Readers of decomposition outputs of other tools (openhdemg, MUedit, DEMUSE, CSV, mnpool).

Spike trains estimated by other decomposition tools are read into the schema of
:mod:`validation.decomposition` (``spike_unit``/``spike_sample``/``spike_time`` on dim ``spike``,
dim ``unit``, ``attrs["fs_hz"]``) so that :func:`validation.metrics.score` can compare them with
ground truth.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import xarray as xr

from .netcdf import load_netcdf

__all__ = ["read_openhdemg_json", "read_muedit_mat", "read_demuse_mat", "read_spike_csv",
           "read_decomposition", "DECOMPOSITION_FORMATS"]


# ---- readers of decomposition outputs
# Spike trains estimated by other decomposition tools, read into the schema of
# validation.decomposition (``spike_unit``/``spike_sample``/``spike_time`` on dim ``spike``,
# dim ``unit``, ``attrs["fs_hz"]``) so that validation.metrics.score can compare them with
# ground truth. Self-contained block: helpers are private to it.

#: Formats understood by :func:`read_decomposition`.
DECOMPOSITION_FORMATS = ("openhdemg", "muedit", "demuse", "csv", "netcdf")


def _decomposition_from_trains(trains: list, fs_hz: float | None, source: str,
                               path: Path) -> xr.Dataset:
    """Pack 0-based per-unit discharge samples into a decomposition Dataset."""
    from simulator.config import ConfigError
    clean = []
    for u, t in enumerate(trains):
        a = np.asarray(t, dtype=np.float64).ravel()
        if a.size and (not np.all(np.isfinite(a)) or np.any(a < 0) or not np.allclose(a, np.round(a))):
            raise ConfigError(f"{str(path)!r}: unit {u} has discharge samples that are not "
                              "non-negative integers")
        clean.append(np.unique(a.astype(np.int64)))
    unit = np.concatenate([np.full(t.size, u) for u, t in enumerate(clean)] or [np.zeros(0)])
    sample = np.concatenate(clean or [np.zeros(0)]).astype(np.int64)
    attrs = {"kind": "decomposition", "method": f"read from {source}", "source_file": str(path)}
    data = {"spike_unit": ("spike", unit.astype(np.int64)), "spike_sample": ("spike", sample)}
    if fs_hz is not None:
        attrs["fs_hz"] = float(fs_hz)
        data["spike_time"] = ("spike", sample / float(fs_hz), {"units": "s"})
    return xr.Dataset(data, coords={"unit": np.arange(len(clean))}, attrs=attrs)


def read_openhdemg_json(path: str | os.PathLike) -> xr.Dataset:
    """Read the discharges of an openhdemg ``.json`` emgfile (gzip-compressed or plain JSON).

    openhdemg (Valli et al. 2024) stores each field as a JSON string; ``MUPULSES`` is a list of
    0-based discharge samples per unit and ``FSAMP`` the sampling rate [Hz].

    Parameters
    ----------
    path
        The ``.json`` file.

    Returns
    -------
    xarray.Dataset
        Decomposition Dataset (``spike_unit``, ``spike_sample``, ``spike_time``; ``fs_hz``).
    """
    import gzip

    from simulator.config import ConfigError
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such decomposition file: {str(p)!r}")
    raw = p.read_bytes()
    text = gzip.decompress(raw).decode("utf-8") if raw[:2] == b"\x1f\x8b" else raw.decode("utf-8")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{str(p)!r} is not an openhdemg JSON file: {exc}") from exc
    if not isinstance(doc, dict) or "MUPULSES" not in doc:
        raise ConfigError(f"{str(p)!r} has no 'MUPULSES' field (not an openhdemg emgfile)")

    def field(key: str):
        v = doc.get(key)
        return json.loads(v) if isinstance(v, str) else v

    fs = field("FSAMP")
    return _decomposition_from_trains(field("MUPULSES"), None if fs is None else float(fs),
                                      "openhdemg JSON", p)


def _open_mat(path: str | os.PathLike) -> tuple[Path, dict]:
    """Path and variables of an existing decomposition ``.mat`` file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such decomposition file: {str(p)!r}")
    return p, _read_mat(p)


#: Reads a MATLAB v5 file in a child process and pickles (status, variables or error) to stdout.
_LOADMAT_CHILD = """
import pickle, sys
import scipy.io
try:
    out = ("ok", scipy.io.loadmat(sys.argv[1], squeeze_me=True, struct_as_record=False))
except NotImplementedError:
    out = ("v7.3", None)
except Exception as exc:
    out = ("error", f"{type(exc).__name__}: {exc}")
sys.stdout.buffer.write(pickle.dumps(out))
"""


def _loadmat_isolated(path: Path) -> dict | None:
    """``scipy.io.loadmat`` in a child process; ``None`` for a v7.3 (HDF5) file.

    SciPy's MATLAB v5 reader can crash the interpreter (segmentation fault) on a damaged file,
    which no ``except`` can catch (found by the fuzz tests of issue 16); in a child the crash
    becomes an ordinary error.

    Raises
    ------
    ValueError
        The file cannot be read (the reader's error, or its crash).
    """
    import pickle
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", _LOADMAT_CHILD, str(path)], capture_output=True)
    if proc.returncode != 0 or not proc.stdout:
        raise ValueError(f"the MATLAB file reader crashed on it (exit status {proc.returncode})")
    status, value = pickle.loads(proc.stdout)  # written by our own child just above
    if status == "error":
        raise ValueError(value)
    return value if status == "ok" else None


def _read_mat(path: Path) -> dict:
    """Variables of a MATLAB file: v5 through scipy (in a child process), v7.3 (HDF5) through h5py."""
    mat = _loadmat_isolated(path)
    if mat is not None:
        return mat
    import h5py  # v7.3 files are HDF5
    out: dict = {}
    with h5py.File(path, "r") as h5:
        def load(obj):
            if isinstance(obj, h5py.Dataset):
                if obj.dtype == h5py.ref_dtype:
                    return [load(h5[ref]) for ref in obj[()].ravel(order="F")]
                return np.asarray(obj[()]).T
            return {k: load(obj[k]) for k in obj.keys()}
        for key in h5.keys():
            if not key.startswith("#"):
                out[key] = load(h5[key])
    return out


def _cells(value) -> list:
    """MATLAB cell array (as read by scipy or h5py) -> list of arrays."""
    if isinstance(value, list):
        return [np.asarray(v).ravel() for v in value]
    arr = np.asarray(value, dtype=object) if not isinstance(value, np.ndarray) else value
    if arr.dtype == object:
        return [np.asarray(v, dtype=np.float64).ravel() for v in arr.ravel(order="F")]
    return [np.asarray(arr, dtype=np.float64).ravel()]


def _get(container, key: str):
    if isinstance(container, dict):
        return container.get(key)
    return getattr(container, key, None)


def read_muedit_mat(path: str | os.PathLike, grid: int = 0) -> xr.Dataset:
    """Read the discharges of a MUedit ``*_decomp.mat`` file (``signal.Dischargetimes``).

    MUedit (Avrillon et al. 2024) stores 1-based discharge samples in the cell array
    ``signal.Dischargetimes{grid, unit}`` and the sampling rate in ``signal.fsamp`` [Hz].

    Parameters
    ----------
    path
        The ``.mat`` file (MATLAB v5 or v7.3).
    grid
        Which electrode grid (row of ``Dischargetimes``) to read, 0-based.

    Returns
    -------
    xarray.Dataset
        Decomposition Dataset with 0-based samples.
    """
    from simulator.config import ConfigError
    p, mat = _open_mat(path)
    signal = mat.get("signal", mat)
    dis = _get(signal, "Dischargetimes")
    if dis is None:
        raise ConfigError(f"{str(p)!r} has no signal.Dischargetimes (not a MUedit decomposition)")
    arr = dis if isinstance(dis, list) else np.atleast_1d(np.asarray(dis, dtype=object))
    if isinstance(arr, np.ndarray) and arr.ndim == 2:
        if not 0 <= grid < arr.shape[0]:
            raise ConfigError(f"grid = {grid} is out of range; allowed [0, {arr.shape[0] - 1}]")
        arr = arr[grid]
    fs = _get(signal, "fsamp")
    trains = [t - 1 for t in _cells(arr) if t.size]
    return _decomposition_from_trains(trains, None if fs is None else float(np.ravel(fs)[0]),
                                      "MUedit .mat", p)


def read_demuse_mat(path: str | os.PathLike) -> xr.Dataset:
    """Read the discharges of a DEMUSE-style ``.mat`` file (``MUPulses``, ``fsamp``).

    DEMUSE (Holobar) stores 1-based discharge samples in the cell array ``MUPulses{unit}``.

    Parameters
    ----------
    path
        The ``.mat`` file.

    Returns
    -------
    xarray.Dataset
        Decomposition Dataset with 0-based samples.
    """
    from simulator.config import ConfigError
    p, mat = _open_mat(path)
    if "MUPulses" not in mat:
        raise ConfigError(f"{str(p)!r} has no MUPulses variable (not a DEMUSE decomposition)")
    fs = mat.get("fsamp")
    trains = [t - 1 for t in _cells(mat["MUPulses"])]
    return _decomposition_from_trains(trains, None if fs is None else float(np.ravel(fs)[0]),
                                      "DEMUSE .mat", p)


def read_spike_csv(path: str | os.PathLike, fs_hz: float | None = None) -> xr.Dataset:
    """Read discharges from a CSV with columns ``unit`` and ``sample`` (0-based), one row each.

    A ``time`` column [s] may replace ``sample`` when ``fs_hz`` is given.

    Parameters
    ----------
    path
        The ``.csv`` file (header row required).
    fs_hz
        Sampling rate [Hz] of the samples (needed to score against a recording).
    """
    import pandas as pd

    from simulator.config import ConfigError
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such decomposition file: {str(p)!r}")
    df = pd.read_csv(p)
    cols = {c.strip().lower(): c for c in df.columns}
    if "unit" not in cols or ("sample" not in cols and "time" not in cols):
        raise ConfigError(f"{str(p)!r} needs columns 'unit' and 'sample' (or 'time' with fs_hz); "
                          f"found {list(df.columns)}")
    if "sample" in cols:
        sample = df[cols["sample"]].to_numpy()
    else:
        if fs_hz is None:
            raise ConfigError(f"{str(p)!r} gives discharge times; pass fs_hz to convert them")
        sample = np.round(df[cols["time"]].to_numpy(dtype=float) * fs_hz)
    unit = df[cols["unit"]].to_numpy()
    labels = np.unique(unit)
    trains = [sample[unit == lab] for lab in labels]
    return _decomposition_from_trains(trains, fs_hz, "CSV", p)


def read_decomposition(path: str | os.PathLike, fmt: str | None = None, *,
                       fs_hz: float | None = None) -> xr.Dataset:
    """Read a decomposition in any supported format, guessing it from the file if not given.

    Parameters
    ----------
    path
        The file: ``.json`` (openhdemg), ``.mat`` (MUedit ``Dischargetimes`` or DEMUSE
        ``MUPulses``), ``.csv`` (unit, sample) or ``.nc`` (mnpool decomposition Dataset).
    fmt
        One of :data:`DECOMPOSITION_FORMATS`; guessed from the suffix and content if ``None``.
    fs_hz
        Sampling rate [Hz] for formats that do not store it (CSV); also checked against a
        stored rate.

    Returns
    -------
    xarray.Dataset
        Decomposition Dataset.
    """
    from simulator.config import ConfigError
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such decomposition file: {str(p)!r}")
    if fmt is not None and fmt not in DECOMPOSITION_FORMATS:
        raise ConfigError(f"format = {fmt!r} is not allowed; expected one of "
                          + ", ".join(DECOMPOSITION_FORMATS))
    suffix = p.suffix.lower()
    if fmt is None:
        fmt = {".json": "openhdemg", ".csv": "csv", ".nc": "netcdf"}.get(suffix)
        if fmt is None and suffix == ".mat":
            mat = _read_mat(p)
            fmt = "demuse" if "MUPulses" in mat else "muedit"
    if fmt is None:
        raise ConfigError(f"cannot tell the format of {str(p)!r}; give one of "
                          + ", ".join(DECOMPOSITION_FORMATS))
    if fmt == "openhdemg":
        ds = read_openhdemg_json(p)
    elif fmt == "muedit":
        ds = read_muedit_mat(p)
    elif fmt == "demuse":
        ds = read_demuse_mat(p)
    elif fmt == "csv":
        ds = read_spike_csv(p, fs_hz=fs_hz)
    else:
        ds = load_netcdf(p)
    if fs_hz is not None:
        stored = ds.attrs.get("fs_hz")
        if stored is not None and not np.isclose(float(stored), fs_hz):
            raise ConfigError(f"fs_hz = {fs_hz:g} Hz does not match the {float(stored):g} Hz "
                              f"stored in {str(p)!r}")
        ds.attrs["fs_hz"] = float(fs_hz)
    return ds


