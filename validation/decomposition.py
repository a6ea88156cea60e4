"""Motor-unit decomposition of HD-sEMG by convolutive blind source separation.

The surface EMG is a convolutive mixture of motor-unit spike trains filtered by their MUAPs. After
extending every channel with ``R - 1`` delayed copies the mixture becomes (nearly) instantaneous
and each unit's spike train can be recovered as a linear combination of the extended, whitened
channels (Holobar & Zazula 2007 IEEE Trans Signal Process 55:4487, convolution kernel
compensation; Negro et al. 2016 J Neural Eng 13:026027, convolutive FastICA). This module follows
Negro et al. 2016 step by step:

1. band-pass (20–500 Hz) and exclusion of flat or non-finite channels;
2. extension by ``R`` delays (default ``ceil(1500 / channels)``, 24 for 64 channels, but at least
   20 samples per extended row), centring;
3. whitening by eigen-decomposition of the covariance, discarding eigenvalues below the mean of
   the smallest half (regularisation of the noise subspace);
4. per candidate source: initialisation at a sample of high activity (``‖z(t)‖²``), fixed-point
   FastICA (Hyvärinen & Oja 1997) with a skewness (default), log-cosh or kurtosis contrast and
   deflationary orthogonalisation against the separation vectors already accepted;
5. peak detection on ``s·|s|`` with a minimum distance, 2-class k-means of the peak heights;
6. refinement: the separation vector is replaced by the mean whitened sample at the detected
   discharges while the ISI coefficient of variation decreases;
7. acceptance at silhouette ``SIL >= 0.9`` and a minimum number of discharges; removal of
   duplicates (same unit, possibly at another delay: RoA >= 0.3 after lag alignment, keeping the
   lower ISI CoV; with peel-off the first estimate is kept); peel-off of each accepted unit from the whitened data (its lagged
   spike-triggered average subtracted at its discharges; Holobar & Zazula 2007), so that the
   next candidates converge on units the large ones masked instead of on the same large unit
   at another delay;
8. a unit is reported only if its output source (the separation filter applied to the whole
   unpeeled recording) still has ``SIL >= 0.9`` and enough discharges.

Everything is vectorised over samples (BLAS matrix–vector products on a ``(components, samples)``
float32 array), so 64 channels x 60 s at 2048 Hz should fit in about 1.5 GB (1.0 GB measured
at 16 delays). The only randomness (which of the most active samples initialises a candidate) comes from ``numpy.random.Generator(seed)``, so
a decomposition is reproducible from its config and seed.
"""

from __future__ import annotations

import dataclasses
import time as _time
import warnings
from collections.abc import Callable

import numpy as np
import xarray as xr
from scipy.signal import butter, find_peaks, sosfiltfilt

from simulator._schema import SPIKE_SAMPLE, SPIKE_TIME, SPIKE_UNIT
from simulator.config import Config, ConfigError, param

from .metrics import pulse_to_noise_ratio, silhouette, spike_train_agreement

__all__ = ["DecompositionConfig", "ChannelExclusionWarning", "decompose", "extend", "whiten",
           "detect_spikes", "usable_channels"]


_EXTENDED_ROWS = 1500  # default extended channels (delays x channels)
_SAMPLES_PER_ROW = 20  # fewest samples per extended row for the default extension


class ChannelExclusionWarning(UserWarning):
    """Some channels were left out of a decomposition (non-finite samples or flat)."""


