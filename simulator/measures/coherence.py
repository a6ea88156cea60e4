"""Coherence: intramuscular (pooled coherence of two halves of the pool, Negro & Farina 2011)
and corticomuscular with optional additive "EEG" noise and its beta-band peak (Conway et al. 1995
J Physiol 489:917; confidence limit of Rosenberg et al. 1989 Prog Biophys Mol Biol 53:1).
"""

from __future__ import annotations

import math

import numpy as np

from .trains import SpikeTrains, cumulative_spike_train

__all__ = ["pooled_coherence", "corticomuscular_coherence", "coherence_confidence_limit", "beta_band_peak"]


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
