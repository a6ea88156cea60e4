"""Tracking motor units across sessions by the similarity of their MUAPs over the electrode grid.

A unit keeps its territory and fibres between sessions, so its multichannel action potential
(estimated by spike-triggered averaging of the EMG) keeps its spatial and temporal shape even when
the grid is re-applied a few millimetres away. Following Martinez-Valdes et al. 2017 (J Physiol
595:1479), units of two sessions are compared by the normalised two-dimensional cross-correlation
of their grid MUAPs -- maximised over time lags and small whole-electrode shifts of the grid --
and paired one-to-one (Hungarian algorithm) when the correlation exceeds a threshold (0.8 in
Martinez-Valdes 2017).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.optimize import linear_sum_assignment
from scipy.signal import butter, sosfiltfilt

from simulator.config import ConfigError

from .metrics import spike_trains_from_dataset

__all__ = ["grid_templates", "template_similarity", "track_units", "track_decompositions"]


def grid_templates(recording: xr.Dataset, trains: list[np.ndarray], *, window_ms: float = 25.0,
                   band_hz: tuple[float, float] = (20.0, 500.0)) -> np.ndarray:
    """Spike-triggered average MUAPs arranged on the electrode grid.

    Parameters
    ----------
    recording
        Recording Dataset (``emg(time, channel)`` [µV], ``row``/``col`` channel coordinates,
        ``attrs["fs_hz"]``).
    trains
        Discharge sample indices (0-based), one array per unit.
    window_ms
        Half-width of the averaging window around each discharge [ms]; wide enough for any delay
        at which a decomposition reports discharges.
    band_hz
        Band-pass applied before averaging [Hz].

    Returns
    -------
    ndarray, shape (n_units, n_rows, n_cols, n_lags)
        Templates [µV]; grid positions without an electrode (or excluded channels) are NaN.
    """
    fs = float(recording.attrs["fs_hz"])
    emg = recording["emg"].values.T                        # (channel, time)
    rows = recording["row"].values.astype(int) if "row" in recording.coords else np.arange(emg.shape[0])
    cols = recording["col"].values.astype(int) if "col" in recording.coords else np.zeros(emg.shape[0], int)
    finite = np.isfinite(emg).all(axis=1)
    sos = butter(4, band_hz, btype="bandpass", fs=fs, output="sos")
    x = np.zeros_like(emg)
    x[finite] = sosfiltfilt(sos, emg[finite], axis=1)
    half = int(round(window_ms * 1e-3 * fs))
    lags = np.arange(-half, half + 1)
    n = x.shape[1]
    out = np.full((len(trains), rows.max() + 1, cols.max() + 1, lags.size), np.nan)
    for u, t in enumerate(trains):
        t = np.asarray(t, dtype=np.int64)
        t = t[(t >= half) & (t < n - half)]
        if t.size == 0:
            continue
        sta = x[:, t[:, None] + lags[None, :]].mean(axis=1)  # (channel, lag)
        sta[~finite] = np.nan
        out[u, rows, cols] = sta
    return out


def template_similarity(a: np.ndarray, b: np.ndarray, *, max_shift: int = 1,
                        min_overlap: float = 0.6) -> dict[str, np.ndarray]:
    """Normalised 2-D cross-correlation of every template of ``a`` with every template of ``b``.

    For each whole-electrode shift ``(dr, dc)`` with ``|dr|, |dc| <= max_shift`` the overlapping
    electrodes are compared at every time lag (FFT cross-correlation summed over electrodes) and
    normalised by the energies of the overlapping parts; the maximum over shifts and lags is the
    similarity.

    Parameters
    ----------
    a, b
        Templates, shapes ``(n_a, rows, cols, lags)`` and ``(n_b, rows, cols, lags)``; NaN marks
        missing electrodes.
    max_shift
        Largest grid shift searched, in electrodes.
    min_overlap
        Shifts leaving fewer than this fraction of the electrodes overlapping are skipped.

    Returns
    -------
    dict of str to ndarray
        ``similarity`` (n_a, n_b) in [-1, 1]; ``shift_row``, ``shift_col`` (electrodes) and
        ``lag`` (samples) at the maximum (``b`` is ``a`` moved by these).
    """
    if a.shape[1:] != b.shape[1:]:
        raise ConfigError(f"template grids differ: {a.shape[1:]} vs {b.shape[1:]} "
                          "(rows, columns, lags); both sessions need the same grid and window")
    n_a, n_r, n_c, n_l = a.shape
    n_b = b.shape[0]
    nfft = 2 * n_l
    best = {k: np.zeros((n_a, n_b), dtype=int) for k in ("shift_row", "shift_col", "lag")}
    best["similarity"] = np.full((n_a, n_b), -np.inf)
    valid = np.isfinite(a).all(axis=(0, 3)) & np.isfinite(b).all(axis=(0, 3))
    for dr in range(-max_shift, max_shift + 1):
        for dc in range(-max_shift, max_shift + 1):
            ra = slice(max(0, -dr), n_r - max(0, dr))
            ca = slice(max(0, -dc), n_c - max(0, dc))
            rb = slice(max(0, dr), n_r - max(0, -dr))
            cb = slice(max(0, dc), n_c - max(0, -dc))
            mask = valid[ra, ca] & valid[rb, cb]
            if mask.sum() < min_overlap * valid.sum():
                continue
            sa = np.nan_to_num(a[:, ra, ca][:, mask])       # (n_a, electrodes, lags)
            sb = np.nan_to_num(b[:, rb, cb][:, mask])
            fa = np.fft.rfft(sa, nfft, axis=-1)
            fb = np.fft.rfft(sb, nfft, axis=-1)
            xc = np.fft.irfft(np.einsum("aek,bek->abk", np.conj(fa), fb), nfft, axis=-1)
            norm = np.sqrt((sa**2).sum(axis=(1, 2)))[:, None] * np.sqrt((sb**2).sum(axis=(1, 2)))[None, :]
            xc /= np.where(norm > 0, norm, np.inf)[:, :, None]
            k = xc.argmax(axis=-1)
            val = np.take_along_axis(xc, k[..., None], axis=-1)[..., 0]
            better = val > best["similarity"]
            best["similarity"] = np.where(better, val, best["similarity"])
            best["shift_row"] = np.where(better, dr, best["shift_row"])
            best["shift_col"] = np.where(better, dc, best["shift_col"])
            lag = np.where(k > nfft // 2, k - nfft, k)
            best["lag"] = np.where(better, lag, best["lag"])
    best["similarity"] = np.where(np.isfinite(best["similarity"]), best["similarity"], 0.0)
    return best


def track_units(rec_a: xr.Dataset, trains_a: list[np.ndarray], rec_b: xr.Dataset,
                trains_b: list[np.ndarray], *, threshold: float = 0.6, max_shift: int = 1,
                window_ms: float = 25.0) -> xr.Dataset:
    """Pair the units of session A with those of session B by MUAP similarity.

    Parameters
    ----------
    rec_a, rec_b
        Recording Datasets of the two sessions (same grid layout and sampling rate).
    trains_a, trains_b
        Discharge sample indices per unit in each session (from a decomposition or the truth).
    threshold
        Smallest normalised cross-correlation [1] for two units to be the same unit. Lower than
        the 0.8 of Martinez-Valdes et al. 2017 because spike-triggered averages of small units in
        20 s of noisy EMG correlate less; the one-to-one assignment does the discrimination.
    max_shift
        Largest whole-electrode grid shift searched.
    window_ms
        Half-width of the spike-triggered average [ms].

    Returns
    -------
    xarray.Dataset
        ``attrs["kind"] == "tracking"``; dim ``unit_a``: ``match_b`` (-1 if untracked),
        ``similarity``, ``shift_row``, ``shift_col`` (electrodes) and ``lag_s`` [s]; the full
        ``similarity_matrix(unit_a, unit_b)``; ``attrs["n_tracked"]``.
    """
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"threshold = {threshold!r} is out of range; allowed (0, 1]")
    fs_a, fs_b = float(rec_a.attrs["fs_hz"]), float(rec_b.attrs["fs_hz"])
    if not np.isclose(fs_a, fs_b):
        raise ConfigError(f"sessions are sampled at {fs_a:g} Hz and {fs_b:g} Hz; tracking needs "
                          "the same sampling rate")
    ta = grid_templates(rec_a, trains_a, window_ms=window_ms)
    tb = grid_templates(rec_b, trains_b, window_ms=window_ms)
    sim = template_similarity(ta, tb, max_shift=max_shift)
    s = sim["similarity"]
    match = np.full(s.shape[0], -1)
    if s.size:
        rows, cols = linear_sum_assignment(-s)
        ok = s[rows, cols] >= threshold
        match[rows[ok]] = cols[ok]
    idx = np.maximum(match, 0)
    pick = lambda k: np.where(match >= 0, sim[k][np.arange(s.shape[0]), idx] if s.size else 0, 0)  # noqa: E731
    return xr.Dataset(
        {
            "match_b": ("unit_a", match),
            "similarity": ("unit_a", np.where(match >= 0, pick("similarity"), np.nan), {"units": "1"}),
            "shift_row": ("unit_a", pick("shift_row"), {"units": "electrodes"}),
            "shift_col": ("unit_a", pick("shift_col"), {"units": "electrodes"}),
            "lag_s": ("unit_a", pick("lag") / fs_a, {"units": "s"}),
            "similarity_matrix": (("unit_a", "unit_b"), s, {"units": "1"}),
        },
        coords={"unit_a": np.arange(s.shape[0]), "unit_b": np.arange(s.shape[1])},
        attrs={"kind": "tracking", "threshold": threshold, "max_shift": max_shift,
               "n_tracked": int((match >= 0).sum()),
               "method": "MUAP 2-D cross-correlation (Martinez-Valdes et al. 2017)"},
    )


def track_decompositions(rec_a: xr.Dataset, dec_a: xr.Dataset, rec_b: xr.Dataset,
                         dec_b: xr.Dataset, **kwargs) -> xr.Dataset:
    """:func:`track_units` on the discharges of two decomposition Datasets.

    Parameters
    ----------
    rec_a, dec_a, rec_b, dec_b
        Recording and decomposition Datasets of sessions A and B.
    **kwargs
        Passed to :func:`track_units` (``threshold``, ``max_shift``, ``window_ms``).
    """
    ta = spike_trains_from_dataset(dec_a, n_units=dec_a.sizes.get("unit"))
    tb = spike_trains_from_dataset(dec_b, n_units=dec_b.sizes.get("unit"))
    return track_units(rec_a, ta, rec_b, tb, **kwargs)
