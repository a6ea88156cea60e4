"""Names shared by every Dataset mnpool writes (DESIGN.md, "Dataset conventions").

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
