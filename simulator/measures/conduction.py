"""Motor-unit muscle-fibre conduction velocity from multichannel MUAP templates (multichannel
maximum-likelihood delay, Farina, Muhammad, Fattorini, Merletti & Pozzo 2001 IEEE Trans Biomed Eng
48:322; McGill & Dorfman 1984 IEEE Trans Biomed Eng 31:462).
"""

from __future__ import annotations

import math

import numpy as np
import xarray as xr

__all__ = ["conduction_velocity", "conduction_velocity_from_recording"]


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
