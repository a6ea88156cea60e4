"""High-density surface EMG synthesis: spikes ⊛ MUAP templates + noise, through a real amplifier.

The recording is linear in the motor-unit discharges (Farina et al. 2004, IEEE Trans Biomed Eng
51:415; Merletti & Farina 2016): each unit's spike train is convolved with its MUAP template on
every channel and the units are summed. Templates come from the volume-conductor model of
:mod:`simulator.models.muap`, placed under the grid of :mod:`simulator.electrodes`, combined into
the recorded montage and passed through the amplifier's band-pass (causal Butterworth, as in the
hardware) *before* the convolution -- filtering is linear and time-invariant, so the stored
templates are exactly those that make up the EMG. Instrumentation noise (white) and band-limited
physiological background noise, partly common to all channels, are then added at the requested
signal-to-noise ratio, plus optional power-line interference.

Entry point: :func:`synthesize` (``activity`` Dataset -> ``recording`` Dataset); its linear core
:func:`clean_emg` is public for tests and decomposition studies.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import scipy.signal
import scipy.sparse
import xarray as xr

from . import _schema as S
from . import streams
from ._schema import check_activity
from .config import Config, ConfigError, param
from .electrodes import Electrodes, GridConfig, build_electrodes
from .models.muap import MuapConfig, MuapTemplates, muap_templates

__all__ = ["EmgConfig", "synthesize", "clean_emg", "make_noise", "amplifier_sos",
           "check_activity", "grid_electrodes", "snr_db"]


@dataclasses.dataclass(frozen=True)
class EmgConfig(Config):
    """Everything that turns an activity Dataset into an HD-sEMG recording.

    Noise defaults follow typical HD-sEMG recordings (SNR 20–30 dB; amplifier band 10–500 Hz,
    e.g. OT Bioelettronica Quattrocento); the grid default is GR08MM1305 at 2048 Hz.
    """

    section = "emg"

    fs_hz: float = param(2048.0, lo=200.0, hi=100_000.0, unit="Hz", doc="EMG sampling rate")
    snr_db: float = param(20.0, lo=-40.0, hi=120.0, unit="dB",
                          doc="signal-to-noise ratio (mean power over channels and time; "
                              "power-line interference not counted)")
    coloured_fraction: float = param(0.5, lo=0.0, hi=1.0,
                                     doc="share of the noise power that is band-limited physiological noise")
    coloured_band_hz: tuple[float, float] = param((10.0, 150.0), lo=0.1, hi=50_000.0, unit="Hz",
                                                  doc="band of the physiological noise")
    common_fraction: float = param(0.3, lo=0.0, hi=1.0,
                                   doc="share of the physiological noise common to all channels")
    noise_floor_uv: float = param(2.0, lo=0.0, hi=1000.0, unit="uV",
                                  doc="noise RMS used when the EMG has no signal (no spikes)")
    powerline_hz: float = param(50.0, choices=(50.0, 60.0), unit="Hz")
    powerline_uv: float = param(0.0, lo=0.0, hi=10_000.0, unit="uV", doc="power-line amplitude")
    highpass_hz: float = param(10.0, lo=0.0, hi=1000.0, unit="Hz", doc="amplifier high-pass (0 = off)")
    lowpass_hz: float = param(500.0, lo=0.0, hi=50_000.0, unit="Hz", doc="amplifier low-pass (0 = off)")
    filter_order: int = param(2, lo=1, hi=8, doc="Butterworth order of each amplifier edge")
    muap: MuapConfig = param(MuapConfig())
    grid: GridConfig = param(GridConfig())

    def validate(self) -> None:
        nyq = self.fs_hz / 2
        if self.lowpass_hz >= nyq:
            raise ConfigError(f"emg.lowpass_hz = {self.lowpass_hz} must be below fs_hz/2 = {nyq:g} Hz "
                              "(or 0 to disable); allowed [0, fs_hz/2)")
        if self.lowpass_hz and self.highpass_hz >= self.lowpass_hz:
            raise ConfigError(f"emg.highpass_hz = {self.highpass_hz} must be below "
                              f"emg.lowpass_hz = {self.lowpass_hz}")
        lo, hi = self.coloured_band_hz
        if not lo < hi < nyq:
            raise ConfigError(f"emg.coloured_band_hz = {self.coloured_band_hz!r} must satisfy "
                              f"0 < low < high < fs_hz/2 = {nyq:g} Hz")
        check_grid_fits(self.grid, self.muap)



def check_grid_fits(grid: GridConfig, muap: MuapConfig) -> None:
    """Raise :class:`ConfigError` unless every electrode lies over the muscle.

    Parameters
    ----------
    grid
        Grid shape and placement (offsets are from the innervation zone).
    muap
        Muscle width (across) and length (along the fibres).
    """
    el = grid_electrodes(grid, muap)
    half_w, half_l = muap.muscle_width_mm / 2, muap.fibre_length_mm / 2
    x, z = el.mono_x_mm, el.mono_z_mm
    if np.any(np.abs(x) > half_w + 1e-9) or np.any(np.abs(z) > half_l + 1e-9):
        rows, cols, ied = grid.shape()
        raise ConfigError(
            f"emg.grid = {grid.name!r} ({rows}x{cols} at {ied:g} mm, rotation {grid.rotation_deg:g}°, "
            f"offset x {grid.offset_x_mm:g} mm, z {grid.offset_z_mm:g} mm) does not fit over the muscle: "
            f"electrodes span x [{x.min():.1f}, {x.max():.1f}] mm and z [{z.min():.1f}, {z.max():.1f}] mm; "
            f"allowed |x| <= {half_w:g} mm (emg.muap.muscle_width_mm/2) and |z| <= {half_l:g} mm "
            f"(emg.muap.fibre_length_mm/2)")


def grid_electrodes(grid: GridConfig, muap: MuapConfig) -> Electrodes:
    """Electrodes of ``grid`` placed over the innervation zone of the muscle of ``muap``.

    Parameters
    ----------
    grid
        Grid shape, placement (mm, deg) and montage.
    muap
        Muscle model (its ``iz_position_mm`` centres the grid).

    Returns
    -------
    Electrodes
    """
    return build_electrodes(grid, muap.iz_position_mm)


def amplifier_sos(cfg: EmgConfig) -> np.ndarray | None:
    """Amplifier band-pass as second-order sections.

    Parameters
    ----------
    cfg
        ``highpass_hz``/``lowpass_hz`` (Hz, 0 = edge off), ``filter_order``, ``fs_hz``.

    Returns
    -------
    ndarray or None
        Causal Butterworth SOS at ``fs_hz``, or None when both edges are off.
    """
    parts = []
    if cfg.highpass_hz > 0:
        parts.append(scipy.signal.butter(cfg.filter_order, cfg.highpass_hz, "highpass",
                                         fs=cfg.fs_hz, output="sos"))
    if cfg.lowpass_hz > 0:
        parts.append(scipy.signal.butter(cfg.filter_order, cfg.lowpass_hz, "lowpass",
                                         fs=cfg.fs_hz, output="sos"))
    return np.vstack(parts) if parts else None


def clean_emg(muap: np.ndarray, spike_sample: np.ndarray, spike_unit: np.ndarray,
              n_samples: int) -> np.ndarray:
    """Noise-free EMG: every unit's spike train convolved with its template, summed over units.

    Linear in the spikes by construction: ``clean_emg(a ∪ b) == clean_emg(a) + clean_emg(b)``.

    Parameters
    ----------
    muap
        Templates ``(unit, channel, lag)`` (µV); lag 0 is aligned with the spike sample.
    spike_sample
        0-based sample index of each discharge; discharges outside ``[0, n_samples)`` are ignored.
    spike_unit
        Unit index of each discharge.
    n_samples
        Length of the output (samples).

    Returns
    -------
    ndarray, shape (n_samples, n_channels)
        EMG (µV).
    """
    n_units, n_chan, n_lag = muap.shape
    spike_sample = np.asarray(spike_sample, dtype=np.int64)
    spike_unit = np.asarray(spike_unit, dtype=np.int64)
    keep = (spike_sample >= 0) & (spike_sample < n_samples)
    spike_sample, spike_unit = spike_sample[keep], spike_unit[keep]
    if spike_unit.size and (spike_unit.min() < 0 or spike_unit.max() >= n_units):
        raise ConfigError(f"spike_unit values must be in [0, {n_units - 1}]; got "
                          f"[{spike_unit.min()}, {spike_unit.max()}]")
    out = np.zeros((n_samples + n_lag, n_chan))
    if spike_sample.size == 0 or n_samples == 0:
        return out[:n_samples]
    # Sparse (time x unit) spike counts times (unit x lag*channel) templates gives, for every
    # sample, the superposed templates starting there; an overlap-add over lags finishes the
    # convolution. Work is proportional to spikes x channels x lags.
    spikes = scipy.sparse.csr_matrix((np.ones(spike_sample.size), (spike_sample, spike_unit)),
                                     shape=(n_samples, n_units))
    flat = np.ascontiguousarray(muap.transpose(0, 2, 1)).reshape(n_units, n_lag * n_chan)
    block = max(256, (1 << 22) // max(1, n_lag * n_chan))  # ~32 MB of float64 per block
    for t0 in range(0, n_samples, block):
        sub = spikes[t0:t0 + block]
        if sub.nnz == 0:
            continue
        y = (sub @ flat).reshape(sub.shape[0], n_lag, n_chan)
        for lag in range(n_lag):
            out[t0 + lag:t0 + lag + sub.shape[0]] += y[:, lag]
    return out[:n_samples]


def make_noise(n_samples: int, n_channels: int, cfg: EmgConfig, rng: np.random.Generator) -> np.ndarray:
    """Unit-power recording noise: white instrumentation noise plus band-limited physiological noise.

    Parameters
    ----------
    n_samples, n_channels
        Shape of the output.
    cfg
        Noise composition and band, amplifier filter.
    rng
        Random generator.

    Returns
    -------
    ndarray, shape (n_samples, n_channels)
        Noise passed through the amplifier, scaled to mean power 1 (µV²) over all samples.
    """
    white = rng.standard_normal((n_samples, n_channels))
    white /= np.sqrt(np.mean(white**2)) if white.size else 1.0
    noise = math.sqrt(1 - cfg.coloured_fraction) * white
    if cfg.coloured_fraction > 0 and n_samples > 0:
        sos = scipy.signal.butter(2, cfg.coloured_band_hz, "bandpass", fs=cfg.fs_hz, output="sos")
        own = rng.standard_normal((n_samples, n_channels))
        common = rng.standard_normal((n_samples, 1))
        mixed = math.sqrt(1 - cfg.common_fraction) * own + math.sqrt(cfg.common_fraction) * common
        col = scipy.signal.sosfilt(sos, mixed, axis=0)
        col /= np.sqrt(np.mean(col**2))
        noise = noise + math.sqrt(cfg.coloured_fraction) * col
    sos_amp = amplifier_sos(cfg)
    if sos_amp is not None and n_samples > 0:
        noise = scipy.signal.sosfilt(sos_amp, noise, axis=0)
    power = np.mean(noise**2) if noise.size else 0.0
    return noise / np.sqrt(power) if power > 0 else noise


def snr_db(signal: np.ndarray, noise: np.ndarray) -> float:
    """Signal-to-noise ratio over all channels and samples.

    Parameters
    ----------
    signal, noise
        Arrays of the same shape (µV).

    Returns
    -------
    float
        ``10 log10(mean(signal²) / mean(noise²))`` in dB.
    """
    return float(10 * np.log10(np.mean(np.square(signal)) / np.mean(np.square(noise))))


def synthesize(activity: xr.Dataset, cfg: EmgConfig | None = None, *, seed: int | None = None,
               cache: bool = True, progress: bool = False) -> xr.Dataset:
    """Synthesise an HD-sEMG recording, with its ground truth, from an activity Dataset.

    Parameters
    ----------
    activity
        ``kind == "activity"`` Dataset (spikes, force, per-unit ``n_fibres`` and
        ``fibre_cv_m_s``), see :mod:`simulator._schema`.
    cfg
        EMG configuration (defaults: GR08MM1305, monopolar, 2048 Hz, 20 dB).
    seed
        Seed for unit placement and noise (``None``: drawn from fresh entropy and recorded in
        ``attrs["seed"]``).
    cache
        Use the on-disk MUAP template cache.
    progress
        Progress bar while computing templates.

    Returns
    -------
    xarray.Dataset
        ``kind == "recording"``: ``emg(time, channel)`` [µV], ``muap(unit, channel, lag)`` [µV]
        (amplifier-filtered, recorded montage), ground-truth ``spike_time``/``spike_unit``/
        ``spike_sample``, ``force(time)`` resampled to ``fs_hz``, per-unit properties including
        ``depth_mm``, ``territory_radius_mm``, ``innervation_zone_mm`` and ``muap_ptp_uv``.
        Discharges outside the recording (``spike_time * fs_hz`` not in ``[0, n_samples)``)
        are dropped from the ground truth; lag 0 of a template is the spike time (axonal and
        neuromuscular delays are not modelled).
    """
    cfg = cfg or EmgConfig()
    fs_force = check_activity(activity)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
        cache = False  # a one-off seed would only fill the cache with entries never read again
    n_fibres = np.asarray(activity["n_fibres"].values, dtype=int)
    cv = np.asarray(activity["fibre_cv_m_s"].values, dtype=float)
    el = grid_electrodes(cfg.grid, cfg.muap)
    tpl: MuapTemplates = muap_templates(n_fibres, cv, cfg.muap, el.mono_x_mm, el.mono_z_mm, cfg.fs_hz,
                                        seed=seed, electrode_diameter_mm=cfg.grid.electrode_diameter_mm,
                                        cache=cache, progress=progress)
    muap = np.einsum("ce,uel->ucl", el.matrix, tpl.muap_uv)
    sos = amplifier_sos(cfg)
    if sos is not None:
        # Let the amplifier's impulse response ring for 20 ms past the MUAP before truncating.
        pad = int(math.ceil(0.02 * cfg.fs_hz))
        muap = scipy.signal.sosfilt(sos, np.concatenate([muap, np.zeros(muap.shape[:2] + (pad,))],
                                                        axis=2), axis=2)
    t_act = np.asarray(activity["time"].values, dtype=float)
    duration = float(activity.attrs.get("duration_s", t_act[-1] + 1 / fs_force if t_act.size else 0.0))
    n_samples = int(round(duration * cfg.fs_hz))
    spike_time = np.asarray(activity[S.SPIKE_TIME].values, dtype=float)
    spike_unit = np.asarray(activity[S.SPIKE_UNIT].values, dtype=np.int64)
    spike_sample = np.round(spike_time * cfg.fs_hz).astype(np.int64)
    inside = (spike_sample >= 0) & (spike_sample < n_samples)
    spike_time, spike_unit, spike_sample = spike_time[inside], spike_unit[inside], spike_sample[inside]
    clean = clean_emg(muap, spike_sample, spike_unit, n_samples)

    rng = streams.rng(seed, "emg_noise")  # a stream separate from unit placement
    noise = make_noise(n_samples, el.n_channels, cfg, rng)
    signal_power = float(np.mean(clean**2)) if clean.size else 0.0
    noise_rms = (math.sqrt(signal_power) * 10 ** (-cfg.snr_db / 20) if signal_power > 0
                 else cfg.noise_floor_uv)
    noise *= noise_rms
    emg = clean + noise
    if cfg.powerline_uv > 0:
        t = np.arange(n_samples) / cfg.fs_hz
        phase = rng.uniform(0, 2 * math.pi)
        gain = 1 + 0.1 * rng.standard_normal(el.n_channels)  # mostly common-mode interference
        emg += cfg.powerline_uv * np.sin(2 * math.pi * cfg.powerline_hz * t + phase)[:, None] * gain
    measured = snr_db(clean, noise) if signal_power > 0 else float("-inf")
    return _recording(activity, cfg, seed, el, tpl, muap, emg, spike_time, spike_unit, spike_sample,
                      measured)


def _recording(activity: xr.Dataset, cfg: EmgConfig, seed: int, el: Electrodes, tpl: MuapTemplates,
               muap: np.ndarray, emg: np.ndarray, spike_time: np.ndarray, spike_unit: np.ndarray,
               spike_sample: np.ndarray, measured_snr: float) -> xr.Dataset:
    """Assemble the recording Dataset (schema in :mod:`simulator._schema`)."""
    n_samples = emg.shape[0]
    time = np.arange(n_samples) / cfg.fs_hz
    geom = tpl.geometry
    rows, cols, ied = cfg.grid.shape()
    coords = {
        "time": ("time", time, {"units": "s", "long_name": "time"}),
        "channel": ("channel", np.arange(el.n_channels), {"long_name": "recorded channel"}),
        "row": ("channel", el.row.astype(int), {"long_name": "grid row (along the fibres)"}),
        "col": ("channel", el.col.astype(int), {"long_name": "grid column (across the fibres)"}),
        "x_mm": ("channel", el.x_mm, {"units": "mm", "long_name": "position across the fibres"}),
        "y_mm": ("channel", el.z_mm, {"units": "mm", "long_name": "position along the fibres"}),
        "unit": ("unit", np.arange(muap.shape[0]), {"long_name": "motor unit (recruitment order)"}),
        "lag": ("lag", np.arange(muap.shape[2]) / cfg.fs_hz, {"units": "s", "long_name": "lag"}),
    }
    t_act = np.asarray(activity["time"].values, dtype=float)
    data: dict[str, Any] = {
        "emg": (("time", "channel"), emg, {"units": "uV", "long_name": f"HD-sEMG ({cfg.grid.montage})"}),
        "muap": (("unit", "channel", "lag"), muap, {"units": "uV", "long_name": "MUAP template"}),
        S.SPIKE_TIME: ("spike", spike_time, {"units": "s", "long_name": "true discharge time"}),
        S.SPIKE_UNIT: ("spike", spike_unit, {"long_name": "unit of each discharge"}),
        S.SPIKE_SAMPLE: ("spike", spike_sample, {"long_name": "0-based EMG sample of each discharge"}),
    }
    for name, units in (("force", "N"), ("force_mvc", "%MVC"), ("target", "%MVC"), ("excitation", "1")):
        if name in activity.variables and t_act.size:
            data[name] = ("time", np.interp(time, t_act, np.asarray(activity[name].values, dtype=float)),
                          {"units": units, "long_name": f"{name} resampled to fs_hz"})
    for name, units in S.UNIT_PROPERTIES.items():
        if name in activity.variables:
            data[name] = ("unit", np.asarray(activity[name].values), {"units": units})
    truth = {
        "depth_mm": (geom.depth_mm, "territory centre below the skin"),
        "territory_x_mm": (geom.x_mm, "territory centre across the fibres"),
        "territory_radius_mm": (geom.radius_mm, "territory radius"),
        "innervation_zone_mm": (geom.iz_mm, "innervation zone along the fibres"),
        "muap_ptp_uv": (np.ptp(muap, axis=2).max(axis=1) if muap.size else np.zeros(muap.shape[0]),
                        "largest peak-to-peak MUAP over channels"),
    }
    for name, units in S.RECORDING_UNIT_PROPERTIES.items():
        values, long_name = truth[name]
        data[name] = ("unit", values, {"units": units, "long_name": long_name})
    attrs = {k: v for k, v in activity.attrs.items() if k not in ("kind", "config", "seed")}
    attrs.update({
        "activity_config": activity.attrs.get("config", {}),
        "activity_seed": activity.attrs.get("seed"),
        "kind": "recording",
        "fs_hz": float(cfg.fs_hz),
        "snr_db": float(cfg.snr_db),
        "snr_measured_db": float(measured_snr),
        "grid": cfg.grid.name,
        "montage": cfg.grid.montage,
        "ied_mm": float(ied),
        "grid_shape": [int(rows), int(cols)],
        "config": cfg.to_dict(),
        "seed": int(seed),
    })
    return S.describe(xr.Dataset(data, coords=coords, attrs=attrs))
