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
  correlated (r^2 >= 0.7) while both fire, and whose control unit modulates by > 0.5 pps;
* brace height, acceleration and attenuation slopes of a unit's rate-time trace (quasi-geometric
  PIC measures of Beauchamp et al. 2023 J Neural Eng 20:016034);
* motor-unit muscle-fibre conduction velocity from multichannel MUAP templates (multichannel
  maximum-likelihood delay, Farina, Muhammad, Fattorini, Merletti & Pozzo 2001 IEEE Trans
  Biomed Eng 48:322; McGill & Dorfman 1984 IEEE Trans Biomed Eng 31:462);
* corticomuscular coherence with optional additive "EEG" noise, and its beta-band peak
  (Conway et al. 1995 J Physiol 489:917; confidence limit of Rosenberg et al. 1989 Prog
  Biophys Mol Biol 53:1);
* voluntary activation by twitch interpolation (Merton 1954 J Physiol 123:553; Gandevia 2001
  Physiol Rev 81:1725).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import xarray as xr

from . import _schema

__all__ = ["spike_trains", "main_train", "smoothed_rate", "thresholds", "rate_at_recruitment",
           "peak_rate", "isi_cov", "delta_f", "unit_summary", "cumulative_spike_train",
           "pooled_coherence", "rate_force_gain", "conduction_velocity",
           "conduction_velocity_from_recording", "corticomuscular_coherence",
           "coherence_confidence_limit", "beta_band_peak", "BraceHeight", "brace_height",
           "voluntary_activation"]

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


# ------------------------------------------------------------------ muscle-fibre conduction velocity
#: Differences along the fibres that turn each montage into the double-differential signal on
#: which conduction velocity is estimated.
_DIFFERENCES = {"monopolar": 2, "single_differential": 1, "double_differential": 0}


def _pair_delays(x: np.ndarray, max_lag: int) -> tuple[np.ndarray, np.ndarray]:
    """Delay [samples] and normalised correlation between consecutive rows of ``x``.

    Cross-correlation by FFT, peak within ``±max_lag`` samples refined by parabolic
    interpolation; a positive delay means that row ``i + 1`` lags row ``i``.
    """
    n = x.shape[1]
    nfft = 1 << int(math.ceil(math.log2(2 * n)))
    spec = np.fft.rfft(x, nfft, axis=1)
    r = np.fft.irfft(spec[1:] * np.conj(spec[:-1]), nfft, axis=1)
    r = np.concatenate([r[:, nfft - max_lag:], r[:, :max_lag + 1]], axis=1)
    energy = np.sum(x * x, axis=1)
    delay = np.zeros(x.shape[0] - 1)
    rho = np.zeros(x.shape[0] - 1)
    for i in range(delay.size):
        j = int(np.argmax(r[i]))
        d = float(j - max_lag)
        if 0 < j < r.shape[1] - 1:
            y0, y1, y2 = r[i, j - 1], r[i, j], r[i, j + 1]
            curv = y0 - 2 * y1 + y2
            if curv < 0:
                d += 0.5 * (y0 - y2) / curv
        norm = math.sqrt(energy[i] * energy[i + 1])
        delay[i], rho[i] = d, (r[i, j] / norm if norm > 0 else 0.0)
    return delay, rho


def _multichannel_delay(x: np.ndarray, guess: float) -> float:
    """Multichannel maximum-likelihood delay [samples] between consecutive rows of ``x``.

    Minimises ``sum_k sum_f |X_k(f) - mean_{m != k} X_m(f) exp(j 2 pi f (m - k) theta)|^2``
    (Farina et al. 2001 IEEE Trans Biomed Eng 48:322, the K-channel extension of the
    two-channel spectral-matching estimator of McGill & Dorfman 1984) over ``theta`` near
    ``guess``; the phase of every frequency is used, so the delay is not limited to whole samples.
    """
    from scipy import optimize
    k, n = x.shape
    nfft = 1 << int(math.ceil(math.log2(2 * n)))
    spec = np.fft.rfft(x, nfft, axis=1)
    omega = 2 * np.pi * np.arange(spec.shape[1]) / nfft
    rows = np.arange(k)[:, None]

    def cost(theta: float) -> float:
        aligned = spec * np.exp(1j * omega[None, :] * rows * theta)
        others = (aligned.sum(axis=0) - aligned) / (k - 1)
        return float(np.sum(np.abs(aligned - others) ** 2))

    res = optimize.minimize_scalar(cost, bounds=(max(0.05, 0.5 * guess), 1.5 * guess + 1.0),
                                   method="bounded", options={"xatol": 1e-5})
    return float(res.x)


