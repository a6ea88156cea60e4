"""NetCDF and Zarr round trips of mnpool Datasets, and atomic writes.

NetCDF files are written with ``h5netcdf`` and follow the CF conventions (``Conventions``
attribute; ``units`` and ``long_name`` on every variable, :func:`simulator._schema.describe`).
Every numeric variable is compressed (zlib level 4 with byte shuffling, lossless). The EMG and
the MUAP templates (:data:`FLOAT32_VARIABLES`) are stored as float32: the relative rounding error
is at most 2^-24 (6e-8) of each value, i.e. < 6e-5 µV for a 1 mV signal, far below the
recording noise and the 24-bit BDF export's step; one second of 64-channel EMG at 2048 Hz takes
0.46 MB instead of 1.05 MB (float32 halves it, zlib takes a little more).

What is stored round-trips exactly: :func:`load_netcdf` returns :func:`stored_form` of the saved
Dataset, bit for bit -- values, dtypes, coordinates and attributes (nested attributes such as the
configuration are stored as ``json:``-prefixed JSON strings, decoded on load only in files that
carry the :data:`JSON_ATTRS_MARKER` attribute, i.e. files mnpool wrote: a foreign string
attribute that happens to start with ``json:`` stays a string). Writes go to a temporary file
that is renamed into place, so a failed run never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["save_netcdf", "load_netcdf", "stored_form", "atomic_path", "save_zarr", "load_zarr",
           "CONVENTIONS", "FLOAT32_VARIABLES", "JSON_ATTRS_MARKER"]

_JSON_PREFIX = "json:"
#: Dataset attribute that marks a file whose ``json:`` attributes mnpool encoded (removed on load).
JSON_ATTRS_MARKER = "mnpool_json_attrs"

#: CF version the NetCDF files declare in their ``Conventions`` attribute.
CONVENTIONS = "CF-1.11"
#: Large float variables stored as float32 (their error is stated in the module docstring).
FLOAT32_VARIABLES = ("emg", "muap")
#: Lossless compression of every numeric variable (h5netcdf encoding).
_COMPRESSION = {"compression": "gzip", "compression_opts": 4, "shuffle": True}


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
        # a string that itself starts with the prefix is encoded too, so it loads back unchanged;
        # so is one holding a NUL character, which HDF5 cannot store in a string attribute
        if (isinstance(value, (dict, list, tuple, bool)) or value is None
                or (isinstance(value, str) and (value.startswith(_JSON_PREFIX) or "\x00" in value))):
            out[key] = _JSON_PREFIX + json.dumps(value)
        else:
            out[key] = value
    return out


def _decode_attrs(attrs: dict, decode_json: bool) -> dict:
    from ..config import ConfigError
    out = {}
    for key, value in attrs.items():
        if decode_json and isinstance(value, str) and value.startswith(_JSON_PREFIX):
            try:
                out[key] = json.loads(value[len(_JSON_PREFIX):])
            except (ValueError, RecursionError):
                raise ConfigError(f"attribute {key!r} is not valid JSON") from None
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = value
    return out


def stored_form(ds: xr.Dataset) -> xr.Dataset:
    """The Dataset as :func:`save_netcdf` stores it (and :func:`load_netcdf` returns it).

    A copy of ``ds`` with :data:`FLOAT32_VARIABLES` cast to float32, ``units`` and ``long_name``
    on every variable (:func:`simulator._schema.describe`) and ``attrs["Conventions"]``.
    """
    from .._schema import describe
    out = ds.copy()
    for name in FLOAT32_VARIABLES:
        if name in out.variables and out[name].dtype == np.float64:
            out[name] = out[name].astype(np.float32)
    for name in out.variables:
        out.variables[name].attrs = dict(ds.variables[name].attrs)
    describe(out)
    out.attrs = {**ds.attrs, "Conventions": CONVENTIONS}
    return out


def save_netcdf(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a Dataset to NetCDF4 (h5netcdf) atomically, compressed and CF-described.

    Parameters
    ----------
    ds
        Any mnpool Dataset (activity, recording, decomposition, ...).
    path
        Destination file; parent folders are created.

    Returns
    -------
    Path
        The written file (holding :func:`stored_form` of ``ds``).
    """
    enc = _encode_dataset(stored_form(ds))
    for name, var in enc.variables.items():
        if var.dtype.kind in "biuf" and var.ndim and var.size:
            var.encoding = dict(_COMPRESSION)
    with atomic_path(path, suffix=".nc") as tmp:
        enc.to_netcdf(tmp, engine="h5netcdf")
    return Path(path)


def _encode_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Copy of ``ds`` with nested attributes as JSON strings and no stored encodings."""
    enc = ds.copy()
    enc.attrs = {**_encode_attrs(dict(ds.attrs)), JSON_ATTRS_MARKER: 1}
    for name in list(enc.variables):
        enc[name].attrs = _encode_attrs(dict(ds[name].attrs))
        enc[name].encoding = {}
    return enc


def _decode_dataset(ds: xr.Dataset) -> xr.Dataset:
    """Inverse of :func:`_encode_dataset`, in place on a loaded Dataset."""
    attrs = dict(ds.attrs)
    decode = bool(attrs.pop(JSON_ATTRS_MARKER, None) == 1)
    ds.attrs = _decode_attrs(attrs, decode)
    for name in list(ds.variables):
        ds[name].attrs = _decode_attrs(dict(ds[name].attrs), decode)
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
    """Write a Dataset to a Zarr store atomically, in the same stored form (:func:`stored_form`:
    float32 EMG/templates, CF attributes) and attribute encoding as :func:`save_netcdf`.

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
        _encode_dataset(stored_form(ds)).to_zarr(tmp, mode="w", consolidated=False)
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

