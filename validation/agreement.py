"""Agreement of spike trains: lag alignment, one-to-one matching of discharges, RoA, and the
pairing of estimated with true units.

* each estimated/true pair of spike trains is aligned by the lag that maximises their
  coincidences (the peak of the cross-correlation histogram of their discharge times, searched
  over ``±max_lag_s``), because a decomposition may report a discharge at any fixed delay from the
  true one (the separation filter locks on to one phase of the MUAP);
* after alignment, discharges closer than ``tolerance_s`` (±0.5 ms) are matched one-to-one;
* the rate of agreement is ``RoA = TP / (TP + FP + FN)`` (Holobar et al. 2010 J Neural Eng
  7:026001), sensitivity ``TP / (TP + FN)``, precision ``TP / (TP + FP)``;
* estimated and true units are paired one-to-one by the Hungarian algorithm on the RoA matrix
  (Kuhn 1955; :func:`scipy.optimize.linear_sum_assignment`).

Spike trains are 0-based sample indices; lags follow ``estimated ≈ true + lag``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from scipy.optimize import linear_sum_assignment


__all__ = ["Agreement", "spike_train_agreement", "agreement_matrix", "match_units", "TOLERANCE_S",
           "MAX_LAG_S", "FOUND_ROA"]


#: Matching tolerance after alignment [s] (PHYSIOLOGY.md).
TOLERANCE_S = 0.5e-3
#: Largest alignment lag searched [s]: a MUAP lasts ~20 ms and a separation filter of extension
#: ~16 samples may lock on to any of its phases.
MAX_LAG_S = 0.04
#: RoA above which a true unit counts as *found* (the usual threshold in validation studies).
FOUND_ROA = 0.9


@dataclasses.dataclass(frozen=True)
class Agreement:
    """Agreement of an estimated spike train with a reference one.

    Attributes
    ----------
    tp, fp, fn
        Matched, extra (estimated only) and missed (reference only) discharges.
    lag_s
        Alignment lag [s] (``estimated ≈ reference + lag``).
    """

    tp: int
    fp: int
    fn: int
    lag_s: float

    @property
    def roa(self) -> float:
        """Rate of agreement TP/(TP+FP+FN) [1] (0 for two empty trains)."""
        d = self.tp + self.fp + self.fn
        return self.tp / d if d else 0.0

    @property
    def sensitivity(self) -> float:
        """TP/(TP+FN) [1]."""
        d = self.tp + self.fn
        return self.tp / d if d else 0.0

    @property
    def precision(self) -> float:
        """TP/(TP+FP) [1]."""
        d = self.tp + self.fp
        return self.tp / d if d else 0.0

    @property
    def f1(self) -> float:
        """Harmonic mean of sensitivity and precision [1]."""
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else 0.0


def _as_train(x: np.ndarray | Sequence[int], name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"{name} must be a 1-D array of sample indices, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.isfinite(a)) or not np.allclose(a, np.round(a)):
            raise ValueError(f"{name} must hold integer sample indices")
    return np.unique(a.astype(np.int64))


def _count_matches(est: np.ndarray, ref: np.ndarray, lag: int, tol: int) -> int:
    """Size of the largest one-to-one matching of ``est - lag`` to ``ref`` within ``±tol``."""
    if est.size == 0 or ref.size == 0:
        return 0
    e = est - lag
    # Fast path: when both trains' intervals exceed 2*tol every discharge has at most one partner
    # (always the case for physiological trains with a ±0.5 ms tolerance).
    if (est.size < 2 or np.diff(est).min() > 2 * tol) and (ref.size < 2 or np.diff(ref).min() > 2 * tol):
        lo = np.searchsorted(ref, e - tol, side="left")
        hi = np.searchsorted(ref, e + tol, side="right")
        return int(np.count_nonzero(hi > lo))
    # General case: greedy earliest-first matching is maximal for interval tolerances on a line.
    i = j = n = 0
    while i < e.size and j < ref.size:
        d = e[i] - ref[j]
        if abs(d) <= tol:
            n += 1
            i += 1
            j += 1
        elif d < 0:
            i += 1
        else:
            j += 1
    return n


def _lag_candidates(est: np.ndarray, ref: np.ndarray, max_lag: int, tol: int) -> np.ndarray:
    """Lags [samples] whose ``±tol`` window holds the most discharge-time differences."""
    lo = np.searchsorted(ref, est - max_lag - tol, side="left")
    hi = np.searchsorted(ref, est + max_lag + tol, side="right")
    counts = hi - lo
    if counts.sum() == 0:
        return np.zeros(1, dtype=np.int64)
    # All pairwise differences est - ref within the search range, without a Python loop.
    rep = np.repeat(np.arange(est.size), counts)
    offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    diffs = est[rep] - ref[lo[rep] + offs]
    hist = np.bincount(diffs + max_lag + tol, minlength=2 * (max_lag + tol) + 1)
    window = np.convolve(hist, np.ones(2 * tol + 1, dtype=np.int64), mode="valid")
    best = np.flatnonzero(window == window.max())
    lags = best - max_lag
    # Nearest-to-zero first: ties between equally good lags prefer the smallest delay.
    return lags[np.argsort(np.abs(lags), kind="stable")]


def spike_train_agreement(estimated: np.ndarray | Sequence[int], reference: np.ndarray | Sequence[int],
                          *, fs_hz: float, tolerance_s: float = TOLERANCE_S,
                          max_lag_s: float = MAX_LAG_S) -> Agreement:
    """Align two spike trains by cross-correlation and count their agreement.

    Parameters
    ----------
    estimated, reference
        Discharge sample indices (0-based) at ``fs_hz``; order and duplicates do not matter.
    fs_hz
        Sampling rate [Hz].
    tolerance_s
        Largest distance [s] between two matched discharges after alignment (±0.5 ms).
    max_lag_s
        Largest alignment lag searched [s]; 0 disables the search.

    Returns
    -------
    Agreement
        Counts and the alignment lag; ``.roa``, ``.sensitivity``, ``.precision``, ``.f1``.
    """
    if not fs_hz > 0:
        raise ValueError(f"fs_hz = {fs_hz!r} must be > 0 Hz")
    if not tolerance_s >= 0 or not max_lag_s >= 0:
        raise ValueError(f"tolerance_s = {tolerance_s!r} and max_lag_s = {max_lag_s!r} must be >= 0 s")
    est = _as_train(estimated, "estimated")
    ref = _as_train(reference, "reference")
    tol = int(np.floor(tolerance_s * fs_hz + 1e-9))
    max_lag = int(np.ceil(max_lag_s * fs_hz - 1e-9))
    best_tp, best_lag = 0, 0
    if est.size and ref.size:
        # Several lags may tie on the histogram; the exact one-to-one count decides.
        for lag in _lag_candidates(est, ref, max_lag, tol)[:8]:
            tp = _count_matches(est, ref, int(lag), tol)
            if tp > best_tp:
                best_tp, best_lag = tp, int(lag)
    if best_tp:
        # Several lags within the tolerance match the same discharges; report the median
        # offset of the matched pairs (the lag a reader expects, e.g. an exact constant shift).
        e = est - best_lag
        k = np.clip(np.searchsorted(ref, e), 1, max(ref.size - 1, 1))
        near = np.where(np.abs(e - ref[k - 1]) <= np.abs(e - ref[np.minimum(k, ref.size - 1)]),
                        ref[k - 1], ref[np.minimum(k, ref.size - 1)])
        d = e - near
        d = d[np.abs(d) <= tol]
        if d.size:
            best_lag += int(np.round(np.median(d)))
    return Agreement(tp=best_tp, fp=est.size - best_tp, fn=ref.size - best_tp,
                     lag_s=best_lag / fs_hz)


def agreement_matrix(estimated: Sequence[np.ndarray], reference: Sequence[np.ndarray], *,
                     fs_hz: float, tolerance_s: float = TOLERANCE_S,
                     max_lag_s: float = MAX_LAG_S) -> dict[str, np.ndarray]:
    """Agreement of every estimated train with every reference train.

    Parameters
    ----------
    estimated, reference
        Lists of discharge sample indices, one array per unit.
    fs_hz, tolerance_s, max_lag_s
        As in :func:`spike_train_agreement` ([Hz], [s], [s]).

    Returns
    -------
    dict of str to ndarray
        Arrays of shape ``(len(estimated), len(reference))``: ``tp``, ``fp``, ``fn`` (int),
        ``roa``, ``sensitivity``, ``precision``, ``f1`` [1] and ``lag_s`` [s].
    """
    est = [_as_train(e, "estimated") for e in estimated]
    ref = [_as_train(r, "reference") for r in reference]
    shape = (len(est), len(ref))
    out = {k: np.zeros(shape, dtype=np.int64) for k in ("tp", "fp", "fn")}
    out.update({k: np.zeros(shape) for k in ("roa", "sensitivity", "precision", "f1", "lag_s")})
    for i, e in enumerate(est):
        for j, r in enumerate(ref):
            a = spike_train_agreement(e, r, fs_hz=fs_hz, tolerance_s=tolerance_s, max_lag_s=max_lag_s)
            for k in ("tp", "fp", "fn", "roa", "sensitivity", "precision", "f1", "lag_s"):
                out[k][i, j] = getattr(a, k)
    return out


def match_units(roa: np.ndarray, *, min_roa: float = 0.3) -> list[tuple[int, int]]:
    """One-to-one pairing of estimated (rows) and true (columns) units by the Hungarian algorithm.

    Parameters
    ----------
    roa
        Rate-of-agreement matrix, shape ``(n_estimated, n_true)`` [1].
    min_roa
        Pairs whose RoA is below this are left unmatched [1] (a unit that shares fewer
        discharges than this with every true unit is not a recovery of any of them).

    Returns
    -------
    list of (int, int)
        ``(estimated_index, true_index)`` pairs, sorted by the true index.
    """
    roa = np.asarray(roa, dtype=float)
    if roa.size == 0:
        return []
    rows, cols = linear_sum_assignment(-roa)
    keep = roa[rows, cols] >= min_roa
    pairs = sorted(zip(rows[keep].tolist(), cols[keep].tolist()), key=lambda p: p[1])
    return pairs
