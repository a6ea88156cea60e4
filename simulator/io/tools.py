"""Recordings written as the decomposition files of the field's tools: openhdemg JSON, MUedit and
DEMUSE ``.mat``, with the ground truth as the decomposition."""

from __future__ import annotations

import gzip
import json
import os
import warnings
from pathlib import Path

import numpy as np
import xarray as xr

from .._schema import check_recording
from ._common import check_muedit, ground_truth_trains, reference_signal
from .netcdf import atomic_path

__all__ = ["export_openhdemg", "openhdemg_unit_ids", "export_muedit", "export_demuse",
           "MIN_DISCHARGES_OPENHDEMG"]

#: openhdemg's ``compute_svr`` and ``compute_deltaf`` index a unit's second discharge: units with
#: fewer discharges are left out of its files (and listed in ``EXTRAS``).
MIN_DISCHARGES_OPENHDEMG = 2

#: Per-unit ground-truth properties copied into the exports' unit tables when present.
_UNIT_PROPERTIES = ("fibre_cv_m_s", "size_index", "recruitment_excitation", "n_fibres", "depth_mm",
                    "muap_ptp_uv")


def export_openhdemg(ds: xr.Dataset, path: str | os.PathLike, *, compresslevel: int = 4) -> Path:
    """Write a recording as an openhdemg ``emgfile`` (gzip-compressed JSON).

    The layout is that of openhdemg's ``save_json_emgfile`` (Valli et al. 2024 J Electromyogr
    Kinesiol 74:102850): a JSON object whose values are JSON strings, DataFrames in pandas
    ``orient="split"`` form; ``SOURCE`` is ``"CUSTOMCSV"``, which ``emg_from_json`` accepts. The
    ground truth is the decomposition: ``MUPULSES`` (0-based samples), ``BINARY_MUS_FIRING``,
    ``IPTS`` (the binary trains) and ``ACCURACY`` (1), for the units with at least
    :data:`MIN_DISCHARGES_OPENHDEMG` discharges; the others are left out with a warning (openhdemg's
    smoothing and delta-F fail on them). ``RAW_SIGNAL`` is the EMG [µV], ``REF_SIGNAL`` the force
    [%MVC].

    ``EXTRAS`` is a table with one row per unit of the recording: ``unit`` (mnpool index),
    ``exported`` and ``emgfile_index`` (position in the file, -1 if left out), ``n_discharges``,
    ``first_sample`` and ``last_sample`` (which identify a unit after openhdemg's ``delete_mus`` or
    ``sort_mus`` renumber the others, see :func:`openhdemg_unit_ids`), ``mvc_n`` (the MVC force
    [N], which openhdemg's ``compute_thresholds`` and ``basic_mus_properties`` ask for) and the
    ground-truth properties.

    Parameters
    ----------
    ds
        Recording Dataset.
    path
        Destination ``.json`` file (written atomically).
    compresslevel
        gzip level (openhdemg's default 4).

    Returns
    -------
    Path
    """
    import pandas as pd

    fs = check_recording(ds)
    n = ds.sizes["time"]
    trains = ground_truth_trains(ds)
    kept = [u for u, p in trains.items() if p.size >= MIN_DISCHARGES_OPENHDEMG]
    dropped = [u for u, p in trains.items() if 0 < p.size < MIN_DISCHARGES_OPENHDEMG]
    if dropped:
        warnings.warn(f"openhdemg export: unit(s) {', '.join(map(str, dropped))} discharge fewer than "
                      f"{MIN_DISCHARGES_OPENHDEMG} times and are left out (listed in EXTRAS)",
                      stacklevel=2)
    binary = np.zeros((n, len(kept)), dtype=np.int8)
    for j, u in enumerate(kept):
        binary[trains[u], j] = 1
    units = np.arange(len(trains))
    position = {u: j for j, u in enumerate(kept)}
    table = {
        "unit": units,
        "exported": np.array([u in position for u in units]),
        "emgfile_index": np.array([position.get(u, -1) for u in units]),
        "n_discharges": np.array([trains[u].size for u in units]),
        "first_sample": np.array([int(trains[u][0]) if trains[u].size else -1 for u in units]),
        "last_sample": np.array([int(trains[u][-1]) if trains[u].size else -1 for u in units]),
        "mvc_n": np.full(units.size, float(ds.attrs.get("mvc_n", np.nan))),
    }
    for name in _UNIT_PROPERTIES:
        if name in ds.variables and ds[name].dims == ("unit",):
            table[name] = np.asarray(ds[name].values)
    frames = {
        "RAW_SIGNAL": pd.DataFrame(np.asarray(ds["emg"].values)),
        "REF_SIGNAL": pd.DataFrame({0: reference_signal(ds)}),
        "ACCURACY": pd.DataFrame({0: np.ones(len(kept))}),
        "IPTS": pd.DataFrame(binary.astype(float)),
        "BINARY_MUS_FIRING": pd.DataFrame(binary),
        "EXTRAS": pd.DataFrame(table),
    }
    emgfile = {k: v.to_json(orient="split") for k, v in frames.items()}
    emgfile.update({
        "SOURCE": json.dumps("CUSTOMCSV"),
        "FILENAME": json.dumps(f"mnpool synthetic {ds.attrs.get('grid', '')} seed {ds.attrs.get('seed')}"),
        "MUPULSES": json.dumps([trains[u].tolist() for u in kept]),
        "FSAMP": json.dumps(fs),
        "IED": json.dumps(float(ds.attrs.get("ied_mm", 0.0))),
        "EMG_LENGTH": json.dumps(int(n)),
        "NUMBER_OF_MUS": json.dumps(len(kept)),
    })
    with atomic_path(path, suffix=".json") as tmp:
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=compresslevel) as fh:
            json.dump(emgfile, fh)
    return Path(path)


