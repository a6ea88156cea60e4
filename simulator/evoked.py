"""Evoked responses as they are recorded: what reaches the muscle, the bipolar surface EMG it
produces, and the standard amplitude and latency measures.

A discharge of a motoneuron reaches its muscle fibres ``proximal + distal`` conduction times
later (:func:`simulator.simulation.unit_table`), unless it collided in the axon with an antidromic
spike from a nerve stimulus; a stimulated motor axon sends its orthodromic spike straight to the
muscle (the M-wave). :func:`muscle_arrivals` applies exactly the bookkeeping of the Brian2 run
(:data:`simulator.network.NERVE_RESET`), so force and EMG see the same discharges.

The EMG of an evoked response is a bipolar surface recording over the muscle belly (two
electrodes along the fibres, between the innervation zone and the distal tendon), synthesised
from the same volume-conductor MUAP templates as the HD-sEMG (:mod:`simulator.models.muap`),
without noise so that amplitudes are exact; peak-to-peak amplitudes are reported in mV.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import xarray as xr

from . import _schema as S
from .config import Config, ConfigError, param
from .emg import clean_emg
from .models.muap import MuapConfig, muap_templates

__all__ = ["BipolarConfig", "muscle_arrivals", "bipolar_templates", "evoked_emg", "peak_to_peak",
           "onset_latency", "silence_end", "stimulus_times"]


@dataclasses.dataclass(frozen=True)
class BipolarConfig(Config):
    """Bipolar surface electrodes used for evoked responses."""

    section = "bipolar"

    distance_from_iz_mm: float = param(15.0, lo=0.0, hi=100.0, unit="mm",
                                       doc="first electrode's distance from the innervation zone")
    inter_electrode_mm: float = param(20.0, lo=2.0, hi=100.0, unit="mm")
    electrode_diameter_mm: float = param(5.0, lo=0.0, hi=20.0, unit="mm")
    fs_hz: float = param(10_000.0, lo=1000.0, hi=50_000.0, unit="Hz", doc="sampling rate")


def stimulus_times(ds: xr.Dataset) -> dict[str, Any]:
    """The stimulus of a stimulated activity Dataset (``{}`` if it has none)."""
    import json
    text = ds.attrs.get("stimulus")
    return json.loads(text) if text else {}


def muscle_arrivals(ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Times at which discharges reach the muscle fibres, and their units.

    Parameters
    ----------
    ds
        Activity Dataset; conduction delays are taken from ``proximal_delay_s`` and
        ``distal_delay_s`` (zero if absent, e.g. unstimulated runs).

    Returns
    -------
    time_s, unit : ndarray
        Sorted by time.
    """
    t = np.asarray(ds[S.SPIKE_TIME].values, dtype=float)
    u = np.asarray(ds[S.SPIKE_UNIT].values, dtype=np.int64)
    n = ds.sizes["unit"]
    prox = np.asarray(ds["proximal_delay_s"].values) if "proximal_delay_s" in ds else np.zeros(n)
    dist = np.asarray(ds["distal_delay_s"].values) if "distal_delay_s" in ds else np.zeros(n)
    if "axon_collision_time" in ds:
        coll = np.asarray(ds["axon_collision_time"].values, dtype=float)
        keep = ~np.isclose(t, coll[u], rtol=0.0, atol=1e-9)
        t, u = t[keep], u[keep]
    times, units = [t + prox[u] + dist[u]], [u]
    stim = stimulus_times(ds)
    if "axon_orthodromic" in ds and stim.get("nerve_time_s") is not None:
        m_units = np.flatnonzero(np.asarray(ds["axon_orthodromic"].values))
        times.append(stim["nerve_time_s"] + dist[m_units])
        units.append(m_units)
    time, unit = np.concatenate(times), np.concatenate(units)
    order = np.argsort(time, kind="stable")
    return time[order], unit[order]