@dataclasses.dataclass(frozen=True)
class DecompositionConfig(Config):
    """Settings of the convolutive FastICA decomposition (Negro et al. 2016)."""

    section = "decomposition"

    band_hz: tuple[float, float] = param((20.0, 500.0), lo=0.0, unit="Hz",
                                         doc="band-pass edges (surface EMG band)")
    extension_factor: int = param(0, lo=0, hi=200,
                                  doc=("delays per channel R; 0 = ceil(1500 / channels), at most "
                                       "samples / (20 channels)"))
    n_iterations: int = param(60, lo=1, hi=2000, doc="largest number of candidate sources tried")
    stop_after_failures: int = param(25, lo=0, hi=2000, doc=(
        "stop after this many consecutive candidates without a new unit (0 = never)"))
    contrast: str = param("skew", choices=("skew", "logcosh", "kurtosis"),
                          doc="FastICA contrast G: x^3/3, log cosh x, or x^4/4")
    fastica_max_iter: int = param(100, lo=1, hi=10000, doc="fixed-point iterations per source")
    fastica_tol: float = param(1e-4, lo=0.0, hi=0.5, lo_open=True,
                               doc="convergence: |w_new . w_old - 1| below this")
    refine_max_iter: int = param(10, lo=0, hi=1000, doc="ISI-CoV refinement iterations")
    whitening_regularisation: float = param(1.0, lo=0.0, hi=100.0, doc=(
        "discard eigenvalues below this times the mean of the smallest half (0 keeps all)"))
    min_peak_distance_ms: float = param(10.0, lo=0.5, hi=200.0, unit="ms",
                                        doc="shortest interval between detected discharges")
    init_candidates: int = param(10, lo=1, hi=100000, doc=(
        "a candidate is initialised at a random one of this many most active unused samples"))
    sil_threshold: float = param(0.9, lo=0.0, hi=1.0, doc="accept sources with SIL >= this")
    min_spikes: int = param(10, lo=2, hi=10**7, doc="accept sources with at least this many discharges")
    duplicate_roa: float = param(0.3, lo=0.0, hi=1.0, lo_open=True, doc=(
        "two sources agreeing at this RoA (after lag alignment) are the same unit"))
    duplicate_max_lag_ms: float = param(40.0, lo=0.0, hi=500.0, unit="ms",
                                        doc="lag searched when comparing two sources")
    unit_window_ms: float = param(20.0, lo=0.5, hi=200.0, unit="ms", doc=(
        "half-width of the lagged spike-triggered average that spans an accepted unit"))
    deflation: str = param("vector", choices=("vector", "subspace"), doc=(
        "orthogonalise new sources against accepted separation vectors, or against each "
        "accepted unit's lagged subspace (also blocks the unit at other delays)"))
    peel_off: bool = param(True, doc=(
        "subtract each accepted unit from the whitened data (Holobar & Zazula 2007 peel-off), "
        "so later candidates converge on the units it masked"))
    seed: int = param(0, lo=0, hi=2**32 - 1, doc="random seed (choice of initial samples)")

    def validate(self) -> None:
        lo, hi = self.band_hz
        if not lo < hi:
            raise ConfigError(f"decomposition.band_hz = {self.band_hz!r}: the low edge must be "
                              "below the high edge, both in [0, fs/2) Hz")


# ----------------------------------------------------------------------------- preprocessing
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


# ----------------------------------------------------------------------------- source estimation
def _contrast(name: str) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """First and second derivatives (g, g') of the FastICA contrast G."""
    if name == "skew":       # G = x^3/3: sparse, positive spike trains are skewed
        return (lambda s: s * s), (lambda s: 2.0 * s)
    if name == "kurtosis":   # G = x^4/4
        return (lambda s: s * s * s), (lambda s: 3.0 * s * s)
    # G = log cosh x: robust to outliers
    return np.tanh, (lambda s: 1.0 - np.tanh(s) ** 2)


def _fastica(z: np.ndarray, w: np.ndarray, basis: np.ndarray, contrast: str, max_iter: int,
             tol: float) -> np.ndarray:
    """One-unit fixed-point FastICA with deflation against ``basis`` (columns, orthonormal)."""
    g, dg = _contrast(contrast)
    n = z.shape[1]

    def project(v: np.ndarray) -> np.ndarray:
        if basis.shape[1]:
            v = v - basis @ (basis.T @ v)
        return v / np.linalg.norm(v)

    w = project(w)
    for _ in range(max_iter):
        s = w @ z
        w_new = project((z @ g(s)) / n - dg(s).mean() * w)
        converged = abs(float(w_new @ w) - 1.0) < tol
        w = w_new
        if converged:
            break
    return w


