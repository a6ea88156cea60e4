"""BIDS-EMG export of a recording (BIDS 1.11, the first version with EMG)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import xarray as xr

from .._schema import check_recording
from ._common import check_bids, reference_signal
from .netcdf import atomic_path

__all__ = ["export_bids", "BIDS_VERSION"]

#: BIDS version written (EMG entered the specification in 1.11.0; Kennedy et al. 2025).
BIDS_VERSION = "1.11.0"

_README = """# mnpool synthetic HD-sEMG

Synthetic high-density surface EMG simulated by mnpool {version}: a Brian2 motoneuron pool drives
a muscle model whose motor-unit action potentials are summed on an electrode grid.

* `sub-{subject}/emg/*_emg.bdf`: the EMG channels (µV) and the force (`FORCE`, MISC channel);
* `*_events.tsv`: the ground-truth discharge of every motor unit, one row per discharge
  (`trial_type` `motor_unit_spike/<unit>`, `unit`, `sample` 0-based);
* `sub-{subject}_electrodes.tsv`: electrode positions (mm) and their `row` / `col` on the grid.

The motor-unit indices follow the recruitment order of the simulated pool. No participant took
part: the subject is virtual.
"""


def _json(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=2) + "\n")


def _write_bdf(path: Path, emg: np.ndarray, force: np.ndarray, force_units: str, fs: float,
               prefilter: str) -> None:
    """24-bit BDF+ with the EMG channels [µV] and force, padded to whole 1-s records."""
    import pyedflib
    n_samples, n_chan = emg.shape
    n_rec = int(np.ceil(n_samples / round(fs)))
    pad = n_rec * int(round(fs)) - n_samples
    writer = pyedflib.EdfWriter(str(path), n_chan + 1, file_type=pyedflib.FILETYPE_BDFPLUS)
    try:
        headers = []
        signals = [*emg.T, force]
        labels = [f"EMG{c + 1}" for c in range(n_chan)] + ["FORCE"]
        units = ["uV"] * n_chan + [force_units]
        for name, sig, unit in zip(labels, signals, units):
            # EDF headers hold 8 characters: a whole-number range keeps it exact
            lim = max(1.0, float(np.ceil(np.max(np.abs(sig)) * 1.01))) if sig.size else 1.0
            headers.append({"label": name, "dimension": unit, "sample_frequency": fs,
                            "physical_max": lim, "physical_min": -lim,
                            "digital_max": 8388607, "digital_min": -8388608,
                            "prefilter": prefilter, "transducer": "mnpool synthetic"})
        writer.setSignalHeaders(headers)
        writer.writeSamples([np.pad(s, (0, pad)) for s in signals])
    finally:
        writer.close()


def export_bids(ds: xr.Dataset, root: str | os.PathLike, *, subject: str = "01",
                task: str = "synthetic") -> Path:
    """Write a recording as a BIDS-EMG 1.11 dataset that bids-validator accepts without errors.

    Layout (BIDS 1.11.0, EMG modality): ``dataset_description.json``, ``README.md`` and
    ``participants.tsv`` at the root; in ``sub-<subject>/emg/``: ``*_emg.bdf`` (24-bit BDF+, EMG
    channels in µV and force as the MISC channel ``FORCE``), ``*_emg.json`` (with
    ``RecordingType``), ``*_channels.tsv`` (types ``EMG`` / ``MISC``, so that mne-bids reads EMG
    channels as EMG), ``*_events.tsv`` / ``.json`` (one ``motor_unit_spike/<unit>`` row per
    ground-truth discharge, with ``unit`` and 0-based ``sample`` columns) and, per session rather
    than per task as BIDS recommends, ``sub-<subject>_electrodes.tsv`` / ``.json`` (positions in mm
    and the grid ``row`` / ``col``, defined in the ``.json``) and ``sub-<subject>_coordsystem.json``.
    The subject folder is written in a temporary folder and renamed into place.

    Parameters
    ----------
    ds
        Recording Dataset with an integer sampling rate.
    root
        BIDS dataset folder.
    subject, task
        BIDS entities (alphanumeric labels).

    Returns
    -------
    Path
        The ``*_emg.bdf`` file.
    """
    import pandas as pd

    from .. import __version__

    fs = check_recording(ds)
    check_bids(fs)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stem = f"sub-{subject}_task-{task}"
    emg = np.asarray(ds["emg"].values, dtype=float)
    n_samples, n_chan = emg.shape
    names = [f"EMG{c + 1}" for c in range(n_chan)]
    force = reference_signal(ds)
    force_units = "%MVC" if "force_mvc" in ds.variables else "N"
    cfg = ds.attrs.get("config", {}) or {}
    hp, lp = cfg.get("highpass_hz", 0.0), cfg.get("lowpass_hz", 0.0)
    grid = str(ds.attrs.get("grid", "grid"))
    montage = str(ds.attrs.get("montage", "monopolar"))
    final = root / f"sub-{subject}"
    tmp_root = Path(tempfile.mkdtemp(prefix=f".sub-{subject}.", dir=root))
    try:
        emg_dir = tmp_root / "emg"
        emg_dir.mkdir()
        _write_bdf(emg_dir / f"{stem}_emg.bdf", emg, force, force_units, fs,
                   f"HP:{hp}Hz LP:{lp}Hz")
        rows_ch = [{"name": nm, "type": "EMG", "units": "uV", "sampling_frequency": fs,
                    "low_cutoff": hp or "n/a", "high_cutoff": lp or "n/a",
                    "signal_electrode": nm, "reference": montage, "group": grid,
                    "status": "good"} for nm in names]
        rows_ch.append({"name": "FORCE", "type": "MISC", "units": force_units,
                        "sampling_frequency": fs, "low_cutoff": "n/a", "high_cutoff": "n/a",
                        "signal_electrode": "n/a", "reference": "n/a", "group": "n/a",
                        "status": "good"})
        pd.DataFrame(rows_ch).to_csv(emg_dir / f"{stem}_channels.tsv", sep="\t", index=False)
        pd.DataFrame({"name": names, "x": ds["x_mm"].values, "y": ds["y_mm"].values,
                      "z": np.zeros(n_chan), "group": grid,
                      "row": ds["row"].values, "col": ds["col"].values}).to_csv(
            emg_dir / f"sub-{subject}_electrodes.tsv", sep="\t", index=False)
        _json(emg_dir / f"sub-{subject}_electrodes.json", {
            "row": {"Description": "row of the electrode on the grid (0-based, along the fibres)"},
            "col": {"Description": "column of the electrode on the grid (0-based, across the "
                                   "fibres)"}})
        _json(emg_dir / f"sub-{subject}_coordsystem.json", {
            "EMGCoordinateSystem": "Other", "EMGCoordinateUnits": "mm",
            "EMGCoordinateSystemDescription": "skin plane over the muscle: x across the fibres "
            "from the muscle mid-line, y along the fibres from the muscle centre"})
        su = np.asarray(ds["spike_unit"].values, dtype=np.int64)
        pd.DataFrame({"onset": np.asarray(ds["spike_time"].values), "duration": 0.0,
                      "trial_type": [f"motor_unit_spike/{u}" for u in su], "unit": su,
                      "sample": np.asarray(ds["spike_sample"].values)}).to_csv(
            emg_dir / f"{stem}_events.tsv", sep="\t", index=False, float_format="%.9g")
        levels = {f"motor_unit_spike/{u}": f"ground-truth discharge of motor unit {u}"
                  for u in np.unique(su)}
        _json(emg_dir / f"{stem}_events.json", {
            "trial_type": {"Description": "motor unit that discharged", "Levels": levels},
            "unit": {"Description": "motor unit index (recruitment order) in the mnpool recording"},
            "sample": {"Description": "0-based EMG sample of the discharge"}})
        task_cfg = (ds.attrs.get("activity_config") or {}).get("task", {})
        _json(emg_dir / f"{stem}_emg.json", {
            "TaskName": task,
            "TaskDescription": f"simulated {task_cfg.get('shape', 'isometric')} contraction"
                               + (f" to {task_cfg['level']} %MVC" if "level" in task_cfg else ""),
            "Instructions": "none: the subject is a simulated motoneuron pool",
            "RecordingType": "continuous",
            "SamplingFrequency": fs, "PowerLineFrequency": cfg.get("powerline_hz", 50.0),
            "SoftwareFilters": "n/a",
            "HardwareFilters": {"Butterworth band-pass": {"HighPass_Hz": hp, "LowPass_Hz": lp,
                                                          "Order": cfg.get("filter_order", 2)}},
            "EMGChannelCount": n_chan, "MISCChannelCount": 1,
            "EMGReference": montage,
            "EMGPlacementScheme": "Other",
            "EMGPlacementSchemeDescription": f"{grid} grid, IED {ds.attrs.get('ied_mm')} mm, "
                                             "centred over the innervation zone",
            "RecordingDuration": n_samples / fs, "Manufacturer": "mnpool (synthetic)",
            "ManufacturersModelName": "mnpool simulator", "SoftwareVersions": __version__})
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp_root, final)
    finally:
        if tmp_root.exists():
            shutil.rmtree(tmp_root)
    top = {
        "dataset_description.json": json.dumps({
            "Name": "mnpool synthetic HD-sEMG", "BIDSVersion": BIDS_VERSION, "DatasetType": "raw",
            "License": "CC0", "Authors": ["mnpool"],
            "GeneratedBy": [{"Name": "mnpool", "Version": __version__}]}, indent=2) + "\n",
        "README.md": _README.format(version=__version__, subject=subject),
    }
    participants = root / "participants.tsv"
    known = pd.read_csv(participants, sep="\t")["participant_id"].tolist() \
        if participants.is_file() else []
    ids = sorted(set(known) | {f"sub-{subject}"})
    top["participants.tsv"] = "participant_id\n" + "".join(f"{p}\n" for p in ids)
    for name, text in top.items():
        with atomic_path(root / name, suffix=Path(name).suffix) as tmp:
            tmp.write_text(text)
    return final / "emg" / f"{stem}_emg.bdf"
