"""Motor-unit measurements, computed the same way from true or decomposed spike trains.

Every function takes spike times per unit (a ``dict`` of arrays, as returned by
:func:`spike_trains`) and, where needed, the force trace, so the same code serves the
simulator's ground truth and any decomposition's output (openhdemg conventions).

* thresholds: recruitment / derecruitment threshold = force at the first / last discharge of a
  unit's longest continuous train (ISIs < ``max_isi_s``);
* rates: discharge rate at recruitment (mean of the first ``n_first`` instantaneous rates), peak
  and mean plateau rate, ISI coefficient of variation;
* delta-F by the paired motor-unit technique (Gorassini et al. 2002 J Neurophysiol 87:1850;
  criteria of Hassan et al. 2020 and Afsharipour et al. 2020 J Neurophysiol 124:63):
  the smoothed rate of a lower-threshold *control* unit at the *test* unit's recruitment minus at
  its derecruitment, for pairs whose recruitment times differ by >= 1 s, whose rates are
  correlated (r^2 >= 0.7) while both fire, and whose control unit modulates by > 0.5 pps.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from . import _schema

__all__ = ["spike_trains", "main_train", "smoothed_rate", "thresholds", "rate_at_recruitment",
           "peak_rate", "isi_cov", "delta_f", "unit_summary", "cumulative_spike_train",
           "pooled_coherence", "rate_force_gain"]

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


def delta_f(trains: SpikeTrains, t: np.ndarray, *, min_lag_s: float = 1.0, min_r2: float = 0.7,
            min_modulation_pps: float = 0.5, window_s: float = 2.0,
            max_isi_s: float = 0.4) -> dict[int, float]:
    """Delta-F of every test unit by the paired motor-unit technique [pps].

    Parameters
    ----------
    trains
        Spike times per unit (recruitment order is not assumed).
    t
        Regular time grid [s] on which smoothed rates are evaluated (e.g. the force time base).
    min_lag_s
        Minimum recruitment-time difference between control and test unit.
    min_r2
        Minimum squared correlation of the two smoothed rates while both fire.
    min_modulation_pps
        Minimum range of the control unit's rate while the test unit fires (not saturated).
    window_s
        Hann smoothing window of the rates.

    Returns
    -------
    dict
        ``{test unit: mean delta-F over its valid control units}`` for units with >= 1 valid pair.
    """
    t = np.asarray(t, dtype=float)
    mains = {u: main_train(s, max_isi_s) for u, s in trains.items()}
    mains = {u: m for u, m in mains.items() if m.size >= 3}
    rates = {u: smoothed_rate(m, t, window_s) for u, m in mains.items()}
    out: dict[int, list[float]] = {}
    for test, mt in mains.items():
        t_on, t_off = mt[0], mt[-1]
        for ctrl, mc in mains.items():
            if ctrl == test or mc[0] > t_on - min_lag_s or mc[-1] < t_off:
                continue
            rc, rt = rates[ctrl], rates[test]
            both = np.isfinite(rc) & np.isfinite(rt)
            if both.sum() < 10:
                continue
            r = np.corrcoef(rc[both], rt[both])[0, 1]
            if not np.isfinite(r) or r * r < min_r2:
                continue
            during = (t >= t_on) & (t <= t_off) & np.isfinite(rc)
            if np.ptp(rc[during]) < min_modulation_pps:
                continue
            f_on = np.interp(t_on, t[np.isfinite(rc)], rc[np.isfinite(rc)])
            f_off = np.interp(t_off, t[np.isfinite(rc)], rc[np.isfinite(rc)])
            out.setdefault(test, []).append(float(f_on - f_off))
    return {u: float(np.mean(v)) for u, v in out.items()}


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


def pooled_coherence(trains: SpikeTrains, t_start: float, t_stop: float, *, n_splits: int = 20,
                     fs_hz: float = 1000.0, nperseg: int = 1000,
                     rng: np.random.Generator | None = None,
                     min_spikes: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Intramuscular coherence between two random halves of the active units (Negro & Farina
    2011 J Physiol 589:5567), averaged over ``n_splits`` random splits.

    Parameters
    ----------
    trains
        Spike times per unit [s].
    t_start, t_stop
        Analysis window [s] (a steady contraction).
    n_splits
        Random splits of the active units into two equal groups.
    fs_hz
        Binning rate of the cumulative spike trains.
    nperseg
        Welch segment length in samples (frequency resolution ``fs_hz / nperseg``).
    rng
        Random generator for the splits (default seeded 0, deterministic).
    min_spikes
        Units with fewer spikes in the window are not used.

    Returns
    -------
    freqs, coherence : ndarray
        Frequencies [Hz] and mean magnitude-squared coherence.
    """
    from scipy import signal as sps
    rng = rng or np.random.default_rng(0)
    active = np.array([u for u, s in trains.items()
                       if np.sum((s >= t_start) & (s < t_stop)) >= min_spikes])
    if active.size < 2:
        raise ValueError(f"pooled coherence needs >= 2 active units, got {active.size}")
    coh = []
    for _ in range(n_splits):
        perm = rng.permutation(active)
        half = perm.size // 2
        a = cumulative_spike_train(trains, perm[:half], t_start, t_stop, fs_hz)
        b = cumulative_spike_train(trains, perm[half:2 * half], t_start, t_stop, fs_hz)
        f, c = sps.coherence(a - a.mean(), b - b.mean(), fs=fs_hz, nperseg=nperseg)
        coh.append(c)
    return f, np.mean(coh, axis=0)


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
