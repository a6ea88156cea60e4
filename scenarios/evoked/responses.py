"""The evoked-response measurements, one per protocol, each registered with the experiment
interface (:func:`scenarios.registry.run`).

H-reflex and M-wave recruitment (Hugon 1973; Zehr 2002), V-wave and twitch interpolation (Upton
et al. 1971; Merton 1954), MEP recruitment (Devanne et al. 1997), SICI/ICF (Kujirai et al. 1993),
cortical silent period (Orth & Rothwell 2004), CMEP (Taylor 2006) and startle (Valls-Solé et al.
1999), measured on the trial-averaged bipolar EMG of :mod:`scenarios.evoked.trials`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import xarray as xr

from scenarios.evoked.protocols import (CMEPProtocol, HReflexProtocol, MEPProtocol, SICIProtocol,
                                        SilentPeriodProtocol, StartleProtocol, VWaveProtocol)
from scenarios.evoked.trials import (ACTIVE_PRE_S, REST_PRE_S, _average, _check_budget, _mmax, _onset,
                                     _pre_s, _tms_travel, _traces, _twitch)
from scenarios.registry import MEASUREMENTS, experiment, experiment_attrs
from scenarios.session import Session
from simulator.config import Config
from simulator import evoked, measures
from simulator.inputs.stimulation import Stimulus

__all__ = ["EVOKED"]


def _evoked(protocol: type[Config]) -> Callable[[Callable[[Session, Config], xr.Dataset]], Callable]:
    """Register an evoked-response measurement; its outcomes get the experiment attrs."""
    def register(measure: Callable[[Session, Config], xr.Dataset]) -> Callable:
        @functools.wraps(measure)
        def stamped(session: Session, p: Config) -> xr.Dataset:
            ds = measure(session, p)
            ds.attrs = experiment_attrs(p, session.subject)
            return ds
        experiment(protocol)(stamped)
        return measure
    return register


@_evoked(HReflexProtocol)
def _h_reflex(session: Session, p: HReflexProtocol) -> xr.Dataset:
    pre = _pre_s(p.background_pct)
    duration = pre + p.post_s
    _check_budget("h_reflex", len(p.intensities_ma) * p.repeats, duration)
    stimuli = [Stimulus(nerve_time_s=pre, nerve_ma=i) for i in p.intensities_ma]
    t, mean, _ = _average(session, stimuli, background_pct=p.background_pct, duration_s=duration,
                          repeats=p.repeats)
    m = np.array([evoked.peak_to_peak(t, x, *session.m_window(pre)) for x in mean])
    h = np.array([evoked.peak_to_peak(t, x, *session.reflex_window(pre)) for x in mean])
    mmax = float(m.max())
    k = int(np.argmax(h))
    ds = xr.Dataset({
        "m_wave": ("intensity", m, {"units": "mV"}),
        "h_reflex": ("intensity", h, {"units": "mV"}),
        "mmax": ((), mmax, {"units": "mV"}),
        "hmax": ((), float(h[k]), {"units": "mV"}),
        "hmax_mmax": ((), float(h[k] / mmax) if mmax > 0 else np.nan, {"units": "1"}),
        "h_latency": ((), 1e3 * _onset(t, mean[k], pre, session.reflex_window(pre)), {"units": "ms"}),
        "m_latency": ((), 1e3 * _onset(t, mean[-1], pre, session.m_window(pre)), {"units": "ms"}),
        "intensity_at_hmax": ((), float(p.intensities_ma[k]), {"units": "mA"}),
    })
    _traces(ds, t, mean, pre, "intensity", p.intensities_ma, 0.06)
    ds["intensity"].attrs["units"] = "mA"
    return ds


@_evoked(VWaveProtocol)
def _v_wave(session: Session, p: VWaveProtocol) -> xr.Dataset:
    pre = p.plateau_s if p.level_pct > 0 else REST_PRE_S
    duration = pre + p.post_s
    rest_s = pre + p.rest_delay_s  # resting-twitch stimulus, in the sham trial
    sham_duration = rest_s + p.post_s
    _check_budget("v_wave", 3 * p.repeats, (2 * duration + sham_duration) / 3)
    stim = Stimulus(nerve_time_s=pre, nerve_ma=p.intensity_ma)
    t, mean, runs = _average(session, [stim], background_pct=p.level_pct, duration_s=duration,
                             repeats=p.repeats)
    t_rest, mean_rest, runs_rest = _average(session, [Stimulus(nerve_time_s=REST_PRE_S, nerve_ma=p.intensity_ma)],
                                            background_pct=0.0, duration_s=REST_PRE_S + p.post_s,
                                            repeats=p.repeats)
    # sham contractions (no stimulus at ``pre``; their own noise), then rest and the potentiated
    # resting twitch
    shams = [ds for _, _, ds in session.trials(
        [Stimulus(nerve_time_s=rest_s, nerve_ma=p.intensity_ma)], background_pct=p.level_pct,
        duration_s=sham_duration, repeats=p.repeats, first_repeat=p.repeats,
        relax_at_s=pre + p.post_s)[0]]
    msup = evoked.peak_to_peak(t, mean[0], *session.m_window(pre))
    v = evoked.peak_to_peak(t, mean[0], *session.reflex_window(pre))
    mmax_rest = evoked.peak_to_peak(t_rest, mean_rest[0], *session.m_window(REST_PRE_S))
    v_rest = evoked.peak_to_peak(t_rest, mean_rest[0], *session.reflex_window(REST_PRE_S))
    sit_trials = np.array([_twitch(ds, pre, p.post_s) for ds in runs[0]])
    sham_trials = np.array([_twitch(ds, pre, p.post_s) for ds in shams])
    rt_trials = np.array([_twitch(ds, rest_s, p.post_s) for ds in shams])
    sit, sham, rt = float(sit_trials.mean()), float(sham_trials.mean()), float(rt_trials.mean())
    unpotentiated = float(np.mean([_twitch(ds, REST_PRE_S, p.post_s) for ds in runs_rest[0]]))

    def va(twitch: float) -> float:
        return measures.voluntary_activation(max(twitch, 0.0), rt) if rt > 0 else np.nan

    ds = xr.Dataset({
        "v_wave": ((), v, {"units": "mV"}),
        "m_sup": ((), msup, {"units": "mV", "long_name": "superimposed M-wave"}),
        "v_msup": ((), v / msup if msup > 0 else np.nan, {"units": "1"}),
        "v_rest_mmax": ((), v_rest / mmax_rest if mmax_rest > 0 else np.nan, {"units": "1",
                        "long_name": "V/Mmax of the same stimulus at rest (collision: ~0)"}),
        "superimposed_twitch": ((), sit, {"units": "N", "long_name": "force increment after the "
                                          "stimulus at the plateau, mean of trials"}),
        "sham_twitch": ((), sham, {"units": "N", "long_name": "the same measure in sham trials "
                                   "without stimulus (bias of the estimator)"}),
        "resting_twitch": ((), rt, {"units": "N", "long_name": f"twitch {p.rest_delay_s:g} s after "
                                    "the contraction (potentiated)"}),
        "resting_twitch_unpotentiated": ((), unpotentiated, {"units": "N",
                                         "long_name": "twitch of the rested muscle"}),
        "superimposed_twitch_trials": ("trial", sit_trials, {"units": "N"}),
        "voluntary_activation": ((), va(sit - sham), {
            "units": "%", "long_name": "twitch interpolation (Merton 1954), sham-corrected"}),
        "voluntary_activation_uncorrected": ((), va(sit), {
            "units": "%", "long_name": "twitch interpolation without the sham correction"}),
    })
    _traces(ds, t, mean, pre, "condition", [p.level_pct], 0.06)
    return ds


@_evoked(MEPProtocol)
def _mep_curve(session: Session, p: MEPProtocol) -> xr.Dataset:
    pre = _pre_s(p.background_pct)
    duration = pre + p.post_s
    _check_budget("mep", len(p.intensities_pct) * p.repeats, duration)
    stimuli = [Stimulus(tms=((pre, i),)) for i in p.intensities_pct]
    t, mean, _ = _average(session, stimuli, background_pct=p.background_pct, duration_s=duration,
                          repeats=p.repeats)
    window = session.descending_window(pre, _tms_travel(session.subject))
    mep = np.array([evoked.peak_to_peak(t, x, *window) for x in mean])
    mmax = _mmax(session, p.background_pct, 1)
    above = np.flatnonzero(mep >= p.threshold_mv)
    k = int(np.argmax(mep))
    ds = xr.Dataset({
        "mep": ("intensity", mep, {"units": "mV"}),
        "mep_mmax": ("intensity", mep / mmax if mmax > 0 else mep * np.nan, {"units": "1"}),
        "mmax": ((), mmax, {"units": "mV"}),
        "motor_threshold": ((), float(p.intensities_pct[above[0]]) if above.size else np.nan,
                            {"units": "%MSO"}),
        "mep_latency": ((), 1e3 * _onset(t, mean[k], pre, window), {"units": "ms"}),
    })
    _traces(ds, t, mean, pre, "intensity", p.intensities_pct, 0.06)
    ds["intensity"].attrs["units"] = "%MSO"
    return ds


@_evoked(SICIProtocol)
def _sici(session: Session, p: SICIProtocol) -> xr.Dataset:
    pre = _pre_s(p.background_pct) + max(p.isis_ms) * 1e-3
    duration = pre + p.post_s
    _check_budget("sici", (len(p.isis_ms) + 1) * p.repeats, duration)
    stimuli = [Stimulus(tms=((pre, p.test_pct),))]
    stimuli += [Stimulus(tms=((pre - isi * 1e-3, p.conditioning_pct), (pre, p.test_pct))) for isi in p.isis_ms]
    t, mean, _ = _average(session, stimuli, background_pct=p.background_pct, duration_s=duration,
                          repeats=p.repeats)
    window = session.descending_window(pre, _tms_travel(session.subject))
    amp = np.array([evoked.peak_to_peak(t, x, *window) for x in mean])
    test = amp[0]
    ratio = amp[1:] / test if test > 0 else amp[1:] * np.nan
    isis = np.asarray(p.isis_ms, dtype=float)

    def mean_ratio(lo: float, hi: float) -> float:
        sel = (isis >= lo) & (isis <= hi)
        return float(np.nanmean(ratio[sel])) if sel.any() else float("nan")

    ds = xr.Dataset({
        "test_mep": ((), float(test), {"units": "mV"}),
        "conditioned_mep": ("isi", amp[1:], {"units": "mV"}),
        "ratio": ("isi", ratio, {"units": "1", "long_name": "conditioned / test MEP"}),
        "sici": ((), mean_ratio(2.0, 3.0), {"units": "1", "long_name": "conditioned/test at 2-3 ms ISI"}),
        "icf": ((), mean_ratio(10.0, 15.0), {"units": "1", "long_name": "conditioned/test at 10-15 ms ISI"}),
    })
    _traces(ds, t, mean[1:], pre, "isi", p.isis_ms, 0.06)
    ds["test_trace"] = ("lag", mean[0][(t >= pre - 0.01) & (t < pre + 0.06)], {"units": "mV"})
    ds["isi"].attrs["units"] = "ms"
    return ds


@_evoked(SilentPeriodProtocol)
def _silent_period(session: Session, p: SilentPeriodProtocol) -> xr.Dataset:
    pre = ACTIVE_PRE_S
    duration = pre + p.post_s
    _check_budget("silent_period", p.repeats, duration)
    stim = Stimulus(tms=((pre, p.intensity_pct),))
    (trials,) = session.trials([stim], background_pct=p.background_pct, duration_s=duration,
                               repeats=p.repeats)
    t = trials[0][0]
    mean_rect = np.mean([np.abs(emg) for _, emg, _ in trials], axis=0)
    window = session.descending_window(pre, _tms_travel(session.subject))
    fs = session.bipolar.fs_hz
    smooth = np.convolve(mean_rect, np.ones(int(0.01 * fs)) / int(0.01 * fs), mode="same")
    baseline = float(mean_rect[(t >= pre - 0.3) & (t < pre)].mean())
    onset = _onset(t, mean_rect, pre, window)
    onset_s = pre + (onset if np.isfinite(onset) else window[0] - pre)
    # from the end of the MEP window: the EMG must first fall silent, then return (a tail of the
    # MEP beyond its window read as an immediate "return" in 13 % of the shipped library's
    # sessions: silent periods of ~22 ms where the EMG then fell silent, e.g. for 20 and 80 ms)
    end = evoked.silence_end(t, smooth, after_s=window[1], threshold=p.recovery_fraction * baseline)
    ds = xr.Dataset({
        "silent_period": ((), 1e3 * (end - onset_s), {"units": "ms", "long_name": "MEP onset to EMG return"}),
        "mep_onset": ((), 1e3 * (onset_s - pre), {"units": "ms"}),
        "baseline_emg": ((), baseline, {"units": "mV", "long_name": "pre-stimulus mean rectified EMG"}),
    })
    sel = (t >= pre - 0.1) & (t < pre + p.post_s)
    ds["rectified"] = ("lag", smooth[sel], {"units": "mV", "long_name": "mean rectified EMG (10 ms)"})
    ds.coords["lag"] = ("lag", (t[sel] - pre) * 1e3, {"units": "ms"})
    return ds


@_evoked(CMEPProtocol)
def _cmep(session: Session, p: CMEPProtocol) -> xr.Dataset:
    pre = _pre_s(p.background_pct)
    duration = pre + p.post_s
    _check_budget("cmep", p.repeats, duration)
    t, mean, _ = _average(session, [Stimulus(direct_time_s=pre, direct_pct=p.intensity_pct)],
                          background_pct=p.background_pct, duration_s=duration, repeats=p.repeats)
    c = session.subject.cortex
    window = session.descending_window(pre, c.direct_site_to_pool_m / c.tract_cv_m_s)
    amp = evoked.peak_to_peak(t, mean[0], *window)
    mmax = _mmax(session, p.background_pct, 1)
    ds = xr.Dataset({
        "cmep": ((), amp, {"units": "mV"}),
        "mmax": ((), mmax, {"units": "mV"}),
        "cmep_mmax": ((), amp / mmax if mmax > 0 else np.nan, {"units": "1"}),
        "cmep_latency": ((), 1e3 * _onset(t, mean[0], pre, window), {"units": "ms"}),
    })
    _traces(ds, t, mean, pre, "condition", [p.background_pct], 0.05)
    return ds


@_evoked(StartleProtocol)
def _startle(session: Session, p: StartleProtocol) -> xr.Dataset:
    pre = _pre_s(p.background_pct)
    duration = pre + p.post_s
    _check_budget("startle", p.repeats, duration)
    t, mean, _ = _average(session, [Stimulus(startle_time_s=pre)], background_pct=p.background_pct,
                          duration_s=duration, repeats=p.repeats)
    c = session.subject.cortex
    start, _ = session.descending_window(pre, c.startle_latency_ms * 1e-3)
    window = (start, start + 4 * c.startle_duration_ms * 1e-3 + 0.03)
    amp = evoked.peak_to_peak(t, mean[0], *window)
    ds = xr.Dataset({
        "startle_response": ((), amp, {"units": "mV"}),
        "startle_latency": ((), 1e3 * _onset(t, mean[0], pre, window), {"units": "ms"}),
    })
    _traces(ds, t, mean, pre, "condition", [p.background_pct], min(p.post_s, 0.2))
    return ds


#: name -> (protocol class, measurement).


#: name -> (protocol class, registered measurement) of every evoked response.
EVOKED: dict[str, tuple[type[Config], Callable[[Session, Config], xr.Dataset]]] = {
    cls.section: (cls, MEASUREMENTS[cls]) for cls in (
        HReflexProtocol, VWaveProtocol, MEPProtocol, SICIProtocol, SilentPeriodProtocol, CMEPProtocol,
        StartleProtocol)}
