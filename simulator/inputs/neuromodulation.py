"""Monoaminergic (serotonergic/noradrenergic) drive to the motoneurons.

Brainstem raphe and coeruleus neurons release 5-HT and NA onto motoneurons, facilitating their
persistent inward currents (Hounsgaard et al. 1988 J Physiol 405:345; Heckman et al. 2008 Brain
Res Rev 57:146) and reducing the AHP (5-HT1A/5-HT2 effects on SK channels; Booth et al. 1997
model serotonin as a lower K(Ca) conductance). The level has a tonic part and an effort-dependent
part that rises slowly with the motor command (raphe activity increases with motor output,
Jacobs et al. 2002; Wei et al. 2014 J Neurophysiol 112:1735):

.. math:: \\mu(t) = \\mu_0\\,[1 + a\\,\\bar c(t)], \\qquad
          \\tau_\\mu \\frac{d\\bar c}{dt} = c(t) - \\bar c(t)

It multiplies the PIC conductance and divides the AHP increment by ``exp(b (μ − 1))``.
Local (Renshaw, reciprocal) inhibition deactivates PICs (Heckman 2008: inhibition is the
"off switch"); the PIC conductance is multiplied by ``exp(−h g_inh / w_exc)``. This is not a
second mechanism beside the inhibitory conductance the dendrite already receives, but the same
one at a scale the reduced model cannot hold: inhibitory synapses placed among the dendritic PIC
channels curb the PIC far more than the same conductance spread over one isopotential dendrite
(Bui, Grande & Rose 2008 J Neurophysiol 99:583; Kuo et al. 2003), so the factor stands in for
that local shunt. ``h = 0`` leaves only the compartment's shunt; that alone does not make delta-F
similar across recruitment thresholds (validation/ledger.toml, note of that prediction).
A 5-HT2 antagonist (cyproheptadine; Goodlich et al. 2023 J Physiol) is modelled by lowering
``level``.
"""

from __future__ import annotations

import dataclasses

from ..config import Config, param

__all__ = ["NeuromodulationConfig", "DRIVE_EQUATIONS", "MOTONEURON_EQUATIONS", "brian_values"]


@dataclasses.dataclass(frozen=True)
class NeuromodulationConfig(Config):
    """Monoaminergic drive."""

    section = "neuromodulation"

    level: float = param(1.0, lo=0.0, hi=5.0, doc=(
        "tonic monoaminergic drive; multiplies PICs (0 removes them, 1 = awake default)"))
    effort_gain: float = param(0.2, lo=0.0, hi=5.0, doc="a: extra drive at maximal command")
    tau_s: float = param(1.0, lo=0.01, hi=100.0, unit="s", doc="time constant of the effort component")
    ahp_sensitivity: float = param(0.15, lo=0.0, hi=5.0, doc="b: AHP increment divided by exp(b (mu-1))")
    inhibition_pic_sensitivity: float = param(2.0, lo=0.0, hi=50.0, doc=(
        "h: PIC conductance multiplied by exp(-h * inhibitory drive)"))


#: Slow effort component of the monoaminergic drive and the drive itself (``drive`` group,
#: where it is recorded; every motoneuron computes the same from the linked ``cmd_slow_l``).
DRIVE_EQUATIONS = """
dcmd_slow/dt = (exc - cmd_slow) / TAU_MONO : 1
monoamine = MONO_LEVEL * (1 + MONO_EFFORT * cmd_slow) : 1
TAU_MONO : second (constant, shared)
MONO_LEVEL : 1 (constant, shared)
MONO_EFFORT : 1 (constant, shared)
"""

#: Monoaminergic drive of a motoneuron, the deactivation of its PIC by local inhibition and the
#: monoaminergic reduction of its AHP.
MOTONEURON_EQUATIONS = """
cmd_slow_l : 1 (linked)
monoamine = MONO_LEVEL * (1 + MONO_EFFORT * cmd_slow_l) : 1
pic_gate = exp(-PIC_INH * (r_rc_l + IAIN)) : 1
ahp_gate = exp(-AHP_MONO * (monoamine - 1)) : 1
MONO_LEVEL : 1 (constant, shared)
MONO_EFFORT : 1 (constant, shared)
PIC_INH : 1 (constant, shared)
AHP_MONO : 1 (constant, shared)
"""


def brian_values(cfg: NeuromodulationConfig) -> dict[str, float]:
    """Brian2 values of the monoaminergic drive (SI units, keyed by variable name):
    ``level`` → ``MONO_LEVEL``, ``effort_gain`` → ``MONO_EFFORT``, ``inhibition_pic_sensitivity``
    → ``PIC_INH``, ``ahp_sensitivity`` → ``AHP_MONO``, ``tau_s`` → ``TAU_MONO``."""
    return {"MONO_LEVEL": cfg.level, "MONO_EFFORT": cfg.effort_gain,
            "PIC_INH": cfg.inhibition_pic_sensitivity, "AHP_MONO": cfg.ahp_sensitivity,
            "TAU_MONO": cfg.si("tau_s")}
