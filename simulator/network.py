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

from .inputs import afferent, corticospinal, drive, neuromodulation, reticulospinal
from .models import interneurons, motoneuron, muscle
from .models.axon import NERVE_EQUATIONS, NERVE_EVENTS, NERVE_ON_EVENT, NERVE_RESET, NERVE_STATES
from .task import CONTROLLER_EQUATIONS

__all__ = ["Structure", "build", "declared", "DRIVE_EQUATIONS", "MOTONEURON_GROUP_EQUATIONS",
           "STIM_ARRAYS", "SEGMENT_ARRAYS", "NERVE_STATES", "segment_reset", "model_equations_hash"]

#: Descending outputs and Ia activity, shared by the ``drive`` group (``exc_src = exc``) and the
#: motoneurons (``exc_src = exc_l``).
DESCENDING_EQUATIONS = (corticospinal.OUTPUT_EQUATIONS + reticulospinal.OUTPUT_EQUATIONS
                        + afferent.OUTPUT_EQUATIONS)

#: The one-neuron ``drive`` group: force controller, descending outputs, spinal rate populations
#: and the slow effort signal of the monoaminergic drive.
DRIVE_EQUATIONS = (CONTROLLER_EQUATIONS + DESCENDING_EQUATIONS.replace("exc_src", "exc")
                   + interneurons.EQUATIONS + neuromodulation.DRIVE_EQUATIONS)

#: What a motoneuron reads from the ``drive`` group (linked variables).
LINKED = {"exc_l": "exc", "r_ein_l": "r_ein", "r_rc_l": "r_rc", "cmd_slow_l": "cmd_slow"}

#: Inputs of a motoneuron, each from the module of its body part: descending excitation split by
#: pathway, interneurons, noise, Ia, neuromodulation, then the synaptic integration.
INPUT_EQUATIONS = ("".join(f"{name} : 1 (linked)\n" for name in LINKED if name != "cmd_slow_l")
                   + corticospinal.MOTONEURON_EQUATIONS + reticulospinal.MOTONEURON_EQUATIONS
                   + interneurons.MOTONEURON_EQUATIONS + drive.MOTONEURON_EQUATIONS
                   + afferent.MOTONEURON_EQUATIONS + neuromodulation.MOTONEURON_EQUATIONS
                   + motoneuron.SYNAPTIC_EQUATIONS)

#: The motoneuron group of an unstimulated network (a stimulated one adds the axon).
MOTONEURON_GROUP_EQUATIONS = (motoneuron.EQUATIONS + muscle.EQUATIONS + INPUT_EQUATIONS
                              + DESCENDING_EQUATIONS.replace("exc_src", "exc_l"))


def declared(equations: str) -> set[str]:
    """Names of the parameters (``NAME : unit (constant...)``) declared in ``equations``, so the
    values of a run reach every group that declares them (:mod:`simulator.assembly`)."""
    names = set()
    for line in equations.splitlines():
        head, _, rest = line.partition(":")
        if "(constant" in rest and "=" not in head:
            names.add(head.strip())
    return names


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
    stimulated
        Whether the run carries stimulation (volley time courses, nerve events).
    segments
        Number of independent trials in the run: every ``duration_s / segments`` seconds every
        state variable is reset to its initial value (:func:`segment_reset`) and the nerve
        latches of the ending trial are recorded, so one run serves several trials.
    """

    n_units: int
    duration_s: float
    dt_s: float = 1e-4
    input_dt_s: float = 1e-3
    record_dt_s: float = 1e-3
    voltage_units: tuple[int, ...] = ()
    stimulated: bool = False
    segments: int = 1

    @property
    def segment_s(self) -> float:
        """Length of one trial segment [s] (the whole run when ``segments`` is 1)."""
        return self.duration_s / self.segments

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


def model_equations_hash() -> str:
    """16 hex digits of :func:`_model_source_hash`: the model's equations without its defaults."""
    return _model_source_hash()[:16]


def _model_source_hash() -> str:
    text = motoneuron.EQUATIONS + motoneuron.RESET + muscle.EQUATIONS + muscle.RESET
    text += muscle.twitch_update("1 - coll_now")
    text += DRIVE_EQUATIONS + MOTONEURON_GROUP_EQUATIONS + NERVE_EQUATIONS + NERVE_RESET
    text += json.dumps([NERVE_EVENTS, NERVE_ON_EVENT, PRECOMPUTED])
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
    latches: object | None = None


#: Input time courses of a network and their dimensionality (1: shared, 2: one column per unit).
TIMED_ARRAYS = {"common_ta": 1, "beta_ta": 1, "indep_ta": 2, "eff_ta": 1, "target_ta": 1, "inj_ta": 1}

#: Stimulation time courses, sampled at :attr:`Structure.stim_dt_s` (all shared by the units):
#: the Ia volley (units of the Ia reference rate), corticospinal and reticulospinal volleys
#: (units of maximal descending excitation) and the GABA-B suppression of cortical output.
STIM_ARRAYS = ("ia_volley_ta", "cst_volley_ta", "rst_volley_ta", "cort_inh_ta")

