"""Recruitment thresholds and discharge rates of motor units (openhdemg conventions), and the
per-unit summary of a contraction.

* thresholds: recruitment / derecruitment threshold = force at the first / last discharge of a
  unit's longest continuous train (ISIs < ``max_isi_s``);
* rates: discharge rate at recruitment (mean of the first ``n_first`` instantaneous rates), peak
  and mean plateau rate, ISI coefficient of variation, rate–force gain.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .pic import delta_f
from .trains import main_train, smoothed_rate, spike_trains

__all__ = ["thresholds", "rate_at_recruitment", "peak_rate", "isi_cov", "unit_summary", "rate_force_gain"]


def thresholds(spikes: np.ndarray, t: np.ndarray, force: np.ndarray,
               max_isi_s: float = 0.4) -> tuple[float, float]:
    """Force at the first and last discharge of the main train (recruitment, derecruitment).

    Parameters
    ----------
    spikes
        Discharge times [s].
    t, force
        Force trace (same units are returned, e.g. %MVC).
    """
    m = main_train(spikes, max_isi_s)
    if m.size == 0:
        return np.nan, np.nan
    return float(np.interp(m[0], t, force)), float(np.interp(m[-1], t, force))


def rate_at_recruitment(spikes: np.ndarray, n_first: int = 4, max_isi_s: float = 0.4) -> float:
    """Mean of the first ``n_first`` instantaneous rates of the main train [pps]."""
    m = main_train(spikes, max_isi_s, min_spikes=n_first + 1)
    if m.size == 0:
        return np.nan
    return float(np.mean(1.0 / np.diff(m[: n_first + 1])))


def peak_rate(spikes: np.ndarray, window_s: float = 0.5) -> float:
    """Highest mean rate over any ``window_s`` window of consecutive discharges [pps]."""
    s = np.asarray(spikes, dtype=float)
    if s.size < 2:
        return np.nan
    counts = np.searchsorted(s, s + window_s, side="left") - np.arange(s.size)
    return float(counts.max() / window_s)


def isi_cov(spikes: np.ndarray, t_start: float = -np.inf, t_stop: float = np.inf,
            max_isi_s: float = 0.4) -> float:
    """Coefficient of variation of the ISIs between ``t_start`` and ``t_stop`` [s]."""
    s = np.asarray(spikes, dtype=float)
    s = s[(s >= t_start) & (s <= t_stop)]
    isi = np.diff(s)
    isi = isi[isi < max_isi_s]
    if isi.size < 3:
        return np.nan
    return float(isi.std() / isi.mean())


def unit_summary(ds: xr.Dataset, *, force_var: str = "force_mvc") -> xr.Dataset:
    """Per-unit table: thresholds [%MVC], rates [pps], ISI CoV, delta-F [pps].

    Parameters
    ----------
    ds
        Activity (or recording) Dataset with spikes and a force trace.
    force_var
        Force variable to read thresholds from.
    """
    trains = spike_trains(ds)
    t = ds["time"].values
    f = ds[force_var].values
    n = len(trains)
    rec, derec, r0, pk, cov = (np.full(n, np.nan) for _ in range(5))
    for u, s in trains.items():
        rec[u], derec[u] = thresholds(s, t, f)
        r0[u] = rate_at_recruitment(s)
        pk[u] = peak_rate(s)
        cov[u] = isi_cov(s)
    dfs = delta_f(trains, t)
    df = np.array([dfs.get(u, np.nan) for u in range(n)])
    return xr.Dataset(
        {
            "recruitment_threshold": ("unit", rec, {"units": "%MVC"}),
            "derecruitment_threshold": ("unit", derec, {"units": "%MVC"}),
            "rate_at_recruitment": ("unit", r0, {"units": "pps"}),
            "peak_rate": ("unit", pk, {"units": "pps"}),
            "isi_cov": ("unit", cov, {"units": "1"}),
            "delta_f": ("unit", df, {"units": "pps"}),
        },
        coords={"unit": np.arange(n)},
    )


def rate_force_gain(spikes: np.ndarray, t: np.ndarray, force: np.ndarray, *,
                    window_s: float = 1.0, max_isi_s: float = 0.4) -> float:
    """Slope of a unit's smoothed discharge rate against force on the rising phase [pps/%MVC].

    The input–output gain of Del Vecchio et al. 2019 (J Physiol 597:1873): a least-squares line of
    the Hann-smoothed rate on force from the unit's recruitment to the time of peak force.
    Returns NaN when the unit fires on fewer than ten samples of the rising phase.
    """
    t = np.asarray(t, dtype=float)
    force = np.asarray(force, dtype=float)
    m = main_train(spikes, max_isi_s)
    if m.size < 3:
        return np.nan
    rate = smoothed_rate(m, t, window_s)
    rising = (t >= m[0]) & (t <= t[int(np.argmax(force))]) & np.isfinite(rate)
    if rising.sum() < 10 or np.ptp(force[rising]) == 0:
        return np.nan
    return float(np.polyfit(force[rising], rate[rising], 1)[0])
