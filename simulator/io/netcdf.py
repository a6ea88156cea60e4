"""NetCDF and Zarr round trips of mnpool Datasets, and atomic writes.

NetCDF files are written with ``h5netcdf`` and round-trip exactly: values, dtypes, coordinates and
attributes (nested attributes such as the configuration are stored as JSON strings). Writes go to a
temporary file that is renamed into place, so a failed run never leaves a half-written file.
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

__all__ = ["save_netcdf", "load_netcdf", "atomic_path", "save_zarr", "load_zarr"]

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

