"""The decomposition pipeline: :func:`decompose`, from a recording Dataset to the decomposition
Dataset (steps 1–8 of :mod:`validation.decomposition`)."""

from __future__ import annotations

import time as _time
import warnings

import numpy as np
import xarray as xr

from simulator._schema import SPIKE_SAMPLE, SPIKE_TIME, SPIKE_UNIT
from simulator.config import ConfigError
from validation.agreement import spike_train_agreement
from validation.decomposition.config import (_EXTENDED_ROWS, _SAMPLES_PER_ROW, ChannelExclusionWarning,
                                             DecompositionConfig)
from validation.decomposition.preprocessing import _bandpass, extend, usable_channels, whiten
from validation.decomposition.sources import (_best_delay, _cov_isi, _fastica, _lagged_sta, _peel_off,
                                              _refine, _Unit, _unit_subspace, detect_spikes)
from validation.quality import pulse_to_noise_ratio

__all__ = ["decompose"]


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
