"""Decomposition steps 1–3: channel exclusion and band-pass, extension by delays, whitening
(Negro et al. 2016 J Neural Eng 13:026027)."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

__all__ = ["usable_channels", "extend", "whiten"]


def usable_channels(emg: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """Find channels that can enter a decomposition.

    Parameters
    ----------
    emg
        EMG [µV], shape ``(n_samples, n_channels)``.

    Returns
    -------
    good : ndarray of bool, shape (n_channels,)
        Channels to keep.
    reasons : dict of int to str
        Why each excluded channel (by position) was excluded: ``"non-finite"`` or ``"flat"``.
    """
    finite = np.isfinite(emg).all(axis=0)
    sd = np.where(finite, np.nanstd(np.where(np.isfinite(emg), emg, 0.0), axis=0), 0.0)
    ref = np.median(sd[finite]) if finite.any() else 0.0
    # A channel whose spread is a millionth of the typical one carries no signal (a broken
    # contact or a constant): it would only add a null direction to the covariance.
    flat = finite & (sd <= 1e-6 * ref)
    reasons = {int(i): "non-finite" for i in np.flatnonzero(~finite)}
    reasons.update({int(i): "flat" for i in np.flatnonzero(flat)})
    return finite & ~flat, reasons


def _bandpass(x: np.ndarray, fs_hz: float, band_hz: tuple[float, float]) -> np.ndarray:
    """Zero-phase 4th-order Butterworth band-pass along the last axis (rows = channels)."""
    lo, hi = band_hz
    if lo <= 0:
        sos = butter(4, hi, btype="lowpass", fs=fs_hz, output="sos")
    else:
        sos = butter(4, [lo, hi], btype="bandpass", fs=fs_hz, output="sos")
    return sosfiltfilt(sos, x, axis=-1)


def extend(x: np.ndarray, r: int, dtype: type = np.float32) -> np.ndarray:
    """Extend each channel with ``r - 1`` delayed copies (Negro et al. 2016, eq. 2).

    Parameters
    ----------
    x
        Signals, shape ``(n_channels, n_samples)``.
    r
        Extension factor (delays per channel, including the undelayed one).
    dtype
        Output dtype (float32 halves memory and doubles BLAS throughput).

    Returns
    -------
    ndarray, shape (n_channels * r, n_samples)
        Row ``c * r + d`` is channel ``c`` delayed by ``d`` samples (zeros before the start).
    """
    n_ch, n = x.shape
    out = np.zeros((n_ch, r, n), dtype=dtype)
    for d in range(r):  # r ~ 16: a loop over delays, vectorised over channels and samples
        out[:, d, d:] = x[:, :n - d]
    return out.reshape(n_ch * r, n)


def whiten(xe: np.ndarray, regularisation: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """ZCA-free PCA whitening of centred extended signals with eigenvalue regularisation.

    Parameters
    ----------
    xe
        Centred extended signals, shape ``(m, n_samples)``.
    regularisation
        Eigenvalues below ``regularisation`` times the mean of the smallest half are discarded
        (they span the noise subspace, whose inversion would amplify noise; Negro et al. 2016).

    Returns
    -------
    z : ndarray, shape (k, n_samples)
        Whitened signals (identity covariance), float32.
    w : ndarray, shape (k, m)
        Whitening matrix (``z = w @ xe``).
    """
    n = xe.shape[1]
    cov = (xe @ xe.T).astype(np.float64) / n
    eig, vec = np.linalg.eigh(cov)
    eig = np.clip(eig, 0.0, None)
    floor = regularisation * eig[: max(1, eig.size // 2)].mean()
    if regularisation > 0:
        # Noise eigenvalues of a finite sample spread up to the Marchenko-Pastur edge
        # sigma^2 (1 + sqrt(m/n))^2 (sigma^2 ~ median eigenvalue, the noise level); directions
        # below it carry no unit, and keeping them lets FastICA fit one-sample "sources" when the
        # recording is short relative to the number of extended channels.
        floor = max(floor, np.median(eig) * (1.0 + np.sqrt(eig.size / n)) ** 2)
    keep = eig > max(floor, eig.max() * 1e-12)
    w = (vec[:, keep] / np.sqrt(eig[keep])).T
    return (w.astype(np.float32) @ xe).astype(np.float32, copy=False), w