def conduction_velocity(muap: np.ndarray, row: np.ndarray, col: np.ndarray, y_mm: np.ndarray,
                        fs_hz: float, *, ied_mm: float | None = None, min_channels: int = 3,
                        montage: str = "monopolar", min_correlation: float = 0.7,
                        cv_range_m_s: tuple[float, float] = (1.5, 10.0)) -> np.ndarray:
    """Muscle-fibre conduction velocity of every motor unit from its multichannel MUAP [m/s].

    For each unit: the grid column with the largest template energy is taken, its channels are
    ordered along the fibres and turned into double-differential signals (which suppress the
    non-propagating components of the innervation zone and tendon ends; Merletti & Farina 2016),
    the delay between consecutive channels is found by cross-correlation with parabolic
    interpolation, and the longest run of consecutive channel pairs that propagate the same way
    (same sign of delay, correlation >= ``min_correlation``, velocity within ``cv_range_m_s``)
    -- one side of the innervation zone -- is kept, less its channel nearest the innervation zone
    (which mixes both propagation directions) when that leaves ``min_channels``. The delay between consecutive channels of
    that run is then estimated jointly by the multichannel maximum-likelihood method of Farina,
    Muhammad, Fattorini, Merletti & Pozzo (2001 IEEE Trans Biomed Eng 48:322), a least-squares
    fit of the spectral phase of all channels (two channels: McGill & Dorfman 1984 IEEE Trans
    Biomed Eng 31:462), and CV = inter-electrode distance / delay.

    Parameters
    ----------
    muap
        Templates ``(unit, channel, lag)`` [any unit, e.g. µV], sampled at ``fs_hz``.
    row, col
        Grid row (along the fibres) and column (across) of every channel.
    y_mm
        Position of every channel along the fibres [mm] (orders the channels of a column).
    fs_hz
        Sampling rate of the templates [Hz].
    ied_mm
        Distance between consecutive channels along the fibres [mm]; default the median spacing
        of ``y_mm`` within a column.
    min_channels
        Fewest double-differential channels (>= 2) over which the delay may be estimated; units
        with a shorter propagating run get NaN.
    montage
        Derivation of ``muap``: ``"monopolar"``, ``"single_differential"`` (differences between
        consecutive rows) or ``"double_differential"``.
    min_correlation
        Smallest normalised cross-correlation between consecutive channels of a run (0–1).
    cv_range_m_s
        Physiological range [m/s]; pairs whose delay implies a velocity outside it are not used.

    Returns
    -------
    ndarray, shape (unit,)
        Conduction velocity [m/s]; NaN where it cannot be estimated.

    Raises
    ------
    ValueError
        Inconsistent shapes, ``fs_hz`` <= 0, ``ied_mm`` <= 0, ``min_channels`` < 2, unknown
        ``montage``, ``min_correlation`` outside [0, 1] or an empty ``cv_range_m_s``.
    """
    muap = np.asarray(muap, dtype=float)
    row, col = np.asarray(row), np.asarray(col)
    y_mm = np.asarray(y_mm, dtype=float)
    if muap.ndim != 3:
        raise ValueError(f"muap has shape {muap.shape}; expected (unit, channel, lag)")
    n_chan = muap.shape[1]
    for name, arr in (("row", row), ("col", col), ("y_mm", y_mm)):
        if arr.shape != (n_chan,):
            raise ValueError(f"{name} has shape {arr.shape}; expected ({n_chan},), one per channel")
    if not (math.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"fs_hz = {fs_hz!r} is out of range; allowed > 0 Hz")
    if ied_mm is not None and not (math.isfinite(ied_mm) and ied_mm > 0):
        raise ValueError(f"ied_mm = {ied_mm!r} is out of range; allowed > 0 mm (or None)")
    if int(min_channels) != min_channels or min_channels < 2:
        raise ValueError(f"min_channels = {min_channels!r} is out of range; allowed integer >= 2")
    if montage not in _DIFFERENCES:
        raise ValueError(f"montage = {montage!r} is not allowed; expected one of "
                         f"{', '.join(_DIFFERENCES)}")
    if not 0 <= min_correlation <= 1:
        raise ValueError(f"min_correlation = {min_correlation!r} is out of range; allowed [0, 1]")
    lo_cv, hi_cv = cv_range_m_s
    if not 0 < lo_cv < hi_cv:
        raise ValueError(f"cv_range_m_s = {cv_range_m_s!r} is out of range; allowed 0 < low < high m/s")
    out = np.full(muap.shape[0], np.nan)
    cols = np.unique(col)
    members = [np.flatnonzero(col == c) for c in cols]
    members = [m[np.argsort(y_mm[m], kind="stable")] for m in members]
    n_diff = _DIFFERENCES[montage]
    for u in range(muap.shape[0]):
        energy = [float(np.sum(muap[u, m] ** 2)) for m in members]
        best_col = members[int(np.argmax(energy))]
        x, y = muap[u, best_col], y_mm[best_col]
        if x.shape[0] < 2:
            continue
        spacing = float(ied_mm) if ied_mm is not None else float(np.median(np.diff(y)))
        if not spacing > 0:
            continue
        for _ in range(n_diff):
            x = np.diff(x, axis=0)
        if x.shape[0] < min_channels:
            continue
        max_lag = max(1, int(math.ceil(spacing * 1e-3 / lo_cv * fs_hz)) + 1)
        delay, rho = _pair_delays(x, max_lag)
        with np.errstate(divide="ignore"):
            cv_pair = spacing * 1e-3 * fs_hz / np.abs(delay)
        usable = (rho >= min_correlation) & (cv_pair >= lo_cv) & (cv_pair <= hi_cv)
        sign = np.where(usable, np.sign(delay), 0.0)
        pair_energy = np.sum(x * x, axis=1)
        best: tuple[int, int, float] | None = None
        i = 0
        while i < sign.size:
            if sign[i] == 0:
                i += 1
                continue
            j = i
            while j + 1 < sign.size and sign[j + 1] == sign[i]:
                j += 1
            key = (j - i, float(pair_energy[i:j + 2].sum()))
            if best is None or key > (best[1] - best[0], best[2]):
                best = (i, j, key[1])
            i = j + 1
        if best is None or best[1] - best[0] + 2 < min_channels:
            continue
        i, j, _ = best
        if j - i + 2 > min_channels:
            # the channel at the innervation-zone end of the run mixes both propagation
            # directions (larger delay, lower correlation): leave it out when there is room
            i, j = (i + 1, j) if sign[i] > 0 else (i, j - 1)
        run = x[i:j + 2] if sign[i] > 0 else x[i:j + 2][::-1]
        theta = _multichannel_delay(run, float(np.median(np.abs(delay[i:j + 1]))))
        out[u] = spacing * 1e-3 * fs_hz / theta
    return out


