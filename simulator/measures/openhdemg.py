"""Motor-unit measures as openhdemg 0.1.2 defines them (Valli et al. 2024 J Electromyogr Kinesiol
74:102850), computed from discharge times on a regular time grid.

openhdemg works on discharge *samples* (``MUPULSES``, 0-based) of a recording sampled at ``FSAMP``
and on the reference signal (force in %MVC) at those samples. Here a discharge at time ``s`` is
at the grid sample nearest to ``s`` (as :func:`simulator.emg.synthesize` places spikes), so the
same spikes give openhdemg's values to within one sample's time. Definitions, with the openhdemg
function each follows:

* recruitment / derecruitment threshold: the force at the first / last discharge, all
  discharges counted (``analysis.compute_thresholds``, ``rel_RT`` / ``rel_DERT``);
* instantaneous discharge rate (IDR) of discharge ``k >= 1``: ``FSAMP / (p_k - p_{k-1})``,
  undefined for the first discharge (``tools.compute_idr``);
* rate at recruitment: mean IDR of the first ``n_firings`` (4) discharges, i.e. of the first
  three IDRs; at derecruitment: mean of the last three IDRs; NaN below four discharges
  (``analysis.compute_dr``, ``DR_rec`` / ``DR_derec``); discharge rate: mean of all IDRs
  (``DR_all``);
* ISI coefficient of variation: sample standard deviation over mean of all inter-spike intervals
  (``analysis.compute_covisi``, ``COVisi_all``, given there in %; here as a fraction);
* smoothed rate: support-vector regression of IDR on time (``tools.compute_svr``; Beauchamp et
  al. 2022 J Neural Eng 19:036018) with ``gamma = 1/1.6 s^-2``, ``C = 1/0.37``, the first and
  last four IDRs weighted 5, ``epsilon = IQR(IDR)/11``, evaluated from the second to the last
  discharge and left undefined around silences longer than 1 s;
* delta-F (``pic.compute_deltaf``; Gorassini et al. 2002 J Neurophysiol 87:1850): for every pair,
  recruitment at the *second* discharge and derecruitment at the last; the earlier-recruited unit
  is the control, the test unit's derecruitment is moved to the control's if the control stops
  first; delta-F = control's smoothed rate at test recruitment minus at test derecruitment; a
  pair counts when the recruitment times differ by > 1 s, the Pearson correlation of the two
  smoothed rates over their overlap is > 0.7 and the control's smoothed rate spans > 0.5 pps
  while the test unit fires; a test unit's delta-F is the mean over its control units.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from .svr import fit_svr

__all__ = ["sample_index", "thresholds", "idr", "rate_at_recruitment", "rate_at_derecruitment",
           "discharge_rate", "isi_cov", "svr_rate", "delta_f", "DEFAULT_SVR"]

#: openhdemg's ``compute_svr`` defaults: kernel coefficient [1/s^2], regularisation, end-point
#: weights (number of IDRs, factor on C) and the silence [s] that breaks the fit.
DEFAULT_SVR = {"gamma": 1 / 1.6, "c": 1 / 0.370, "end_points": 5, "end_weight": 5.0, "gap_s": 1.0}


def sample_index(spikes: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Index of the sample of the regular grid ``t`` [s] nearest to each discharge time [s]."""
    t = np.asarray(t, dtype=float)
    s = np.asarray(spikes, dtype=float)
    if t.size < 2:
        return np.zeros(s.size, dtype=np.int64)
    dt = (t[-1] - t[0]) / (t.size - 1)
    return np.clip(np.round((s - t[0]) / dt), 0, t.size - 1).astype(np.int64)


def thresholds(spikes: np.ndarray, t: np.ndarray, force: np.ndarray) -> tuple[float, float]:
    """Force at the samples of the first and last discharge (units of ``force``, e.g. %MVC)."""
    s = np.asarray(spikes, dtype=float)
    if s.size == 0:
        return np.nan, np.nan
    k = sample_index(s[[0, -1]], t)
    f = np.asarray(force, dtype=float)
    return float(f[k[0]]), float(f[k[1]])


