"""Stimulation of the virtual subject: peripheral nerve, transcranial magnetic, direct
corticospinal and startle stimuli, turned into the volleys that reach the motoneuron pool.

Everything here is computed before the Brian2 run and handed to the network as time courses at
the integration step (:data:`simulator.network.STIM_ARRAYS`) or as per-unit constants:

**Peripheral nerve** (:class:`NerveConfig`). Every motor axon and every Ia afferent has a
threshold current at the pulse width ``w`` from the strength–duration (Weiss/Lapicque) relation
``I_th = I_rh (1 + τ_SD / w)``. Sensory axons have a lower rheobase and a longer strength–duration
time constant than motor axons (Mogyoros et al. 1996 Brain 119:439; Panizza et al. 1989
Electroencephalogr Clin Neurophysiol 72:356), so long (1 ms) pulses favour the Ia fibres and
the H-reflex appears before the M-wave (Hugon 1973). Motor-axon rheobases are log-normal and
weakly lower in large axons. A stimulus of intensity ``I`` excites the fibres with
``I_th <= I``. Ia fibres conduct to the cord with a spread of velocities, so the monosynaptic
volley arrives dispersed; its time course (in units of the Ia reference rate, like the tonic Ia
activity) drives the monosynaptic synapses and the excitatory interneurons (oligosynaptic path).
Excited motor axons carry an orthodromic spike to the muscle (the M-wave) and an antidromic spike
to the soma, which collides with any orthodromic spike in the same axon (the basis of the H-reflex
decline at high intensity and of the V-wave, Upton et al. 1971; Aagaard et al. 2002); the
collision logic runs inside Brian2 (:data:`simulator.network.NERVE_RESET`).

**Transcranial magnetic stimulation** (:class:`CortexConfig`). A phenomenological cortical
circuit in the sense of Di Lazzaro & Rothwell (2014 J Physiol 592:4115): each pulse recruits
indirect (I1–I3, 1.5 ms apart) waves through a sigmoid of intensity with a lower threshold than
the direct (D) wave; I-waves pass the intracortical gate of :func:`simulator.inputs.corticospinal.cortical_gain`.
A preceding pulse acts on later ones through two interneuron populations with lower thresholds
than the output cells: GABA-A inhibition that peaks 2–3 ms after it and fades by ~7 ms (SICI),
suppressing late I-waves more than I1 (Kujirai et al. 1993 J Physiol 471:501; Hanajima et al.
1998 J Physiol 509:607), and a glutamatergic facilitation at 10–15 ms (ICF). Each pulse also
starts a GABA-B inhibition of cortical output lasting ~100–200 ms, which with the spinal
after-effects makes the cortical silent period (Inghilleri et al. 1993 J Physiol 466:521;
Orth & Rothwell 2004 Clin Neurophysiol 115:1076).

**Direct corticospinal stimulation** (cervicomedullary or thoracic/lumbar): one synchronous
descending volley that bypasses the cortex (Taylor 2006 J Appl Physiol 101:1222), so it is
independent of intracortical inhibition and probes the corticospinal–motoneuronal synapse.

**Startle**: a loud acoustic stimulus evokes a reticulospinal burst (StartReact; Valls-Solé et al.
1999 J Physiol 516:931; Carlsen et al. 2004) that reaches the pool through the reticulospinal
synapses only.

Conduction times come from path lengths and velocities (soleus-like defaults: popliteal fossa to
spinal cord 0.65 m, to soleus 0.15 m, motor cortex to lumbar enlargement 0.75 m), giving a soleus
H-reflex at ~28–31 ms and a MEP at ~30–33 ms.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..config import Config, ConfigError, param, short_repr

__all__ = ["NerveConfig", "CortexConfig", "Stimulus", "epsc_kernel", "axon_thresholds_ma",
           "ia_thresholds_ma", "ia_volley", "tms_volley", "direct_cst_volley", "startle_volley",
           "sigmoid", "I_WAVE_INTERVAL_MS"]

#: Interval between successive I-waves (Di Lazzaro & Rothwell 2014).
I_WAVE_INTERVAL_MS = 1.5


@dataclasses.dataclass(frozen=True)
class NerveConfig(Config):
    """Peripheral nerve: fibre excitability, geometry and the synaptic effect of the Ia volley."""

    section = "nerve"

    pulse_width_ms: float = param(1.0, lo=0.05, hi=2.0, unit="ms", doc="stimulus pulse width")
    motor_rheobase_ma: float = param(8.0, lo=0.5, hi=100.0, unit="mA",
                                     doc="median rheobase of motor axons")
    motor_chronaxie_ms: float = param(0.4, lo=0.05, hi=3.0, unit="ms",
                                      doc="strength-duration time constant of motor axons (Mogyoros 1996)")
    motor_threshold_cv: float = param(0.2, lo=0.0, hi=1.0,
                                      doc="log-normal spread (SD of log) of motor axon rheobases")
    size_threshold_ratio: float = param(0.8, lo=0.2, hi=2.0, doc=(
        "rheobase of the largest axon relative to the smallest (< 1: large axons excited first)"))
    ia_rheobase_ratio: float = param(0.5, lo=0.1, hi=2.0,
                                     doc="Ia rheobase relative to the motor median (sensory axons lower)")
    ia_chronaxie_ms: float = param(0.65, lo=0.05, hi=3.0, unit="ms",
                                   doc="strength-duration time constant of Ia axons (longer than motor)")
    ia_threshold_cv: float = param(0.2, lo=0.0, hi=1.0, doc="log-normal spread of Ia rheobases")
    n_ia_fibres: int = param(200, lo=10, hi=5000, doc="Ia afferents in the stimulated nerve")
    ia_cv_sd_m_s: float = param(4.0, lo=0.0, hi=30.0, unit="m/s",
                                doc="spread of Ia conduction velocities (disperses the volley)")
    volley_gain: float = param(50.0, lo=0.0, hi=500.0, doc=(
        "peak Ia activity of a maximal synchronous volley, in units of the Ia reference rate "
        "(sets the H-reflex size; acts through the monosynaptic and oligosynaptic Ia synapses)"))
    epsc_tau_ms: float = param(0.8, lo=0.1, hi=10.0, unit="ms",
                               doc="time constant of the alpha-shaped volley EPSC")
    to_muscle_m: float = param(0.15, lo=0.01, hi=1.5, unit="m",
                               doc="motor nerve length from the stimulation site to the muscle")
    distal_cv_ratio: float = param(0.85, lo=0.3, hi=1.0,
                                   doc="distal motor conduction velocity relative to the proximal nerve")
    neuromuscular_delay_ms: float = param(0.8, lo=0.0, hi=5.0, unit="ms",
                                          doc="neuromuscular transmission delay")
    axon_refractory_ms: float = param(1.0, lo=0.2, hi=5.0, unit="ms",
                                      doc="absolute refractory period of a motor axon")

    def validate(self) -> None:
        if self.ia_rheobase_ratio * (1 + self.ia_chronaxie_ms / self.pulse_width_ms) <= 0:
            raise ConfigError("nerve: Ia thresholds must be positive")  # pragma: no cover


@dataclasses.dataclass(frozen=True)
class CortexConfig(Config):
    """Motor cortex as seen by TMS: I- and D-wave recruitment, SICI, ICF and GABA-B inhibition.

    Intensities are in % of maximal stimulator output (%MSO).
    """

    section = "cortex"

    i_wave_threshold_pct: float = param(55.0, lo=5.0, hi=100.0, unit="%MSO",
                                        doc="intensity recruiting half of the I-wave generating circuit")
    d_wave_threshold_pct: float = param(75.0, lo=5.0, hi=150.0, unit="%MSO",
                                        doc="intensity recruiting half of the direct (D) wave")
    recruitment_slope_pct: float = param(6.0, lo=0.5, hi=50.0, unit="%MSO",
                                         doc="slope of the sigmoid recruitment of waves")
    i_wave_amplitudes: tuple[float, ...] = param((1.0, 0.8, 0.6), doc=(
        "relative sizes of I1, I2, I3... (late I-waves smaller at threshold, Di Lazzaro 1998)"))
    volley_gain: float = param(1.5, lo=0.0, hi=100.0, doc=(
        "peak descending excitation of a maximal wave in units of maximal voluntary excitation"))
    epsc_tau_ms: float = param(0.5, lo=0.1, hi=10.0, unit="ms",
                               doc="time constant of the corticomotoneuronal EPSC of one wave")
    cortical_delay_ms: float = param(1.0, lo=0.0, hi=5.0, unit="ms",
                                     doc="delay from the pulse to the D-wave leaving the cortex")
    tract_length_m: float = param(0.75, lo=0.05, hi=1.5, unit="m",
                                  doc="corticospinal tract length from cortex to the pool's segments")
    tract_cv_m_s: float = param(65.0, lo=10.0, hi=120.0, unit="m/s",
                                doc="conduction velocity of fast corticospinal axons")
    interneuron_threshold_pct: float = param(26.0, lo=5.0, hi=100.0, unit="%MSO", doc=(
        "half-activation of the SICI/ICF interneurons (lower than the output cells, so a "
        "sub-threshold conditioning pulse acts on them)"))
    sici_strength: float = param(1.0, lo=0.0, hi=1.0, doc=(
        "maximal fractional suppression of late I-waves by GABA-A interneurons (at default "
        "intracortical inhibition; scales with corticospinal.intracortical_inhibition)"))
    sici_i1_fraction: float = param(0.5, lo=0.0, hi=1.0,
                                    doc="how much of the SICI acts on I1 (late I-waves: 1)")
    sici_peak_ms: float = param(2.5, lo=0.5, hi=10.0, unit="ms", doc="ISI of maximal SICI")
    sici_decay_ms: float = param(2.0, lo=0.2, hi=20.0, unit="ms",
                                 doc="decay of GABA-A inhibition after its peak")
    icf_strength: float = param(0.4, lo=0.0, hi=3.0,
                                doc="maximal fractional facilitation of I-waves (ICF)")
    icf_peak_ms: float = param(12.0, lo=5.0, hi=30.0, unit="ms", doc="ISI of maximal ICF")
    icf_width_ms: float = param(4.0, lo=0.5, hi=20.0, unit="ms", doc="SD of the ICF time course")
    gaba_b_strength: float = param(3.0, lo=0.0, hi=20.0, doc=(
        "peak GABA-B suppression of cortical output per supra-threshold pulse (silent period; "
        "> 1 silences the output fully for a while)"))
    gaba_b_rise_ms: float = param(15.0, lo=1.0, hi=100.0, unit="ms")
    gaba_b_decay_ms: float = param(100.0, lo=5.0, hi=500.0, unit="ms")
    direct_volley_gain: float = param(2.2, lo=0.0, hi=100.0, doc=(
        "peak excitation of a maximal direct corticospinal (cervicomedullary/lumbar) volley"))
    direct_threshold_pct: float = param(50.0, lo=1.0, hi=100.0, unit="%max",
                                        doc="half-activation of the directly stimulated tract")
    direct_site_to_pool_m: float = param(0.1, lo=0.0, hi=1.0, unit="m",
                                         doc="tract length from the direct stimulation site to the pool")
    startle_latency_ms: float = param(45.0, lo=5.0, hi=200.0, unit="ms",
                                      doc="sound to arrival of the reticulospinal volley at the pool")
    startle_duration_ms: float = param(20.0, lo=1.0, hi=200.0, unit="ms", doc="SD-like length of the burst")
    startle_gain: float = param(1.5, lo=0.0, hi=100.0, doc=(
        "peak reticulospinal excitation of a startle (units of maximal voluntary excitation)"))

    def validate(self) -> None:
        if not self.i_wave_amplitudes or any(a < 0 for a in self.i_wave_amplitudes):
            raise ConfigError(f"cortex.i_wave_amplitudes = {short_repr(self.i_wave_amplitudes)} must be a "
                              "non-empty list of values >= 0")


@dataclasses.dataclass(frozen=True)
class Stimulus:
    """The stimuli of one trial (times in s from the start of the trial).

    Parameters
    ----------
    nerve_time_s, nerve_ma
        One peripheral nerve pulse (``None``: none) and its intensity [mA].
    tms
        TMS pulses as ``((time_s, intensity_pct_mso), ...)``; paired pulses for SICI/ICF.
    direct_time_s, direct_pct
        One direct corticospinal (cervicomedullary/lumbar) stimulus and its intensity
        [% of the maximal direct volley].
    startle_time_s
        Time of a startling acoustic stimulus.
    """

    nerve_time_s: float | None = None
    nerve_ma: float = 0.0
    tms: tuple[tuple[float, float], ...] = ()
    direct_time_s: float | None = None
    direct_pct: float = 100.0
    startle_time_s: float | None = None

    def check(self, duration_s: float, dt_s: float) -> None:
        """Raise :class:`ConfigError` naming the offending stimulus parameter."""
        times = {"nerve_time_s": self.nerve_time_s, "direct_time_s": self.direct_time_s,
                 "startle_time_s": self.startle_time_s}
        times.update({f"tms[{k}].time_s": t for k, (t, _) in enumerate(self.tms)})
        for name, t in times.items():
            if t is not None and not (0.0 <= t < duration_s):
                raise ConfigError(f"stimulus {name} = {t:g} s is outside the trial [0, {duration_s:g}) s")
        if not (0.0 <= self.nerve_ma <= 200.0):
            raise ConfigError(f"stimulus nerve_ma = {self.nerve_ma:g} is outside [0, 200] mA")
        if not (0.0 <= self.direct_pct <= 100.0):
            raise ConfigError(f"stimulus direct_pct = {self.direct_pct:g} is outside [0, 100] %")
        for k, (_, pct) in enumerate(self.tms):
            if not (0.0 <= pct <= 100.0):
                raise ConfigError(f"stimulus tms[{k}].intensity = {pct:g} is outside [0, 100] %MSO")
        times_tms = sorted(t for t, _ in self.tms)
        for a, b in zip(times_tms, times_tms[1:]):
            if b - a < dt_s:
                raise ConfigError(f"TMS inter-stimulus interval {1e3 * (b - a):g} ms is shorter than "
                                  f"the time step {1e3 * dt_s:g} ms")


def sigmoid(x: np.ndarray | float, half: float, slope: float) -> np.ndarray:
    """Logistic recruitment ``1 / (1 + exp(-(x - half)/slope))``."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(x, dtype=float) - half) / slope))


