"""The motor axon between the spinal cord and the muscle: conduction of discharges, and what a
stimulus delivered to the peripheral nerve does to it.

A nerve pulse excites axon ``i`` when its intensity reaches the axon's threshold
(:func:`simulator.inputs.stimulation.axon_thresholds_ma`); the antidromic spike travels to the
soma in ``D_PROX`` and the orthodromic one to the muscle in ``D_DIST``. A voluntary discharge
that is in the axon when the antidromic spike comes collides with it (the basis of the H-reflex
and V-wave occlusion; Upton, McComas & Sica 1971 J Neurol Neurosurg Psychiatry 34:699), and one
that has just passed the stimulation site leaves the axon refractory. Only stimulated networks
carry these equations (:class:`simulator.network.Structure`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import muscle

__all__ = ["NERVE_EQUATIONS", "NERVE_RESET", "NERVE_EVENTS", "NERVE_ON_EVENT", "NERVE_STATES",
           "brian_values"]


#: Peripheral nerve stimulation of the motor axons (one pulse per trial segment, at ``T_NERVE``
#: [s, run time] with intensity ``I_NERVE`` [mA], read from TimedArrays that hold each segment's
#: pulse; axon ``i`` is excited if ``I_NERVE >= AX_TH``). ``D_PROX`` and
#: ``D_DIST`` are the conduction times from the stimulation site to the soma and to the muscle.
#: The latches record what happened in each axon: ``ax_fail`` (the axon was refractory from an
#: orthodromic spike), ``ax_coll`` and ``t_coll`` (an orthodromic spike collided with the
#: antidromic one), ``ax_anti`` (the antidromic spike invaded the soma), ``ax_m`` (the
#: orthodromic stimulated spike reached the muscle: part of the M-wave).
NERVE_EQUATIONS = """
AX_TH : 1 (constant)
D_PROX : second (constant)
D_DIST : second (constant)
T_NERVE = t_nerve_ta(t) : second
I_NERVE = i_nerve_ta(t) : 1
REFR_AX : second (constant, shared)
ax_fail : 1
ax_coll : 1
t_coll : second
ax_anti : 1
ax_m : 1
"""

#: Collision bookkeeping at every soma discharge (runs before the twitch, which it may cancel):
#: a discharge that passes the stimulation site within the axon's refractory period before the
#: pulse blocks it; the first discharge that is still in the axon when the pulse comes (or leaves
#: the soma before the antidromic spike arrives) collides with the antidromic spike.
NERVE_RESET = """
hit = int(I_NERVE >= AX_TH)
ax_fail = clip(ax_fail + hit * int(t > T_NERVE - D_PROX - REFR_AX and t <= T_NERVE - D_PROX), 0, 1)
coll_now = hit * int(t > T_NERVE - D_PROX and t < T_NERVE + D_PROX + 0.5*dt) * int(ax_fail < 0.5) * int(ax_coll < 0.5)
ax_coll = ax_coll + coll_now
t_coll = coll_now * t + (1 - coll_now) * t_coll
"""

#: Custom events of stimulated axons: the antidromic spike invades the soma (reset + AHP, no
#: orthodromic discharge), the orthodromic one twitches the muscle fibres.
NERVE_EVENTS = {
    "antidromic": ("abs(t - T_NERVE - D_PROX) < 0.5*dt and I_NERVE >= AX_TH and ax_fail < 0.5 "
                   "and ax_coll < 0.5 and v_s <= V_TH"),  # a discharge in the same step collides
    "orthodromic": "abs(t - T_NERVE - D_DIST) < 0.5*dt and I_NERVE >= AX_TH and ax_fail < 0.5",
}
NERVE_ON_EVENT = {
    "antidromic": "v_s = V_RESET\ng_ahp += dg_ahp_spike * ahp_gate\nax_anti = 1\n",
    "orthodromic": muscle.twitch_update() + "ax_m = 1\n",
}

#: Final per-unit states of the nerve latches returned with the results.
NERVE_STATES = ("ax_fail", "ax_coll", "t_coll", "ax_anti", "ax_m")


def brian_values(props: dict[str, np.ndarray], refractory_s: float) -> dict[str, Any]:
    """Brian2 values of the motor axons (SI units, keyed by variable name).

    Parameters
    ----------
    props
        Per-unit properties with ``nerve_threshold_ma``, ``proximal_delay_s``, ``distal_delay_s``.
    refractory_s
        Absolute refractory period of the axon [s].
    """
    return {"AX_TH": props["nerve_threshold_ma"], "D_PROX": props["proximal_delay_s"],
            "D_DIST": props["distal_delay_s"], "REFR_AX": refractory_s}