def detect_spikes(source: np.ndarray, min_distance: int) -> tuple[np.ndarray, float]:
    """Discharges of a source: peaks of ``s·|s|`` split into spikes and noise by 2-means.

    The 2-class k-means of the (1-D) peak heights is solved exactly: the optimal clusters are
    the two sides of one threshold in the sorted heights, found by scanning all splits.

    Parameters
    ----------
    source
        Estimated source, shape ``(n_samples,)``.
    min_distance
        Shortest distance between two peaks [samples].

    Returns
    -------
    spikes : ndarray of int
        Sample indices of the discharges (the high cluster).
    sil : float
        Silhouette of the spike and noise clusters [1].
    """
    y = source * np.abs(source)
    peaks, _ = find_peaks(y, distance=max(1, int(min_distance)))
    peaks = peaks[y[peaks] > 0]
    if peaks.size < 3:
        return peaks, 0.0
    h = y[peaks]
    order = np.argsort(h)
    hs = h[order].astype(np.float64)
    n = hs.size
    c1, c2 = np.cumsum(hs), np.cumsum(hs**2)
    k = np.arange(1, n)                        # size of the low (noise) cluster
    sse_lo = c2[k - 1] - c1[k - 1] ** 2 / k
    hi_sum, hi_sq = c1[-1] - c1[k - 1], c2[-1] - c2[k - 1]
    sse_hi = hi_sq - hi_sum**2 / (n - k)
    split = int(k[np.argmin(sse_lo + sse_hi)])
    spikes = np.sort(peaks[order[split:]])
    return spikes, silhouette(hs[split:], hs[:split])


def _cov_isi(spikes: np.ndarray) -> float:
    if spikes.size < 3:
        return float("inf")
    isi = np.diff(spikes)
    return float(isi.std() / isi.mean())


@dataclasses.dataclass
class _Unit:
    w: np.ndarray
    spikes: np.ndarray
    sil: float
    cov: float


def _refine(z: np.ndarray, w: np.ndarray, min_distance: int, max_iter: int) -> _Unit:
    """Negro et al. 2016 refinement: re-estimate w from the discharges while the ISI CoV drops."""
    spikes, sil = detect_spikes(w @ z, min_distance)
    best = _Unit(w, spikes, sil, _cov_isi(spikes))
    for _ in range(max_iter):
        if best.spikes.size < 2:
            break
        w_new = z[:, best.spikes].mean(axis=1)
        w_new /= np.linalg.norm(w_new)
        spikes, sil = detect_spikes(w_new @ z, min_distance)
        cov = _cov_isi(spikes)
        if not (cov < best.cov or sil > best.sil):
            break
        best = _Unit(w_new, spikes, sil, cov)
    return best


def _best_delay(z: np.ndarray, unit: _Unit, max_delay: int, min_distance: int,
                max_iter: int) -> _Unit:
    """Re-estimate a unit at the delay whose separation vector gives the highest SIL.

    In the extended space a unit appears once per delay of its MUAP; these copies are not
    equally separable (the extension covers the MUAP's largest phases better at some delays).
    The lagged spike-triggered averages of the whitened data are the candidate separation
    vectors (as in the CKC estimate of Holobar & Zazula 2007); the best one is refined.
    """
    best = unit
    n = z.shape[1]
    # Every delay, not every other one: the copies one sample apart differ in how sharply
    # their source peaks, and a blunt peak moves the detected discharge by 1-2 samples, beyond
    # the +-0.5 ms RoA tolerance (measured: 8 -> 9 of 10 units on the 10 dB toy at two seeds).
    for lag in range(-max_delay, max_delay + 1):
        if lag == 0:
            continue
        sp = unit.spikes + lag
        sp = sp[(sp >= 0) & (sp < n)]
        if sp.size < 2:
            continue
        w = z[:, sp].mean(axis=1)
        w /= np.linalg.norm(w)
        spikes, sil = detect_spikes(w @ z, min_distance)
        if sil > best.sil:
            best = _Unit(w, spikes, sil, _cov_isi(spikes))
    return best if best is unit else _refine(z, best.w, min_distance, max_iter)


def _lagged_sta(z: np.ndarray, spikes: np.ndarray, half_width: int) -> np.ndarray:
    """Spike-triggered averages of the whitened data at lags ``-half_width..half_width``.

    Column ``j`` estimates the whitened mixing vector of the unit's source delayed by
    ``j - half_width`` samples (the discharges are sparse, so other sources average out).
    """
    n = z.shape[1]
    spikes = spikes[(spikes >= half_width) & (spikes < n - half_width)]
    lags = np.arange(-half_width, half_width + 1)
    if spikes.size == 0:
        return np.zeros((z.shape[0], lags.size), dtype=z.dtype)
    # ~2*half_width+1 gathers, each vectorised over components and discharges
    return np.stack([z[:, spikes + lag].mean(axis=1) for lag in lags], axis=1)


