"""Assemble one Brian2 network of the virtual subject: motoneuron pool, muscle and force controller.

The network has a fixed *structure* (:class:`Structure`: number of units, duration, time steps,
what is recorded) and *values* (every membrane, muscle and controller parameter and every input
time course). Values are Brian2 state variables or ``TimedArray`` contents, never literal
constants in the generated code, so a ``cpp_standalone`` build made for one structure is re-run
with new values through ``run_args`` (:mod:`simulator.engine`).

Data flow inside the network (all in Brian2, so the loop is closed without Python callbacks):

* ``ctrl`` (one neuron) compares the low-passed muscle force with the target and sets the
  excitation ``e`` = feed-forward + PI correction, clipped to [0, 1];
* ``mn`` (N motoneurons) read ``e`` through a linked variable, add common and independent
  noise, integrate the two-compartment membrane (:mod:`simulator.models.motoneuron`) and
  the twitch of their muscle unit (:mod:`simulator.models.muscle`);
* ``force`` sums every unit's force into the controller (a summed variable).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

from .models import motoneuron, muscle

__all__ = ["Structure", "build", "CONTROLLER_EQUATIONS"]

#: Force controller (Brian2 equations of a one-neuron group). ``target`` and ``e_ff`` are
#: fractions (of MVC and of maximal excitation).
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

#: Input terms of a motoneuron: command, common and independent noise, injected current.
INPUT_EQUATIONS = """
e_cmd : 1 (linked)
excitation = e_cmd * (1 + common_ta(t)) + NOISE_SD * sqrt(clip(e_cmd, 0, inf)) * indep_ta(t, i) : 1
NOISE_SD : 1 (constant, shared)
I_inj = I_inj_amp * inj_ta(t) : amp
I_inj_amp : amp (constant)
E_L : volt (constant, shared)
E_K : volt (constant, shared)
E_EXC : volt (constant, shared)
E_PIC : volt (constant, shared)
V_HALF : volt (constant)
K_PIC : volt (constant, shared)
TAU_PIC : second (constant, shared)
V_TH : volt (constant, shared)
V_RESET : volt (constant, shared)
T_REF : second (constant, shared)
SOMA_FRAC : 1 (constant, shared)
"""


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

    @property
    def n_input_steps(self) -> int:
        """Number of samples of every input TimedArray."""
        return int(round(self.duration_s / self.input_dt_s)) + 1

    def key(self) -> str:
        """Stable hash naming the standalone build of this structure."""
        text = json.dumps(dataclasses.asdict(self), sort_keys=True) + _model_source_hash()
        return hashlib.sha1(text.encode()).hexdigest()[:16]


def _model_source_hash() -> str:
    text = motoneuron.EQUATIONS + motoneuron.RESET + muscle.EQUATIONS + muscle.RESET
    text += CONTROLLER_EQUATIONS + INPUT_EQUATIONS
    return hashlib.sha1(text.encode()).hexdigest()


@dataclasses.dataclass
class Built:
    """The Brian2 objects of one network."""

    network: object
    mn: object
    ctrl: object
    spikes: object
    state: object
    voltage: object | None
    timed_arrays: dict[str, object]


#: Input time courses of a network and their shape, ``(n_input_steps,)`` or ``(.., n_units)``.
TIMED_ARRAYS = {"common_ta": 1, "indep_ta": 2, "eff_ta": 1, "target_ta": 1, "inj_ta": 1}


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
    ns = dict(tas, R_LIN=muscle.R_LINEAR, GAIN_NORM=float(muscle.GAIN_NORM))
    dt = structure.dt_s * b2.second

    ctrl = b2.NeuronGroup(1, CONTROLLER_EQUATIONS, method="euler", namespace=ns, dt=dt, name="ctrl",
                          order=-1)  # the controller updates before the pool reads it
    ctrl.force_f = 0
    mn_eqs = motoneuron.EQUATIONS + muscle.EQUATIONS + INPUT_EQUATIONS
    mn = b2.NeuronGroup(
        n, mn_eqs, threshold="v_s > V_TH", reset=motoneuron.RESET + muscle.RESET,
        refractory="T_REF", method="exponential_euler", namespace=ns, dt=dt, name="mn")
    mn.e_cmd = b2.linked_var(ctrl, "exc", index=np.zeros(n, dtype=int))
    sum_force = b2.Synapses(mn, ctrl, "force_post = force_unit_pre : newton (summed)",
                            dt=dt, name="force_sum")
    sum_force.connect()
    spikes = b2.SpikeMonitor(mn, name="spikes")
    state = b2.StateMonitor(ctrl, ["force", "exc", "goal"], record=0,
                            dt=structure.record_dt_s * b2.second, name="state")
    objs = [ctrl, mn, sum_force, spikes, state]
    voltage = None
    if structure.voltage_units:
        voltage = b2.StateMonitor(mn, ["v_s", "v_d", "m_pic"], record=list(structure.voltage_units),
                                  dt=dt, name="voltage")
        objs.append(voltage)
    net = b2.Network(*objs, name="mnpool_network")
    return Built(net, mn, ctrl, spikes, state, voltage, tas)
