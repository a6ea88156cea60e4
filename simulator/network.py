"""Assemble one Brian2 network of the virtual subject: motoneuron pool, muscle and force controller.

The network has a fixed *structure* (:class:`Structure`: number of units, duration, time steps,
what is recorded) and *values* (every membrane, muscle and controller parameter and every input
time course). Values are Brian2 state variables or ``TimedArray`` contents, never literal
constants in the generated code, so a ``cpp_standalone`` build made for one structure is re-run
with new values through ``run_args`` (:mod:`simulator.engine`).

Data flow inside the network (all in Brian2, so the loop is closed without Python callbacks):

* ``drive`` (one neuron) compares the low-passed muscle force with the target and sets the
  cortical command ``exc`` = feed-forward + PI correction, clipped to [0, 1]; it also holds the
  spinal interneuron populations and the slow effort signal of the monoaminergic drive;
* ``mn`` (N motoneurons) read the command and the interneuron activities through linked
  variables, split the descending excitation into corticomotoneuronal, reticulospinal and
  interneuronal parts, add Ia input, inhibition and noise, integrate the two-compartment membrane
  (:mod:`simulator.models.motoneuron`) and the calcium-troponin activation and force of their
  muscle unit (:mod:`simulator.models.muscle`);
* ``feedback`` sums every unit's force and discharge trace into ``drive`` (summed variables);
* stimulation (:mod:`simulator.inputs.stimulation`) enters as volley time courses sampled at
  ``dt`` (:data:`STIM_ARRAYS`) and, for a nerve pulse, as per-axon thresholds and conduction
  times: custom events carry the antidromic spike to the soma and the orthodromic one to the
  muscle, and :data:`NERVE_RESET` decides collisions at every discharge.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

from .models import interneurons, motoneuron, muscle

__all__ = ["Structure", "build", "CONTROLLER_EQUATIONS", "STIM_ARRAYS", "NERVE_STATES"]

#: The one-neuron ``drive`` group: force controller, supraspinal outputs and spinal rate
#: populations. ``goal`` and ``e_ff`` are fractions (of MVC and of maximal command); ``exc`` is
#: the cortical command c(t) in [0, 1].
CONTROLLER_EQUATIONS = """
force : newton
F_mvc : newton (constant, shared)
kp : 1 (constant, shared)
ki : 1/second (constant, shared)
tau_f : second (constant, shared)
closed_loop : 1 (constant, shared)
goal = target_ta(t) : 1
e_ff = eff_ta(t) : 1
dforce_f/dt = (force / F_mvc - force_f) / tau_f : 1
derr_int/dt = closed_loop * ki * (goal - force_f) * int(e_raw < 1.0 or goal < force_f) : 1
e_raw = e_ff + closed_loop * (kp * (goal - force_f) + err_int) : 1
dexc/dt = (clip(e_raw, 0, 1) - exc) / (2*ms) : 1
"""

#: Descending outputs, Ia activity and the slow effort signal of the monoaminergic drive,
#: shared by the ``drive`` group and the motoneurons (gains are shared constants).
DESCENDING_EQUATIONS = """
cortex_gate = clip(1 - cort_inh_ta(t), 0, 1) : 1
o_cst = exc_src * CST_GAIN * cortex_gate : 1
o_rst = exc_src * RST_GAIN * cortex_gate : 1
r_ia = IA_REST + IA_FUSI * exc_src * cortex_gate + ia_volley_ta(t) * volley_gate : 1
volley_gate = (1 + PSI_KL) / (1 + PSI_KL * (1 - PSI_DROP * exc_src)) : 1
CST_GAIN : 1 (constant, shared)
RST_GAIN : 1 (constant, shared)
IA_REST : 1 (constant, shared)
IA_FUSI : 1 (constant, shared)
IA_EFF : 1 (constant, shared)
PSI_KL : 1 (constant, shared)
PSI_DROP : 1 (constant, shared)
"""

#: Slow effort component of the monoaminergic drive (drive group).
NEUROMODULATION_EQUATIONS = """
dcmd_slow/dt = (exc - cmd_slow) / TAU_MONO : 1
TAU_MONO : second (constant, shared)
"""

#: Inputs of a motoneuron: descending excitation split by pathway, Ia, inhibition,
#: neuromodulation, noise and injected current.
INPUT_EQUATIONS = """
exc_l : 1 (linked)
r_ein_l : 1 (linked)
r_rc_l : 1 (linked)
cmd_slow_l : 1 (linked)
e_cm = B_CM * o_cst * (1 + common_ta(t) + beta_ta(t)) : 1
e_rst = B_RST * rst_w * o_rst * (1 + common_ta(t)) : 1
e_in = B_IN * r_ein_l : 1
descending = e_cm + e_rst + e_in : 1
excitation = descending + NOISE_SD * sqrt(clip(descending, 0, inf)) * indep_ta(t, i) : 1
e_cmv = B_CM * cst_volley_ta(t) : 1
e_rsv = B_RST * rst_w * rst_volley_ta(t) : 1
g_exc = w_exc * (clip(excitation, 0, inf) + e_cmv + e_rsv) + g_ia * IA_EFF * r_ia : siemens
g_inh = w_exc * (r_rc_l + IAIN) : siemens
monoamine = MONO_LEVEL * (1 + MONO_EFFORT * cmd_slow_l) : 1
pic_gate = exp(-PIC_INH * (r_rc_l + IAIN)) : 1
ahp_gate = exp(-AHP_MONO * (monoamine - 1)) : 1
drive_force = SOMA_FRAC * (E_EXC - v_s) + (1 - SOMA_FRAC) * (E_EXC - v_d) : volt
i_cm = w_exc * (e_cm + e_cmv) * drive_force : amp
i_rst = w_exc * (e_rst + e_rsv) * drive_force : amp
i_in = w_exc * e_in * drive_force : amp
i_ia = g_ia * IA_EFF * r_ia * drive_force : amp
i_inh = g_inh * (SOMA_FRAC * (E_INH - v_s) + (1 - SOMA_FRAC) * (E_INH - v_d)) : amp
dtrace/dt = -trace / (50*ms) : hertz
rst_w : 1 (constant)
g_ia : siemens (constant)
B_CM : 1 (constant, shared)
B_RST : 1 (constant, shared)
B_IN : 1 (constant, shared)
IAIN : 1 (constant, shared)
MONO_LEVEL : 1 (constant, shared)
MONO_EFFORT : 1 (constant, shared)
PIC_INH : 1 (constant, shared)
AHP_MONO : 1 (constant, shared)
NOISE_SD : 1 (constant, shared)
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