def epsc_kernel(t_s: np.ndarray, tau_s: float) -> np.ndarray:
    """Alpha-function EPSC ``(t/τ) e^{1 - t/τ}`` (peak 1 at ``t = τ``; 0 for ``t < 0``)."""
    x = np.clip(np.asarray(t_s, dtype=float) / tau_s, 0.0, None)
    return x * np.exp(1.0 - x)


def _strength_duration(rheobase: np.ndarray, chronaxie_ms: float, width_ms: float) -> np.ndarray:
    return rheobase * (1.0 + chronaxie_ms / width_ms)


def axon_thresholds_ma(size_index: np.ndarray, cfg: NerveConfig, rng: np.random.Generator) -> np.ndarray:
    """Threshold current of every motor axon at the configured pulse width [mA].

    Parameters
    ----------
    size_index
        Unit size from 0 (smallest) to 1 (largest) (:func:`simulator.models.pool.unit_properties`).
    cfg
        Nerve configuration.
    rng
        Seeded generator (the subject's own draw).
    """
    size = np.asarray(size_index, dtype=float)
    rheobase = (cfg.motor_rheobase_ma * cfg.size_threshold_ratio ** (size - 0.5)
                * np.exp(cfg.motor_threshold_cv * rng.standard_normal(size.size)))
    return _strength_duration(rheobase, cfg.motor_chronaxie_ms, cfg.pulse_width_ms)


