"""Spike trains per unit: extraction from a Dataset, the main continuous train, smoothed rates
and the cumulative spike train (the inputs of every motor-unit measure)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from .. import _schema

__all__ = ["SpikeTrains", "spike_trains", "main_train", "smoothed_rate", "cumulative_spike_train"]


SpikeTrains = Mapping[int, np.ndarray]


def spike_trains(ds: xr.Dataset, *, samples: bool = False, fs_hz: float | None = None,
                 n_units: int | None = None) -> dict[int, np.ndarray]:
    """Discharges of every unit of an activity, recording or decomposition Dataset (empty
    arrays included), sorted in time: the one spike-train extractor of mnpool.

    Parameters
    ----------
    ds
        Dataset with ``spike_unit`` and ``spike_time`` (or ``spike_sample``) on dim ``spike``.
    samples
        Return sample indices (``spike_sample``, else ``round(spike_time * fs_hz)``) instead of
        times [s].
    fs_hz
        Sampling rate [Hz] for ``samples`` without ``spike_sample`` (default ``attrs["fs_hz"]``).
    n_units
        Number of units (default: the size of dim ``unit``, else ``max(spike_unit) + 1``).

    Returns
    -------
    dict of int to ndarray
        Unit index -> spike times [s] (float) or samples (int64).
    """
    u = np.asarray(ds[_schema.SPIKE_UNIT].values).astype(np.int64)
    if not samples:
        v = np.asarray(ds[_schema.SPIKE_TIME].values, dtype=float)
    elif _schema.SPIKE_SAMPLE in ds:
        v = np.asarray(ds[_schema.SPIKE_SAMPLE].values).astype(np.int64)
    else:
        fs = float(fs_hz if fs_hz is not None else ds.attrs["fs_hz"])
        v = np.round(np.asarray(ds[_schema.SPIKE_TIME].values) * fs).astype(np.int64)
    if n_units is None:
        n_units = int(ds.sizes["unit"]) if "unit" in ds.sizes else (int(u.max()) + 1 if u.size else 0)
    order = np.lexsort((v, u))
    u, v = u[order], v[order]
    bounds = np.searchsorted(u, np.arange(n_units + 1))
    return {k: v[bounds[k]:bounds[k + 1]] for k in range(n_units)}


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
    # keep the window no longer than the record (odd), as when this used np.convolve, whose
    # "same" mode returns max(len(a), len(w)) samples; records shorter than ``window_s`` thus
    # give one rate per sample and the same values as before
    n = min(n, t.size if t.size % 2 else t.size - 1) if t.size >= 3 else n
    w = np.hanning(n)
    # by FFT (overlap-add): a 2-s window at 1 kHz is ~2000 taps per sample; same result to
    # ~1e-12 of the rate (np.convolve's "same" and scipy's agree on centring when n <= len(t))
    from scipy.signal import oaconvolve
    num = oaconvolve(raw, w, mode="same")
    den = oaconvolve(active.astype(float), w, mode="same")
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