def _unit_subspace(sta: np.ndarray, energy: float = 0.9) -> np.ndarray:
    """Orthonormal basis of the leading singular vectors holding ``energy`` of a lagged STA."""
    u, sv, _ = np.linalg.svd(sta.astype(np.float64), full_matrices=False)
    frac = np.cumsum(sv**2) / max(float(np.sum(sv**2)), np.finfo(float).tiny)
    k = int(np.searchsorted(frac, energy)) + 1
    return u[:, :k]


def _peel_off(z: np.ndarray, spikes: np.ndarray, sta: np.ndarray) -> None:
    """Subtract a unit's lagged spike-triggered average from the whitened data, in place."""
    half = (sta.shape[1] - 1) // 2
    n = z.shape[1]
    for j, lag in enumerate(range(-half, half + 1)):
        # Discharges near the ends are peeled over the part of their window inside the data:
        # left whole, they would be the only large events of the unit in the residual and the
        # next candidates would converge on them (one-discharge "sources").
        idx = spikes + lag
        z[:, idx[(idx >= 0) & (idx < n)]] -= sta[:, j:j + 1]


# ----------------------------------------------------------------------------- driver
def _recording_arrays(recording: xr.Dataset) -> tuple[np.ndarray, float]:
    """Validate a recording Dataset and return its EMG (time, channel) and sampling rate."""
    if not isinstance(recording, xr.Dataset):
        raise ConfigError(f"recording must be an xarray.Dataset, got {type(recording).__name__}")
    if "emg" not in recording:
        raise ConfigError("the recording has no 'emg' variable (expected emg(time, channel) in µV)")
    if recording["emg"].dims != ("time", "channel"):
        raise ConfigError(f"recording emg has dims {recording['emg'].dims}; expected ('time', 'channel')")
    fs = recording.attrs.get("fs_hz")
    if not isinstance(fs, (int, float)) or not np.isfinite(fs) or fs <= 0:
        raise ConfigError(f"recording attrs['fs_hz'] = {fs!r} must be a sampling rate > 0 Hz")
    return np.asarray(recording["emg"].values, dtype=np.float64), float(fs)


