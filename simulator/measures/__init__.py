"""Motor-unit and muscle measurements, computed the same way from true or decomposed spike trains.

Every function takes spike times per unit (a ``dict`` of arrays, as returned by
:func:`spike_trains`) and, where needed, the force trace, so the same code serves the
simulator's ground truth and any decomposition's output (openhdemg conventions).

* thresholds, rates at recruitment and derecruitment, discharge rate, ISI coefficient of
  variation and delta-F as openhdemg 0.1.2 defines them (:mod:`.openhdemg`; Valli et al. 2024),
  mnpool's former main-train definitions selectable with ``method="main_train"``
  (:data:`DEFINITIONS`); peak rate and rate–force gain;
* delta-F by the paired motor-unit technique (Gorassini et al. 2002 J Neurophysiol 87:1850)
  with SVR-smoothed rates (Beauchamp et al. 2022 J Neural Eng 19:036018; :mod:`.svr`);
* brace height, acceleration and attenuation slopes of a unit's rate-time trace (quasi-geometric
  PIC measures of Beauchamp et al. 2023 J Neural Eng 20:016034);
* motor-unit muscle-fibre conduction velocity from multichannel MUAP templates (multichannel
  maximum-likelihood delay, Farina, Muhammad, Fattorini, Merletti & Pozzo 2001 IEEE Trans
  Biomed Eng 48:322; McGill & Dorfman 1984 IEEE Trans Biomed Eng 31:462);
* corticomuscular coherence with optional additive "EEG" noise, and its beta-band peak
  (Conway et al. 1995 J Physiol 489:917; confidence limit of Rosenberg et al. 1989 Prog
  Biophys Mol Biol 53:1);
* voluntary activation by twitch interpolation (Merton 1954 J Physiol 123:553; Gandevia 2001
  Physiol Rev 81:1725).

One module per kind of measure: :mod:`.trains`, :mod:`.rates`, :mod:`.pic`, :mod:`.coherence`,
:mod:`.conduction`, :mod:`.twitch`; openhdemg's definitions in :mod:`.openhdemg` and the
support-vector regression they smooth with in :mod:`.svr`.
"""

from __future__ import annotations

from .coherence import (beta_band_peak, coherence_confidence_limit, corticomuscular_coherence,
                        pooled_coherence)
from .conduction import conduction_velocity, conduction_velocity_from_recording
from .pic import BraceHeight, brace_height, delta_f
from .rates import (DEFINITIONS, discharge_rate, isi_cov, peak_rate, rate_at_derecruitment,
                    rate_at_recruitment, rate_force_gain, thresholds, unit_summary)
from .trains import SpikeTrains, cumulative_spike_train, main_train, smoothed_rate, spike_trains
from .twitch import voluntary_activation

__all__ = ["SpikeTrains", "spike_trains", "main_train", "smoothed_rate", "cumulative_spike_train",
           "DEFINITIONS", "thresholds", "rate_at_recruitment", "rate_at_derecruitment",
           "discharge_rate", "peak_rate", "isi_cov", "unit_summary",
           "rate_force_gain", "delta_f", "BraceHeight", "brace_height", "pooled_coherence",
           "corticomuscular_coherence", "coherence_confidence_limit", "beta_band_peak",
           "conduction_velocity", "conduction_velocity_from_recording", "voluntary_activation"]
