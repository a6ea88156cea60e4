"""Two-compartment motoneuron with a dendritic persistent inward current and a somatic AHP.

The model follows the structure of Booth, Rinzel & Kiehn (1997, J Neurophysiol 78:3371): a soma
holding a fraction ``p`` of the membrane and a dendrite holding the rest, joined by a coupling
conductance. The dendrite carries a slowly activating L-type-Ca-like persistent inward current
(PIC; half-activation −40 mV, slope 7 mV, time constant 40 ms in Booth et al.) whose maximal
conductance is multiplied by the monoaminergic drive (Heckman et al. 2008, Brain Res Rev
57:146; Hounsgaard et al. 1988 J Physiol 405:345). Spikes are generated at the soma by
threshold-and-reset (Na/K-dr kinetics are replaced by a threshold at ``v_threshold`` and a reset,
which is accurate for rate coding at dt <= 0.1 ms and much cheaper), followed by a spike-triggered
Ca-activated-K-like AHP conductance whose decay time is longer in small motoneurons
(Cormery et al. 2005 J Physiol 568:841; Zengel et al. 1985 J Physiol 359:1).

Synaptic excitation arrives on the dendrite as a conductance with reversal ``e_exc``; the
conductance per unit of excitation (the synaptic efficacy ``w_exc``) is set so that the passive
neuron reaches threshold at the unit's designed recruitment excitation (Fuglevand et al. 1993
J Neurophysiol 70:2470 recruitment-threshold distribution); the PIC then lowers the actual
threshold and produces recruitment–derecruitment hysteresis (Gorassini et al. 2002 J
Neurophysiol 87:1850).

The same PIC shows in an isolated motoneuron driven by somatic current (no synaptic input): at
elevated monoaminergic drive a triangular current ramp gives counter-clockwise F–I hysteresis
(derecruitment at a lower current than recruitment) and a brief pulse on a sub-threshold bias
starts self-sustained firing; without monoamines both vanish (Lee & Heckman 1998 J Neurophysiol
80:572; tests/simulator/test_physiology.py). For that the coupling is stronger than Booth's
(see ``coupling_ms_cm2``): without full-height spikes a weakly coupled dendrite never reaches
PIC activation from the soma.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..config import Config, param

__all__ = ["MotoneuronConfig", "EQUATIONS", "RESET", "passive_properties", "SYNAPTIC_EQUATIONS", "UNIT_VALUES", "brian_values"]


@dataclasses.dataclass(frozen=True)
class MotoneuronConfig(Config):
    """Membrane parameters of the two-compartment motoneuron (same for every unit).

    Size-dependent values (membrane area, specific leak, AHP decay, PIC ratio) come from
    :class:`simulator.models.pool.PoolConfig`.
    """

    section = "motoneuron"

    soma_fraction: float = param(0.1, lo=0.01, hi=0.5, doc="fraction of membrane in the soma (Booth 1997)")
    specific_capacitance_uf_cm2: float = param(1.0, lo=0.3, hi=3.0, unit="uF/cm2")
    coupling_ms_cm2: float = param(0.2, lo=0.005, hi=2.0, unit="mS/cm2", doc=(
        "soma-dendrite coupling per total membrane area (0.1 in Booth 1997, whose full-height "
        "spikes depolarize the dendrite; the threshold-and-reset soma does not, so the coupling is "
        "doubled to keep the PIC within reach of somatic current, as it is in motoneurons voltage-"
        "clamped at the soma, Lee & Heckman 1998 J Neurophysiol 80:583)"))
    e_leak_mv: float = param(-70.0, lo=-90.0, hi=-50.0, unit="mV")
    e_k_mv: float = param(-80.0, lo=-110.0, hi=-60.0, unit="mV", doc="AHP (K) reversal")
    e_exc_mv: float = param(0.0, lo=-20.0, hi=20.0, unit="mV", doc="excitatory synaptic reversal")
    e_pic_mv: float = param(60.0, lo=0.0, hi=140.0, unit="mV", doc="PIC (Ca) reversal")
    v_threshold_mv: float = param(-50.0, lo=-65.0, hi=-30.0, unit="mV")
    v_reset_mv: float = param(-60.0, lo=-80.0, hi=-40.0, unit="mV")
    refractory_ms: float = param(1.5, lo=0.0, hi=10.0, unit="ms")
    pic_v_half_mv: float = param(-52.0, lo=-70.0, hi=-10.0, unit="mV", doc=(
        "PIC half-activation (-40 mV in Booth 1997 with a -60 mV rest; placed here just above the "
        "dendritic potential at recruitment, so the PIC turns on as the unit is recruited, "
        "Lee & Heckman 1998 J Neurophysiol 80:583)"))
    pic_slope_mv: float = param(3.0, lo=1.0, hi=20.0, unit="mV", doc=(
        "PIC activation slope (7 mV in Booth 1997; steeper here so that the reduced dendrite is "
        "bistable, as the distributed dendrites of real motoneurons are)"))
    pic_tau_ms: float = param(300.0, lo=1.0, hi=5000.0, unit="ms", doc=(
        "PIC activation time constant (40 ms in Booth 1997; human PICs develop over the first "
        "hundreds of ms of firing, Gorassini et al. 2002, which keeps recruitment rates low)"))
    soma_input_fraction: float = param(0.15, lo=0.0, hi=1.0, doc=(
        "fraction of the excitatory synaptic conductance on the soma and proximal dendrites "
        "(the rest is on the PIC-bearing dendrite); somatic input saturates less, which keeps "
        "rate coding graded over the whole force range"))
    e_inh_mv: float = param(-75.0, lo=-100.0, hi=-50.0, unit="mV", doc="inhibitory (Cl) reversal")
    ahp_scale: float = param(1.0, lo=0.0, hi=5.0, doc=(
        "intrinsic factor on the AHP increment (site intrinsic_motoneuron); 1 = default"))
    threshold_shift_mv: float = param(0.0, lo=-15.0, hi=15.0, unit="mV", doc=(
        "intrinsic shift of the spike threshold; like leak_scale it acts after the synaptic "
        "efficacy was fixed, so it changes recruitment (negative = more excitable)"))
    leak_scale: float = param(1.0, lo=0.2, hi=5.0, doc=(
        "intrinsic factor on the leak (input) conductance (site intrinsic_motoneuron); synaptic "
        "efficacies stay those of the default membrane, so < 1 means a more excitable neuron"))

    def validate(self) -> None:
        from ..config import ConfigError
        if self.v_reset_mv >= self.v_threshold_mv:
            raise ConfigError(f"motoneuron.v_reset_mv = {self.v_reset_mv} must be below "
                              f"motoneuron.v_threshold_mv = {self.v_threshold_mv}")
        if not (self.e_leak_mv < self.v_threshold_mv):
            raise ConfigError(f"motoneuron.e_leak_mv = {self.e_leak_mv} must be below "
                              f"motoneuron.v_threshold_mv = {self.v_threshold_mv}")


#: Brian2 equations of one motoneuron (per-unit parameters are constant state variables so that
#: cpp_standalone builds can be re-run with new values through ``run_args``).
EQUATIONS = """
dv_s/dt = (G_s*(E_L - v_s) + G_c*(v_d - v_s) + g_ahp*(E_K - v_s) + SOMA_FRAC*(g_exc*(E_EXC - v_s) + g_inh*(E_INH - v_s)) + I_inj) / C_s : volt (unless refractory)
dv_d/dt = (G_d*(E_L - v_d) + G_c*(v_s - v_d) + g_pic*monoamine*pic_gate*m_pic*(E_PIC - v_d) + (1 - SOMA_FRAC)*(g_exc*(E_EXC - v_d) + g_inh*(E_INH - v_d))) / C_d : volt
dm_pic/dt = (1/(1 + exp((V_HALF - v_d)/K_PIC)) - m_pic) / TAU_PIC : 1
dg_ahp/dt = -g_ahp / tau_ahp : siemens
C_s : farad (constant)
C_d : farad (constant)
G_s : siemens (constant)
G_d : siemens (constant)
G_c : siemens (constant)
g_pic : siemens (constant)
w_exc : siemens (constant)
tau_ahp : second (constant)
dg_ahp_spike : siemens (constant)
"""

#: Reset of the motoneuron part (the muscle appends its twitch update). ``g_exc``, ``g_inh``,
#: ``monoamine``, ``pic_gate`` and ``ahp_gate`` are defined by the inputs (:mod:`simulator.network`).
RESET = """
v_s = V_RESET
g_ahp += dg_ahp_spike * ahp_gate
"""


def passive_properties(pool_props: dict[str, np.ndarray], mn: MotoneuronConfig) -> dict[str, np.ndarray]:
    """Per-unit conductances and capacitances (SI units) from the pool gradients.

    Parameters
    ----------
    pool_props
        Output of :func:`simulator.models.pool.unit_properties`.
    mn
        Motoneuron membrane parameters.

    Returns
    -------
    dict of str to ndarray
        ``C_s``, ``C_d`` [F], ``G_s``, ``G_d``, ``G_c``, ``g_pic``, ``w_exc``, ``dg_ahp_spike`` [S],
        ``tau_ahp`` [s], plus ``input_conductance_us`` [µS], ``rheobase_na`` [nA] and
        ``pic_conductance_us`` [µS] for reporting.

    Notes
    -----
    The synaptic efficacy is found from the passive steady state at threshold: with the soma at
    ``V_th``, no AHP and no PIC, the current balances of soma and dendrite give the synaptic
    conductance ``g`` that just reaches threshold; ``w_exc = g / e_rec``.
    Input conductance seen from the soma is ``G_s + G_c G_d / (G_c + G_d)`` and the passive
    rheobase is that times ``V_th - E_L``.
    """
    area_cm2 = pool_props["membrane_area_mm2"] * 1e-2
    g_leak = pool_props["specific_leak_ms_cm2"] * 1e-3 * area_cm2          # S
    c_total = mn.specific_capacitance_uf_cm2 * 1e-6 * area_cm2            # F
    p = mn.soma_fraction
    G_s, G_d = p * g_leak, (1 - p) * g_leak
    G_c = mn.coupling_ms_cm2 * 1e-3 * area_cm2
    v_th, e_l, e_exc = mn.v_threshold_mv * 1e-3, mn.e_leak_mv * 1e-3, mn.e_exc_mv * 1e-3
    # Passive steady state with the soma at threshold and a fraction q of the synaptic
    # conductance g on the soma:
    #   soma:     G_s (V_th - E_L) + G_c (V_th - V_d) = q g (E_exc - V_th)
    #   dendrite: G_d (V_d - E_L) + G_c (V_d - V_th) = (1 - q) g (E_exc - V_d)
    # The dendritic driving force makes it bilinear; freeze it and iterate (Cramer's rule on
    # the 2x2 system of every unit at once; converges in a few iterations).
    q = mn.soma_input_fraction
    v_d = np.full_like(G_s, v_th)
    for _ in range(100):
        a11, a12, b1 = -G_c, -q * (e_exc - v_th) * np.ones_like(G_s), -G_s * (v_th - e_l) - G_c * v_th
        a21, a22, b2 = G_d + G_c, -(1 - q) * (e_exc - v_d), G_d * e_l + G_c * v_th
        det = a11 * a22 - a12 * a21
        v_new = (b1 * a22 - a12 * b2) / det
        g_needed = (a11 * b2 - a21 * b1) / det
        converged = np.max(np.abs(v_new - v_d)) < 1e-12
        v_d = v_new
        if converged:
            break
    if np.any(g_needed <= 0) or np.any(v_d >= e_exc):
        raise ValueError("no passive steady state at threshold: check coupling and reversal potentials")
    # Intrinsic adaptations act on the membrane after the synaptic efficacy was fixed from the
    # default membrane, so they change excitability (Christie & Kamen 2010: shorter AHP).
    G_s, G_d = G_s * mn.leak_scale, G_d * mn.leak_scale
    g_in = G_s + G_c * G_d / (G_c + G_d)
    g_pic = pool_props["pic_ratio"] * g_needed
    dg_ahp = pool_props["ahp_increment_us"] * 1e-6 * mn.ahp_scale
    return {
        "C_s": p * c_total,
        "C_d": (1 - p) * c_total,
        "G_s": G_s,
        "G_d": G_d,
        "G_c": G_c,
        "g_pic": g_pic,
        "w_exc": g_needed / pool_props["recruitment_excitation"],
        "tau_ahp": pool_props["ahp_tau_ms"] * 1e-3,
        "dg_ahp_spike": dg_ahp,
        "input_conductance_us": g_in * 1e6,
        "rheobase_na": g_in * (v_th - e_l) * 1e9,
        "pic_conductance_us": g_pic * 1e6,
    }


#: Synaptic integration of a motoneuron: excitatory conductance from every pathway (split between
#: soma and dendrite by ``SOMA_FRAC``), inhibition (Renshaw + reciprocal), the per-pathway
#: currents recorded for the figures, injected current and the reversal/threshold constants.
SYNAPTIC_EQUATIONS = """
g_exc = w_exc * (clip(excitation, 0, inf) + e_cmv + e_rsv) + g_ia * IA_EFF * r_ia : siemens
g_inh = w_exc * (r_rc_l + IAIN) : siemens
drive_force = SOMA_FRAC * (E_EXC - v_s) + (1 - SOMA_FRAC) * (E_EXC - v_d) : volt
i_cm = w_exc * (e_cm + e_cmv) * drive_force : amp
i_rst = w_exc * (e_rst + e_rsv) * drive_force : amp
i_in = w_exc * e_in * drive_force : amp
i_ia = g_ia * IA_EFF * r_ia * drive_force : amp
i_inh = g_inh * (SOMA_FRAC * (E_INH - v_s) + (1 - SOMA_FRAC) * (E_INH - v_d)) : amp
dtrace/dt = -trace / (50*ms) : hertz
I_inj = I_inj_amp * inj_ta(t) : amp
I_inj_amp : amp (constant)
E_L : volt (constant, shared)
E_K : volt (constant, shared)
E_EXC : volt (constant, shared)
E_INH : volt (constant, shared)
E_PIC : volt (constant, shared)
V_HALF : volt (constant)
K_PIC : volt (constant, shared)
TAU_PIC : second (constant, shared)
V_TH : volt (constant, shared)
V_RESET : volt (constant, shared)
T_REF : second (constant, shared)
SOMA_FRAC : 1 (constant, shared)
"""

#: Per-unit model values of :func:`passive_properties` and the pool passed to Brian2 as is.
UNIT_VALUES = ("C_s", "C_d", "G_s", "G_d", "G_c", "g_pic", "w_exc", "tau_ahp", "dg_ahp_spike")


def brian_values(mn: MotoneuronConfig, props: dict[str, np.ndarray]) -> dict[str, Any]:
    """Brian2 values of the motoneurons (SI units, keyed by variable name).

    Parameters
    ----------
    mn
        Motoneuron parameters.
    props
        Per-unit properties (:func:`simulator.subject.unit_table`).
    """
    n = len(props["size_index"])
    v_th = mn.v_threshold_mv + mn.threshold_shift_mv
    values: dict[str, Any] = {k: props[k] for k in UNIT_VALUES}
    values.update({
        "E_INH": mn.si("e_inh_mv"), "E_L": mn.si("e_leak_mv"), "E_K": mn.si("e_k_mv"),
        "E_EXC": mn.si("e_exc_mv"), "E_PIC": mn.si("e_pic_mv"),
        "v_s": np.full(n, mn.si("e_leak_mv")), "v_d": np.full(n, mn.si("e_leak_mv")),
        "V_HALF": (mn.pic_v_half_mv + props["pic_onset_shift_mv"]) * 1e-3,
        "K_PIC": mn.si("pic_slope_mv"), "TAU_PIC": mn.si("pic_tau_ms"), "V_TH": v_th * 1e-3,
        "V_RESET": min(mn.v_reset_mv, v_th - 1.0) * 1e-3, "T_REF": mn.si("refractory_ms"),
        "SOMA_FRAC": mn.soma_input_fraction,
    })
    return values
