"""Trials of an evoked-response experiment: averaging sweeps, response windows and onsets.

The lab practice shared by every evoked response: repeated trials of a stimulus averaged
(3–10 sweeps), peak-to-peak amplitudes in windows placed from the subject's conduction times,
onsets at a multiple of the pre-stimulus noise, Mmax measured once per session, and the guard on
the total simulated time of a protocol.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from scenarios.session import Session
from simulator import evoked
from simulator.config import ConfigError
from simulator.inputs.stimulation import Stimulus
from simulator.simulation import SimulationConfig

__all__ = ["REST_PRE_S", "ACTIVE_PRE_S", "ONSET_SDS", "ONSET_MIN_MV", "MAX_TOTAL_S"]


#: Rest before a stimulus at rest, and the warm-up of a contraction before one [s].
REST_PRE_S, ACTIVE_PRE_S = 0.05, 1.0
#: Onset threshold of a response: this many SDs of the pre-stimulus EMG, and at least [mV].
ONSET_SDS, ONSET_MIN_MV = 5.0, 0.02
#: Longest protocol, in simulated seconds summed over trials (memory and time guard).
MAX_TOTAL_S = 600.0


def _pre_s(background_pct: float) -> float:
    return ACTIVE_PRE_S if background_pct > 0 else REST_PRE_S


def _check_budget(name: str, n_trials: int, duration_s: float) -> None:
    total = n_trials * duration_s
    if total > MAX_TOTAL_S:
        raise ConfigError(f"{name}: {n_trials} trials x {duration_s:g} s = {total:g} simulated s exceeds "
                          f"the limit of {MAX_TOTAL_S:g} s; reduce repeats or intensities")


def _average(session: Session, stimuli: Sequence[Stimulus], *, background_pct: float,
             duration_s: float, repeats: int) -> tuple[np.ndarray, np.ndarray, list[list[xr.Dataset]]]:
    """Trial-averaged EMG ``(stimulus, time)`` of ``repeats`` trials of each stimulus."""
    means, runs = [], []
    t = np.zeros(0)
    for trials in session.trials(stimuli, background_pct=background_pct, duration_s=duration_s,
                                 repeats=repeats):
        t = trials[0][0]
        means.append(np.mean([emg for _, emg, _ in trials], axis=0))
        runs.append([ds for _, _, ds in trials])
    return t, np.array(means), runs


def _onset(t: np.ndarray, x: np.ndarray, stim_s: float, window: tuple[float, float]) -> float:
    pre = x[(t >= stim_s - 0.05) & (t < stim_s)]
    threshold = max(ONSET_MIN_MV, ONSET_SDS * float(pre.std()) if pre.size else 0.0)
    return evoked.onset_latency(t, x, stim_s, start_s=window[0], stop_s=window[1], threshold=threshold)


def _traces(ds: xr.Dataset, t: np.ndarray, mean: np.ndarray, stim_s: float, dim: str,
            values: Sequence[float], span_s: float) -> None:
    """Store averaged EMG around the stimulus (``trace(dim, lag)``, lag in ms)."""
    sel = (t >= stim_s - 0.01) & (t < stim_s + span_s)
    ds["trace"] = ((dim, "lag"), mean[:, sel], {"units": "mV", "long_name": "trial-averaged bipolar EMG"})
    ds.coords["lag"] = ("lag", (t[sel] - stim_s) * 1e3, {"units": "ms", "long_name": "time from stimulus"})
    ds.coords[dim] = (dim, np.asarray(values, dtype=float))


def _mmax(session: Session, background_pct: float, repeats: int) -> float:
    """Maximal M-wave (mV) from a supramaximal nerve stimulus at ``background_pct`` (measured
    once per session and background: MEP and CMEP of one session share it)."""
    key = (float(background_pct), int(repeats))
    if key not in session.mmax_mv:
        session.mmax_mv[key] = _measure_mmax(session, background_pct, repeats)
    return session.mmax_mv[key]


def _measure_mmax(session: Session, background_pct: float, repeats: int) -> float:
    pre = _pre_s(background_pct)
    supra = 3.0 * float(np.max(session.axon_thresholds_ma))
    t, mean, _ = _average(session, [Stimulus(nerve_time_s=pre, nerve_ma=min(supra, 200.0))],
                          background_pct=background_pct, duration_s=pre + 0.05, repeats=repeats)
    return evoked.peak_to_peak(t, mean[0], *session.m_window(pre))


def _twitch(ds: xr.Dataset, stim_s: float, post_s: float) -> float:
    """Force increment after a stimulus: peak in the following 150 ms minus the 50-ms mean before [N]."""
    t, f = ds["time"].values, ds["force"].values
    before = f[(t >= stim_s - 0.05) & (t < stim_s)].mean()
    after = f[(t >= stim_s) & (t < stim_s + min(0.15, post_s))]
    return float(after.max() - before)


def _tms_travel(subject: SimulationConfig) -> float:
    c = subject.cortex
    # earliest wave: the D-wave (I1 follows I_WAVE_INTERVAL_MS later)
    return c.cortical_delay_ms * 1e-3 + c.tract_length_m / c.tract_cv_m_s