#: Nerve pulse of the current trial segment, sampled like :data:`STIM_ARRAYS`: its run time [s]
#: and intensity [mA] (-1: none), and what replaces them in an unstimulated network.
SEGMENT_ARRAYS = {"t_nerve_ta": "-1*second", "i_nerve_ta": "-1"}

#: Smallest padded length of an input / a stimulation TimedArray (4.1 s at 1 ms; 3.3 s at 0.1 ms).
MIN_INPUT_STEPS, MIN_STIM_STEPS = 2**12, 2**15

#: The runtime engine's floors: input length, stimulation length, units (32.8 s at 1 ms, 13.1 s
#: at 0.1 ms, 128 units). Its Cython modules are cached by their code, which holds these shapes,
#: so one shape for every run up to these sizes means one set of modules (a cold cache compiled
#: ~25 variants of the four largest modules, ~5-20 s each, for the test suite's durations and
#: pool sizes). The standalone engine keeps the small floors: each of its builds is keyed by the
#: exact structure anyway, and every padded sample is a value written to a file at every run.
RUNTIME_FLOORS = (2**15, 2**17, 128)


#: Subexpressions of the motoneurons computed once per unit and step, before the membrane update.
#: Brian2 writes a subexpression out at every use, and the exponential-Euler update of the two
#: compartments uses the synaptic conductance nine times (each with its noise lookup, square root
#: and clipping) and the PIC's inhibitory gate six times, which the C++ compiler does not merge:
#: computing them first made a 100-unit, 18-s run 19 % faster with the same spikes.
PRECOMPUTED = ("g_exc", "pic_gate")


def precomputed(equations: str) -> tuple[str, str]:
    """``equations`` with every :data:`PRECOMPUTED` subexpression turned into a parameter, and
    the Brian2 code assigning them (run every step before the group's state update)."""
    lines, code = [], []
    for line in equations.splitlines():
        head, sep, unit = line.partition(":")
        name, eq, expr = head.partition("=")
        if sep and eq and name.strip() in PRECOMPUTED:
            lines.append(f"{name.strip()} : {unit.strip()}")
            code.append(f"{name.strip()} = {expr.strip()}")
        else:
            lines.append(line)
    missing = set(PRECOMPUTED) - {c.split(" = ")[0] for c in code}
    if missing:
        raise ValueError(f"no subexpression {sorted(missing)} in the motoneuron equations")
    return "\n".join(lines) + "\n", "\n".join(code) + "\n"


def padded(n: int, floor: int = 1) -> int:
    """Size given to a TimedArray dimension of ``n`` (samples or units): the next power of two,
    at least ``floor`` (``n`` itself when ``n`` is 1: an unused array).

    Brian2 writes a TimedArray's shape into the code it generates, so every new duration or
    pool size would compile new code (several Cython modules, ~5 s each, on the runtime
    engine). Padded shapes let runs of similar durations and pool sizes share that code. The
    padding repeats the last sample, which a TimedArray returns beyond its end anyway, and adds
    columns of units that do not exist, so no result changes.
    """
    return n if n <= 1 else max(floor, 1 << (n - 1).bit_length())


