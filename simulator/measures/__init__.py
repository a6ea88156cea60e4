"""Motor-unit and muscle measurements, computed the same way from true or decomposed spike trains.

Every function takes spike times per unit (a ``dict`` of arrays, as returned by
:func:`spike_trains`) and, where needed, the force trace, so the same code serves the
simulator's ground truth and any decomposition's output (openhdemg conventions).

* thresholds: recruitment / derecruitment threshold = force at the first / last discharge of a
  unit's longest continuous train (ISIs < ``max_isi_s``);
* rates: discharge rate at recruitment (mean of the first ``n_first`` instantaneous rates), peak
  and mean plateau rate, ISI coefficient of variation;
* delta-F by the paired motor-unit technique (Gorassini et al. 2002 J Neurophysiol 87:1850;
  criteria of Hassan et al. 2020 and Afsharipour et al. 2020 J Neurophysiol 124:63):
  the smoothed rate of a lower-threshold *control* unit at the *test* unit's recruitment minus at
  its derecruitment, for pairs whose recruitment times differ by >= 1 s, whose rates are
  correlated (r^2 >= 0.7) while both fire, and whose control unit modulates by > 0.5 pps;
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
:mod:`.conduction`, :mod:`.twitch`.
"""

from __future__ import annotations

from .coherence import (beta_band_peak, coherence_confidence_limit, corticomuscular_coherence,
                        pooled_coherence)
from .conduction import conduction_velocity, conduction_velocity_from_recording
from .pic import BraceHeight, brace_height, delta_f
from .rates import (isi_cov, peak_rate, rate_at_recruitment, rate_force_gain, thresholds,
                    unit_summary)
from .trains import SpikeTrains, cumulative_spike_train, main_train, smoothed_rate, spike_trains
from .twitch import voluntary_activation

__all__ = ["SpikeTrains", "spike_trains", "main_train", "smoothed_rate", "cumulative_spike_train",
           "thresholds", "rate_at_recruitment", "peak_rate", "isi_cov", "unit_summary",
           "rate_force_gain", "delta_f", "BraceHeight", "brace_height", "pooled_coherence",
           "corticomuscular_coherence", "coherence_confidence_limit", "beta_band_peak",
           "conduction_velocity", "conduction_velocity_from_recording", "voluntary_activation"]
