"""Spike trains per unit: extraction from a Dataset, the main continuous train, smoothed rates
and the cumulative spike train (the inputs of every motor-unit measure)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from .. import _schema

__all__ = ["SpikeTrains", "spike_trains", "main_train", "smoothed_rate", "cumulative_spike_train"]


SpikeTrains = Mapping[int, np.ndarray]


def spike_trains(ds: xr.Dataset) -> dict[int, np.ndarray]:
    """Spike times [s] of every unit of an activity or recording Dataset (empty arrays included)."""
    t = np.asarray(ds[_schema.SPIKE_TIME].values, dtype=float)
    u = np.asarray(ds[_schema.SPIKE_UNIT].values, dtype=int)
    n = int(ds.sizes["unit"]) if "unit" in ds.sizes else (int(u.max()) + 1 if u.size else 0)
    order = np.argsort(u, kind="stable")
    splits = np.searchsorted(u[order], np.arange(n + 1))
    return {k: np.sort(t[order][splits[k]:splits[k + 1]]) for k in range(n)}


def main_train(spikes: np.ndarray, max_isi_s: float = 0.4, min_spikes: int = 3) -> np.ndarray:
    """The longest run of discharges whose ISIs are all below ``max_isi_s`` [s].

    Isolated noise-triggered discharges before recruitment are thereby ignored.
    Returns an empty array if no run has ``min_spikes`` discharges.
    """
    s = np.asarray(spikes, dtype=float)
    if s.size < min_spikes:
        return s[:0]
    breaks = np.flatnonzero(np.diff(s) >= max_isi_s) + 1
    runs = np.split(s, breaks)
    best = max(runs, key=len)
    return best if best.size >= min_spikes else s[:0]


def smoothed_rate(spikes: np.ndarray, t: np.ndarray, window_s: float = 2.0) -> np.ndarray:
    """Hann-smoothed instantaneous discharge rate [pps] sampled at ``t`` (NaN where silent).

    The instantaneous rate 1/ISI is held between discharges, then smoothed with a Hann window of
    ``window_s`` normalised over the samples where the unit fires (standard for delta-F;
    Gorassini 2002 used 2-s windows on rate vs time).
    """
    s = np.asarray(spikes, dtype=float)
    t = np.asarray(t, dtype=float)
    out = np.full(t.shape, np.nan)
    if s.size < 2:
        return out
    inst = 1.0 / np.diff(s)
    idx = np.searchsorted(s, t, side="right") - 1
    active = (idx >= 0) & (idx < s.size - 1)
    raw = np.zeros(t.shape)
    raw[active] = inst[idx[active]]
    dt = t[1] - t[0] if t.size > 1 else 1.0
    n = max(3, int(round(window_s / dt)) | 1)
    # np.convolve(mode="same") returns max(len(a), len(w)) samples: keep the window no longer than
    # the record so that records shorter than ``window_s`` still give one rate per sample
    n = min(n, t.size if t.size % 2 else t.size - 1) if t.size >= 3 else n
    w = np.hanning(n)
    num = np.convolve(raw, w, mode="same")
    den = np.convolve(active.astype(float), w, mode="same")
    with np.errstate(invalid="ignore", divide="ignore"):
        out[active] = num[active] / den[active]
    return out


def cumulative_spike_train(trains: SpikeTrains, units: np.ndarray, t_start: float, t_stop: float,
                           fs_hz: float = 1000.0) -> np.ndarray:
    """Sum of the binned spike trains of ``units`` between ``t_start`` and ``t_stop`` [s]."""
    n = int(round((t_stop - t_start) * fs_hz))
    out = np.zeros(n)
    for u in units:
        s = trains[int(u)]
        idx = np.floor((s[(s >= t_start) & (s < t_stop)] - t_start) * fs_hz).astype(int)
        np.add.at(out, idx[idx < n], 1.0)
    return out
