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
           "DESCRIPTIONS", "describe",
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


#: ``(units, long_name)`` of the variables and coordinates mnpool's Datasets share, for
#: :func:`describe` (CF attributes; per-unit units as in the tables above).
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "time": ("s", "time"),
    "unit": ("1", "motor unit (recruitment order)"),
    "pathway_unit": ("1", "motor unit whose synaptic currents are recorded"),
    "vtime": ("s", "time of the membrane-potential samples"),
    "vunit": ("1", "motor unit whose membrane potential is recorded"),
    "channel": ("1", "recorded channel"),
    "row": ("1", "grid row (along the fibres)"),
    "col": ("1", "grid column (across the fibres)"),
    SPIKE_TIME: ("s", "spike time"),
    SPIKE_UNIT: ("1", "motor unit of the spike"),
    SPIKE_SAMPLE: ("1", "0-based sample of the spike"),
    "size_index": ("1", "relative motor-unit size (0 smallest, 1 largest)"),
    "soma_diameter_um": ("um", "soma diameter"),
    "membrane_area_mm2": ("mm2", "membrane area"),
    "input_conductance_us": ("uS", "input conductance"),
    "rheobase_na": ("nA", "rheobase"),
    "recruitment_excitation": ("1", "excitation at recruitment (fraction of maximum)"),
    "ahp_tau_ms": ("ms", "afterhyperpolarisation time constant"),
    "pic_conductance_us": ("uS", "persistent inward current conductance"),
    "axon_cv_m_s": ("m/s", "axonal conduction velocity"),
    "fibre_cv_m_s": ("m/s", "muscle-fibre conduction velocity"),
    "n_fibres": ("1", "number of muscle fibres"),
    "twitch_n": ("N", "twitch amplitude"),
    "contraction_time_ms": ("ms", "twitch contraction time"),
    "ia_epsp_conductance_us": ("uS", "Ia EPSP conductance"),
    "rst_weight": ("1", "reticulospinal synaptic weight"),
    "reflex_latency_ms": ("ms", "H-reflex latency"),
    "depth_mm": ("mm", "depth of the territory centre"),
    "territory_x_mm": ("mm", "territory centre across the fibres"),
    "territory_radius_mm": ("mm", "territory radius"),
    "innervation_zone_mm": ("mm", "innervation zone along the fibres"),
    "muap_ptp_uv": ("uV", "largest peak-to-peak MUAP amplitude"),
    "v_s": ("mV", "somatic membrane potential"),
    "v_d": ("mV", "dendritic membrane potential"),
    "m_pic": ("1", "persistent inward current activation"),
    "axon_orthodromic": ("1", "stimulated spike reached the muscle"),
    "axon_antidromic": ("1", "antidromic spike invaded the soma"),
    "axon_refractory": ("1", "axon refractory at the pulse"),
    "nerve_threshold_ma": ("mA", "nerve stimulation threshold"),
    "proximal_delay_s": ("s", "conduction delay from the stimulation site to the soma"),
    "distal_delay_s": ("s", "conduction delay from the stimulation site to the muscle"),
}


def describe(ds: xr.Dataset) -> xr.Dataset:
    """Give every variable of ``ds`` the CF attributes ``units`` and ``long_name`` (in place).

    Attributes already set are kept; missing ones come from :data:`DESCRIPTIONS`. A variable
    that is not listed gets its name, spaced, as ``long_name`` and no invented ``units``.

    Returns
    -------
    xarray.Dataset
        ``ds`` itself.
    """
    for name in ds.variables:
        attrs = ds.variables[name].attrs
        units, long_name = DESCRIPTIONS.get(str(name), (None, str(name).replace("_", " ")))
        if "units" not in attrs and units is not None:
            attrs["units"] = units
        attrs.setdefault("long_name", long_name)
    return ds


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
