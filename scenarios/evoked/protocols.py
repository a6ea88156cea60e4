"""The evoked-response protocols: what the experimenter sets for each stimulation experiment.

One frozen :class:`~simulator.config.Config` per experiment (ranges and units in one table, as
every config of the model); the measurements that run them are in
:mod:`scenarios.evoked.responses`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from simulator.config import Config, param

__all__ = ["HReflexProtocol", "VWaveProtocol", "MEPProtocol", "SICIProtocol", "SilentPeriodProtocol",
           "CMEPProtocol", "StartleProtocol"]


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