def ia_thresholds_ma(cfg: NerveConfig, rng: np.random.Generator) -> np.ndarray:
    """Threshold current of every Ia afferent at the configured pulse width [mA]."""
    rheobase = (cfg.motor_rheobase_ma * cfg.ia_rheobase_ratio
                * np.exp(cfg.ia_threshold_cv * rng.standard_normal(cfg.n_ia_fibres)))
    return _strength_duration(rheobase, cfg.ia_chronaxie_ms, cfg.pulse_width_ms)


def ia_volley(t_s: np.ndarray, stim_time_s: float, intensity_ma: float, thresholds_ma: np.ndarray,
              cfg: NerveConfig, *, path_m: float, cv_m_s: float, central_delay_s: float,
              rng: np.random.Generator) -> np.ndarray:
    """Ia activity at the pool produced by one nerve pulse (units of the Ia reference rate).

    Each excited afferent contributes an alpha EPSC at ``stim + path/cv_j + central delay`` with
    ``cv_j ~ N(cv, ia_cv_sd)``; the sum is scaled so that a maximal volley of perfectly
    synchronous fibres would peak at ``cfg.volley_gain``.
    """
    excited = np.asarray(thresholds_ma) <= intensity_ma
    out = np.zeros_like(np.asarray(t_s, dtype=float))
    if not excited.any():
        return out
    cv = np.clip(cv_m_s + cfg.ia_cv_sd_m_s * rng.standard_normal(excited.size), 5.0, None)[excited]
    arrival = stim_time_s + path_m / cv + central_delay_s
    tau = cfg.epsc_tau_ms * 1e-3
    for a in arrival:
        out += epsc_kernel(t_s - a, tau)
    return cfg.volley_gain * out / thresholds_ma.size