def idr(spikes: np.ndarray) -> np.ndarray:
    """Instantaneous discharge rates [pps] of the second to the last discharge."""
    s = np.asarray(spikes, dtype=float)
    return 1.0 / np.diff(s) if s.size > 1 else np.zeros(0)


def rate_at_recruitment(spikes: np.ndarray, n_firings: int = 4) -> float:
    """Mean IDR of the first ``n_firings`` discharges (``n_firings - 1`` rates) [pps]."""
    if n_firings < 2 or np.asarray(spikes).size < n_firings:
        return np.nan
    return float(np.mean(idr(spikes)[:n_firings - 1]))


def rate_at_derecruitment(spikes: np.ndarray, n_firings: int = 4) -> float:
    """Mean IDR of the last ``n_firings`` discharges (``n_firings - 1`` rates) [pps]."""
    if n_firings < 2 or np.asarray(spikes).size < n_firings:
        return np.nan
    return float(np.mean(idr(spikes)[-(n_firings - 1):]))


def discharge_rate(spikes: np.ndarray) -> float:
    """Mean of all instantaneous discharge rates [pps] (NaN below two discharges)."""
    r = idr(spikes)
    return float(np.mean(r)) if r.size else np.nan


def isi_cov(spikes: np.ndarray) -> float:
    """Sample SD over mean of all inter-spike intervals (fraction; openhdemg gives it in %)."""
    isi = np.diff(np.asarray(spikes, dtype=float))
    if isi.size < 2:
        return np.nan
    return float(np.std(isi, ddof=1) / np.mean(isi))


def _svr_ranges(mup: np.ndarray, gap: float) -> list[tuple[int, int]]:
    """Sample ranges ``[a, b)`` where openhdemg's ``compute_svr`` stores the fit.

    ``mup`` are the discharge samples from the second on. A silence longer than ``gap`` samples
    after discharge ``m`` leaves the samples from ``m`` to just before the next discharge
    undefined; the index arithmetic (which also leaves the last sample of a range after a
    silence undefined) is openhdemg 0.1.2's, kept so that delta-F reads the same samples.
    """
    brk = mup[:-1][np.diff(mup) > gap]
    if brk.size == 0:
        return [(int(mup[0]), int(mup[-1]) + 1)]
    if brk.size == 1 and brk[0] == mup[0]:
        return [(int(mup[1]), int(mup[-1]) + 1)]
    if brk[0] == mup[0]:
        brk = brk[1:]
    ranges = [(int(mup[0]), int(brk[0]))]
    brk = np.append(brk, mup[-1])
    for a, b in zip(brk[:-1], brk[1:]):
        nxt = int(mup[int(np.flatnonzero(mup == a)[0]) + 1])
        if nxt < b:  # openhdemg fills predind[nxt - p0 - 1 : b - p0 - 1]
            ranges.append((nxt - 1, int(b) - 1))
    return ranges


def svr_rate(samples: np.ndarray, fs_hz: float, n_samples: int, **svr: float) -> np.ndarray:
    """Smoothed discharge rate [pps] on every sample (NaN where openhdemg leaves it undefined).

    Parameters
    ----------
    samples
        Discharge samples (0-based, increasing) of one unit.
    fs_hz
        Sampling rate of the grid [Hz].
    n_samples
        Length of the grid.
    **svr
        Overrides of :data:`DEFAULT_SVR`.

    Returns
    -------
    numpy.ndarray
        ``(n_samples,)`` rate [pps].
    """
    from scipy.stats import iqr
    opts = dict(DEFAULT_SVR, **svr)
    out = np.full(int(n_samples), np.nan)
    p = np.asarray(samples, dtype=np.int64)
    if p.size < 2:
        return out
    mup = p[1:]
    x = mup / fs_hz
    y = fs_hz / np.diff(p)
    ends = int(opts["end_points"]) - 1
    w = np.ones(y.size)
    w[:ends] = opts["end_weight"]
    w[max(y.size - ends, 0):] = opts["end_weight"]
    fit = fit_svr(x, y, gamma=opts["gamma"], c=opts["c"], epsilon=float(iqr(y)) / 11,
                  sample_weight=w)
    for a, b in _svr_ranges(mup, opts["gap_s"] * fs_hz):
        if b > a:
            out[a:b] = fit.predict_regular(a / fs_hz, 1.0 / fs_hz, b - a)
    return out


