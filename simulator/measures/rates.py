"""Recruitment thresholds and discharge rates of motor units, and the per-unit summary of a
contraction.

Two sets of definitions, chosen by name with ``method``:

``"openhdemg"`` (default)
    openhdemg 0.1.2's (Valli et al. 2024 J Electromyogr Kinesiol 74:102850), see
    :mod:`simulator.measures.openhdemg`: thresholds = force at the first / last discharge;
    rates at recruitment / derecruitment = mean instantaneous rate of the first / last
    ``n_first`` discharges (``n_first - 1`` rates); discharge rate = mean of all instantaneous
    rates; ISI CoV over all intervals (sample SD); delta-F with SVR-smoothed rates.
``"main_train"``
    mnpool's former definitions, on a unit's longest continuous train (ISIs < ``max_isi_s``,
    which drops isolated discharges): force interpolated at its first / last discharge, mean of
    its first ``n_first`` instantaneous rates, CoV of the ISIs < ``max_isi_s`` (population SD),
    delta-F with Hann-smoothed rates (:func:`simulator.measures.pic.delta_f`).

The peak rate and the rate–force gain have one definition each.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from . import openhdemg as _ohd
from .pic import delta_f
from .trains import main_train, smoothed_rate, spike_trains

__all__ = ["DEFINITIONS", "thresholds", "rate_at_recruitment", "rate_at_derecruitment",
           "discharge_rate", "peak_rate", "isi_cov", "unit_summary", "rate_force_gain"]

#: Names of the sets of definitions (``method`` argument), the default first.
DEFINITIONS = ("openhdemg", "main_train")


def _check_method(method: str) -> None:
    if method not in DEFINITIONS:
        raise ValueError(f"method = {method!r} is not allowed; expected one of "
                         + ", ".join(DEFINITIONS))


def thresholds(spikes: np.ndarray, t: np.ndarray, force: np.ndarray,
               max_isi_s: float = 0.4, *, method: str = "openhdemg") -> tuple[float, float]:
    """Recruitment and derecruitment thresholds: force at a unit's first and last discharge.

    Parameters
    ----------
    spikes
        Discharge times [s].
    t, force
        Force trace (same units are returned, e.g. %MVC); ``t`` regular [s].
    max_isi_s
        ``"main_train"`` only: longest ISI [s] inside the continuous train.
    method
        ``"openhdemg"``: force at the sample of the first / last discharge (openhdemg's
        ``compute_thresholds``, ``rel_RT`` / ``rel_DERT``); ``"main_train"``: force interpolated at
        the first / last discharge of the longest continuous train.
    """
    _check_method(method)
    if method == "openhdemg":
        return _ohd.thresholds(spikes, t, force)
    m = main_train(spikes, max_isi_s)
    if m.size == 0:
        return np.nan, np.nan
    return float(np.interp(m[0], t, force)), float(np.interp(m[-1], t, force))


def rate_at_recruitment(spikes: np.ndarray, n_first: int = 4, max_isi_s: float = 0.4, *,
                        method: str = "openhdemg") -> float:
    """Discharge rate at recruitment [pps].

    Parameters
    ----------
    spikes
        Discharge times [s].
    n_first
        ``"openhdemg"``: number of first discharges (``n_firings_RecDerec``; their
        ``n_first - 1`` instantaneous rates are averaged, NaN below ``n_first`` discharges);
        ``"main_train"``: number of first instantaneous rates of the main train.
    max_isi_s
        ``"main_train"`` only: longest ISI [s] inside the continuous train.
    method
        One of :data:`DEFINITIONS`.
    """
    _check_method(method)
    if method == "openhdemg":
        return _ohd.rate_at_recruitment(spikes, n_first)
    m = main_train(spikes, max_isi_s, min_spikes=n_first + 1)
    if m.size == 0:
        return np.nan
    return float(np.mean(1.0 / np.diff(m[: n_first + 1])))


def rate_at_derecruitment(spikes: np.ndarray, n_last: int = 4) -> float:
    """Mean instantaneous rate of the last ``n_last`` discharges (``n_last - 1`` rates) [pps].

    openhdemg's ``DR_derec`` (``compute_dr``); NaN below ``n_last`` discharges.
    """
    return _ohd.rate_at_derecruitment(spikes, n_last)


def discharge_rate(spikes: np.ndarray) -> float:
    """Mean of all instantaneous discharge rates [pps] (openhdemg's ``DR_all``)."""
    return _ohd.discharge_rate(spikes)


def peak_rate(spikes: np.ndarray, window_s: float = 0.5) -> float:
    """Highest mean rate over any ``window_s`` window of consecutive discharges [pps]."""
    s = np.asarray(spikes, dtype=float)
    if s.size < 2:
        return np.nan
    counts = np.searchsorted(s, s + window_s, side="left") - np.arange(s.size)
    return float(counts.max() / window_s)


def isi_cov(spikes: np.ndarray, t_start: float = -np.inf, t_stop: float = np.inf,
            max_isi_s: float = 0.4, *, method: str = "openhdemg") -> float:
    """Coefficient of variation of the inter-spike intervals between ``t_start`` and ``t_stop``.

    Parameters
    ----------
    spikes
        Discharge times [s].
    t_start, t_stop
        Window [s] (default the whole train).
    max_isi_s
        ``"main_train"`` only: longer ISIs [s] are left out.
    method
        ``"openhdemg"``: sample SD over mean of all intervals (openhdemg's ``COVisi_all``, which it
        reports in %; a fraction here); ``"main_train"``: population SD over mean of the intervals
        shorter than ``max_isi_s``, NaN below three.

    Returns
    -------
    float
        CoV (fraction, unitless).
    """
    _check_method(method)
    s = np.asarray(spikes, dtype=float)
    s = s[(s >= t_start) & (s <= t_stop)]
    if method == "openhdemg":
        return _ohd.isi_cov(s)
    isi = np.diff(s)
    isi = isi[isi < max_isi_s]
    if isi.size < 3:
        return np.nan
    return float(isi.std() / isi.mean())


def unit_summary(ds: xr.Dataset, *, force_var: str = "force_mvc",
                 method: str = "openhdemg",
                 delta_f_range: tuple[float, float] | None = None) -> xr.Dataset:
    """Per-unit table: thresholds [%MVC], rates [pps], ISI CoV, delta-F [pps].

    Parameters
    ----------
    ds
        Activity (or recording) Dataset with spikes and a force trace on a regular ``time``.
    force_var
        Force variable to read thresholds from.
    method
        Definitions, one of :data:`DEFINITIONS` (recorded in ``attrs["definitions"]``).
    delta_f_range
        ``(low, high)`` recruitment thresholds [units of ``force_var``] of the units analysed as
        delta-F test units (exclusive; default: every unit). The others get NaN; the delta-F of
        the units in range is unchanged, and it costs less (e.g. the 1-10 %MVC units of the
        training battery).

    Returns
    -------
    xarray.Dataset
        ``recruitment_threshold``, ``derecruitment_threshold`` [units of ``force_var``],
        ``rate_at_recruitment``, ``rate_at_derecruitment``, ``discharge_rate``, ``peak_rate``
        [pps], ``isi_cov`` [1] and ``delta_f`` [pps] per unit.
    """
    _check_method(method)
    trains = spike_trains(ds)
    t = ds["time"].values
    f = ds[force_var].values
    units = ds[force_var].attrs.get("units", "%MVC")
    n = len(trains)
    rec, derec, r0, r1, dr, pk, cov = (np.full(n, np.nan) for _ in range(7))
    for u, s in trains.items():
        rec[u], derec[u] = thresholds(s, t, f, method=method)
        r0[u] = rate_at_recruitment(s, method=method)
        r1[u] = rate_at_derecruitment(s)
        dr[u] = discharge_rate(s)
        pk[u] = peak_rate(s)
        cov[u] = isi_cov(s, method=method)
    tests = None if delta_f_range is None else \
        [u for u in range(n) if delta_f_range[0] < rec[u] < delta_f_range[1]]
    dfs = delta_f(trains, t, method=method, tests=tests)
    df = np.array([dfs.get(u, np.nan) for u in range(n)])

    def var(values: np.ndarray, unit: str, long_name: str) -> tuple:
        return ("unit", values, {"units": unit, "long_name": long_name})

    return xr.Dataset(
        {
            "recruitment_threshold": var(rec, units, "recruitment threshold"),
            "derecruitment_threshold": var(derec, units, "derecruitment threshold"),
            "rate_at_recruitment": var(r0, "pps", "discharge rate at recruitment"),
            "rate_at_derecruitment": var(r1, "pps", "discharge rate at derecruitment"),
            "discharge_rate": var(dr, "pps", "mean instantaneous discharge rate"),
            "peak_rate": var(pk, "pps", "peak discharge rate over 0.5 s"),
            "isi_cov": var(cov, "1", "coefficient of variation of the inter-spike intervals"),
            "delta_f": var(df, "pps", "delta-F (paired motor-unit analysis)"),
        },
        coords={"unit": ("unit", np.arange(n), {"units": "1", "long_name": "motor unit"})},
        attrs={"definitions": method},
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
