"""Spinal interneurons as population-rate models: excitatory premotor interneurons, Renshaw
cells and Ia inhibitory interneurons, plus the budget of descending excitation.

Interneuron populations are represented by their mean activity (first-order rate units), which
is statistically equivalent, for the motoneurons, to the summed input of many interneurons
(DESIGN.md: aggregate inputs where faster):

* excitatory premotor interneurons (EIN) integrate corticospinal, reticulospinal and Ia input
  (oligosynaptic pathways; Jankowska 1992 Prog Neurobiol 38:335):
  ``τ dr_E/dt = w_CST o_CST + w_RST o_RST + w_Ia ε r_Ia − r_E``;
* Renshaw cells integrate the pool's discharge through recurrent collaterals and inhibit it
  (Renshaw 1941; Hultborn et al. 1979): ``τ_R dr_R/dt = g_R ν/ν_ref − r_R``, with ν the mean pool
  discharge rate;
* Ia inhibitory interneurons carry reciprocal inhibition from the antagonist's Ia afferents
  (tonic in an isometric task): ``r_I`` constant.

The motoneurons see the descending excitation split into corticomotoneuronal (share
``(1-ρ)(1-f_IN)``), reticulospinal (``ρ (1-f_IN)``) and interneuronal (``f_IN``) parts, where ρ is
the reticulospinal share and ``f_IN`` the interneuronal fraction set here; at default weights the
sum equals the generic command, so the pool's calibration and rate coding are preserved.
"""

from __future__ import annotations

import dataclasses

from ..config import Config, param

__all__ = ["InterneuronConfig", "EQUATIONS", "MOTONEURON_EQUATIONS", "brian_values"]


@dataclasses.dataclass(frozen=True)
class InterneuronConfig(Config):
    """Spinal interneuron populations."""

    section = "interneurons"

    interneuron_fraction: float = param(0.15, lo=0.0, hi=0.9, doc=(
        "f_IN: fraction of descending excitation relayed by excitatory interneurons"))
    tau_ms: float = param(10.0, lo=0.5, hi=500.0, unit="ms", doc="time constant of excitatory interneurons")
    ia_to_interneuron: float = param(0.1, lo=0.0, hi=10.0, doc=(
        "Ia drive of excitatory interneurons relative to the descending drive (oligosynaptic path)"))
    renshaw_gain: float = param(0.04, lo=0.0, hi=2.0, doc=(
        "Renshaw inhibition (in units of maximal excitation) at the reference pool rate"))
    renshaw_reference_hz: float = param(20.0, lo=1.0, hi=100.0, unit="Hz")
    renshaw_tau_ms: float = param(20.0, lo=1.0, hi=500.0, unit="ms")
    reciprocal_inhibition: float = param(0.01, lo=0.0, hi=2.0, doc=(
        "tonic Ia reciprocal inhibition from the antagonist (units of maximal excitation)"))


#: Equations of the spinal rate populations (part of the one-neuron ``drive`` group).
EQUATIONS = """
dr_ein/dt = (EIN_CST * o_cst + EIN_RST * o_rst + EIN_IA * IA_EFF * r_ia - r_ein) / TAU_IN : 1
dr_rc/dt = (RC_GAIN * pool_rate / RC_REF - r_rc) / TAU_RC : 1
r_iain = IAIN_LEVEL : 1
pool_rate : hertz
EIN_CST : 1 (constant, shared)
EIN_RST : 1 (constant, shared)
EIN_IA : 1 (constant, shared)
TAU_IN : second (constant, shared)
RC_GAIN : 1 (constant, shared)
RC_REF : hertz (constant, shared)
TAU_RC : second (constant, shared)
IAIN_LEVEL : 1 (constant, shared)
"""


#: Interneuronal excitation of a motoneuron and tonic reciprocal inhibition.
MOTONEURON_EQUATIONS = """
e_in = B_IN * r_ein_l : 1
B_IN : 1 (constant, shared)
IAIN : 1 (constant, shared)
"""


def brian_values(cfg: InterneuronConfig) -> dict[str, float]:
    """Brian2 values of the interneuron populations (SI units, keyed by variable name)."""
    return {"TAU_IN": cfg.si("tau_ms"), "RC_REF": cfg.renshaw_reference_hz,
            "TAU_RC": cfg.si("renshaw_tau_ms"), "IAIN_LEVEL": cfg.reciprocal_inhibition}
