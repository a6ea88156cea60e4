"""Exports of recordings to the formats the field uses: openhdemg JSON, MUedit ``.mat`` and
BIDS-EMG (BDF + sidecars), with the ground truth as the decomposition (:func:`write_recording`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from .._schema import check_recording, check_sampling_rate
from .netcdf import atomic_path, save_netcdf

__all__ = ["FORMATS", "check_sampling_rate", "parse_formats", "check_formats", "export_openhdemg", "export_muedit",
           "export_bids", "write_recording"]

#: Export formats understood by :func:`write_recording`.
FORMATS = ("netcdf", "openhdemg", "mat", "bids")


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

    fs = check_recording(ds)
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

    fs = check_recording(ds)
    _check_muedit(ds.attrs.get("montage", "monopolar"))
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


def _check_muedit(montage: str) -> None:
    from ..config import ConfigError
    if montage != "monopolar":
        raise ConfigError(f"format 'mat' (MUedit) needs a monopolar recording; this one is "
                          f"{montage!r} (set emg.grid.montage = 'monopolar')")


def _check_bids(fs: float) -> None:
    from ..config import ConfigError
    if abs(fs - round(fs)) > 1e-9:
        raise ConfigError(f"format 'bids' writes EDF/BDF with 1 s records and needs an integer "
                          f"sampling rate; fs_hz = {fs!r}")


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
        _check_bids(fs_hz)
    if "mat" in fmts:
        _check_muedit(montage)
    return fmts


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

    from .. import __version__

    fs = check_recording(ds)
    _check_bids(fs)
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
        elif f == "bids":
            written[f] = export_bids(ds, out / "bids")
    return written

