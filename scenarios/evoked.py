"""Evoked-response experiments on a virtual subject, measured through its simulated EMG.

Every experiment here is a :class:`~simulator.config.Config` protocol with the one signature of
:mod:`scenarios.experiments` (``run(subject, protocol, *, seed)``) and returns an
``experiment`` :class:`xarray.Dataset` of the outcomes in the units of the literature (mV, ratios
to Mmax, ms, %MVC, %). Trials are independent Brian2 runs of the same subject (its nerve
thresholds, calibration and MUAPs are fixed by the subject's seed; each repetition draws new
synaptic noise). Amplitudes are peak-to-peak of the trial-averaged bipolar EMG in windows placed
from the subject's conduction times (:mod:`simulator.evoked`), as in a lab that averages 3–10
sweeps.

=================  ==========================================================================
``h_reflex``       H and M recruitment curves (Hmax/Mmax, H latency), at rest or during a contraction
``v_wave``         supramaximal nerve stimulus during MVC: V/Msup, and voluntary activation by
                   twitch interpolation as labs measure it (Merton 1954; Gandevia 2001): stimulus
                   on the force plateau, sham trials for the estimator's bias, resting twitch
                   1.5 s after the contraction
``mep``            TMS recruitment curve: MEP/Mmax vs intensity, latency, resting motor threshold
``sici``           paired-pulse TMS: conditioned/test MEP vs inter-stimulus interval (SICI, ICF)
``silent_period``  cortical silent period during a contraction
``cmep``           direct corticospinal (cervicomedullary/lumbar) response, CMEP/Mmax
``startle``        startle (StartReact-like) reticulospinal response: amplitude, latency
=================  ==========================================================================
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from simulator import evoked, measures
from simulator.config import Config, ConfigError, param
from simulator.inputs.stimulation import Stimulus
from simulator.simulation import Calibration, SimulationConfig, calibrate, simulate, unit_table
from simulator.task import TaskConfig

__all__ = ["HReflexProtocol", "VWaveProtocol", "MEPProtocol", "SICIProtocol", "SilentPeriodProtocol",
           "CMEPProtocol", "StartleProtocol", "EVOKED", "Session", "run", "plot_experiment"]

#: Rest before a stimulus at rest, and the warm-up of a contraction before one [s].
REST_PRE_S, ACTIVE_PRE_S = 0.05, 1.0
#: Onset threshold of a response: this many SDs of the pre-stimulus EMG, and at least [mV].
ONSET_SDS, ONSET_MIN_MV = 5.0, 0.02
#: Longest protocol, in simulated seconds summed over trials (memory and time guard).
MAX_TOTAL_S = 600.0


def _tuple(lo: float, hi: float, n: int) -> tuple[float, ...]:
    return tuple(float(round(x, 3)) for x in np.linspace(lo, hi, n))


@dataclasses.dataclass(frozen=True)
class HReflexProtocol(Config):
    """H- and M-wave recruitment curve (Hugon 1973; Zehr 2002 Eur J Appl Physiol 86:455)."""

    section = "h_reflex"
    intensities_ma: tuple[float, ...] = param(_tuple(5.0, 20.0, 16), lo=0.0, hi=200.0, unit="mA")
    repeats: int = param(3, lo=1, hi=50)
    background_pct: float = param(0.0, lo=0.0, hi=100.0, unit="%MVC",
                                  doc="contraction during the stimuli (0 = rest)")
    post_s: float = param(0.08, lo=0.06, hi=1.0, unit="s", doc="recording after each stimulus")


@dataclasses.dataclass(frozen=True)
class VWaveProtocol(Config):
    """Supramaximal nerve stimulus during maximal (or any) contraction (Upton et al. 1971;
    Aagaard et al. 2002): V-wave, superimposed M-wave and twitch interpolation.

    Twitch interpolation follows the lab protocol (Gandevia 2001 Physiol Rev 81:1725; Todd et
    al. 2003 J Physiol 551:661): the stimulus comes once force has plateaued (``plateau_s``
    into the contraction); ``repeats`` sham contractions without the stimulus, measured the
    same way, give the bias of the estimator (force fluctuations alone make a positive
    "twitch"); each sham contraction is followed by rest and a stimulus ``rest_delay_s`` after
    it, the resting twitch of a muscle potentiated by the contraction.
    ``VA = (1 - (SIT - sham) / RT) x 100``.
    """

    section = "v_wave"
    intensity_ma: float = param(40.0, lo=0.0, hi=200.0, unit="mA", doc="supramaximal intensity")
    level_pct: float = param(100.0, lo=0.0, hi=100.0, unit="%MVC", doc="contraction level")
    repeats: int = param(3, lo=1, hi=50)
    post_s: float = param(0.25, lo=0.15, hi=1.0, unit="s",
                          doc="recording after the stimulus (covers the superimposed twitch)")
    plateau_s: float = param(2.0, lo=1.0, hi=10.0, unit="s", doc=(
        "contraction before the superimposed stimulus (force has plateaued)"))
    rest_delay_s: float = param(1.5, lo=0.5, hi=10.0, unit="s", doc=(
        "rest between the end of a contraction and the resting-twitch stimulus (1-2 s in "
        "Gandevia 2001)"))


@dataclasses.dataclass(frozen=True)
class MEPProtocol(Config):
    """TMS recruitment (stimulus–response) curve (Devanne et al. 1997 Exp Brain Res 114:329)."""

    section = "mep"
    intensities_pct: tuple[float, ...] = param(_tuple(30.0, 100.0, 15), lo=0.0, hi=100.0, unit="%MSO")
    repeats: int = param(3, lo=1, hi=50)
    background_pct: float = param(0.0, lo=0.0, hi=100.0, unit="%MVC")
    threshold_mv: float = param(0.05, lo=0.001, hi=5.0, unit="mV",
                                doc="MEP size defining the motor threshold (Rossini et al. 2015)")
    post_s: float = param(0.08, lo=0.06, hi=1.0, unit="s")


@dataclasses.dataclass(frozen=True)
class SICIProtocol(Config):
    """Paired-pulse TMS (Kujirai et al. 1993 J Physiol 471:501)."""

    section = "sici"
    test_pct: float = param(58.0, lo=0.0, hi=100.0, unit="%MSO")
    conditioning_pct: float = param(33.0, lo=0.0, hi=100.0, unit="%MSO",
                                    doc="sub-threshold conditioning pulse (~0.7-0.8 RMT)")
    isis_ms: tuple[float, ...] = param((1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 12.0, 15.0), lo=0.0, hi=200.0,
                                       unit="ms")
    repeats: int = param(4, lo=1, hi=50)
    background_pct: float = param(0.0, lo=0.0, hi=100.0, unit="%MVC")
    post_s: float = param(0.08, lo=0.06, hi=1.0, unit="s")


@dataclasses.dataclass(frozen=True)
class SilentPeriodProtocol(Config):
    """Cortical silent period during a contraction (Orth & Rothwell 2004)."""

    section = "silent_period"
    intensity_pct: float = param(65.0, lo=0.0, hi=100.0, unit="%MSO")
    background_pct: float = param(20.0, lo=1.0, hi=100.0, unit="%MVC")
    repeats: int = param(3, lo=1, hi=50)
    post_s: float = param(0.4, lo=0.3, hi=2.0, unit="s")
    recovery_fraction: float = param(0.5, lo=0.05, hi=1.0, doc=(
        "EMG has returned when the 10-ms mean rectified EMG reaches this fraction of its "
        "pre-stimulus level"))


@dataclasses.dataclass(frozen=True)
class CMEPProtocol(Config):
    """Direct corticospinal stimulation (Taylor 2006 J Appl Physiol 101:1222)."""

    section = "cmep"
    intensity_pct: float = param(100.0, lo=0.0, hi=100.0, unit="%max")
    background_pct: float = param(0.0, lo=0.0, hi=100.0, unit="%MVC")
    repeats: int = param(3, lo=1, hi=50)
    post_s: float = param(0.06, lo=0.04, hi=1.0, unit="s")


@dataclasses.dataclass(frozen=True)
class StartleProtocol(Config):
    """Startling acoustic stimulus (Valls-Solé et al. 1999 J Physiol 516:931)."""

    section = "startle"
    background_pct: float = param(0.0, lo=0.0, hi=100.0, unit="%MVC")
    repeats: int = param(3, lo=1, hi=50)
    post_s: float = param(0.2, lo=0.1, hi=2.0, unit="s")


# ----------------------------------------------------------------------------- trials
class Session:
    """One subject in the lab: calibration, MUAPs and conduction times, and its trials.

    Parameters
    ----------
    subject
        The virtual subject (its task is replaced by each trial's).
    simulator
        The simulation function (injectable for tests).
    """

    def __init__(self, subject: SimulationConfig, *, simulator: Callable[..., xr.Dataset] = simulate,
                 calibration: Calibration | None = None) -> None:
        self.subject = subject
        self.simulator = simulator
        self.calibration = calibration or calibrate(subject)
        self.bipolar = evoked.BipolarConfig()
        self._templates: np.ndarray | None = None
        props = unit_table(subject)
        self.proximal_s = props["proximal_delay_s"]
        self.distal_s = props["distal_delay_s"]
        self.reflex_s = props["reflex_latency_ms"] * 1e-3
        self.axon_thresholds_ma = props["nerve_threshold_ma"]
        self.mmax_mv: dict[tuple[float, int], float] = {}

    def trial(self, stimulus: Stimulus | None, *, background_pct: float, duration_s: float,
              repeat: int, relax_at_s: float | None = None) -> tuple[np.ndarray, np.ndarray, xr.Dataset]:
        """Run one trial; return EMG time [s], bipolar EMG [mV] and the activity Dataset.

        The contraction lasts the whole trial, or until ``relax_at_s`` [s] followed by rest.
        """
        level = 100.0 * float(self.calibration.excitation_for(background_pct / 100.0)) if background_pct else 0.0
        hold = duration_s if relax_at_s is None else relax_at_s
        task = TaskConfig(shape="constant", control="excitation", level=min(level, 100.0), rest_s=0.0,
                          plateau_s=hold, rest_after_s=duration_s - hold)
        ds = self.simulator(self.subject.replace(task=task), stimulus=stimulus, trial=repeat,
                            calibration=self.calibration)
        if self._templates is None:
            self._templates = evoked.bipolar_templates(ds, self.bipolar, seed=self.subject.seed)
        t, emg = evoked.evoked_emg(ds, self._templates, self.bipolar.fs_hz)
        return t, emg, ds

    def m_window(self, stim_s: float) -> tuple[float, float]:
        """Window of the M-wave [s]."""
        return stim_s + self.distal_s.min() - 1e-3, stim_s + self.distal_s.max() + 12e-3

    def reflex_window(self, stim_s: float) -> tuple[float, float]:
        """Window of the H- and V-waves [s]."""
        return stim_s + self.reflex_s.min() - 2e-3, stim_s + self.reflex_s.max() + 15e-3

    def descending_window(self, stim_s: float, travel_s: float) -> tuple[float, float]:
        """Window of a response to a descending volley that reaches the pool ``travel_s`` after
        the stimulus (MEP, CMEP, startle)."""
        efferent = self.proximal_s + self.distal_s
        return stim_s + travel_s + efferent.min() - 1e-3, stim_s + travel_s + efferent.max() + 20e-3


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
    for stimulus in stimuli:
        traces, dss = [], []
        for r in range(repeats):
            t, emg, ds = session.trial(stimulus, background_pct=background_pct, duration_s=duration_s,
                                       repeat=r)
            traces.append(emg)
            dss.append(ds)
        means.append(np.mean(traces, axis=0))
        runs.append(dss)
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


# ----------------------------------------------------------------------------- experiments
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
    # sham contractions (no stimulus at ``pre``), then rest and the potentiated resting twitch
    shams = [session.trial(Stimulus(nerve_time_s=rest_s, nerve_ma=p.intensity_ma),
                           background_pct=p.level_pct, duration_s=sham_duration, repeat=p.repeats + r,
                           relax_at_s=pre + p.post_s)[2] for r in range(p.repeats)]
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


def _silent_period(session: Session, p: SilentPeriodProtocol) -> xr.Dataset:
    pre = ACTIVE_PRE_S
    duration = pre + p.post_s
    _check_budget("silent_period", p.repeats, duration)
    stim = Stimulus(tms=((pre, p.intensity_pct),))
    rect = []
    t = np.zeros(0)
    for r in range(p.repeats):
        t, emg, _ = session.trial(stim, background_pct=p.background_pct, duration_s=duration, repeat=r)
        rect.append(np.abs(emg))
    mean_rect = np.mean(rect, axis=0)
    window = session.descending_window(pre, _tms_travel(session.subject))
    fs = session.bipolar.fs_hz
    smooth = np.convolve(mean_rect, np.ones(int(0.01 * fs)) / int(0.01 * fs), mode="same")
    baseline = float(mean_rect[(t >= pre - 0.3) & (t < pre)].mean())
    onset = _onset(t, mean_rect, pre, window)
    onset_s = pre + (onset if np.isfinite(onset) else window[0] - pre)
    after = np.flatnonzero((t >= window[1]) & (smooth >= p.recovery_fraction * baseline))
    end = float(t[after[0]]) if after.size else float("nan")
    ds = xr.Dataset({
        "silent_period": ((), 1e3 * (end - onset_s), {"units": "ms", "long_name": "MEP onset to EMG return"}),
        "mep_onset": ((), 1e3 * (onset_s - pre), {"units": "ms"}),
        "baseline_emg": ((), baseline, {"units": "mV", "long_name": "pre-stimulus mean rectified EMG"}),
    })
    sel = (t >= pre - 0.1) & (t < pre + p.post_s)
    ds["rectified"] = ("lag", smooth[sel], {"units": "mV", "long_name": "mean rectified EMG (10 ms)"})
    ds.coords["lag"] = ("lag", (t[sel] - pre) * 1e3, {"units": "ms"})
    return ds


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
EVOKED: dict[str, tuple[type[Config], Callable[[Session, Config], xr.Dataset]]] = {
    "h_reflex": (HReflexProtocol, _h_reflex),
    "v_wave": (VWaveProtocol, _v_wave),
    "mep": (MEPProtocol, _mep_curve),
    "sici": (SICIProtocol, _sici),
    "silent_period": (SilentPeriodProtocol, _silent_period),
    "cmep": (CMEPProtocol, _cmep),
    "startle": (StartleProtocol, _startle),
}


def run(subject: SimulationConfig, protocol: Config, *, seed: int | None = None,
        simulator: Callable[..., xr.Dataset] = simulate, session: Session | None = None) -> xr.Dataset:
    """Run one evoked-response protocol on a subject.

    Parameters
    ----------
    subject
        The virtual subject.
    protocol
        One of the protocols of :data:`EVOKED`.
    seed
        Subject seed (default: the subject's).
    simulator
        Simulation function (injectable for tests).
    session
        Reuse a :class:`Session` (calibration and MUAP templates) of the same subject.

    Returns
    -------
    xarray.Dataset
        ``kind = "experiment"``; outcomes as documented per protocol; ``attrs`` carry the
        protocol, subject and seed.
    """
    name = next((k for k, (cls, _) in EVOKED.items() if type(protocol) is cls), None)
    if name is None:
        raise ConfigError(f"protocol {protocol!r} is not one of {', '.join(EVOKED)}")
    if seed is not None:
        subject = subject.replace(seed=seed)
    if session is None or session.subject != subject:
        session = Session(subject, simulator=simulator)
    ds = EVOKED[name][1](session, protocol)
    ds.attrs = {"kind": "experiment", "experiment": name, "protocol": protocol.to_dict(),
                "subject": subject.to_dict(), "seed": subject.seed}
    return ds



# ----------------------------------------------------------------------------- figures
def plot_experiment(ds: xr.Dataset):  # noqa: ANN201 - matplotlib Figure
    """Standard figure of an evoked-response experiment.

    Recruitment curves (H and M, or MEP) against intensity, the conditioned/test ratio against
    ISI for SICI, the rectified EMG with the silent period marked, and the trial-averaged EMG
    traces with the stimulus-artefact window (0–2 ms) shaded.
    """
    import matplotlib.pyplot as plt
    name = ds.attrs.get("experiment", "")
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
    if name == "h_reflex":
        ax0.plot(ds.intensity, ds.m_wave, "o-", label="M-wave")
        ax0.plot(ds.intensity, ds.h_reflex, "s-", label="H-reflex")
        ax0.set(xlabel="stimulus intensity (mA)", ylabel="peak-to-peak (mV)",
                title=f"Hmax/Mmax {float(ds.hmax_mmax):.2f}, H latency {float(ds.h_latency):.1f} ms")
        ax0.legend(frameon=False)
    elif name == "mep":
        ax0.plot(ds.intensity, ds.mep_mmax, "o-")
        ax0.set(xlabel="TMS intensity (%MSO)", ylabel="MEP / Mmax",
                title=f"motor threshold {float(ds.motor_threshold):.0f} %MSO, latency {float(ds.mep_latency):.1f} ms")
    elif name == "sici":
        ax0.axhline(1.0, color="0.6", lw=0.8)
        ax0.plot(ds.isi, ds.ratio, "o-")
        ax0.set(xlabel="inter-stimulus interval (ms)", ylabel="conditioned / test MEP",
                title=f"SICI {float(ds.sici):.2f}, ICF {float(ds.icf):.2f}")
    elif name == "silent_period":
        ax0.plot(ds.lag, ds.rectified, color="k", lw=0.8)
        onset = float(ds.mep_onset)
        ax0.axvspan(onset, onset + float(ds.silent_period), color="tab:red", alpha=0.15,
                    label=f"silent period {float(ds.silent_period):.0f} ms")
        ax0.set(xlabel="time from TMS (ms)", ylabel="rectified EMG (mV)")
        ax0.legend(frameon=False)
    else:
        scalars = [f"{v}: {float(ds[v]):.3g} {ds[v].attrs.get('units', '')}" for v in ds.data_vars
                   if ds[v].ndim == 0]
        ax0.axis("off")
        ax0.text(0.0, 1.0, "\n".join(scalars), va="top", family="monospace", fontsize=9)
    if "trace" in ds:
        rows = ds["trace"].values
        dim = ds["trace"].dims[0]
        labels = ds[dim].values
        unit = ds[dim].attrs.get("units", "%MVC" if dim == "condition" else "")
        pick = np.unique(np.linspace(0, rows.shape[0] - 1, min(5, rows.shape[0])).astype(int))
        offset = 1.2 * float(np.abs(rows).max() or 1.0)
        for j, k in enumerate(pick):
            ax1.plot(ds.lag, rows[k] - j * offset, lw=0.8, label=f"{labels[k]:g} {unit}".strip())
        if "test_trace" in ds:
            ax1.plot(ds.lag, ds.test_trace + offset, color="k", lw=0.8, label="test")
        ax1.axvspan(0.0, 2.0, color="0.85", label="artefact")
        ax1.set(xlabel="time from stimulus (ms)", ylabel="bipolar EMG (mV, offset)", yticks=[])
        ax1.legend(frameon=False, fontsize=7, loc="upper right")
    else:
        ax1.remove()
        fig.set_size_inches(6, 3.8)
    fig.suptitle(f"mnpool experiment {name}")
    fig.tight_layout()
    return fig
