"""Evoked-response experiments on a virtual subject, measured through its simulated EMG.

Every experiment here is a :class:`~simulator.config.Config` protocol with the one signature of
:mod:`scenarios.registry` (``run(subject, protocol, *, seed, session=None)``) and returns an
``experiment`` :class:`xarray.Dataset` of the outcomes in the units of the literature (mV, ratios
to Mmax, ms, %MVC, %). Trials are independent trials of the same subject (its nerve
thresholds, calibration and MUAPs are fixed by the subject's seed; each repetition draws new
synaptic noise); all trials of a protocol share one network run whose state is reset between
trial segments (:mod:`simulator.trials`). Amplitudes are peak-to-peak of the trial-averaged bipolar EMG in windows placed
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

Modules: :mod:`~scenarios.evoked.protocols` (what the experimenter sets),
:mod:`~scenarios.evoked.trials` (averaging, windows, onsets), :mod:`~scenarios.evoked.responses`
(one measurement per protocol) and :mod:`~scenarios.evoked.figures`; the subject in the lab is a
:class:`scenarios.session.Session`.
"""

from __future__ import annotations

from scenarios.evoked.figures import plot_experiment
from scenarios.evoked.protocols import (CMEPProtocol, HReflexProtocol, MEPProtocol, SICIProtocol,
                                        SilentPeriodProtocol, StartleProtocol, VWaveProtocol)
from scenarios.evoked.responses import EVOKED
from scenarios.evoked.trials import ACTIVE_PRE_S, MAX_TOTAL_S, ONSET_MIN_MV, ONSET_SDS, REST_PRE_S
from scenarios.evoked.trials import _check_budget  # noqa: F401 - the budget guard, tested through here
from scenarios.registry import run
from scenarios.session import Session

__all__ = ["HReflexProtocol", "VWaveProtocol", "MEPProtocol", "SICIProtocol", "SilentPeriodProtocol",
           "CMEPProtocol", "StartleProtocol", "EVOKED", "Session", "run", "plot_experiment",
           "REST_PRE_S", "ACTIVE_PRE_S", "ONSET_SDS", "ONSET_MIN_MV", "MAX_TOTAL_S"]
