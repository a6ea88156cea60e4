"""Saving and loading mnpool Datasets (NetCDF round trip) and exports to the formats the field uses.

Recordings export to openhdemg JSON, MUedit ``.mat`` and BIDS-EMG (BDF + sidecars) with the
ground truth as the decomposition, through :func:`write_recording`.

NetCDF files are written with ``h5netcdf`` and round-trip exactly: values, dtypes, coordinates and
attributes (nested attributes such as the configuration are stored as JSON strings). Writes go to a
temporary file that is renamed into place, so a failed run never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator

import numpy as np
import xarray as xr

__all__ = ["save_netcdf", "load_netcdf", "atomic_path", "check_sampling_rate", "FORMATS", "parse_formats", "export_openhdemg",
           "export_muedit", "export_bids", "write_recording"]

_JSON_PREFIX = "json:"


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600 files; outputs get normal permissions
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _encode_attrs(attrs: dict) -> dict:
    out = {}
    for key, value in attrs.items():
        if isinstance(value, (dict, list, tuple, bool)) or value is None:
            out[key] = _JSON_PREFIX + json.dumps(value)
        else:
            out[key] = value
    return out


def _decode_attrs(attrs: dict) -> dict:
    out = {}
    for key, value in attrs.items():
        if isinstance(value, str) and value.startswith(_JSON_PREFIX):
            out[key] = json.loads(value[len(_JSON_PREFIX):])
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def save_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a Dataset to NetCDF4 (h5netcdf) atomically.

    Parameters
    ----------
    ds
        Any mnpool Dataset (activity, recording, decomposition, ...).
    path
        Destination file; parent folders are created.

    Returns
    -------
    Path
        The written file.
    """
    with atomic_path(path, suffix=".nc") as tmp:
        _encode_dataset(ds).to_netcdf(tmp, engine="h5netcdf")
    return Path(path)


def _encode_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Copy of ``ds`` with nested attributes as JSON strings and no stored encodings."""
    enc = ds.copy()
    enc.attrs = _encode_attrs(dict(ds.attrs))
    for name in list(enc.variables):
        enc[name].attrs = _encode_attrs(dict(ds[name].attrs))
        enc[name].encoding = {}
    return enc


def _decode_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Inverse of :func:`_encode_dataset`, in place on a loaded Dataset."""
    ds.attrs = _decode_attrs(dict(ds.attrs))
    for name in list(ds.variables):
        ds[name].attrs = _decode_attrs(dict(ds[name].attrs))
        ds[name].encoding = {}
    return ds


def load_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Load a Dataset written by :func:`save_netcdf` fully into memory."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such Dataset file: {str(p)!r}")
    with xr.open_dataset(p, engine="h5netcdf") as ds:
        ds = ds.load()
    return _decode_dataset(ds)