def fit_timed(values: np.ndarray, rows: int, cols: int | None = None) -> np.ndarray:
    """``values`` (time along axis 0, units along axis 1 if 2-D) padded to ``rows`` samples
    (the last sample repeated) and ``cols`` units (zeros)."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 1 or cols is None:
        extra = max(0, rows - values.shape[0])
        return np.concatenate([values, np.repeat(values[-1:], extra, axis=0)]) if extra else values
    out = np.zeros((max(rows, values.shape[0]), max(cols, values.shape[1])))
    out[:values.shape[0], :values.shape[1]] = values
    out[values.shape[0]:, :values.shape[1]] = values[-1]
    return out


#: Initial values of state variables that do not start at 0 (the others are reset to 0).
INITIAL_STATE = {"v_s": "E_L", "v_d": "E_L", "t_prev": "-1e9*second", "lastspike": "-1e4*second",
                 "not_refractory": "True"}


def segment_reset(group: object) -> str:
    """Brian2 code putting every state variable of ``group`` back to its initial value: every
    differential variable and non-constant parameter (0, or :data:`INITIAL_STATE`)."""
    from brian2.equations.equations import DIFFERENTIAL_EQUATION, PARAMETER
    lines = []
    for name, eq in group.equations.items():  # type: ignore[attr-defined]
        if eq.type == DIFFERENTIAL_EQUATION or (eq.type == PARAMETER and not eq.flags):
            lines.append(f"{name} = {INITIAL_STATE.get(name, name + ' * 0')}")
    for name in ("lastspike", "not_refractory"):  # the refractoriness of a spiking group
        if name in group.variables and not any(x.startswith(name + " ") for x in lines):  # type: ignore[attr-defined]
            lines.append(f"{name} = {INITIAL_STATE[name]}")
    return "\n".join(lines) + "\n"

#: Signals of the drive group recorded at ``record_dt_s``.
DRIVE_SIGNALS = ("force", "exc", "goal", "r_ein", "r_rc", "cmd_slow", "pool_rate", "o_cst", "o_rst",
                 "r_ia", "monoamine")


def build(structure: Structure, timed_values: dict[str, np.ndarray] | None = None, *,
          runtime: bool = False) -> Built:
    """Create the Brian2 objects for ``structure``.

    Must be called after the engine selected its Brian2 device. TimedArray contents are fixed
    at construction (Brian2 copies them into the generated code), so the runtime engine passes
    them here; the standalone engine builds with zeros and supplies them through ``run_args``.
    Other values are assigned by :func:`simulator.engine.run`. ``runtime`` pads the TimedArrays
    to :data:`RUNTIME_FLOORS` (the runtime engine's code cache is keyed by their shapes).
    """
    import brian2 as b2

    n, n_in = structure.n_units, structure.n_input_steps
    input_floor, stim_floor, unit_floor = RUNTIME_FLOORS if runtime else (MIN_INPUT_STEPS, MIN_STIM_STEPS, 1)
    in_dt = structure.input_dt_s * b2.second
    timed_values = timed_values or {}
    tas = {}
    for name, ndim in TIMED_ARRAYS.items():
        shape = (n_in,) if ndim == 1 else (n_in, n)
        values = np.asarray(timed_values.get(name, np.zeros(shape)), dtype=float).reshape(shape)
        tas[name] = b2.TimedArray(fit_timed(values, padded(n_in, input_floor),
                                            None if ndim == 1 else padded(n, unit_floor)),
                                  dt=in_dt, name=name)
    n_stim = structure.n_stim_steps
    rows = padded(n_stim, stim_floor)
    for name in STIM_ARRAYS:
        values = np.asarray(timed_values.get(name, np.zeros(n_stim)), dtype=float).reshape(n_stim)
        tas[name] = b2.TimedArray(fit_timed(values, rows), dt=structure.stim_dt_s * b2.second, name=name)
    for name in SEGMENT_ARRAYS:
        values = np.asarray(timed_values.get(name, np.full(n_stim, -1.0)), dtype=float).reshape(n_stim)
        unit = b2.second if name == "t_nerve_ta" else 1
        tas[name] = b2.TimedArray(fit_timed(values, rows) * unit, dt=structure.stim_dt_s * b2.second,
                                  name=name)
    ns = dict(tas, INV_N=1.0 / n)
    dt = structure.dt_s * b2.second

    drive_eqs = DRIVE_EQUATIONS
    # the drive group updates before the pool reads it (same step on both engines)
    drive = b2.NeuronGroup(1, drive_eqs, method="euler", namespace=ns, dt=dt, name="drive", order=-2)
    mn_eqs = MOTONEURON_GROUP_EQUATIONS + NERVE_EQUATIONS
    if not structure.stimulated:  # no volley lookups in every step of an unstimulated run
        for name in STIM_ARRAYS:
            drive_eqs = drive_eqs.replace(f"{name}(t)", "0")
            mn_eqs = mn_eqs.replace(f"{name}(t)", "0")
        for name, none in SEGMENT_ARRAYS.items():
            mn_eqs = mn_eqs.replace(f"{name}(t)", none)
    # the collision bookkeeping and the axon events cost ~25 % of a small run's time: only
    # stimulated networks carry them (the latches then stay 0)
    if structure.stimulated:
        reset = motoneuron.RESET + NERVE_RESET + muscle.twitch_update("1 - coll_now")
        events = dict(NERVE_EVENTS)
    else:
        reset, events = motoneuron.RESET + muscle.RESET, {}
    mn_eqs, pre_update = precomputed(mn_eqs)
    mn = b2.NeuronGroup(
        n, mn_eqs, threshold="v_s > V_TH", reset=reset + "trace += 1/(50*ms)\n", events=events,
        refractory="T_REF", method="exponential_euler", namespace=ns, dt=dt, name="mn")
    for event, code in (NERVE_ON_EVENT.items() if structure.stimulated else ()):
        mn.run_on_event(event, code)
    index = np.zeros(n, dtype=int)
    for local, remote in LINKED.items():
        setattr(mn, local, b2.linked_var(drive, remote, index=index))
    # after the drive's update (order -2, which the linked inputs read), before the membrane's (0)
    mn.run_regularly(pre_update, dt=dt, when="groups", order=-1, name="mn_precomputed")
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
    latches = None
    if structure.segments > 1:
        seg = structure.segment_s * b2.second
        # the latches of the ending trial are recorded before the reset (same slot, earlier order)
        latches = b2.StateMonitor(mn, list(NERVE_STATES), record=True, dt=seg, when="start",
                                  order=-10, name="latches")
        objs.append(latches)
        for group in (drive, mn):
            group.run_regularly(segment_reset(group), dt=seg, when="start", order=-5,
                                name=f"{group.name}_segment_reset")
    net = b2.Network(*objs, name="mnpool_network")
    return Built(net, mn, drive, spikes, state, pathways, voltage, tas, latches)
