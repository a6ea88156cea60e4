"""Exports of recordings to the formats the field uses, checked before anything is written
(:func:`write_recording`): NetCDF, openhdemg JSON, MUedit and DEMUSE ``.mat``
(:mod:`simulator.io.tools`) and BIDS-EMG (:mod:`simulator.io.bids`), with the ground truth as
the decomposition.
"""

from __future__ import annotations

import os
from pathlib import Path

import xarray as xr

from .._schema import check_recording, check_sampling_rate
from ._common import check_bids, check_muedit
from .bids import export_bids
from .netcdf import save_netcdf
from .tools import export_demuse, export_muedit, export_openhdemg

__all__ = ["FORMATS", "check_sampling_rate", "parse_formats", "check_formats", "write_recording"]

#: Export formats understood by :func:`write_recording`.
FORMATS = ("netcdf", "openhdemg", "mat", "demuse", "bids")


def parse_formats(formats: str | list[str] | tuple[str, ...]) -> list[str]:
    """Split and check a format list such as ``"netcdf,openhdemg"``.

    Raises
    ------
    ConfigError
        For an empty list or a name not in :data:`FORMATS`.
    """
    from ..config import ConfigError
    items = [f.strip().lower() for f in (formats.split(",") if isinstance(formats, str) else formats)]
    items = [f for f in items if f]
    unknown = [f for f in items if f not in FORMATS]
    if unknown or not items:
        raise ConfigError(f"format {', '.join(map(repr, unknown)) or '(none)'} is not allowed; "
                          f"expected a comma-separated list of {', '.join(FORMATS)}")
    return list(dict.fromkeys(items))


def check_formats(formats: str | list[str] | tuple[str, ...], *, fs_hz: float,
                  montage: str) -> list[str]:
    """Parse ``formats`` and check that a recording at ``fs_hz`` [Hz] with ``montage`` can be
    written in each of them; call before any work.

    Returns
    -------
    list of str
        The formats, deduplicated, in the given order.

    Raises
    ------
    ConfigError
        Unknown format, a non-integer rate for BIDS, a non-monopolar montage for MUedit.
    """
    fmts = parse_formats(formats)
    if "bids" in fmts:
        check_bids(fs_hz)
    if "mat" in fmts:
        check_muedit(montage)
    return fmts


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
        ``<stem>_muedit.mat``, ``<stem>_demuse.mat``, ``bids/sub-01/emg/...``.

    Raises
    ------
    ConfigError
        Unknown format, a non-recording Dataset, mismatched sampling rates, a non-monopolar
        recording for MUedit or a non-integer rate for BIDS -- before anything is written.
    """
    fs = check_recording(ds)
    fmts = check_formats(formats, fs_hz=fs, montage=ds.attrs.get("montage", "monopolar"))
    out = Path(out_dir)
    written: dict[str, Path] = {}
    for f in fmts:
        if f == "netcdf":
            written[f] = save_netcdf(ds, out / f"{stem}.nc")
        elif f == "openhdemg":
            written[f] = export_openhdemg(ds, out / f"{stem}_openhdemg.json")
        elif f == "mat":
            written[f] = export_muedit(ds, out / f"{stem}_muedit.mat")
        elif f == "demuse":
            written[f] = export_demuse(ds, out / f"{stem}_demuse.mat")
        elif f == "bids":
            written[f] = export_bids(ds, out / "bids")
    return written