def save_zarr(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a Dataset to a Zarr store atomically (same attribute encoding as :func:`save_netcdf`).

    The store is written into a temporary folder beside ``path`` and renamed into place; an
    existing store at ``path`` is replaced only once the new one is complete.

    Parameters
    ----------
    ds
        Any mnpool Dataset.
    path
        Destination folder (``*.zarr``); parent folders are created.

    Returns
    -------
    Path
        The written store.
    """
    import shutil
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    old = tmp.with_name(tmp.name + ".old")
    try:
        _encode_dataset(ds).to_zarr(tmp, mode="w", consolidated=False)
        if target.exists():
            os.replace(target, old)  # a folder cannot be replaced in one step
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, old):
            if leftover.exists():
                shutil.rmtree(leftover)
    return target


def load_zarr(path: str | os.PathLike) -> xr.Dataset:
    """Load a Dataset written by :func:`save_zarr` fully into memory."""
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"no such Zarr store: {str(p)!r}")
    with xr.open_zarr(p, consolidated=False) as ds:
        ds = ds.load()
    return _decode_dataset(ds)


__all__ += ["save_zarr", "load_zarr"]


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


def _read_mat(path: Path) -> dict:
    """Variables of a MATLAB file: v5 through scipy, v7.3 (HDF5) through h5py."""
    import scipy.io
    try:
        return scipy.io.loadmat(path, squeeze_me=True, struct_as_record=False)
    except NotImplementedError:  # v7.3
        import h5py
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


__all__ += ["read_openhdemg_json", "read_muedit_mat", "read_demuse_mat", "read_spike_csv",
            "read_decomposition", "DECOMPOSITION_FORMATS"]
# ====================================================================== exports of recordings
#: Export formats understood by :func:`write_recording`.
FORMATS = ("netcdf", "openhdemg", "mat", "bids")


def check_sampling_rate(ds: xr.Dataset, attr: str, what: str) -> float:
    """Check that ``ds.attrs[attr]`` is a positive rate [Hz] matching the ``time`` axis; return it.

    Raises
    ------
    ConfigError
        Missing or non-positive rate, or a time axis sampled at another rate.
    """
    from .config import ConfigError
    fs = ds.attrs.get(attr)
    if fs is None or not np.isfinite(fs) or fs <= 0:
        raise ConfigError(f"{what} attrs['{attr}'] = {fs!r} must be a positive number of Hz")
    t = np.asarray(ds["time"].values, dtype=float)
    if t.size > 1:
        fs_axis = 1.0 / float(np.median(np.diff(t)))
        if abs(fs_axis - fs) > 1e-6 * fs:
            raise ConfigError(f"mismatched sampling rates: {what} attrs['{attr}'] = {fs:g} Hz but its "
                              f"time axis is sampled at {fs_axis:g} Hz")
    return float(fs)


def _check_recording(ds: xr.Dataset) -> float:
    """Validate a recording Dataset before any export; return its sampling rate (Hz)."""
    from .config import ConfigError
    if ds.attrs.get("kind") != "recording":
        raise ConfigError(f"Dataset has kind = {ds.attrs.get('kind')!r}; expected 'recording'")
    return check_sampling_rate(ds, "fs_hz", "recording")


def parse_formats(formats: str | list[str] | tuple[str, ...]) -> list[str]:
    """Split and check a format list such as ``"netcdf,openhdemg"``.

    Raises
    ------
    ConfigError
        For an empty list or a name not in :data:`FORMATS`.
    """
    from .config import ConfigError
    items = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats)]
    items = [f for f in items if f]
    unknown = [f for f in items if f not in FORMATS]
    if unknown or not items:
        raise ConfigError(f"format {', '.join(map(repr, unknown)) or '(none)'} is not allowed; "
                          f"expected a comma-separated list of {', '.join(FORMATS)}")
    return list(dict.fromkeys(items))


def _fired_units(ds: xr.Dataset) -> tuple[np.ndarray, list[np.ndarray]]:
    """Units with at least one discharge and their 0-based discharge samples."""
    su = np.asarray(ds["spike_unit"].values)
    ss = np.asarray(ds["spike_sample"].values, dtype=np.int64)
    units = np.unique(su)
    return units, [np.sort(ss[su == u]) for u in units]


def _reference_signal(ds: xr.Dataset) -> np.ndarray:
    for name in ("force_mvc", "force"):
        if name in ds.variables:
            return np.asarray(ds[name].values, dtype=float)
    return np.zeros(ds.sizes["time"])


def export_openhdemg(ds: xr.Dataset, path: str | os.PathLike, *, compresslevel: int = 4) -> Path:
    """Write a recording as an openhdemg ``emgfile`` (gzip-compressed JSON).

    The layout is that of ``openhdemg.library.save_json_emgfile``: a JSON object whose values are
    themselves JSON strings, DataFrames in pandas ``orient="split"`` form. The ground truth is
    stored as the decomposition (``MUPULSES`` 0-based samples, ``BINARY_MUS_FIRING``, ``IPTS``
    = the binary spike trains, ``ACCURACY`` = 1), for the units that fire at least once;
    ``EXTRAS`` holds their mnpool unit index and ground-truth properties. ``SOURCE`` is
    ``"CUSTOMCSV"``, the generic source openhdemg's ``emg_from_json`` accepts.

    Parameters
    ----------
    ds
        Recording Dataset (``emg`` in µV -> ``RAW_SIGNAL`` in µV; ``REF_SIGNAL`` = force in %MVC).
    path
        Destination ``.json`` file (written atomically).
    compresslevel
        gzip level (openhdemg's default 4).

    Returns
    -------
    Path
    """
    import gzip

    import pandas as pd

    fs = _check_recording(ds)
    n = ds.sizes["time"]
    units, pulses = _fired_units(ds)
    binary = np.zeros((n, units.size), dtype=np.int8)
    for j, p in enumerate(pulses):
        binary[p, j] = 1
    props = {"unit": units}
    for name in ("fibre_cv_m_s", "size_index", "recruitment_excitation", "n_fibres", "depth_mm",
                 "muap_ptp_uv"):
        if name in ds.variables:
            props[name] = np.asarray(ds[name].values)[units]
    frames = {
        "RAW_SIGNAL": pd.DataFrame(np.asarray(ds["emg"].values)),
        "REF_SIGNAL": pd.DataFrame({0: _reference_signal(ds)}),
        "ACCURACY": pd.DataFrame({0: np.ones(units.size)}),
        "IPTS": pd.DataFrame(binary.astype(float)),
        "BINARY_MUS_FIRING": pd.DataFrame(binary),
        "EXTRAS": pd.DataFrame(props),
    }
    emgfile = {k: v.to_json(orient="split") for k, v in frames.items()}
    emgfile.update({
        "SOURCE": json.dumps("CUSTOMCSV"),
        "FILENAME": json.dumps(f"mnpool synthetic {ds.attrs.get('grid', '')} seed {ds.attrs.get('seed')}"),
        "MUPULSES": json.dumps([p.tolist() for p in pulses]),
        "FSAMP": json.dumps(fs),
        "IED": json.dumps(float(ds.attrs.get("ied_mm", 0.0))),
        "EMG_LENGTH": json.dumps(int(n)),
        "NUMBER_OF_MUS": json.dumps(int(units.size)),
    })
    with atomic_path(path, suffix=".json") as tmp:
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=compresslevel) as fh:
            json.dump(emgfile, fh)
    return Path(path)


def export_muedit(ds: xr.Dataset, path: str | os.PathLike, *, muscle: str = "synthetic") -> Path:
    """Write a recording as a MUedit input ``.mat`` file (MATLAB v5, struct ``signal``).

    Fields: ``data`` (channels x samples, µV), ``fsamp`` (Hz), ``nChan``, ``ngrid`` (1),
    ``gridname`` and ``muscle`` (1x1 cell arrays), ``target`` and ``path`` (force in %MVC), and
    the ground truth as MUedit's own ``Dischargetimes`` (1 x units cell of 1-based samples).
    MUedit computes its own differential derivations, so only monopolar recordings are accepted.

    Parameters
    ----------
    ds
        Monopolar recording Dataset.
    path
        Destination ``.mat`` file (written atomically).
    muscle
        Muscle name stored in ``signal.muscle``.

    Returns
    -------
    Path
    """
    import scipy.io

    fs = _check_recording(ds)
    _check_muedit(ds)
    units, pulses = _fired_units(ds)

    def cell(items: list) -> np.ndarray:  # a 1 x n MATLAB cell array
        arr = np.empty((1, len(items)), dtype=object)
        for i, item in enumerate(items):
            arr[0, i] = item
        return arr

    ref = _reference_signal(ds)[None, :]
    signal = {
        "data": np.asarray(ds["emg"].values, dtype=float).T,
        "fsamp": fs,
        "nChan": float(ds.sizes["channel"]),
        "ngrid": 1.0,
        "gridname": cell([str(ds.attrs.get("grid", "custom"))]),
        "muscle": cell([muscle]),
        "target": ref,
        "path": ref,
        "Dischargetimes": cell([(p + 1).astype(float).reshape(1, -1) for p in pulses]),
    }
    with atomic_path(path, suffix=".mat") as tmp:
        scipy.io.savemat(tmp, {"signal": signal}, do_compression=True)
    return Path(path)


def _check_muedit(ds: xr.Dataset) -> None:
    from .config import ConfigError
    if ds.attrs.get("montage", "monopolar") != "monopolar":
        raise ConfigError(f"format 'mat' (MUedit) needs a monopolar recording; this one is "
                          f"{ds.attrs.get('montage')!r} (set emg.grid.montage = 'monopolar')")


def _check_bids(ds: xr.Dataset, fs: float) -> None:
    from .config import ConfigError
    if abs(fs - round(fs)) > 1e-9:
        raise ConfigError(f"format 'bids' writes EDF/BDF with 1 s records and needs an integer "
                          f"sampling rate; fs_hz = {fs!r}")


def export_bids(ds: xr.Dataset, root: str | os.PathLike, *, subject: str = "01",
                task: str = "synthetic") -> Path:
    """Write a recording as a BIDS-EMG dataset (BDF + sidecars, spikes as events).

    Layout: ``root/dataset_description.json`` and, in ``root/sub-<subject>/emg/``,
    ``*_emg.bdf`` (24-bit BDF+ with the EMG channels in µV and force as a MISC channel, via
    pyedflib), ``*_emg.json``, ``*_channels.tsv``, ``*_electrodes.tsv``, ``*_coordsystem.json``
    and ``*_events.tsv`` whose rows are ``motor_unit_spike`` events (``onset`` s, ``unit``,
    ``sample`` 0-based). The subject folder is written in a temporary folder and renamed into
    place.

    Parameters
    ----------
    ds
        Recording Dataset with an integer sampling rate.
    root
        BIDS dataset folder.
    subject, task
        BIDS entities.

    Returns
    -------
    Path
        The ``*_emg.bdf`` file.
    """
    import shutil

    import pandas as pd
    import pyedflib

    from . import __version__

    fs = _check_recording(ds)
    _check_bids(ds, fs)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stem = f"sub-{subject}_task-{task}"
    emg = np.asarray(ds["emg"].values, dtype=float)
    n_samples, n_chan = emg.shape
    names = [f"EMG{c + 1}" for c in range(n_chan)]
    force = _reference_signal(ds)
    force_units = "%MVC" if "force_mvc" in ds.variables else "N"
    cfg = ds.attrs.get("config", {}) or {}
    hp, lp = cfg.get("highpass_hz", 0.0), cfg.get("lowpass_hz", 0.0)
    final = root / f"sub-{subject}"
    tmp_root = Path(tempfile.mkdtemp(prefix=f".sub-{subject}.", dir=root))
    try:
        emg_dir = tmp_root / "emg"
        emg_dir.mkdir()
        # --- signal file (BDF: 24 bit, so µV-level EMG is not quantised away)
        n_rec = int(np.ceil(n_samples / round(fs)))
        pad = n_rec * int(round(fs)) - n_samples
        writer = pyedflib.EdfWriter(str(emg_dir / f"{stem}_emg.bdf"), n_chan + 1,
                                    file_type=pyedflib.FILETYPE_BDFPLUS)
        try:
            headers = []
            for name, sig, unit in [*zip(names, emg.T, ["uV"] * n_chan), ("FORCE", force, force_units)]:
                # EDF headers hold 8 characters: a whole-number range keeps it exact.
                lim = max(1.0, float(np.ceil(np.max(np.abs(sig)) * 1.01))) if sig.size else 1.0
                headers.append({"label": name, "dimension": unit, "sample_frequency": fs,
                                "physical_max": lim, "physical_min": -lim,
                                "digital_max": 8388607, "digital_min": -8388608,
                                "prefilter": f"HP:{hp}Hz LP:{lp}Hz", "transducer": "mnpool synthetic"})
            writer.setSignalHeaders(headers)
            data = [np.pad(s, (0, pad)) for s in [*emg.T, force]]
            writer.writeSamples(data)
        finally:
            writer.close()
        # --- sidecars
        rows_ch = [{"name": nm, "type": "EMG", "units": "uV", "sampling_frequency": fs,
                    "low_cutoff": hp or "n/a", "high_cutoff": lp or "n/a",
                    "signal_electrode": nm, "reference": ds.attrs.get("montage", "n/a"),
                    "group": ds.attrs.get("grid", "grid"), "status": "good"} for nm in names]
        rows_ch.append({"name": "FORCE", "type": "MISC", "units": force_units, "sampling_frequency": fs,
                        "low_cutoff": "n/a", "high_cutoff": "n/a", "signal_electrode": "n/a",
                        "reference": "n/a", "group": "n/a", "status": "good"})
        pd.DataFrame(rows_ch).to_csv(emg_dir / f"{stem}_channels.tsv", sep="\t", index=False)
        pd.DataFrame({"name": names, "x": ds["x_mm"].values, "y": ds["y_mm"].values,
                      "z": np.zeros(n_chan), "group": ds.attrs.get("grid", "grid"),
                      "row": ds["row"].values, "col": ds["col"].values}).to_csv(
            emg_dir / f"{stem}_electrodes.tsv", sep="\t", index=False)
        (emg_dir / f"{stem}_coordsystem.json").write_text(json.dumps({
            "EMGCoordinateSystem": "Other", "EMGCoordinateUnits": "mm",
            "EMGCoordinateSystemDescription": "skin plane over the muscle: x across the fibres from "
            "the muscle mid-line, y along the fibres from the muscle centre"}, indent=2))
        su = np.asarray(ds["spike_unit"].values)
        pd.DataFrame({"onset": np.asarray(ds["spike_time"].values), "duration": 0.0,
                      "trial_type": "motor_unit_spike", "unit": su,
                      "sample": np.asarray(ds["spike_sample"].values)}).to_csv(
            emg_dir / f"{stem}_events.tsv", sep="\t", index=False, float_format="%.9g")
        (emg_dir / f"{stem}_events.json").write_text(json.dumps({
            "trial_type": {"Levels": {"motor_unit_spike": "ground-truth discharge of a motor unit"}},
            "unit": {"Description": "motor unit index (recruitment order) in the mnpool recording"},
            "sample": {"Description": "0-based EMG sample of the discharge"}}, indent=2))
        (emg_dir / f"{stem}_emg.json").write_text(json.dumps({
            "TaskName": task, "SamplingFrequency": fs, "PowerLineFrequency": cfg.get("powerline_hz", 50.0),
            "SoftwareFilters": "n/a",
            "HardwareFilters": {"Butterworth band-pass": {"HighPass_Hz": hp, "LowPass_Hz": lp,
                                                          "Order": cfg.get("filter_order", 2)}},
            "EMGChannelCount": n_chan, "MISCChannelCount": 1,
            "EMGReference": ds.attrs.get("montage", "n/a"),
            "EMGPlacementScheme": "Other",
            "EMGPlacementSchemeDescription": f"{ds.attrs.get('grid')} grid, IED {ds.attrs.get('ied_mm')} mm, "
                                             "centred over the innervation zone",
            "RecordingDuration": n_samples / fs, "Manufacturer": "mnpool (synthetic)",
            "SoftwareVersions": __version__}, indent=2))
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp_root, final)
    finally:
        if tmp_root.exists():
            shutil.rmtree(tmp_root)
    desc = root / "dataset_description.json"
    with atomic_path(desc, suffix=".json") as tmp:
        tmp.write_text(json.dumps({"Name": "mnpool synthetic HD-sEMG", "BIDSVersion": "1.10.0",
                                   "DatasetType": "raw",
                                   "GeneratedBy": [{"Name": "mnpool", "Version": __version__}]}, indent=2))
    return final / "emg" / f"{stem}_emg.bdf"


def write_recording(ds: xr.Dataset, out_dir: str | os.PathLike,
                    formats: str | list[str] | tuple[str, ...] = ("netcdf",), *,
                    stem: str = "recording") -> dict[str, Path]:
    """Write a recording in several formats, after checking every precondition first.

    Parameters
    ----------
    ds
        Recording Dataset (:func:`simulator.emg.synthesize`).
    out_dir
        Output folder (created).
    formats
        Any of :data:`FORMATS` (list or comma-separated string).
    stem
        Base name of the files.

    Returns
    -------
    dict of str to Path
        Written file (BIDS: the ``.bdf``) per format: ``<stem>.nc``, ``<stem>_openhdemg.json``,
        ``<stem>_muedit.mat``, ``bids/sub-01/emg/...``.

    Raises
    ------
    ConfigError
        Unknown format, a non-recording Dataset, mismatched sampling rates, a non-monopolar
        recording for MUedit or a non-integer rate for BIDS -- before anything is written.
    """
    fmts = parse_formats(formats)
    fs = _check_recording(ds)
    if "mat" in fmts:
        _check_muedit(ds)
    if "bids" in fmts:
        _check_bids(ds, fs)
    out = Path(out_dir)
    written: dict[str, Path] = {}
    for f in fmts:
        if f == "netcdf":
            written[f] = save_netcdf(ds, out / f"{stem}.nc")
        elif f == "openhdemg":
            written[f] = export_openhdemg(ds, out / f"{stem}_openhdemg.json")
        elif f == "mat":
            written[f] = export_muedit(ds, out / f"{stem}_muedit.mat")
        elif f == "bids":
            written[f] = export_bids(ds, out / "bids")
    return written
