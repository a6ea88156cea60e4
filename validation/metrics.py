"""Ground-truth scoring of motor-unit decompositions: matching, rate of agreement, PNR and SIL.

Conventions (PHYSIOLOGY.md, "Decomposition conventions"):

* each estimated/true pair of spike trains is aligned by the lag that maximises their
  coincidences (the peak of the cross-correlation histogram of their discharge times, searched
  over ``±max_lag_s``), because a decomposition may report a discharge at any fixed delay from the
  true one (the separation filter locks on to one phase of the MUAP);
* after alignment, discharges closer than ``tolerance_s`` (±0.5 ms) are matched one-to-one;
* the rate of agreement is ``RoA = TP / (TP + FP + FN)`` (Holobar et al. 2010 J Neural Eng
  7:026001), sensitivity ``TP / (TP + FN)``, precision ``TP / (TP + FP)``;
* estimated and true units are paired one-to-one by the Hungarian algorithm on the RoA matrix
  (Kuhn 1955; :func:`scipy.optimize.linear_sum_assignment`);
* the pulse-to-noise ratio ``PNR = 10 log10(mean s² at discharges / mean s² elsewhere)``
  (Holobar et al. 2014 J Neural Eng 11:016008) and the silhouette ``SIL`` of the spike and noise
  clusters of a source (Negro et al. 2016 J Neural Eng 13:026027) judge a source without truth.

Matching and agreement live in :mod:`validation.agreement`, PNR and SIL in
:mod:`validation.quality`; this module scores a whole decomposition against its recording and is
the public face of all three.

All spike trains are 0-based sample indices at a sampling rate ``fs_hz``; lags are reported in
seconds with the convention ``estimated ≈ true + lag``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from simulator._schema import SPIKE_SAMPLE, SPIKE_TIME, SPIKE_UNIT
from simulator.config import ConfigError
from simulator.measures.trains import spike_trains
from validation.agreement import (FOUND_ROA, MAX_LAG_S, TOLERANCE_S, Agreement, agreement_matrix,
                                  match_units, spike_train_agreement)
from validation.quality import pulse_to_noise_ratio, silhouette

__all__ = ["Agreement", "spike_train_agreement", "agreement_matrix", "match_units", "measure_bias",
           "pulse_to_noise_ratio", "silhouette", "spike_trains_from_dataset", "score",
           "TOLERANCE_S", "MAX_LAG_S", "FOUND_ROA"]


def spike_trains_from_dataset(ds: xr.Dataset, *, fs_hz: float | None = None,
                              n_units: int | None = None) -> list[np.ndarray]:
    """Per-unit discharge sample indices of a recording or decomposition Dataset.

    Uses ``spike_sample`` when present, else rounds ``spike_time * fs_hz``; a list view of
    :func:`simulator.measures.spike_trains` with ``samples=True``.

    Parameters
    ----------
    ds
        Dataset with ``spike_unit`` and ``spike_sample`` or ``spike_time`` on dim ``spike``.
    fs_hz
        Sampling rate [Hz] (defaults to ``ds.attrs["fs_hz"]``).
    n_units
        Number of units (defaults to the size of dim ``unit`` or ``max(spike_unit) + 1``).
    """
    if SPIKE_UNIT not in ds:
        raise ValueError("the Dataset has no ground-truth spikes (variable 'spike_unit')")
    return list(spike_trains(ds, samples=True, fs_hz=fs_hz, n_units=n_units).values())


#: Ground-truth unit properties copied into the score table when the recording has them.
_TRUTH_PROPERTIES = ("recruitment_excitation", "size_index", "depth_mm", "muap_ptp_uv",
                     "fibre_cv_m_s", "discharge_rate_pps")


def score(decomposition: xr.Dataset, recording: xr.Dataset, *, tolerance_s: float = TOLERANCE_S,
          max_lag_s: float = MAX_LAG_S, min_roa: float = 0.3,
          found_roa: float = FOUND_ROA) -> xr.Dataset:
    """Score a decomposition against the ground truth of a recording.

    Parameters
    ----------
    decomposition
        Dataset with ``spike_unit``/``spike_sample`` (or ``spike_time``) on dim ``spike`` and
        ``attrs["fs_hz"]`` (from :func:`validation.decomposition.decompose` or a reader in
        :mod:`simulator.io`); its ``sil``/``pnr_db`` per unit are carried over when present.
    recording
        Recording Dataset with ground truth (``spike_unit``, ``spike_sample``/``spike_time``).
    tolerance_s, max_lag_s
        Matching tolerance and alignment search range [s].
    min_roa
        Smallest RoA for an estimated unit to be paired with a true unit [1].
    found_roa
        RoA at or above which a true unit counts as found [1].

    Returns
    -------
    xarray.Dataset
        ``attrs["kind"] == "score"``. Per true unit (dim ``unit``): ``matched_estimate`` (-1 if
        none), ``roa``, ``sensitivity``, ``precision``, ``f1``, ``lag_s``, ``found``,
        ``n_true_spikes``, ``muap_energy_uv2s`` and the truth properties the recording has.
        Per estimated unit (dim ``estimate``): ``matched_unit``, ``best_roa`` (against any true
        unit), ``duplicate`` (agrees at ``min_roa`` with a true unit already matched to another
        estimate), and ``sil``/``pnr_db`` if given. Summary numbers are in ``attrs``:
        ``n_true_active``, ``n_estimated``, ``n_matched``, ``n_found``, ``n_duplicates``,
        ``mean_roa_matched``.

    Raises
    ------
    ValueError
        If the recording has no ground truth or the sampling rates differ.
    """
    if SPIKE_UNIT not in recording or (SPIKE_SAMPLE not in recording and SPIKE_TIME not in recording):
        raise ConfigError("the recording has no ground truth (variables 'spike_unit' and "
                         "'spike_sample'/'spike_time'); only simulated recordings can be scored")
    fs = float(recording.attrs.get("fs_hz", np.nan))
    fs_dec = float(decomposition.attrs.get("fs_hz", fs))
    if not np.isfinite(fs) or fs <= 0:
        raise ConfigError(f"recording attrs['fs_hz'] = {recording.attrs.get('fs_hz')!r} must be > 0 Hz")
    if not np.isclose(fs_dec, fs):
        raise ConfigError(f"decomposition fs_hz = {fs_dec:g} Hz does not match the recording's "
                         f"fs_hz = {fs:g} Hz; they must be sampled at the same rate")
    true = spike_trains_from_dataset(recording, fs_hz=fs)
    n_est = decomposition.sizes.get("unit", None)
    est = spike_trains_from_dataset(decomposition, fs_hz=fs, n_units=n_est)
    m = agreement_matrix(est, true, fs_hz=fs, tolerance_s=tolerance_s, max_lag_s=max_lag_s)
    pairs = match_units(m["roa"], min_roa=min_roa)
    n_true, n_e = len(true), len(est)
    matched_est = np.full(n_true, -1)
    matched_true = np.full(n_e, -1)
    for i, j in pairs:
        matched_est[j], matched_true[i] = i, j
    cols = np.arange(n_true)
    has = matched_est >= 0
    pick = lambda k, fill: np.where(has, m[k][np.maximum(matched_est, 0), cols] if n_e else fill, fill)  # noqa: E731
    best_roa = m["roa"].max(axis=1) if n_true else np.zeros(n_e)
    best_true = m["roa"].argmax(axis=1) if n_true else np.zeros(n_e, dtype=int)
    duplicate = (matched_true < 0) & (best_roa >= min_roa) & (
        matched_est[best_true] >= 0 if n_true else False)
    n_spikes = np.array([t.size for t in true])
    data = {
        "matched_estimate": ("unit", matched_est),
        "roa": ("unit", pick("roa", 0.0), {"units": "1", "long_name": "rate of agreement"}),
        "sensitivity": ("unit", pick("sensitivity", 0.0), {"units": "1"}),
        "precision": ("unit", pick("precision", 0.0), {"units": "1"}),
        "f1": ("unit", pick("f1", 0.0), {"units": "1"}),
        "lag_s": ("unit", np.where(has, pick("lag_s", 0.0), np.nan), {"units": "s"}),
        "n_true_spikes": ("unit", n_spikes),
        "matched_unit": ("estimate", matched_true),
        "best_roa": ("estimate", best_roa, {"units": "1"}),
        "duplicate": ("estimate", duplicate),
    }
    found = pick("roa", 0.0) >= found_roa
    data["found"] = ("unit", found)
    if "muap" in recording:
        # Energy of the template summed over channels [µV² s]: what makes a unit stand out.
        energy = (recording["muap"].values ** 2).sum(axis=(1, 2)) / fs
        data["muap_energy_uv2s"] = ("unit", energy, {"units": "uV2 s"})
    for k in _TRUTH_PROPERTIES:
        if k in recording and recording[k].dims == ("unit",) and recording.sizes["unit"] == n_true:
            data[k] = ("unit", recording[k].values, dict(recording[k].attrs))
    for k in ("sil", "pnr_db", "cov_isi"):
        if k in decomposition and decomposition[k].dims == ("unit",):
            data[k] = ("estimate", decomposition[k].values, dict(decomposition[k].attrs))
    active = n_spikes > 0
    roa_m = data["roa"][1][has]
    attrs = {
        "kind": "score", "fs_hz": fs, "tolerance_s": tolerance_s, "max_lag_s": max_lag_s,
        "min_roa": min_roa, "found_roa": found_roa,
        "n_true_active": int(active.sum()), "n_estimated": int(n_e), "n_matched": int(has.sum()),
        "n_found": int(found.sum()), "n_duplicates": int(duplicate.sum()),
        "mean_roa_matched": float(roa_m.mean()) if roa_m.size else 0.0,
    }
    return xr.Dataset(data, coords={"unit": np.arange(n_true), "estimate": np.arange(n_e)},
                      attrs=attrs)


#: Per-unit measures compared between decomposed and true spike trains.
BIAS_MEASURES = ("recruitment_threshold", "derecruitment_threshold", "rate_at_recruitment",
                 "peak_rate", "isi_cov", "delta_f")


def measure_bias(decomposition: xr.Dataset, recording: xr.Dataset, *,
                 force_var: str = "force_mvc", min_roa: float = 0.3) -> xr.Dataset:
    """What a decomposition would have reported, against the truth, for each motor-unit measure.

    The same :func:`simulator.measures.unit_summary` is computed on the true spike trains of the
    recording and on the decomposed ones (with the recording's force), units are paired one to one
    by :func:`score`, and each measure's bias (decomposed − true) is summarised over the pairs.

    Parameters
    ----------
    decomposition
        Decomposition Dataset (``spike_time``, ``spike_unit``).
    recording
        Recording Dataset with ground truth and a force trace ``force_var`` on its time axis.
    force_var
        Force variable [%MVC] used for thresholds.
    min_roa
        Smallest rate of agreement for a pair.

    Returns
    -------
    xarray.Dataset
        Per pair (dim ``pair``): ``true_unit``, ``estimate``, ``roa`` and ``<measure>_true`` /
        ``<measure>_decomposed``; per measure (dim ``measure``): ``bias``, ``mean_abs_error``
        (units of the measure) and ``n_pairs``.
    """
    from simulator import _schema as S
    from simulator.measures import unit_summary
    if force_var not in recording:
        raise ValueError(f"the recording has no force variable {force_var!r} to measure thresholds")
    sc = score(decomposition, recording, min_roa=min_roa)
    truth = unit_summary(recording, force_var=force_var)
    est_ds = xr.Dataset(
        {S.SPIKE_TIME: ("spike", decomposition[S.SPIKE_TIME].values),
         S.SPIKE_UNIT: ("spike", decomposition[S.SPIKE_UNIT].values),
         force_var: ("time", recording[force_var].values)},
        coords={"time": recording["time"].values, "unit": np.arange(decomposition.sizes["unit"])})
    est = unit_summary(est_ds, force_var=force_var)
    matched = sc["matched_estimate"].values
    true_units = np.flatnonzero(matched >= 0)
    est_units = matched[true_units]
    data: dict[str, tuple] = {
        "true_unit": ("pair", true_units), "estimate": ("pair", est_units),
        "roa": ("pair", sc["roa"].values[true_units], {"units": "1"}),
    }
    bias, mae, n = [], [], []
    for m in BIAS_MEASURES:
        tv, ev = truth[m].values[true_units], est[m].values[est_units]
        data[f"{m}_true"] = ("pair", tv, dict(truth[m].attrs))
        data[f"{m}_decomposed"] = ("pair", ev, dict(truth[m].attrs))
        ok = np.isfinite(tv) & np.isfinite(ev)
        n.append(int(ok.sum()))
        bias.append(float(np.mean(ev[ok] - tv[ok])) if ok.any() else np.nan)
        mae.append(float(np.mean(np.abs(ev[ok] - tv[ok]))) if ok.any() else np.nan)
    data["bias"] = ("measure", np.array(bias))
    data["mean_abs_error"] = ("measure", np.array(mae))
    data["n_pairs"] = ("measure", np.array(n))
    return xr.Dataset(data, coords={"measure": list(BIAS_MEASURES)},
                      attrs={"kind": "measure_bias", "n_found": sc.attrs["n_found"]})
