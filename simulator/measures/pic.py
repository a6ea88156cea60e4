"""Measures of persistent inward currents from discharge patterns.

* delta-F by the paired motor-unit technique (Gorassini et al. 2002 J Neurophysiol 87:1850):
  the smoothed rate of a lower-threshold *control* unit at the *test* unit's recruitment minus at
  its derecruitment. By default as openhdemg's ``compute_deltaf`` computes it (SVR-smoothed
  rates, r > 0.7, see :func:`simulator.measures.openhdemg.delta_f`); ``method="main_train"`` keeps
  mnpool's former variant (criteria of Hassan et al. 2020 and Afsharipour et al. 2020
  J Neurophysiol 124:63 on Hann-smoothed rates of the main trains: recruitment times >= 1 s
  apart, r^2 >= 0.7 while both fire, control modulation > 0.5 pps, control firing throughout);
* brace height, acceleration and attenuation slopes of a unit's rate-time trace (quasi-geometric
  PIC measures of Beauchamp et al. 2023 J Neural Eng 20:016034).
"""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import NamedTuple

import numpy as np

from . import openhdemg as _ohd
from .trains import SpikeTrains, main_train, smoothed_rate

__all__ = ["delta_f", "BraceHeight", "brace_height"]


def delta_f(trains: SpikeTrains, t: np.ndarray, *, method: str = "openhdemg",
            min_lag_s: float = 1.0, min_r2: float = 0.7, min_r: float = 0.7,
            min_modulation_pps: float = 0.5, window_s: float = 2.0,
            max_isi_s: float = 0.4, tests: Collection[int] | None = None) -> dict[int, float]:
    """Delta-F of every test unit by the paired motor-unit technique [pps].

    Parameters
    ----------
    trains
        Spike times per unit (recruitment order is not assumed).
    t
        Regular time grid [s] on which smoothed rates are evaluated (e.g. the force time base).
    method
        ``"openhdemg"`` (:func:`simulator.measures.openhdemg.delta_f`) or ``"main_train"``.
    min_lag_s
        Recruitment-time difference between control and test unit [s] (openhdemg: more than,
        at the second discharge; main_train: at least, at the first discharge of the main train).
    min_r2
        ``"main_train"``: minimum squared correlation of the two smoothed rates while both fire.
    min_r
        ``"openhdemg"``: the Pearson correlation over the pair's overlap must exceed this.
    min_modulation_pps
        Minimum range of the control unit's rate while the test unit fires (not saturated).
    window_s
        ``"main_train"``: Hann smoothing window of the rates [s].
    max_isi_s
        ``"main_train"``: longest ISI [s] inside a main train.
    tests
        Only these units are analysed as test units (default: all); controls may be any unit.
        The openhdemg method then smooths only the units it needs.

    Returns
    -------
    dict
        ``{test unit: mean delta-F over its valid control units}`` for units with >= 1 valid pair.
    """
    if method == "openhdemg":
        return _ohd.delta_f(trains, t, min_lag_s=min_lag_s, min_r=min_r,
                            min_modulation_pps=min_modulation_pps, tests=tests)
    if method != "main_train":
        raise ValueError(f"method = {method!r} is not allowed; expected 'openhdemg' or 'main_train'")
    t = np.asarray(t, dtype=float)
    mains = {u: main_train(s, max_isi_s) for u, s in trains.items()}
    mains = {u: m for u, m in mains.items() if m.size >= 3}
    rates = {u: smoothed_rate(m, t, window_s) for u, m in mains.items()}
    out: dict[int, list[float]] = {}
    for test, mt in mains.items():
        if tests is not None and test not in tests:
            continue
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
