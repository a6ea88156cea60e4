"""Names shared by every Dataset mnpool writes (DESIGN.md, "Dataset conventions"), and the one
check of each kind of Dataset a stage reads (:func:`check_activity`, :func:`check_recording`).

Keeping the variable names in one place lets the simulator, the EMG synthesis, the decomposition
and the scorers agree without importing each other.

Activity Dataset (``attrs["kind"] == "activity"``)
    dims ``time`` (s, sampled at ``attrs["fs_force_hz"]``), ``unit`` (recruitment order),
    ``spike`` (ragged spikes). Variables: ``spike_time(spike)`` [s], ``spike_unit(spike)``,
    ``force(time)`` [N], ``force_mvc(time)`` [%MVC], ``target(time)`` [%MVC],
    ``excitation(time)`` [0–1], and per-unit properties (see :data:`UNIT_PROPERTIES`).
Recording Dataset (``attrs["kind"] == "recording"``)
    dims ``time`` (s, at ``attrs["fs_hz"]``), ``channel`` (with ``row``, ``col``, ``x_mm``,
    ``y_mm`` coordinates), ``unit``, ``lag`` and ``spike``. Variables: ``emg(time, channel)`` [µV],
    ``muap(unit, channel, lag)`` [µV], ``spike_time``/``spike_unit``/``spike_sample`` (truth),
    ``force(time)`` [N] (and ``force_mvc``, ``target``, ``excitation`` when the activity has
    them) resampled to ``fs_hz``, the activity's per-unit properties and those of
    :data:`RECORDING_UNIT_PROPERTIES`. ``x_mm`` runs across the fibres from the muscle mid-line,
    ``y_mm`` along the fibres from the muscle centre; ``lag`` 0 is the end-plate activation,
    taken at the spike time. attrs: ``fs_hz``, ``snr_db`` (requested), ``snr_measured_db``,
    ``grid``, ``montage``, ``ied_mm``, ``grid_shape``, ``config`` (EMG config), ``seed``, the
    activity's attrs with its ``config``/``seed`` renamed ``activity_config``/``activity_seed``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .config import ConfigError

__all__ = ["SPIKE_TIME", "SPIKE_UNIT", "SPIKE_SAMPLE", "UNIT_PROPERTIES", "RECORDING_UNIT_PROPERTIES",
           "check_sampling_rate", "check_activity", "check_recording"]

SPIKE_TIME = "spike_time"
SPIKE_UNIT = "spike_unit"
SPIKE_SAMPLE = "spike_sample"

#: Per-unit variables an activity Dataset carries, with their units.
UNIT_PROPERTIES: dict[str, str] = {
    "size_index": "1",
    "soma_diameter_um": "um",
    "membrane_area_mm2": "mm2",
    "input_conductance_us": "uS",
    "rheobase_na": "nA",
    "recruitment_excitation": "1",
    "ahp_tau_ms": "ms",
    "pic_conductance_us": "uS",
    "axon_cv_m_s": "m/s",
    "fibre_cv_m_s": "m/s",
    "n_fibres": "1",
    "twitch_n": "N",
    "contraction_time_ms": "ms",
}

#: Per-unit ground truth a recording adds to the activity's properties, with units.
RECORDING_UNIT_PROPERTIES: dict[str, str] = {
    "depth_mm": "mm",
    "territory_x_mm": "mm",
    "territory_radius_mm": "mm",
    "innervation_zone_mm": "mm",
    "muap_ptp_uv": "uV",
}


def check_sampling_rate(ds: xr.Dataset, attr: str, what: str) -> float:
    """Check that ``ds.attrs[attr]`` is a positive rate [Hz] matching the ``time`` axis; return it.

    Raises
    ------
    ConfigError
        Missing or non-positive rate, or a time axis sampled at another rate.
    """
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


_REQUIRED = (SPIKE_TIME, SPIKE_UNIT, "force", "fibre_cv_m_s", "n_fibres")


def check_activity(activity: xr.Dataset) -> float:
    """Validate an activity Dataset before synthesis; return its force sampling rate (Hz).

    Raises
    ------
    ConfigError
        Wrong kind, missing variables, a ``time`` axis whose spacing disagrees with
        ``attrs["fs_force_hz"]``, or spikes of non-existent units.
    """
    kind = activity.attrs.get("kind")
    if kind != "activity":
        raise ConfigError(f"input Dataset has kind = {kind!r}; expected 'activity'")
    missing = [v for v in _REQUIRED if v not in activity.variables]
    if missing:
        raise ConfigError(f"activity Dataset lacks variable(s) {', '.join(missing)}")
    fs = check_sampling_rate(activity, "fs_force_hz", "activity")
    n_units = activity.sizes.get("unit", 0)
    su = np.asarray(activity[SPIKE_UNIT].values)
    if su.size and (su.min() < 0 or su.max() >= n_units):
        raise ConfigError(f"activity spike_unit values [{su.min()}, {su.max()}] outside the "
                          f"{n_units} units [0, {n_units - 1}]")
    return float(fs)


def check_recording(ds: xr.Dataset) -> float:
    """Validate a recording Dataset before a stage reads it; return its sampling rate [Hz].

    Raises
    ------
    ConfigError
        Wrong kind, or a sampling rate missing or inconsistent with the ``time`` axis.
    """
    if ds.attrs.get("kind") != "recording":
        raise ConfigError(f"Dataset has kind = {ds.attrs.get('kind')!r}; expected 'recording'")
    return check_sampling_rate(ds, "fs_hz", "recording")