def bipolar_templates(ds: xr.Dataset, cfg: BipolarConfig | None = None,
                      muap: MuapConfig | None = None, *, seed: int = 0) -> np.ndarray:
    """Bipolar MUAP of every unit ``(unit, lag)`` [µV] at ``cfg.fs_hz`` (cached on disk).

    The two electrodes lie on the muscle's midline, distal to the innervation zone.
    """
    cfg = cfg or BipolarConfig()
    muap = muap or MuapConfig()
    z0 = muap.iz_position_mm + cfg.distance_from_iz_mm
    z1 = z0 + cfg.inter_electrode_mm
    if z1 >= muap.fibre_length_mm / 2:
        raise ConfigError(f"bipolar electrodes end at {z1:g} mm from the muscle centre, beyond the "
                          f"tendon at {muap.fibre_length_mm / 2:g} mm: reduce "
                          "bipolar.distance_from_iz_mm or bipolar.inter_electrode_mm")
    tpl = muap_templates(np.asarray(ds["n_fibres"].values, dtype=int),
                         np.asarray(ds["fibre_cv_m_s"].values, dtype=float), muap,
                         np.zeros(2), np.array([z0, z1]), cfg.fs_hz, seed=seed,
                         electrode_diameter_mm=cfg.electrode_diameter_mm)
    return tpl.muap_uv[:, 0, :] - tpl.muap_uv[:, 1, :]


def evoked_emg(ds: xr.Dataset, templates: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free bipolar EMG [mV] of everything that reached the muscle, and its time axis [s]."""
    t_arr, u_arr = muscle_arrivals(ds)
    n = int(round(float(ds.attrs["duration_s"]) * fs_hz))
    emg = clean_emg(templates[:, None, :], np.round(t_arr * fs_hz).astype(np.int64), u_arr, n)[:, 0]
    return np.arange(n) / fs_hz, emg * 1e-3


def peak_to_peak(t: np.ndarray, x: np.ndarray, start_s: float, stop_s: float) -> float:
    """Peak-to-peak amplitude of ``x`` in ``[start_s, stop_s)`` (0 for an empty window)."""
    sel = (t >= start_s) & (t < stop_s)
    return float(np.ptp(x[sel])) if sel.any() else 0.0


def silence_end(t: np.ndarray, level: np.ndarray, *, after_s: float, threshold: float,
                max_wait_s: float = 0.05) -> float:
    """End [s] of the EMG silence that follows a response: the first time ``level`` is back at
    ``threshold`` after having fallen below it (NaN if it never falls, or never returns).

    The silence must begin within ``max_wait_s`` of ``after_s`` (the end of the response's
    window): a response whose tail outlasts its window (a large, dispersed MEP) is not a
    return of the EMG, and a dip long after it is not the silent period. Cortical silent
    period as labs read it: from the MEP to the return of voluntary EMG (Orth & Rothwell 2004
    Clin Neurophysiol 115:1076).

    Parameters
    ----------
    t
        Sample times [s].
    level
        Smoothed rectified EMG on ``t`` (any unit; ``threshold`` in the same).
    after_s
        Search for the silence from this time [s].
    threshold
        EMG level [same unit as ``level``] below which the muscle is silent.
    max_wait_s
        Latest start of the silence after ``after_s`` [s].
    """
    t = np.asarray(t, dtype=float)
    level = np.asarray(level, dtype=float)
    quiet = np.flatnonzero((t >= after_s) & (level < threshold))
    if quiet.size == 0 or t[quiet[0]] > after_s + max_wait_s:
        return float("nan")
    back = np.flatnonzero((t > t[quiet[0]]) & (level >= threshold))
    return float(t[back[0]]) if back.size else float("nan")


def onset_latency(t: np.ndarray, x: np.ndarray, stim_s: float, *, start_s: float, stop_s: float,
                  threshold: float) -> float:
    """First time after ``start_s`` where ``|x|`` exceeds ``threshold``, minus ``stim_s`` [s]
    (NaN if it never does before ``stop_s``)."""
    sel = np.flatnonzero((t >= start_s) & (t < stop_s) & (np.abs(x) > threshold))
    return float(t[sel[0]] - stim_s) if sel.size else float("nan")