def _pulse_times(tms: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return sorted((float(t), float(p)) for t, p in tms)


def tms_volley(t_s: np.ndarray, tms: Sequence[tuple[float, float]], cfg: CortexConfig,
               cortical_gain: float, ici_level: float) -> tuple[np.ndarray, np.ndarray]:
    """Descending corticospinal volley and GABA-B suppression produced by TMS pulses.

    Parameters
    ----------
    t_s
        Sample times [s].
    tms
        ``((time_s, intensity_pct_mso), ...)``.
    cfg
        Cortex configuration.
    cortical_gain
        Intracortical gate of corticospinal output (:func:`simulator.inputs.corticospinal.cortical_gain`),
        applied to I-waves (trans-synaptic) but not to the D-wave.
    ici_level
        Level of intracortical GABA-A inhibition (1 = default); scales SICI.

    Returns
    -------
    volley, inhibition : ndarray
        Descending excitation at the pool (units of maximal voluntary excitation) and the
        fractional suppression of cortical output by GABA-B inhibition (>= 0; the network
        gates cortical output by ``clip(1 - inhibition, 0, 1)``).
    """
    t_s = np.asarray(t_s, dtype=float)
    volley = np.zeros_like(t_s)
    inhibition = np.zeros_like(t_s)
    pulses = _pulse_times(tms)
    tau = cfg.epsc_tau_ms * 1e-3
    travel = cfg.cortical_delay_ms * 1e-3 + cfg.tract_length_m / cfg.tract_cv_m_s
    for k, (t0, pct) in enumerate(pulses):
        a_i = sigmoid(pct, cfg.i_wave_threshold_pct, cfg.recruitment_slope_pct)
        a_d = sigmoid(pct, cfg.d_wave_threshold_pct, cfg.recruitment_slope_pct)
        sici = icf = 0.0
        for t_c, pct_c in pulses[:k]:
            isi_ms = (t0 - t_c) * 1e3
            drive = sigmoid(pct_c, cfg.interneuron_threshold_pct, cfg.recruitment_slope_pct)
            sici += drive * _gaba_a_course(isi_ms, cfg)
            icf += drive * cfg.icf_strength * np.exp(-0.5 * ((isi_ms - cfg.icf_peak_ms) / cfg.icf_width_ms) ** 2)
        sici = min(sici * cfg.sici_strength * ici_level, 1.0)
        arrive = t0 + travel
        volley += cfg.volley_gain * a_d * epsc_kernel(t_s - arrive, tau)
        for j, amp in enumerate(cfg.i_wave_amplitudes):
            suppression = sici * (cfg.sici_i1_fraction if j == 0 else 1.0)
            gain = amp * cortical_gain * (1.0 + icf) * (1.0 - suppression)
            t_wave = arrive + (j + 1) * I_WAVE_INTERVAL_MS * 1e-3
            volley += cfg.volley_gain * a_i * gain * epsc_kernel(t_s - t_wave, tau)
        # GABA-B: difference of exponentials normalised to a peak of 1, starting at the pulse
        # (cortical inhibition acts on the cortical output, before the tract delay)
        inhibition += cfg.gaba_b_strength * a_i * _rise_decay(t_s - t0 - travel, cfg.gaba_b_rise_ms * 1e-3,
                                                              cfg.gaba_b_decay_ms * 1e-3)
    return volley, inhibition


def _gaba_a_course(isi_ms: float, cfg: CortexConfig) -> float:
    """GABA-A inhibition seen by a test pulse ``isi_ms`` after a conditioning pulse (peak 1)."""
    if isi_ms <= 0:
        return 0.0
    if isi_ms <= cfg.sici_peak_ms:
        return float(isi_ms / cfg.sici_peak_ms)
    return float(np.exp(-(isi_ms - cfg.sici_peak_ms) / cfg.sici_decay_ms))


def _rise_decay(t_s: np.ndarray, rise_s: float, decay_s: float) -> np.ndarray:
    t = np.clip(t_s, 0.0, None)
    if abs(decay_s - rise_s) < 1e-9:
        decay_s = rise_s * 1.001
    y = np.exp(-t / decay_s) - np.exp(-t / rise_s)
    t_peak = np.log(decay_s / rise_s) * rise_s * decay_s / (decay_s - rise_s)
    peak = np.exp(-t_peak / decay_s) - np.exp(-t_peak / rise_s)
    return np.where(t_s > 0, y / peak, 0.0)


def direct_cst_volley(t_s: np.ndarray, time_s: float, pct: float, cfg: CortexConfig) -> np.ndarray:
    """Descending volley of a direct corticospinal (cervicomedullary/lumbar) stimulus."""
    arrive = time_s + cfg.direct_site_to_pool_m / cfg.tract_cv_m_s
    # normalised so that 100 % gives the full volley: sigmoid scaled to 1 at 100 %
    a = sigmoid(pct, cfg.direct_threshold_pct, cfg.recruitment_slope_pct) / sigmoid(
        100.0, cfg.direct_threshold_pct, cfg.recruitment_slope_pct)
    return cfg.direct_volley_gain * a * epsc_kernel(np.asarray(t_s) - arrive, cfg.epsc_tau_ms * 1e-3)


def startle_volley(t_s: np.ndarray, time_s: float, cfg: CortexConfig) -> np.ndarray:
    """Reticulospinal excitation of a startle: a Gaussian burst after ``startle_latency_ms``."""
    centre = time_s + cfg.startle_latency_ms * 1e-3 + cfg.startle_duration_ms * 1e-3
    width = cfg.startle_duration_ms * 1e-3 / 2
    t = np.asarray(t_s, dtype=float)
    return cfg.startle_gain * np.exp(-0.5 * ((t - centre) / width) ** 2) * (t >= time_s)