#: Peripheral nerve stimulation of the motor axons (one pulse per run at ``T_NERVE`` with
#: intensity ``I_NERVE`` [mA]; axon ``i`` is excited if ``I_NERVE >= AX_TH``). ``D_PROX`` and
#: ``D_DIST`` are the conduction times from the stimulation site to the soma and to the muscle.
#: The latches record what happened in each axon: ``ax_fail`` (the axon was refractory from an
#: orthodromic spike), ``ax_coll`` and ``t_coll`` (an orthodromic spike collided with the
#: antidromic one), ``ax_anti`` (the antidromic spike invaded the soma), ``ax_m`` (the
#: orthodromic stimulated spike reached the muscle: part of the M-wave).
NERVE_EQUATIONS = """
AX_TH : 1 (constant)
D_PROX : second (constant)
D_DIST : second (constant)
T_NERVE : second (constant, shared)
I_NERVE : 1 (constant, shared)
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

#: Per-pathway input currents recorded for the first and last unit.
PATHWAY_CURRENTS = ("i_cm", "i_rst", "i_in", "i_ia", "i_inh")


@dataclasses.dataclass(frozen=True)
class Structure:
    """What fixes the generated code of a network (anything else is a value).

    Parameters
    ----------
    n_units
        Number of motoneurons.
    duration_s
        Simulated time [s].
    dt_s
        Integration step [s] (<= 1e-4).
    input_dt_s
        Step of the input TimedArrays (noise, command, target, injection) [s].
    record_dt_s
        Sampling interval of force, excitation and target [s].
    voltage_units
        Units whose membrane potentials are recorded (at ``dt_s``).
    """

    n_units: int
    duration_s: float
    dt_s: float = 1e-4
    input_dt_s: float = 1e-3
    record_dt_s: float = 1e-3
    voltage_units: tuple[int, ...] = ()
    stimulated: bool = False

    @property
    def n_input_steps(self) -> int:
        """Number of samples of every input TimedArray."""
        return int(round(self.duration_s / self.input_dt_s)) + 1

    @property
    def stim_dt_s(self) -> float:
        """Step of the stimulation TimedArrays (the integration step)."""
        return self.dt_s

    @property
    def n_stim_steps(self) -> int:
        """Samples of every stimulation TimedArray; one zero when the run is not stimulated
        (a TimedArray holds its last value, and unstimulated networks carry no nerve events)."""
        return int(round(self.duration_s / self.dt_s)) + 1 if self.stimulated else 1

    def key(self) -> str:
        """Stable hash naming the standalone build of this structure."""
        text = json.dumps(dataclasses.asdict(self), sort_keys=True) + _model_source_hash()
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def _model_source_hash() -> str:
    text = motoneuron.EQUATIONS + motoneuron.RESET + muscle.EQUATIONS + muscle.RESET
    text += muscle.twitch_update("1 - coll_now")
    text += CONTROLLER_EQUATIONS + DESCENDING_EQUATIONS + NEUROMODULATION_EQUATIONS
    text += INPUT_EQUATIONS + interneurons.EQUATIONS + NERVE_EQUATIONS + NERVE_RESET
    text += json.dumps([NERVE_EVENTS, NERVE_ON_EVENT])
    return hashlib.sha1(text.encode()).hexdigest()


@dataclasses.dataclass
class Built:
    """The Brian2 objects of one network."""

    network: object
    mn: object
    drive: object
    spikes: object
    state: object
    pathways: object
    voltage: object | None
    timed_arrays: dict[str, object]


#: Input time courses of a network and their dimensionality (1: shared, 2: one column per unit).
TIMED_ARRAYS = {"common_ta": 1, "beta_ta": 1, "indep_ta": 2, "eff_ta": 1, "target_ta": 1, "inj_ta": 1}

#: Stimulation time courses, sampled at :attr:`Structure.stim_dt_s` (all shared by the units):
#: the Ia volley (units of the Ia reference rate), corticospinal and reticulospinal volleys
#: (units of maximal descending excitation) and the GABA-B suppression of cortical output.
STIM_ARRAYS = ("ia_volley_ta", "cst_volley_ta", "rst_volley_ta", "cort_inh_ta")

#: Signals of the drive group recorded at ``record_dt_s``.
DRIVE_SIGNALS = ("force", "exc", "goal", "r_ein", "r_rc", "cmd_slow", "pool_rate")


def build(structure: Structure, timed_values: dict[str, np.ndarray] | None = None) -> Built:
    """Create the Brian2 objects for ``structure``.

    Must be called after the engine selected its Brian2 device. TimedArray contents are fixed
    at construction (Brian2 copies them into the generated code), so the runtime engine passes
    them here; the standalone engine builds with zeros and supplies them through ``run_args``.
    Other values are assigned by :func:`simulator.engine.run`.
    """
    import brian2 as b2

    n, n_in = structure.n_units, structure.n_input_steps
    in_dt = structure.input_dt_s * b2.second
    timed_values = timed_values or {}
    tas = {}
    for name, ndim in TIMED_ARRAYS.items():
        shape = (n_in,) if ndim == 1 else (n_in, n)
        values = np.asarray(timed_values.get(name, np.zeros(shape)), dtype=float).reshape(shape)
        tas[name] = b2.TimedArray(values, dt=in_dt, name=name)
    for name in STIM_ARRAYS:
        values = np.asarray(timed_values.get(name, np.zeros(structure.n_stim_steps)), dtype=float)
        tas[name] = b2.TimedArray(values.reshape(structure.n_stim_steps),
                                  dt=structure.stim_dt_s * b2.second, name=name)
    ns = dict(tas, INV_N=1.0 / n)
    dt = structure.dt_s * b2.second

    drive_eqs = (CONTROLLER_EQUATIONS + DESCENDING_EQUATIONS.replace("exc_src", "exc")
                 + interneurons.EQUATIONS + NEUROMODULATION_EQUATIONS)
    # the drive group updates before the pool reads it (same step on both engines)
    drive = b2.NeuronGroup(1, drive_eqs, method="euler", namespace=ns, dt=dt, name="drive", order=-1)
    mn_eqs = (motoneuron.EQUATIONS + muscle.EQUATIONS + INPUT_EQUATIONS + NERVE_EQUATIONS
              + DESCENDING_EQUATIONS.replace("exc_src", "exc_l"))
    if not structure.stimulated:  # no volley lookups in every step of an unstimulated run
        for name in STIM_ARRAYS:
            drive_eqs = drive_eqs.replace(f"{name}(t)", "0")
            mn_eqs = mn_eqs.replace(f"{name}(t)", "0")
    # the collision bookkeeping and the axon events cost ~25 % of a small run's time: only
    # stimulated networks carry them (the latches then stay 0)
    if structure.stimulated:
        reset = motoneuron.RESET + NERVE_RESET + muscle.twitch_update("1 - coll_now")
        events = dict(NERVE_EVENTS)
    else:
        reset, events = motoneuron.RESET + muscle.RESET, {}
    mn = b2.NeuronGroup(
        n, mn_eqs, threshold="v_s > V_TH", reset=reset + "trace += 1/(50*ms)\n", events=events,
        refractory="T_REF", method="exponential_euler", namespace=ns, dt=dt, name="mn")
    for event, code in (NERVE_ON_EVENT.items() if structure.stimulated else ()):
        mn.run_on_event(event, code)
    index = np.zeros(n, dtype=int)
    for local, remote in (("exc_l", "exc"), ("r_ein_l", "r_ein"), ("r_rc_l", "r_rc"),
                          ("cmd_slow_l", "cmd_slow")):
        setattr(mn, local, b2.linked_var(drive, remote, index=index))
    feedback = b2.Synapses(mn, drive, """force_post = force_unit_pre : newton (summed)
                                         pool_rate_post = trace_pre * INV_N : hertz (summed)""",
                           namespace=ns, dt=dt, name="feedback")
    feedback.connect()
    spikes = b2.SpikeMonitor(mn, name="spikes")
    record_dt = structure.record_dt_s * b2.second
    state = b2.StateMonitor(drive, list(DRIVE_SIGNALS), record=0, dt=record_dt, name="state")
    pathways = b2.StateMonitor(mn, list(PATHWAY_CURRENTS), record=[0, n - 1], dt=record_dt,
                               name="pathways")
    objs = [drive, mn, feedback, spikes, state, pathways]
    voltage = None
    if structure.voltage_units:
        voltage = b2.StateMonitor(mn, ["v_s", "v_d", "m_pic"], record=list(structure.voltage_units),
                                  dt=dt, name="voltage")
        objs.append(voltage)
    net = b2.Network(*objs, name="mnpool_network")
    return Built(net, mn, drive, spikes, state, pathways, voltage, tas)
