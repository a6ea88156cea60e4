"""Ia spindle afferents: tonic activity during isometric contraction, monosynaptic and
oligosynaptic excitation of the pool, presynaptic inhibition, conduction delays.

The Ia population is represented by its normalised mean activity (1 = ``reference_rate_hz``).
In an isometric task muscle length and velocity do not change, so the spindle discharge is its
resting level plus the fusimotor (alpha–gamma co-activation) component that follows the motor
command (Vallbo 1974 Acta Physiol Scand 90:319; Macefield et al. 1991 J Physiol 440:497):

.. math:: r_{Ia}(t) = \\frac{r_0 + g_\\gamma\\, c(t)}{r_{ref}}.

Monosynaptic Ia synapses give every motoneuron a conductance ``g_Ia,i`` that grows less than its
input conductance, so EPSPs are larger in small motoneurons (Burke 1968 J Physiol 196:605;
Heckman & Binder 1988 J Neurophysiol 60:1946): ``g_Ia,i = g_mono (G_in,i / G_in,0)^γ`` with
γ < 1 (site ``ia_monosynaptic`` scales ``g_mono``). Ia input also reaches the pool through
excitatory interneurons (site ``ia_interneuron``, :mod:`simulator.models.interneurons`).
Presynaptic inhibition (primary afferent depolarisation) scales the efficacy of Ia terminals by
``(1 + k)/(1 + k λ_PSI)`` (Rudomin & Schmidt 1999 Exp Brain Res 129:1). For a stimulus-evoked
volley the level falls with the motor command, ``λ_PSI (1 - d c(t))``, because presynaptic
inhibition of the contracting muscle's Ia terminals is reduced during voluntary contraction
(Meunier & Pierrot-Deseilligny 1989 J Physiol 419:753); this is what lets the H-reflex grow
during contraction and the V-wave exist. The tonic (spindle) Ia input keeps its resting
efficacy: it is part of the calibrated balance of inputs behind rate coding and delta-F, and
letting it grow with force shifts delta-F by ~1.5 pps (a simplification of the reduced model).

Conduction delays (used by evoked responses) follow from the afferent and efferent path lengths
and velocities (:func:`reflex_latency_s`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import Config, param

__all__ = ["AfferentConfig", "ia_efficacy", "monosynaptic_conductance", "reflex_latency_s", "OUTPUT_EQUATIONS", "MOTONEURON_EQUATIONS"]


@dataclasses.dataclass(frozen=True)
class AfferentConfig(Config):
    """Ia afferent parameters (relative weights: 1 is the default subject)."""

    section = "afferent"

    resting_rate_hz: float = param(8.0, lo=0.0, hi=100.0, unit="Hz",
                                   doc="mean Ia discharge in the relaxed muscle")
    fusimotor_gain_hz: float = param(20.0, lo=0.0, hi=200.0, unit="Hz",
                                     doc="increase of Ia discharge at maximal command (alpha-gamma)")
    reference_rate_hz: float = param(30.0, lo=1.0, hi=300.0, unit="Hz",
                                     doc="Ia rate taken as unit activity")
    monosynaptic_us: float = param(0.02, lo=0.0, hi=5.0, unit="uS", doc=(
        "monosynaptic Ia conductance of the smallest unit at unit Ia activity"))
    monosynaptic_weight: float = param(1.0, lo=0.0, hi=5.0, doc="relative monosynaptic Ia weight")
    size_exponent: float = param(0.5, lo=0.0, hi=1.0, doc=(
        "gamma: Ia conductance grows as input conductance**gamma (EPSP falls with size if < 1)"))
    oligosynaptic_weight: float = param(1.0, lo=0.0, hi=5.0,
                                        doc="relative Ia weight onto excitatory interneurons")
    presynaptic_inhibition: float = param(1.0, lo=0.0, hi=10.0,
                                          doc="level of presynaptic inhibition of Ia terminals; 1 = default")
    presynaptic_strength: float = param(1.0, lo=0.0, hi=10.0, doc="k in (1+k)/(1+k*level)")
    contraction_disinhibition: float = param(0.8, lo=0.0, hi=1.0, doc=(
        "fraction d of the presynaptic inhibition of an evoked Ia volley removed at maximal "
        "command: the level becomes level*(1 - d*c(t)) (Meunier & Pierrot-Deseilligny 1989)"))
    conduction_velocity_m_s: float = param(65.0, lo=10.0, hi=120.0, unit="m/s",
                                           doc="Ia afferent conduction velocity")
    path_length_m: float = param(0.65, lo=0.05, hi=2.0, unit="m", doc=(
        "nerve length between stimulation/receptor site and spinal cord (soleus: popliteal fossa to S1 ~0.65 m)"))
    central_delay_ms: float = param(1.0, lo=0.0, hi=10.0, unit="ms", doc="synaptic + central delay")


def ia_efficacy(cfg: AfferentConfig) -> float:
    """Efficacy of Ia terminals under presynaptic inhibition (1 at the default level)."""
    k = cfg.presynaptic_strength
    return (1.0 + k) / (1.0 + k * cfg.presynaptic_inhibition)


def monosynaptic_conductance(input_conductance_us: np.ndarray, cfg: AfferentConfig) -> np.ndarray:
    """Monosynaptic Ia conductance of each unit at unit Ia activity [S]."""
    g = np.asarray(input_conductance_us, dtype=float)
    return cfg.monosynaptic_weight * cfg.monosynaptic_us * 1e-6 * (g / g[0]) ** cfg.size_exponent


def reflex_latency_s(axon_cv_m_s: np.ndarray, cfg: AfferentConfig,
                     motor_path_m: float | None = None) -> np.ndarray:
    """Latency of the monosynaptic reflex of each unit [s]: afferent + central + efferent time."""
    motor = cfg.path_length_m if motor_path_m is None else motor_path_m
    return (cfg.path_length_m / cfg.conduction_velocity_m_s + cfg.central_delay_ms * 1e-3
            + motor / np.asarray(axon_cv_m_s, dtype=float))


#: Ia afferent activity (units of the reference rate): resting discharge, fusimotor drive with the
#: command, and the evoked volley of a nerve pulse through presynaptic inhibition that lifts with
#: contraction.
OUTPUT_EQUATIONS = """
r_ia = IA_REST + IA_FUSI * exc_src * cortex_gate + ia_volley_ta(t) * volley_gate : 1
volley_gate = (1 + PSI_KL) / (1 + PSI_KL * (1 - PSI_DROP * exc_src)) : 1
IA_REST : 1 (constant, shared)
IA_FUSI : 1 (constant, shared)
IA_EFF : 1 (constant, shared)
PSI_KL : 1 (constant, shared)
PSI_DROP : 1 (constant, shared)
"""

#: The unit's monosynaptic Ia conductance at the reference rate.
MOTONEURON_EQUATIONS = """
g_ia : siemens (constant)
"""