def delta_f(trains: Mapping[int, np.ndarray], t: np.ndarray, *, min_lag_s: float = 1.0,
            min_r: float = 0.7, min_modulation_pps: float = 0.5,
            smoothed: Mapping[int, np.ndarray] | None = None,
            tests: Collection[int] | None = None) -> dict[int, float]:
    """Delta-F [pps] of every test unit by openhdemg's paired motor-unit analysis.

    Parameters
    ----------
    trains
        Discharge times [s] per unit.
    t
        Regular time grid [s] (the force time base); discharges go to the nearest sample.
    min_lag_s
        Recruitment (second discharge) times must differ by more than this [s].
    min_r
        Pearson correlation of the smoothed rates over the pair's overlap must exceed this.
    min_modulation_pps
        Range of the control unit's smoothed rate while the test unit fires must exceed this.
    smoothed
        Smoothed rates per unit on ``t`` (default :func:`svr_rate`, computed only for the units
        of a pair that passes the lag criterion), e.g. to reuse them.
    tests
        Only these units are analysed as test units (default: every unit); their controls may be
        any unit. The result for a unit in ``tests`` is the same as without the restriction, and
        units that are neither a test nor the control of one are never smoothed (the SVR fit is
        most of the cost).

    Returns
    -------
    dict
        ``{test unit: mean delta-F over its valid control units}`` for units with a valid pair.
    """
    t = np.asarray(t, dtype=float)
    fs = (t.size - 1) / (t[-1] - t[0])
    samples = {u: np.unique(sample_index(s, t)) for u, s in trains.items()}
    samples = {u: p for u, p in samples.items() if p.size >= 2}
    cache: dict[int, np.ndarray] = dict(smoothed) if smoothed is not None else {}

    def rate(u: int) -> np.ndarray:
        if u not in cache:
            cache[u] = svr_rate(samples[u], fs, t.size)
        return cache[u]

    wanted = None if tests is None else set(tests)
    units = sorted(samples)
    out: dict[int, list[float]] = {}
    for a_pos, a in enumerate(units):
        for b in units[a_pos + 1:]:
            ra, da = int(samples[a][1]), int(samples[a][-1])
            rb, db = int(samples[b][1]), int(samples[b][-1])
            if min(da, db) - max(ra, rb) < 2:
                continue
            if ra < rb or (ra == rb and da > db):
                ctrl, test, t_on, t_off = a, b, rb, min(db, da)
            else:
                ctrl, test, t_on, t_off = b, a, ra, min(da, db)
            # the lag criterion first: it needs no smoothing (same pairs kept as checking it last)
            if (wanted is not None and test not in wanted) or not abs(ra - rb) / fs > min_lag_s:
                continue
            sc, st = rate(ctrl), rate(test)
            lo, hi = max(ra, rb), min(da, db)
            both = np.isfinite(sc[lo:hi]) & np.isfinite(st[lo:hi])
            if both.sum() < 2:
                continue
            with np.errstate(invalid="ignore", divide="ignore"):
                r = np.corrcoef(sc[lo:hi][both], st[lo:hi][both])[0, 1]
            window = sc[t_on:t_off]
            if window.size == 0 or not np.isfinite(window).any():
                continue
            mod = np.nanmax(window) - np.nanmin(window)
            value = sc[t_on] - sc[t_off]
            if r > min_r and mod > min_modulation_pps and np.isfinite(value):
                out.setdefault(test, []).append(float(value))
    return {u: float(np.mean(v)) for u, v in out.items()}