def conduction_velocity_from_recording(rec: xr.Dataset, **kwargs: object) -> xr.DataArray:
    """Per-unit conduction velocity [m/s] from the MUAP templates of a ``recording`` Dataset.

    Reads ``muap(unit, channel, lag)``, the ``row``, ``col`` and ``y_mm`` coordinates and the
    ``fs_hz``, ``ied_mm`` and ``montage`` attributes written by :func:`simulator.emg.synthesize`,
    and calls :func:`conduction_velocity` (further keyword arguments are passed on).

    Parameters
    ----------
    rec
        ``kind == "recording"`` Dataset.

    Returns
    -------
    xarray.DataArray
        ``(unit,)`` conduction velocity [m/s] (NaN where it cannot be estimated).
    """
    for name in ("muap", "row", "col", "y_mm"):
        if name not in rec.variables:
            raise ValueError(f"recording Dataset lacks {name!r}; expected the output of "
                             "simulator.emg.synthesize")
    opts: dict = {"ied_mm": rec.attrs.get("ied_mm"), "montage": rec.attrs.get("montage", "monopolar")}
    opts.update(kwargs)
    cv = conduction_velocity(rec["muap"].values, rec["row"].values, rec["col"].values,
                             rec["y_mm"].values, float(rec.attrs["fs_hz"]), **opts)
    return xr.DataArray(cv, dims="unit", coords={"unit": rec["unit"].values},
                        name="conduction_velocity",
                        attrs={"units": "m/s", "long_name": "estimated muscle-fibre conduction velocity"})


