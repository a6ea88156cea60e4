"""Saving and loading mnpool Datasets (NetCDF round trip) and exports to the formats the field uses.

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

__all__ = ["save_netcdf", "load_netcdf", "atomic_path"]

_JSON_PREFIX = "json:"


@contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` only if the block succeeds."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
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
    enc = ds.copy()
    enc.attrs = _encode_attrs(dict(ds.attrs))
    for name in list(enc.variables):
        enc[name].attrs = _encode_attrs(dict(ds[name].attrs))
        enc[name].encoding = {}
    with atomic_path(path, suffix=".nc") as tmp:
        enc.to_netcdf(tmp, engine="h5netcdf")
    return Path(path)


def load_netcdf(path: str | os.PathLike) -> xr.Dataset:
    """Load a Dataset written by :func:`save_netcdf` fully into memory."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"no such Dataset file: {str(p)!r}")
    with xr.open_dataset(p, engine="h5netcdf") as ds:
        ds = ds.load()
    ds.attrs = _decode_attrs(dict(ds.attrs))
    for name in list(ds.variables):
        ds[name].attrs = _decode_attrs(dict(ds[name].attrs))
        ds[name].encoding = {}
    return ds