def decompose(recording: xr.Dataset, config: DecompositionConfig | None = None, *,
              seed: int | None = None, progress: bool = False) -> xr.Dataset:
    """Decompose an HD-sEMG recording into motor-unit spike trains (Negro et al. 2016).

    Parameters
    ----------
    recording
        Recording Dataset with ``emg(time, channel)`` [µV] and ``attrs["fs_hz"]`` [Hz]; ground
        truth, if any, is ignored.
    config
        Settings (defaults: :class:`DecompositionConfig`).
    seed
        Overrides ``config.seed``.
    progress
        Show a progress bar over candidate sources.

    Returns
    -------
    xarray.Dataset
        ``attrs["kind"] == "decomposition"``. Dims ``unit`` (estimated units), ``spike``,
        ``time``, ``channel``, ``extension``. Variables: ``spike_time(spike)`` [s],
        ``spike_unit(spike)``, ``spike_sample(spike)`` (0-based), ``source(unit, time)``
        (normalised so the median discharge peak is 1), ``separation(unit, channel,
        extension)`` (the multichannel FIR filter that maps the band-passed, centred EMG to the
        source; zero for excluded channels), ``sil(unit)``, ``pnr_db(unit)`` [dB],
        ``cov_isi(unit)``, ``n_spikes(unit)``, ``discharge_rate_pps(unit)`` and
        ``channel_used(channel)``. ``attrs`` hold ``fs_hz``, ``config``, ``seed``,
        ``extension_factor``, ``n_components``, ``excluded_channels`` (labels),
        ``excluded_reasons``, ``n_candidates`` and ``elapsed_s``.

    Raises
    ------
    simulator.config.ConfigError
        Before any work, if the recording or the settings are unusable (no EMG, bad sampling
        rate, band edge above Nyquist, too few usable channels or samples).

    Warns
    -----
    ChannelExclusionWarning
        When channels with non-finite values or no signal are left out.
    """
    cfg = config if config is not None else DecompositionConfig()
    if seed is not None:
        cfg = cfg.replace(seed=int(seed))
    emg, fs = _recording_arrays(recording)
    n_samples, n_channels = emg.shape
    if cfg.band_hz[1] >= fs / 2:
        raise ConfigError(f"decomposition.band_hz = {cfg.band_hz!r} is out of range; the high edge "
                          f"must be below the Nyquist frequency fs/2 = {fs / 2:g} Hz")
    good, reasons = usable_channels(emg)
    labels = recording["channel"].values
    if good.sum() < 2:
        raise ConfigError(f"only {int(good.sum())} of {n_channels} channels are usable "
                          f"(excluded: {reasons}); a decomposition needs at least 2")
    # Negro et al. (2016) extend to about 1000 rows; on the simulated 200-unit pool at 30 %MVC
    # (tens of active units on 64 channels) 1500 rows separated 12-14 units against 6-11 at
    # 1000 (benchmarks/README.md): more delays than active units x MUAP support keep the
    # extended mixing matrix well conditioned (Holobar & Zazula 2007), at 1.5x the memory.
    # With too few samples per extended row, marginal-contrast ICA "overlearns": it converges
    # on single-sample spikes of the noise (Hyvarinen, Sarela & Vigario 1999, NIPS 12;
    # Sarela & Vigario 2003 JMLR 4:1447), and peel-off, which removes the real sources, leaves
    # little else to converge on. The default extension therefore keeps >= 20 samples per row.
    r = cfg.extension_factor or max(1, min(int(np.ceil(_EXTENDED_ROWS / good.sum())),
                                           n_samples // (_SAMPLES_PER_ROW * int(good.sum()))))
    min_samples = max(int(fs), 4 * r * int(good.sum()))
    if n_samples < min_samples:
        raise ConfigError(f"recording has {n_samples} samples; decomposition needs at least "
                          f"{min_samples} (1 s and 4x the {r * int(good.sum())} extended channels)")
    if reasons:
        warnings.warn(
            f"excluded {len(reasons)} channel(s) from the decomposition: "
            + ", ".join(f"{labels[i]} ({why})" for i, why in sorted(reasons.items())),
            ChannelExclusionWarning, stacklevel=2)

    t0 = _time.perf_counter()
    rng = np.random.default_rng(cfg.seed)
    x = _bandpass(emg[:, good].T, fs, cfg.band_hz)
    # Filter transients and the zero-padded start of the extension would be the most "active"
    # samples, and FastICA would happily converge on them (one-spike sources): the analysis
    # runs on the recording without its edges and spike indices are shifted back at the end.
    edge = r + int(round(0.05 * fs))
    xe = extend(x, r)[:, edge:n_samples - edge]
    xe -= xe.mean(axis=1, keepdims=True)
    z, wmat = whiten(xe, cfg.whitening_regularisation)
    del xe
    min_dist = max(1, int(round(cfg.min_peak_distance_ms * 1e-3 * fs)))
    half_unit = max(1, int(round(cfg.unit_window_ms * 1e-3 * fs)))
    n_used = z.shape[1]
    available = np.ones(n_used, dtype=bool)
    # Activity index ||z(t)||^2 (Negro et al. 2016). Once a unit is accepted its lagged subspace
    # is projected out of the index, so later candidates start where *other* units fire instead
    # of converging again on the largest unit at another delay.
    activity = np.einsum("ij,ij->j", z, z)
    n_comp = z.shape[0]
    vectors = np.zeros((n_comp, 0), dtype=np.float32)    # accepted separation vectors
    subspace = np.zeros((n_comp, 0), dtype=np.float32)   # accepted units' lagged subspaces
    units: list[_Unit] = []
    failures = n_tried = 0

    def add_columns(q: np.ndarray, new: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Append the part of ``new`` orthogonal to ``q`` (orthonormalised); return both."""
        v = new - q @ (q.T @ new) if q.shape[1] else new
        qn, rr = np.linalg.qr(v.astype(np.float64))
        qn = qn[:, np.abs(np.diag(rr)) > 1e-3].astype(np.float32)
        return np.hstack([q, qn]), qn

    iterator = range(cfg.n_iterations)
    if progress:
        from tqdm import tqdm
        iterator = tqdm(iterator, desc="decompose", unit="source")
    for _ in iterator:
        cand = np.flatnonzero(available)
        if cand.size == 0:
            break
        n_tried += 1
        top = cand[np.argpartition(activity[cand], -min(cfg.init_candidates, cand.size))
                   [-cfg.init_candidates:]]
        t_init = int(rng.choice(top))
        available[max(0, t_init - r):t_init + r + 1] = False
        basis = subspace if cfg.deflation == "subspace" else vectors
        w = _fastica(z, z[:, t_init].copy(), basis, cfg.contrast, cfg.fastica_max_iter,
                     cfg.fastica_tol)
        unit = _refine(z, w, min_dist, cfg.refine_max_iter)
        if unit.spikes.size >= cfg.min_spikes and unit.sil >= cfg.sil_threshold - 0.1:
            unit = _best_delay(z, unit, r, min_dist, cfg.refine_max_iter)
        new_unit = False
        if unit.sil >= cfg.sil_threshold and unit.spikes.size >= cfg.min_spikes:
            dup = [i for i, u in enumerate(units) if spike_train_agreement(
                unit.spikes, u.spikes, fs_hz=fs,
                max_lag_s=cfg.duplicate_max_lag_ms * 1e-3).roa >= cfg.duplicate_roa]
            if not dup:
                units.append(unit)
                new_unit = True
            elif not cfg.peel_off and all(unit.cov < units[i].cov for i in dup):
                # The same unit again with a more regular train: keep the better estimate
                # (Negro et al. 2016 keep the duplicate with the lowest ISI CoV). Not with
                # peel-off: a duplicate there converged on the residual the unit's subtraction
                # left, and its filter, applied to the unpeeled recording, puts the discharges
                # off by 1-2 samples (measured: a 236 µV toy unit fell from RoA 1.0 to 0.80).
                units[dup[0]] = unit
                for i in sorted(dup[1:], reverse=True):
                    del units[i]
            # Accepted sources (duplicates too) leave the search space.
            vectors, _ = add_columns(vectors, unit.w[:, None])
            sta = _lagged_sta(z, unit.spikes, half_unit)
            subspace, q_new = add_columns(subspace, _unit_subspace(sta))
            if cfg.peel_off:
                _peel_off(z, unit.spikes, sta)
                activity = np.einsum("ij,ij->j", z, z)
            else:
                proj = q_new.T @ z
                activity -= np.einsum("ij,ij->j", proj, proj)
        failures = 0 if new_unit else failures + 1
        if cfg.stop_after_failures and failures >= cfg.stop_after_failures:
            break
    final = _final_units(units, x - x.mean(axis=1, keepdims=True), wmat, r, min_dist)
    # A unit is reported only if the source actually returned (the filter on the unpeeled
    # recording) passes the acceptance criteria, so the published SIL >= 0.9 convention holds
    # for every output source (Negro et al. 2016).
    final = [f for f in final if f[3] >= cfg.sil_threshold and f[2].size >= cfg.min_spikes]
    elapsed = _time.perf_counter() - t0
    return _decomposition_dataset(recording, cfg, final, good, reasons, r, fs, z.shape[0],
                                  n_tried, elapsed)


def _apply_filter(f: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Source ``s(t) = sum_c sum_d f[c, d] x_c(t - d)`` of a multichannel FIR filter."""
    proj = f.T @ x                       # (r, n): one matrix product, then r shifted adds
    s = proj[0].copy()
    for d in range(1, f.shape[1]):
        s[d:] += proj[d, :-d]
    return s


def _final_units(units: list[_Unit], x: np.ndarray, wmat: np.ndarray, r: int,
                 min_distance: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, float, float]]:
    """Apply each unit's separation filter to the whole band-passed recording (edges included).

    Returns, per unit, ``(filter (n_channels, r), source, spikes, sil, cov_isi)`` with the
    source normalised so that its median discharge peak is 1.
    """
    out = []
    for u in units:
        f = (wmat.T @ u.w.astype(np.float64)).reshape(x.shape[0], r)
        src = _apply_filter(f, x)
        spikes, sil = detect_spikes(src, min_distance)
        peak = np.median(src[spikes]) if spikes.size else 1.0
        peak = peak if peak > 0 else 1.0
        out.append((f / peak, src / peak, spikes, sil, _cov_isi(spikes)))
    return out


def _decomposition_dataset(recording: xr.Dataset, cfg: DecompositionConfig,
                           final: list[tuple[np.ndarray, np.ndarray, np.ndarray, float, float]],
                           good: np.ndarray, reasons: dict[int, str], r: int, fs: float,
                           n_components: int, n_tried: int, elapsed: float) -> xr.Dataset:
    """Pack accepted units into a decomposition Dataset (schema in :func:`decompose`)."""
    n_samples = recording.sizes["time"]
    n_channels = good.size
    n_u = len(final)
    sources = np.zeros((n_u, n_samples), dtype=np.float32)
    sep = np.zeros((n_u, n_channels, r))
    stats = {k: np.zeros(n_u) for k in ("sil", "pnr_db", "cov_isi", "n_spikes", "rate")}
    trains = []
    for i, (f, src, spikes, sil, cov) in enumerate(final):
        sources[i] = src
        sep[i, good] = f
        trains.append(spikes)
        stats["sil"][i] = sil
        stats["pnr_db"][i] = pulse_to_noise_ratio(src, spikes)
        stats["cov_isi"][i] = cov
        stats["n_spikes"][i] = spikes.size
        stats["rate"][i] = (spikes.size - 1) / (np.ptp(spikes) / fs) if spikes.size > 1 else 0.0
    # Units in order of their first discharge would be arbitrary; order by PNR (best first).
    order = np.argsort(-stats["pnr_db"], kind="stable")
    trains = [trains[i] for i in order]
    sources, sep = sources[order], sep[order]
    stats = {k: v[order] for k, v in stats.items()}
    spike_unit = np.concatenate([np.full(t.size, i) for i, t in enumerate(trains)] or
                                [np.zeros(0)]).astype(np.int64)
    spike_sample = np.concatenate(trains or [np.zeros(0)]).astype(np.int64)
    time = recording["time"].values
    labels = recording["channel"].values
    chan_coords = {k: ("channel", recording[k].values) for k in ("row", "col", "x_mm", "y_mm")
                   if k in recording.coords}
    return xr.Dataset(
        {
            SPIKE_TIME: ("spike", time[spike_sample] if spike_sample.size else np.zeros(0),
                         {"units": "s"}),
            SPIKE_UNIT: ("spike", spike_unit),
            SPIKE_SAMPLE: ("spike", spike_sample, {"long_name": "0-based sample of discharge"}),
            "source": (("unit", "time"), sources,
                       {"units": "1", "long_name": "estimated source (median discharge = 1)"}),
            "separation": (("unit", "channel", "extension"), sep, {
                "units": "1/uV", "long_name": "separation filter on band-passed, centred EMG"}),
            "sil": ("unit", stats["sil"], {"units": "1", "long_name": "silhouette"}),
            "pnr_db": ("unit", stats["pnr_db"], {"units": "dB", "long_name": "pulse-to-noise ratio"}),
            "cov_isi": ("unit", stats["cov_isi"], {"units": "1"}),
            "n_spikes": ("unit", stats["n_spikes"].astype(np.int64)),
            "discharge_rate_pps": ("unit", stats["rate"], {"units": "pps"}),
            "channel_used": ("channel", good),
        },
        coords={"time": ("time", time, {"units": "s"}), "channel": labels, **chan_coords,
                "unit": np.arange(n_u), "extension": ("extension", np.arange(r),
                                                      {"units": "samples"})},
        attrs={
            "kind": "decomposition", "method": "convolutive FastICA (Negro et al. 2016)",
            "fs_hz": fs, "config": cfg.to_dict(), "seed": int(cfg.seed),
            "extension_factor": int(r), "n_components": int(n_components),
            "excluded_channels": [labels[i].item() for i in sorted(reasons)],
            "excluded_reasons": [reasons[i] for i in sorted(reasons)],
            "n_candidates": int(n_tried), "elapsed_s": float(elapsed),
        },
    )