# ------------------------------------------------------------------ corticomuscular coherence
def corticomuscular_coherence(cortical: np.ndarray, muscle: np.ndarray, fs_hz: float, *,
                              nperseg: int, eeg_noise_sd: float = 0.0,
                              rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude-squared coherence between a cortical signal and a muscle signal.

    Welch estimate over disjoint (non-overlapping) Hann-windowed segments, each with its mean
    removed, so that :func:`coherence_confidence_limit` applies with ``L = len // nperseg``
    (Rosenberg, Amjad, Breeze, Brillinger & Halliday 1989 Prog Biophys Mol Biol 53:1).
    Corticomuscular coherence appears at 15–30 Hz during steady contractions (Conway et al. 1995
    J Physiol 489:917; Baker et al. 1997 J Physiol 501:225). Real EEG is mostly noise with
    respect to the corticospinal output, which is why measured coherence is only ~0.02–0.1:
    ``eeg_noise_sd`` adds white Gaussian noise of that SD *relative to the SD of* ``cortical``.

    Parameters
    ----------
    cortical
        Cortical signal (e.g. the simulator's ``cortical_signal``), sampled at ``fs_hz``.
    muscle
        Muscle signal of the same length (cumulative spike train or rectified EMG).
    fs_hz
        Sampling rate [Hz].
    nperseg
        Segment length in samples (frequency resolution ``fs_hz / nperseg``), 8 to ``len``.
    eeg_noise_sd
        SD of the additive white noise relative to the SD of ``cortical`` (>= 0).
    rng
        Random generator of the noise (default seeded 0, deterministic).

    Returns
    -------
    freqs, coherence : ndarray
        Frequencies [Hz] and coherence (0–1).

    Raises
    ------
    ValueError
        Different lengths, ``fs_hz`` <= 0, ``nperseg`` outside [8, len] or a negative or
        non-finite ``eeg_noise_sd``.
    """
    from scipy import signal as sps
    x = np.asarray(cortical, dtype=float).ravel()
    y = np.asarray(muscle, dtype=float).ravel()
    if x.size != y.size:
        raise ValueError(f"cortical has {x.size} samples and muscle {y.size}; they must match")
    if not (math.isfinite(fs_hz) and fs_hz > 0):
        raise ValueError(f"fs_hz = {fs_hz!r} is out of range; allowed > 0 Hz")
    if int(nperseg) != nperseg or not 8 <= nperseg <= x.size:
        raise ValueError(f"nperseg = {nperseg!r} is out of range; allowed integer in [8, {x.size}] "
                         "(the signal length)")
    if not (math.isfinite(eeg_noise_sd) and eeg_noise_sd >= 0):
        raise ValueError(f"eeg_noise_sd = {eeg_noise_sd!r} is out of range; allowed >= 0 "
                         "(SD relative to the cortical signal's SD)")
    if eeg_noise_sd > 0:
        rng = rng or np.random.default_rng(0)
        x = x + eeg_noise_sd * float(np.std(x)) * rng.standard_normal(x.size)
    f, coh = sps.coherence(x, y, fs=fs_hz, window="hann", nperseg=int(nperseg), noverlap=0,
                           detrend="constant")
    return f, np.nan_to_num(coh, nan=0.0)


def coherence_confidence_limit(n_segments: int, alpha: float = 0.05) -> float:
    """Upper confidence limit of coherence between independent signals, ``1 - alpha^(1/(L-1))``.

    Rosenberg et al. 1989 (Prog Biophys Mol Biol 53:1), for ``L`` disjoint segments.

    Parameters
    ----------
    n_segments
        Number ``L`` of disjoint segments (>= 2).
    alpha
        Significance level (0–1).
    """
    if int(n_segments) != n_segments or n_segments < 2:
        raise ValueError(f"n_segments = {n_segments!r} is out of range; allowed integer >= 2")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha = {alpha!r} is out of range; allowed (0, 1)")
    return float(1 - alpha ** (1 / (n_segments - 1)))


def beta_band_peak(freqs: np.ndarray, coh: np.ndarray,
                   band: tuple[float, float] = (15.0, 30.0)) -> tuple[float, float]:
    """Frequency [Hz] and value of the largest coherence inside ``band`` (inclusive).

    Parameters
    ----------
    freqs, coh
        Frequencies [Hz] and coherence, e.g. from :func:`corticomuscular_coherence`.
    band
        ``(low, high)`` [Hz]; default the beta band, 15–30 Hz (Conway et al. 1995).

    Raises
    ------
    ValueError
        Mismatched shapes, ``low >= high`` or no frequency inside the band.
    """
    freqs = np.asarray(freqs, dtype=float)
    coh = np.asarray(coh, dtype=float)
    if freqs.shape != coh.shape:
        raise ValueError(f"freqs has shape {freqs.shape} and coh {coh.shape}; they must match")
    lo, hi = band
    if not lo < hi:
        raise ValueError(f"band = {band!r} is out of range; allowed low < high [Hz]")
    inside = np.flatnonzero((freqs >= lo) & (freqs <= hi))
    if inside.size == 0:
        raise ValueError(f"band = {band!r} holds no frequency of freqs "
                         f"([{freqs.min() if freqs.size else np.nan:g}, "
                         f"{freqs.max() if freqs.size else np.nan:g}] Hz)")
    k = inside[int(np.argmax(coh[inside]))]
    return float(freqs[k]), float(coh[k])


# ------------------------------------------------------------------ quasi-geometric PIC measures
class BraceHeight(NamedTuple):
    """Quasi-geometric measures of a unit's ascending rate-time trace (Beauchamp et al. 2023).

    Attributes
    ----------
    distance
        Largest perpendicular distance of the trace above the line from recruitment to peak,
        measured in the plane of ``t`` [s] and rate [pps] as given (mixed units: rescale an axis
        and it changes).
    normalised
        The same, as % of the height of the right triangle whose hypotenuse is that line
        (vertex at recruitment time and peak rate); independent of axis scaling, and equal to
        the largest vertical deviation above the line over ``peak - recruitment rate``.
    index
        Sample of the largest deviation (the "brace" point).
    acceleration_slope
        Least-squares slope of the rate from recruitment to the brace point [pps/s].
    attenuation_slope
        Least-squares slope of the rate from the brace point to peak [pps/s].
    """

    distance: float
    normalised: float
    index: int
    acceleration_slope: float
    attenuation_slope: float


def brace_height(rate: np.ndarray, t: np.ndarray, *, recruitment_index: int,
                 peak_index: int) -> BraceHeight:
    """Brace height of a unit's smoothed discharge rate on the ascending limb of a ramp.

    Beauchamp, Khurram, Dewald, Heckman & Pearcey 2023 (J Neural Eng 20:016034): the rate-time
    trace of a unit with a strong persistent inward current rises steeply after recruitment
    (acceleration) and then saturates (attenuation), so it bows above the straight line joining
    the recruitment point to the peak rate. Brace height is the largest perpendicular distance of
    the trace above that line; it is 0 for a linear rise. It is normalised to the height of the
    right triangle that has the line as hypotenuse (the largest distance a monotone trace can
    reach); the paper expresses brace height that way (%), to the best of our reading, so
    :attr:`BraceHeight.distance` is given too. Points below the line count as 0.

    Parameters
    ----------
    rate
        Smoothed discharge rate [pps] (e.g. :func:`smoothed_rate`; the paper fits a
        support-vector regression), sampled at ``t``.
    t
        Times [s], increasing.
    recruitment_index, peak_index
        Samples of recruitment and of peak rate (``recruitment_index < peak_index``).

    Returns
    -------
    BraceHeight
        Distance, normalised height [%], brace sample and acceleration/attenuation slopes [pps/s].

    Raises
    ------
    ValueError
        Mismatched shapes, indices out of order or range, non-finite rate between them or a
        peak rate not above the rate at recruitment.
    """
    rate = np.asarray(rate, dtype=float)
    t = np.asarray(t, dtype=float)
    if rate.shape != t.shape or rate.ndim != 1:
        raise ValueError(f"rate has shape {rate.shape} and t {t.shape}; expected equal 1-D shapes")
    i0, i1 = int(recruitment_index), int(peak_index)
    if not 0 <= i0 < i1 < rate.size:
        raise ValueError(f"recruitment_index = {recruitment_index!r}, peak_index = {peak_index!r} are "
                         f"out of range; allowed 0 <= recruitment_index < peak_index < {rate.size}")
    r, tt = rate[i0:i1 + 1], t[i0:i1 + 1]
    if not np.all(np.isfinite(r)):
        raise ValueError("rate has non-finite values between recruitment_index and peak_index")
    dt, dr = tt[-1] - tt[0], r[-1] - r[0]
    if not dt > 0:
        raise ValueError("t must increase from recruitment_index to peak_index")
    if not dr > 0:
        raise ValueError(f"peak rate {r[-1]:g} pps must exceed the rate at recruitment {r[0]:g} pps")
    vertical = r - (r[0] + dr * (tt - tt[0]) / dt)  # deviation above the chord [pps]
    k = int(np.argmax(vertical))
    above = max(float(vertical[k]), 0.0)
    distance = above * dt / math.hypot(dt, dr)  # perpendicular distance in the (t, rate) plane
    normalised = 100.0 * above / dr  # triangle height: vertex (t0, r_peak) is dr above the chord

    def slope(a: int, b: int) -> float:
        return float(np.polyfit(tt[a:b + 1], r[a:b + 1], 1)[0]) if b - a >= 1 else np.nan

    return BraceHeight(distance=distance, normalised=normalised, index=i0 + k,
                       acceleration_slope=slope(0, k), attenuation_slope=slope(k, r.size - 1))


# ------------------------------------------------------------------ twitch interpolation
def voluntary_activation(superimposed_twitch: float, resting_twitch: float) -> float:
    """Voluntary activation by twitch interpolation, ``100 (1 - SIT / RT)`` [%].

    Merton 1954 (J Physiol 123:553); Gandevia 2001 (Physiol Rev 81:1725): the twitch evoked by a
    stimulus superimposed on a voluntary contraction (SIT) relative to the twitch evoked by the
    same stimulus in the potentiated muscle at rest (RT). A superimposed twitch larger than the
    resting one gives a negative value; it is returned as is.

    Parameters
    ----------
    superimposed_twitch
        Superimposed twitch amplitude (>= 0, e.g. N or N·m).
    resting_twitch
        Resting twitch amplitude (> 0, same units).

    Returns
    -------
    float
        Voluntary activation [%] (100 when no superimposed twitch).

    Raises
    ------
    ValueError
        ``resting_twitch`` not > 0 or ``superimposed_twitch`` negative or non-finite.
    """
    sit, rt = float(superimposed_twitch), float(resting_twitch)
    if not (math.isfinite(rt) and rt > 0):
        raise ValueError(f"resting_twitch = {resting_twitch!r} is out of range; allowed > 0 "
                         "(finite, same units as superimposed_twitch)")
    if not (math.isfinite(sit) and sit >= 0):
        raise ValueError(f"superimposed_twitch = {superimposed_twitch!r} is out of range; "
                         "allowed >= 0 (finite)")
    return 100.0 * (1.0 - sit / rt)
