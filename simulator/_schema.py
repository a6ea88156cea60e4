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
           "check_sampling_rate", "check_activity", "check_recording", "check_duration",
           "check_spikes", "require_variables", "MAX_DURATION_S", "MAX_RATE_HZ"]

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

#: Longest activity or recording a stage accepts [s] (the task limit of
#: :class:`simulator.task.TaskConfig`); a longer one would allocate that many samples.
MAX_DURATION_S = 3600.0
#: Highest sampling rate accepted [Hz].
MAX_RATE_HZ = 1.0e6


def _number(value: object) -> float | None:
    """``value`` as a float if it is a real number (not a string or a boolean), else None."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    return float(value)


def _quote(value: object) -> str:
    from .config import short_repr
    return short_repr(value, 60)


def require_variables(ds: xr.Dataset, names: tuple[str, ...] | list[str], what: str) -> None:
    """Raise :class:`ConfigError` naming the variables of ``names`` that ``ds`` lacks."""
    missing = [n for n in names if n not in ds.variables]
    if missing:
        raise ConfigError(f"{what} Dataset lacks variable(s) {', '.join(missing)}")


def check_sampling_rate(ds: xr.Dataset, attr: str, what: str) -> float:
    """Check ``ds.attrs[attr]`` is a sampling rate [Hz] that agrees with the ``time`` axis.

    The rate must be a number in (0, :data:`MAX_RATE_HZ`]; the axis one-dimensional, non-empty,
    finite, starting at 0 s and evenly sampled at the rate (within 1e-6 of a sample).

    Returns
    -------
    float
        The rate [Hz].

    Raises
    ------
    ConfigError
        Missing or non-numeric rate, or an axis that contradicts it.
    """
    raw = ds.attrs.get(attr)
    if raw is None:
        raise ConfigError(f"{what} has no attrs['{attr}'] (sampling rate in Hz)")
    fs = _number(raw)
    if fs is None or not np.isfinite(fs) or not 0 < fs <= MAX_RATE_HZ:
        raise ConfigError(f"{what} attrs['{attr}'] = {_quote(raw)} must be a number of Hz "
                          f"in (0, {MAX_RATE_HZ:g}]")
    if "time" not in ds.variables or ds["time"].ndim != 1:
        raise ConfigError(f"{what} has no one-dimensional 'time' axis")
    t = np.asarray(ds["time"].values, dtype=float)
    if t.size == 0:
        raise ConfigError(f"{what} has no samples (its 'time' axis is empty)")
    if not np.all(np.isfinite(t)):
        raise ConfigError(f"{what} 'time' axis has non-finite values")
    if abs(t[0]) > 0.5 / fs:
        raise ConfigError(f"{what} 'time' axis starts at {t[0]:g} s, not 0 s")
    if t.size > 1:
        step = np.diff(t)
        if np.any(np.abs(step - 1.0 / fs) > 1e-6 / fs + 1e-9 * np.abs(t[1:])):
            med = float(np.median(step))
            fs_axis = 1.0 / med if med > 0 else float("nan")
            raise ConfigError(f"mismatched sampling rates: {what} attrs['{attr}'] = {fs:g} Hz but "
                              f"its time axis is sampled at {fs_axis:g} Hz")
    return fs


def check_duration(ds: xr.Dataset, fs: float, what: str, limit_s: float = MAX_DURATION_S) -> float:
    """Check ``attrs["duration_s"]`` (if present) is finite, positive, at most ``limit_s`` and
    agrees with the ``time`` axis (within 2 samples); return the duration [s]."""
    n = ds.sizes["time"]
    axis = n / fs
    raw = ds.attrs.get("duration_s")
    if raw is None:
        duration = axis
    else:
        value = _number(raw)
        if value is None or not np.isfinite(value) or value <= 0:
            raise ConfigError(f"{what} attrs['duration_s'] = {_quote(raw)} must be a finite "
                              "positive number of seconds")
        duration = value
    if duration > limit_s:
        raise ConfigError(f"{what} lasts {duration:g} s; at most {limit_s:g} s is allowed")
    if abs(duration - axis) > 2.0 / fs + 1e-9 * duration:
        raise ConfigError(f"{what} attrs['duration_s'] = {duration:g} s disagrees with its time "
                          f"axis ({n} samples at {fs:g} Hz = {axis:g} s)")
    return duration


def check_spikes(ds: xr.Dataset, duration_s: float, what: str) -> None:
    """Check spike times are finite and inside ``[0, duration_s)`` and spike units are
    integers inside the ``unit`` dimension (spikes are never dropped silently)."""
    st = np.asarray(ds[SPIKE_TIME].values, dtype=float)
    su = np.asarray(ds[SPIKE_UNIT].values)
    if st.shape != su.shape:
        raise ConfigError(f"{what} spike_time and spike_unit differ in length")
    bad = ~np.isfinite(st) | (st < 0) | (st >= duration_s)
    if np.any(bad):
        raise ConfigError(f"{what} has {int(bad.sum())} spike time(s) outside the recording "
                          f"[0, {duration_s:g}) s (e.g. {st[bad][0]:g})")
    n_units = ds.sizes.get("unit", 0)
    if su.size and (not np.issubdtype(su.dtype, np.integer) or su.min() < 0 or su.max() >= n_units):
        raise ConfigError(f"{what} spike_unit values must be integers in [0, {n_units - 1}]")


_REQUIRED = (SPIKE_TIME, SPIKE_UNIT, "force", "fibre_cv_m_s", "n_fibres")


def check_activity(activity: xr.Dataset, limit_s: float = MAX_DURATION_S) -> float:
    """Validate an activity Dataset before synthesis; return its force sampling rate (Hz).

    Raises
    ------
    ConfigError
        Wrong kind, missing variables, a rate or duration that is not a positive finite number
        or contradicts the ``time`` axis, a duration over ``limit_s``, spike times outside the
        activity or spikes of non-existent units.
    """
    kind = activity.attrs.get("kind")
    if kind != "activity":
        raise ConfigError(f"input Dataset has kind = {_quote(kind)}; expected 'activity'")
    require_variables(activity, _REQUIRED, "activity")
    fs = check_sampling_rate(activity, "fs_force_hz", "activity")
    check_spikes(activity, check_duration(activity, fs, "activity", limit_s), "activity")
    return float(fs)


def check_recording(ds: xr.Dataset, *, truth: bool = False, limit_s: float = MAX_DURATION_S) -> float:
    """Validate a recording Dataset before a stage reads it; return its sampling rate [Hz].

    Parameters
    ----------
    ds
        The recording.
    truth
        Also require the ground truth (``spike_unit``, ``spike_sample``, ``spike_time`` inside
        the recording), as scoring does.
    limit_s
        Longest recording accepted [s].

    Raises
    ------
    ConfigError
        Wrong kind, no ``emg(time, channel)``, a sampling rate missing or inconsistent with the
        ``time`` axis, a recording over ``limit_s``, non-finite EMG, missing or bad truth.
    """
    if ds.attrs.get("kind") != "recording":
        raise ConfigError(f"Dataset has kind = {_quote(ds.attrs.get('kind'))}; expected 'recording'")
    require_variables(ds, ("emg",), "recording")
    if ds["emg"].dims != ("time", "channel"):
        raise ConfigError(f"recording 'emg' has dims {ds['emg'].dims}; expected ('time', 'channel')")
    fs = check_sampling_rate(ds, "fs_hz", "recording")
    duration = ds.sizes["time"] / fs
    if duration > limit_s:
        raise ConfigError(f"recording lasts {duration:g} s; at most {limit_s:g} s is allowed")
    if not np.all(np.isfinite(ds["emg"].values)):
        raise ConfigError("recording 'emg' has non-finite samples")
    if truth:
        if SPIKE_UNIT not in ds.variables:
            raise ConfigError("the recording has no ground truth (variables 'spike_unit' and "
                              "'spike_sample'); only simulated recordings can be scored")
        require_variables(ds, (SPIKE_UNIT, SPIKE_SAMPLE, SPIKE_TIME), "recording")
        check_spikes(ds, duration, "recording")
    return fs