def openhdemg_unit_ids(mupulses: list, extras) -> list[int]:
    """mnpool unit index of every unit of an openhdemg emgfile, edited or not.

    openhdemg's ``delete_mus`` and ``sort_mus`` renumber units without touching ``EXTRAS``; a unit
    is found again by its first and last discharge samples and discharge count.

    Parameters
    ----------
    mupulses
        The emgfile's ``MUPULSES`` (0-based samples per unit).
    extras
        The emgfile's ``EXTRAS`` table as written by :func:`export_openhdemg` (a DataFrame).

    Returns
    -------
    list of int
        mnpool unit of each unit, in the emgfile's order (-1 where the train was edited so that
        no unit of the export matches).
    """
    key = {(int(f), int(la), int(c)): int(u) for u, f, la, c in
           zip(extras["unit"], extras["first_sample"], extras["last_sample"], extras["n_discharges"])}
    out = []
    for p in mupulses:
        p = np.asarray(p, dtype=np.int64)
        out.append(key.get((int(p[0]), int(p[-1]), int(p.size)), -1) if p.size else -1)
    return out


def _cell(items: list, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A MATLAB cell array (``1 x n`` unless ``shape`` is given) for scipy.io.savemat."""
    arr = np.empty(shape or (1, len(items)), dtype=object)
    for i, item in enumerate(items):
        arr.flat[i] = item
    return arr


def export_muedit(ds: xr.Dataset, path: str | os.PathLike, *, muscle: str = "synthetic") -> Path:
    """Write a recording as a MUedit decomposition ``.mat`` file (MATLAB v5, struct ``signal``).

    The fields are those MUedit's decomposition saves and its editing tab reads (Avrillon et al.
    2024 J Electromyogr Kinesiol 76:102864; MUedit's ``ImportdataButtonPushed``): ``data``
    (channels x samples, mV, the unit MUedit's own loaders produce), ``fsamp`` [Hz], ``nChan``,
    ``ngrid`` (1), ``gridname`` and ``muscle`` (1x1 cells), ``EMGmask`` (1x1 cell of a
    channels x 1 vector, 0 = channel kept), ``coordinates``, ``IED`` [mm], ``emgtype`` (1,
    surface), ``target`` and ``path`` (force [%MVC]) and the ground truth as the decomposition:
    ``Pulsetrain`` (1x1 cell, units x samples, 1 at each discharge) and ``Dischargetimes``
    (1 x units cell of 1-based samples), for the units that discharge at least once. Only
    monopolar recordings are accepted (MUedit derives its own montages).

    Parameters
    ----------
    ds
        Monopolar recording Dataset (``emg`` in µV).
    path
        Destination ``.mat`` file (written atomically; MUedit's editing tab expects the name not
        to contain ``edited``).
    muscle
        Muscle name stored in ``signal.muscle``.

    Returns
    -------
    Path
    """
    import scipy.io

    fs = check_recording(ds)
    check_muedit(ds.attrs.get("montage", "monopolar"))
    trains = ground_truth_trains(ds)
    fired = [u for u, p in trains.items() if p.size]
    n = ds.sizes["time"]
    pulse = np.zeros((len(fired), n))
    for j, u in enumerate(fired):
        pulse[j, trains[u]] = 1.0
    n_chan = ds.sizes["channel"]
    ref = reference_signal(ds)[None, :]
    coords = np.column_stack([np.asarray(ds["row"].values, dtype=float),
                              np.asarray(ds["col"].values, dtype=float)])
    signal = {
        "data": np.asarray(ds["emg"].values, dtype=float).T * 1e-3,  # µV -> mV
        "fsamp": fs,
        "nChan": float(n_chan),
        "ngrid": 1.0,
        "gridname": _cell([str(ds.attrs.get("grid", "custom"))]),
        "muscle": _cell([muscle]),
        "EMGmask": _cell([np.zeros((n_chan, 1))]),
        "coordinates": _cell([coords]),
        "IED": float(ds.attrs.get("ied_mm", 0.0)),
        "emgtype": 1.0,
        "target": ref,
        "path": ref,
        "Pulsetrain": _cell([pulse]),
        "Dischargetimes": _cell([(trains[u] + 1).astype(float).reshape(1, -1) for u in fired]),
        "mnpool_unit": np.asarray(fired, dtype=float).reshape(1, -1),
    }
    with atomic_path(path, suffix=".mat") as tmp:
        scipy.io.savemat(tmp, {"signal": signal}, do_compression=True)
    return Path(path)


def export_demuse(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write a recording as a DEMUSE decomposition ``.mat`` file (MATLAB v5).

    Variables as DEMUSE (Holobar & Zazula 2007 IEEE Trans Signal Process 55:4487) saves them and
    openhdemg's ``emg_from_demuse`` reads them: ``MUPulses`` (1 x units cell of 1-based
    samples), ``IPTs`` (units x samples, 1 at each discharge), ``SIG`` (channels x 1 cell of
    1 x samples signals, µV), ``ref_signal`` (force [%MVC]), ``fsamp`` [Hz] and ``IED`` [mm], plus
    ``mnpool_unit`` (the mnpool index of each unit), for units that discharge at least once.

    Parameters
    ----------
    ds
        Recording Dataset.
    path
        Destination ``.mat`` file (written atomically).

    Returns
    -------
    Path
    """
    import scipy.io

    fs = check_recording(ds)
    trains = ground_truth_trains(ds)
    fired = [u for u, p in trains.items() if p.size]
    n = ds.sizes["time"]
    ipts = np.zeros((len(fired), n))
    for j, u in enumerate(fired):
        ipts[j, trains[u]] = 1.0
    emg = np.asarray(ds["emg"].values, dtype=float)
    variables = {
        "MUPulses": _cell([(trains[u] + 1).astype(float).reshape(1, -1) for u in fired]),
        "IPTs": ipts,
        "SIG": _cell([emg[:, c].reshape(1, -1) for c in range(emg.shape[1])], (emg.shape[1], 1)),
        "ref_signal": reference_signal(ds)[None, :],
        "fsamp": fs,
        "IED": float(ds.attrs.get("ied_mm", 0.0)),
        "mnpool_unit": np.asarray(fired, dtype=float).reshape(1, -1),
    }
    with atomic_path(path, suffix=".mat") as tmp:
        scipy.io.savemat(tmp, variables, do_compression=True)
    return Path(path)
