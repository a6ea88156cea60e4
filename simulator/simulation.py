"""Simulate a virtual subject performing a task: configuration, MVC calibration and the activity Dataset.

``simulate(config)`` is the one call behind ``mnpool simulate``:

1. compute every unit's parameters from the size-principle gradients
   (:mod:`simulator.models.pool`, :mod:`simulator.models.motoneuron`);
2. *calibrate* the subject (cached on disk): an open-loop ramp of excitation from 0 to the
   maximum followed by a hold gives the force–excitation curve and the MVC (force at maximal
   excitation, Fuglevand et al. 1993);
3. run the task: the controller tracks the force target with feed-forward from the calibration
   curve plus a PI correction (or imposes the excitation in open loop);
4. return an ``activity`` :class:`xarray.Dataset` (DESIGN.md conventions) carrying the full
   configuration, seed and versions in ``attrs``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import platform
from typing import Any

import numpy as np
import xarray as xr

from . import _schema
from .config import Config, ConfigError, param
from .engine import ENGINES, Results, Values, cache_dir, run
from .inputs import afferent, corticospinal, reticulospinal, stimulation
from .inputs.afferent import AfferentConfig
from .inputs.corticospinal import CorticospinalConfig
from .inputs.drive import DriveConfig, common_noise, independent_noise
from .inputs.neuromodulation import NeuromodulationConfig
from .inputs.reticulospinal import ReticulospinalConfig
from .inputs.stimulation import CortexConfig, NerveConfig, Stimulus
from .models.interneurons import InterneuronConfig
from .models.motoneuron import MotoneuronConfig, passive_properties
from .models import muscle
from .models.muscle import MuscleConfig
from .models.pool import PoolConfig, unit_properties
from .network import STIM_ARRAYS, Structure
from .task import TaskConfig, target_profile

__all__ = ["SimulationConfig", "Calibration", "calibrate", "simulate", "unit_table",
           "load_config"]


@dataclasses.dataclass(frozen=True)
class SimulationConfig(Config):
    """Everything that defines one simulation: the subject, the task and the numerics."""

    pool: PoolConfig = param(PoolConfig())
    motoneuron: MotoneuronConfig = param(MotoneuronConfig())
    muscle: MuscleConfig = param(MuscleConfig())
    corticospinal: CorticospinalConfig = param(CorticospinalConfig())
    reticulospinal: ReticulospinalConfig = param(ReticulospinalConfig())
    afferent: AfferentConfig = param(AfferentConfig())
    interneurons: InterneuronConfig = param(InterneuronConfig())
    neuromodulation: NeuromodulationConfig = param(NeuromodulationConfig())
    nerve: NerveConfig = param(NerveConfig())
    cortex: CortexConfig = param(CortexConfig())
    drive: DriveConfig = param(DriveConfig())
    task: TaskConfig = param(TaskConfig())
    seed: int = param(0, lo=0, hi=2**32 - 1, doc=(
        "random seed of the subject: its anatomy (nerve thresholds, MUAP placement) and noise"))
    session: int = param(0, lo=0, hi=100_000, doc=(
        "testing session of the subject (0 = first): a later session draws new noise in every "
        "run but keeps the subject's anatomy"))
    engine: str = param("runtime", choices=ENGINES)
    dt_ms: float = param(0.1, lo=0.005, hi=0.1, unit="ms", doc="integration time step")
    fs_force_hz: float = param(1000.0, lo=100.0, hi=10000.0, unit="Hz",
                               doc="sampling rate of force, excitation and target")
    calibration_ramp_s: float = param(6.0, lo=1.0, hi=60.0, unit="s",
                                      doc="duration of the 0-100 % excitation ramp used for MVC")
    calibration_hold_s: float = param(3.0, lo=0.5, hi=10.0, unit="s",
                                      doc="hold at maximal excitation; MVC is the mean over its last second (or half)")

    def validate(self) -> None:
        step = 1e3 / self.fs_force_hz
        if abs(step / self.dt_ms - round(step / self.dt_ms)) > 1e-6:
            raise ConfigError(f"fs_force_hz = {self.fs_force_hz:g}: the sampling interval {step:g} ms "
                              f"must be a multiple of dt_ms = {self.dt_ms:g}")
        noise_step = self.drive.noise_dt_ms
        if abs(noise_step / self.dt_ms - round(noise_step / self.dt_ms)) > 1e-6:
            raise ConfigError(f"drive.noise_dt_ms = {noise_step:g} must be a multiple of "
                              f"dt_ms = {self.dt_ms:g}")


#: Top-level TOML tables that belong to other stages (EMG, decomposition, sweeps).
OTHER_TABLES = ("emg", "decomposition", "sweep")


def load_config(path: str | None, *, ignore: tuple[str, ...] = (), **overrides: Any) -> SimulationConfig:
    """Read a TOML configuration (defaults if ``path`` is None) and apply top-level overrides.

    Tables of other stages (:data:`OTHER_TABLES`, and ``ignore``) are left to their readers.
    """
    from .config import load_toml
    data = load_toml(path) if path else {}
    data = {k: v for k, v in data.items() if k not in OTHER_TABLES + tuple(ignore)}
    cfg = SimulationConfig.from_dict(data)
    clean = {k: v for k, v in overrides.items() if v is not None}
    return cfg.replace(**clean) if clean else cfg


def unit_table(cfg: SimulationConfig) -> dict[str, np.ndarray]:
    """All per-unit properties (reporting names of :data:`simulator._schema.UNIT_PROPERTIES`
    plus the SI model values keyed ``C_s``, ``w_exc``...)."""
    props = unit_properties(cfg.pool)
    props.update(passive_properties(props, cfg.motoneuron))
    props["rst_weight"] = reticulospinal.motoneuron_profile(props["size_index"], cfg.reticulospinal)
    # Synaptic efficacies are calibrated on the reference subject: with default pathway weights
    # each unit's summed descending weight is 1, so it is recruited at its designed excitation;
    # pathway changes (RST share, site adaptations) then shift recruitment from there.
    ref = SimulationConfig(pool=cfg.pool)
    ref_rst = reticulospinal.motoneuron_profile(props["size_index"], ref.reticulospinal)
    k = pathway_constants(ref)
    props["w_exc"] = props["w_exc"] / (k["B_CM"] + k["B_RST"] * ref_rst + k["B_IN"])
    props["g_ia"] = afferent.monosynaptic_conductance(props["input_conductance_us"], cfg.afferent)
    props["ia_epsp_conductance_us"] = props["g_ia"] * 1e6
    props["twitch_n"] = props["twitch_n"] * cfg.muscle.twitch_scale
    props.update(muscle.unit_parameters(props["twitch_n"], props["contraction_time_ms"] * 1e-3,
                                        cfg.muscle))
    # motor axons: stimulation thresholds (the subject's own draw) and conduction times from
    # the nerve stimulation site to the soma and to the muscle (+ neuromuscular delay)
    nerve = cfg.nerve
    props["nerve_threshold_ma"] = stimulation.axon_thresholds_ma(
        props["size_index"], nerve, np.random.default_rng([cfg.seed, 3]))
    props["proximal_delay_s"] = cfg.afferent.path_length_m / props["axon_cv_m_s"]
    props["distal_delay_s"] = (nerve.to_muscle_m / (nerve.distal_cv_ratio * props["axon_cv_m_s"])
                               + nerve.neuromuscular_delay_ms * 1e-3)
    props["reflex_latency_ms"] = 1e3 * (afferent.reflex_latency_s(props["axon_cv_m_s"], cfg.afferent)
                                        + props["distal_delay_s"])
    return props


def pathway_constants(cfg: SimulationConfig) -> dict[str, float]:
    """Shared constants of the pathways: budgets, gains and rates (dimensionless unless noted).

    The descending excitation budget at default weights is split into corticomotoneuronal
    ``(1-ρ)(1-f)``, reticulospinal ``ρ(1-f)`` and interneuronal ``f`` parts
    (:mod:`simulator.models.interneurons`); site weights multiply their part.
    """
    rho = cfg.reticulospinal.share
    f_in = cfg.interneurons.interneuron_fraction
    ipsi = cfg.reticulospinal.side == "ipsilateral"
    aff, inn, nm = cfg.afferent, cfg.interneurons, cfg.neuromodulation
    return {
        "B_CM": (1 - rho) * (1 - f_in) * cfg.corticospinal.cm_weight,
        "B_RST": rho * (1 - f_in) * cfg.reticulospinal.motoneuron_weight,
        "B_IN": f_in,
        # the crossed corticospinal tract does not reach the pool on the other side
        "CST_GAIN": corticospinal.cortical_gain(cfg.corticospinal) * (1.0 if ipsi else 0.0),
        "RST_GAIN": reticulospinal.reticular_gain(cfg.reticulospinal),
        "IA_REST": aff.resting_rate_hz / aff.reference_rate_hz,
        "IA_FUSI": aff.fusimotor_gain_hz / aff.reference_rate_hz,
        "IA_EFF": afferent.ia_efficacy(aff),
        "PSI_KL": aff.presynaptic_strength * aff.presynaptic_inhibition,
        "PSI_DROP": aff.contraction_disinhibition,
        "EIN_CST": (1 - rho) * cfg.corticospinal.interneuron_weight,
        "EIN_RST": rho * cfg.reticulospinal.interneuron_weight,
        "EIN_IA": inn.ia_to_interneuron * aff.oligosynaptic_weight,
        "RC_GAIN": inn.renshaw_gain,
        "IAIN": inn.reciprocal_inhibition,
        "MONO_LEVEL": nm.level,
        "MONO_EFFORT": nm.effort_gain,
        "PIC_INH": nm.inhibition_pic_sensitivity,
        "AHP_MONO": nm.ahp_sensitivity,
    }


def _structure(cfg: SimulationConfig, duration_s: float, voltage_units: tuple[int, ...] = (),
               stimulated: bool = False) -> Structure:
    return Structure(n_units=cfg.pool.n_units, duration_s=float(duration_s), dt_s=cfg.dt_ms * 1e-3,
                     input_dt_s=cfg.drive.noise_dt_ms * 1e-3, record_dt_s=1.0 / cfg.fs_force_hz,
                     voltage_units=tuple(voltage_units), stimulated=stimulated)


def stimulation_values(cfg: SimulationConfig, structure: Structure,
                       stimulus: Stimulus | None) -> dict[str, Any]:
    """Network values of the stimuli of one trial (an unreachable nerve pulse if none).

    Returns the stimulation TimedArrays (``ta.ia_volley_ta``...) sampled at
    :attr:`~simulator.network.Structure.stim_dt_s` and the shared nerve-pulse constants.
    """
    values: dict[str, Any] = {"mn.T_NERVE": -1.0, "mn.I_NERVE": -1.0,
                              "mn.REFR_AX": cfg.nerve.axon_refractory_ms * 1e-3}
    if stimulus is None:  # an unstimulated network does not use the volley arrays at all
        return values
    n = structure.n_stim_steps
    values.update({f"ta.{name}": np.zeros(n) for name in STIM_ARRAYS})
    t = np.arange(n) * structure.stim_dt_s
    aff, cortex = cfg.afferent, cfg.cortex
    if stimulus.nerve_time_s is not None:
        values["mn.T_NERVE"], values["mn.I_NERVE"] = stimulus.nerve_time_s, stimulus.nerve_ma
        values["ta.ia_volley_ta"] = stimulation.ia_volley(
            t, stimulus.nerve_time_s, stimulus.nerve_ma,
            stimulation.ia_thresholds_ma(cfg.nerve, np.random.default_rng([cfg.seed, 4])), cfg.nerve,
            path_m=aff.path_length_m, cv_m_s=aff.conduction_velocity_m_s,
            central_delay_s=aff.central_delay_ms * 1e-3, rng=np.random.default_rng([cfg.seed, 5]))
    cst = np.zeros(n)
    if stimulus.tms:
        volley, inhibition = stimulation.tms_volley(
            t, stimulus.tms, cortex, corticospinal.cortical_gain(cfg.corticospinal),
            cfg.corticospinal.intracortical_inhibition)
        cst += volley
        values["ta.cort_inh_ta"] = inhibition
    if stimulus.direct_time_s is not None:
        cst += stimulation.direct_cst_volley(t, stimulus.direct_time_s, stimulus.direct_pct, cortex)
    values["ta.cst_volley_ta"] = cst
    if stimulus.startle_time_s is not None:
        values["ta.rst_volley_ta"] = stimulation.startle_volley(t, stimulus.startle_time_s, cortex)
    return values


def _values(cfg: SimulationConfig, structure: Structure, props: dict[str, np.ndarray],
            rng: np.random.Generator, *, e_ff: np.ndarray, target: np.ndarray, closed_loop: bool,
            f_mvc: float, injection: tuple[np.ndarray, np.ndarray] | None = None,
            stimulus: Stimulus | None = None) -> Values:
    mn = cfg.motoneuron
    n, n_in = structure.n_units, structure.n_input_steps
    in_dt = structure.input_dt_s
    values: Values = {f"mn.{k}": props[k] for k in
                      ("C_s", "C_d", "G_s", "G_d", "G_c", "g_pic", "w_exc", "tau_ahp", "dg_ahp_spike",
                       "g_ia")}
    values.update({"mn.AX_TH": props["nerve_threshold_ma"], "mn.D_PROX": props["proximal_delay_s"],
                   "mn.D_DIST": props["distal_delay_s"]})
    values.update(stimulation_values(cfg, structure, stimulus))
    consts = pathway_constants(cfg)
    drive_only = ("EIN_CST", "EIN_RST", "EIN_IA", "RC_GAIN")
    shared_both = ("CST_GAIN", "RST_GAIN", "IA_REST", "IA_FUSI", "IA_EFF", "PSI_KL", "PSI_DROP")
    values.update({f"mn.{k}": v for k, v in consts.items() if k not in drive_only})
    values.update({f"drive.{k}": consts[k] for k in drive_only + shared_both})
    values.update({
        "drive.IAIN_LEVEL": consts["IAIN"],
        "drive.TAU_IN": cfg.interneurons.tau_ms * 1e-3,
        "drive.RC_REF": cfg.interneurons.renshaw_reference_hz,
        "drive.TAU_RC": cfg.interneurons.renshaw_tau_ms * 1e-3,
        "drive.TAU_MONO": cfg.neuromodulation.tau_s,
        "mn.rst_w": props["rst_weight"],
        **{f"mn.{k}": props[k] for k in ("A_xb", "tau_ca", "tau_f1", "tau_f2")},
        **{f"mn.{k}": v for k, v in muscle.shared_constants(cfg.muscle).items()},
        "mn.NOISE_SD": cfg.drive.independent_sd,
        "mn.E_INH": mn.e_inh_mv * 1e-3,
        "mn.v_s": np.full(n, mn.e_leak_mv * 1e-3),
        "mn.v_d": np.full(n, mn.e_leak_mv * 1e-3),
        "mn.t_prev": np.full(n, -1e9),
        "mn.E_L": mn.e_leak_mv * 1e-3, "mn.E_K": mn.e_k_mv * 1e-3,
        "mn.E_EXC": mn.e_exc_mv * 1e-3, "mn.E_PIC": mn.e_pic_mv * 1e-3,
        "mn.V_HALF": (mn.pic_v_half_mv + props["pic_onset_shift_mv"]) * 1e-3, "mn.K_PIC": mn.pic_slope_mv * 1e-3,
        "mn.TAU_PIC": mn.pic_tau_ms * 1e-3, "mn.V_TH": (mn.v_threshold_mv + mn.threshold_shift_mv) * 1e-3,
        "mn.V_RESET": min(mn.v_reset_mv, mn.v_threshold_mv + mn.threshold_shift_mv - 1.0) * 1e-3, "mn.T_REF": mn.refractory_ms * 1e-3,
        "mn.SOMA_FRAC": mn.soma_input_fraction,
        "drive.F_mvc": f_mvc, "drive.kp": cfg.task.kp, "drive.ki": cfg.task.ki,
        "drive.tau_f": cfg.task.force_filter_ms * 1e-3, "drive.closed_loop": float(closed_loop),
        "ta.common_ta": common_noise(n_in, in_dt, cfg.drive, rng),
        "ta.beta_ta": corticospinal.beta_oscillation(n_in, in_dt, cfg.corticospinal, rng),
        "ta.indep_ta": independent_noise(n_in, n, in_dt, cfg.drive, rng),
        "ta.eff_ta": e_ff, "ta.target_ta": target,
    })
    if injection is None:
        values["mn.I_inj_amp"] = np.zeros(n)
        values["ta.inj_ta"] = np.zeros(n_in)
    else:
        values["mn.I_inj_amp"], values["ta.inj_ta"] = injection
    return values


def _noise_seed(cfg: SimulationConfig, purpose: int, trial: int | None = None) -> list[int]:
    """Seed of the noise of one run: the subject's seed, the purpose (calibration 1, task 2),
    and the session and trial when they are not the first."""
    key = [cfg.seed, purpose]
    if cfg.session or trial is not None:
        key += [cfg.session, 0 if trial is None else int(trial)]
    return key


# ----------------------------------------------------------------------------- calibration
@dataclasses.dataclass(frozen=True)
class Calibration:
    """Force–excitation relation of a subject at rest-to-maximum excitation.

    Attributes
    ----------
    mvc_n
        Maximal voluntary force [N]: mean force over the last second at maximal excitation.
    excitation
        Excitation samples of the (monotone) force–excitation curve (0–1).
    force_n
        Force [N] at those excitation levels (non-decreasing).
    """

    mvc_n: float
    excitation: np.ndarray
    force_n: np.ndarray

    def excitation_for(self, force_fraction: np.ndarray) -> np.ndarray:
        """Feed-forward excitation expected to give ``force_fraction`` (of MVC)."""
        f = np.clip(np.asarray(force_fraction, dtype=float), 0.0, None) * self.mvc_n
        return np.interp(f, self.force_n, self.excitation, right=1.0)


def _subject_key(cfg: SimulationConfig) -> str:
    # everything but the task and the engine (both engines give the same answer) defines the subject
    subject = {k: v for k, v in cfg.to_dict().items() if k not in ("task", "engine")}
    text = json.dumps(subject, sort_keys=True)
    return hashlib.sha1((text + Structure(1, 1.0).key()).encode()).hexdigest()[:16]


def calibrate(cfg: SimulationConfig, *, use_cache: bool = True, progress: bool = False) -> Calibration:
    """Measure the subject's force–excitation curve and MVC (cached by subject and seed).

    Parameters
    ----------
    cfg
        Simulation configuration (the task is ignored).
    use_cache
        Reuse a calibration stored under :func:`simulator.engine.cache_dir`.
    progress
        Show progress.

    Returns
    -------
    Calibration
    """
    path = cache_dir() / "calibrations" / f"{_subject_key(cfg)}.npz"
    if use_cache and path.is_file():
        with np.load(path) as z:
            return Calibration(float(z["mvc_n"]), z["excitation"], z["force_n"])
    ramp, hold = cfg.calibration_ramp_s, cfg.calibration_hold_s
    structure = _structure(cfg, ramp + hold)
    t_in = np.arange(structure.n_input_steps) * structure.input_dt_s
    e_ff = np.clip(t_in / ramp, 0.0, 1.0)
    props = unit_table(cfg)
    rng = np.random.default_rng(_noise_seed(cfg, 1))
    values = _values(cfg, structure, props, rng, e_ff=e_ff, target=np.zeros_like(e_ff),
                     closed_loop=False, f_mvc=1.0)
    res = run(structure, values, cfg.engine, progress=progress)
    mvc = float(res.force[res.t >= ramp + hold - min(1.0, hold / 2)].mean())
    on_ramp = res.t <= ramp
    # force lags excitation by the twitch dynamics; shift by ~100 ms before pairing them
    lag = int(round(0.1 / (res.t[1] - res.t[0])))
    exc = res.excitation[on_ramp][:-lag]
    force = _smooth(res.force, 101)[on_ramp][lag:]
    force = np.maximum.accumulate(force)
    exc = np.append(exc, 1.0)
    force = np.append(force, max(mvc, force[-1]))
    cal = Calibration(mvc, exc, force)
    # a unique temporary file per writer: concurrent sweep workers calibrating the same subject
    # must never rename (or read) each other's half-written file
    from .io import atomic_path
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, mvc_n=mvc, excitation=exc, force_n=force)
    return cal


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    kernel = np.hanning(n)
    kernel /= kernel.sum()
    pad = np.pad(x, n // 2, mode="edge")
    return np.convolve(pad, kernel, mode="valid")


# ----------------------------------------------------------------------------- simulation
def simulate(cfg: SimulationConfig, *, progress: bool = False, voltage_units: tuple[int, ...] = (),
             injection: tuple[np.ndarray, np.ndarray] | None = None,
             calibration: Calibration | None = None, stimulus: Stimulus | None = None,
             trial: int | None = None) -> xr.Dataset:
    """Run the task of ``cfg`` on its virtual subject.

    Parameters
    ----------
    cfg
        Simulation configuration (subject, task, seed, engine).
    progress
        Show a progress bar.
    voltage_units
        Units whose soma/dendrite potentials and PIC activation are recorded at every step
        (``v_s``, ``v_d``, ``m_pic`` in the Dataset, dims ``(vunit, vtime)``).
    injection
        Optional somatic current injection ``(amplitude per unit [A], time course (n_input_steps,))``.
    calibration
        Use this calibration instead of computing (or loading) one.
    stimulus
        Stimuli delivered during the task (:class:`simulator.inputs.stimulation.Stimulus`);
        stimulated runs integrate the volleys at ``dt_ms`` and return what happened in every
        motor axon (``axon_*`` variables, :func:`simulator.evoked.muscle_arrivals`).
    trial
        Repetition index of a trial on the same subject: changes the noise of the run, never the
        subject (whose stimulation thresholds and calibration follow ``cfg.seed``).

    Returns
    -------
    xarray.Dataset
        The ``activity`` Dataset (see :mod:`simulator._schema`).
    """
    task = cfg.task
    if stimulus is not None:
        stimulus.check(task.duration_s, cfg.dt_ms * 1e-3)
    cal = calibration if calibration is not None else calibrate(cfg, progress=progress)
    structure = _structure(cfg, task.duration_s, voltage_units, stimulated=stimulus is not None)
    t_in = np.arange(structure.n_input_steps) * structure.input_dt_s
    goal = target_profile(task, t_in) / 100.0
    if task.control == "force":
        e_ff, target, closed = cal.excitation_for(goal), goal, True
    else:
        e_ff, target, closed = goal, np.zeros_like(goal), False
    props = unit_table(cfg)
    rng = np.random.default_rng(_noise_seed(cfg, 2, trial))
    values = _values(cfg, structure, props, rng, e_ff=e_ff, target=target, closed_loop=closed,
                     f_mvc=cal.mvc_n, injection=injection, stimulus=stimulus)
    res = run(structure, values, cfg.engine, progress=progress)
    ds = to_dataset(cfg, res, props, cal, goal_time=t_in, goal=goal,
                    voltage_units=structure.voltage_units)
    # the cortical signal standing in for EEG/MEG: corticospinal output with its common and beta
    # oscillations (the shared input of every corticomotoneuronal synapse)
    oscillation = np.interp(res.t, t_in, values["ta.common_ta"] + values["ta.beta_ta"])
    ds["cortical_signal"] = ("time", ds["corticospinal_output"].values * (1 + oscillation),
                             {"units": "1", "long_name": "corticospinal output with its oscillations"})
    if stimulus is not None:
        _add_stimulation(ds, stimulus, res, props)
    return ds


def _add_stimulation(ds: xr.Dataset, stimulus: Stimulus, res: Results,
                     props: dict[str, np.ndarray]) -> None:
    """Record the stimulus and the fate of every motor axon in the activity Dataset."""
    nerve = res.nerve
    ds["axon_collision_time"] = ("unit", np.where(nerve["ax_coll"] > 0.5, nerve["t_coll"], np.nan),
                                 {"units": "s", "long_name": "soma time of the discharge that collided "
                                  "with the antidromic spike"})
    for key, name, long_name in (("ax_m", "axon_orthodromic", "stimulated spike reached the muscle"),
                                 ("ax_anti", "axon_antidromic", "antidromic spike invaded the soma"),
                                 ("ax_fail", "axon_refractory", "axon refractory at the pulse")):
        ds[name] = ("unit", nerve[key] > 0.5, {"long_name": long_name})
    for key in ("nerve_threshold_ma", "proximal_delay_s", "distal_delay_s"):
        ds[key] = ("unit", props[key], {"units": key.rsplit("_", 1)[1]})
    ds.attrs["stimulus"] = json.dumps(dataclasses.asdict(stimulus))


def to_dataset(cfg: SimulationConfig, res: Results, props: dict[str, np.ndarray], cal: Calibration,
               *, goal_time: np.ndarray, goal: np.ndarray,
               voltage_units: tuple[int, ...] = ()) -> xr.Dataset:
    """Assemble the ``activity`` Dataset from raw engine results."""
    import brian2

    from . import __version__
    target_pct = np.interp(res.t, goal_time, goal) * 100.0
    data_vars: dict[str, Any] = {
        _schema.SPIKE_TIME: ("spike", res.spike_time, {"units": "s", "long_name": "spike time"}),
        _schema.SPIKE_UNIT: ("spike", res.spike_unit, {"long_name": "motor unit of the spike"}),
        "force": ("time", res.force, {"units": "N", "long_name": "muscle force"}),
        "force_mvc": ("time", 100.0 * res.force / cal.mvc_n, {"units": "%MVC", "long_name": "muscle force"}),
        "target": ("time", target_pct, {"units": "%MVC" if cfg.task.control == "force" else "%",
                                        "long_name": f"{cfg.task.control} target"}),
        "excitation": ("time", res.excitation, {"units": "1",
                                                "long_name": "excitatory command (fraction of maximum)"}),
    }
    consts = pathway_constants(cfg)
    signals = {
        "interneuron_activity": (res.signals["r_ein"], "1", "excitatory interneuron activity"),
        "renshaw_activity": (res.signals["r_rc"], "1", "Renshaw inhibition (units of max excitation)"),
        "ia_activity": (consts["IA_REST"] + consts["IA_FUSI"] * res.excitation, "1",
                        "Ia afferent activity (1 = reference rate)"),
        "pool_rate": (res.signals["pool_rate"], "Hz", "mean discharge rate of the pool"),
        "corticospinal_output": (res.excitation * consts["CST_GAIN"], "1", "corticospinal output"),
        "reticulospinal_output": (res.excitation * consts["RST_GAIN"], "1", "reticulospinal output"),
        "monoaminergic_drive": (consts["MONO_LEVEL"] * (1 + consts["MONO_EFFORT"] * res.signals["cmd_slow"]),
                                "1", "monoaminergic drive"),
    }
    for name, (values, unit, long_name) in signals.items():
        data_vars[name] = ("time", values, {"units": unit, "long_name": long_name})
    pathway_names = {"i_cm": "corticomotoneuronal", "i_rst": "reticulospinal",
                     "i_in": "spinal interneurons", "i_ia": "Ia monosynaptic", "i_inh": "inhibition"}
    for key, long_name in pathway_names.items():
        data_vars[f"current_{long_name.split()[0].lower()}"] = (
            ("pathway_unit", "time"), res.pathways[key] * 1e9,
            {"units": "nA", "long_name": f"{long_name} synaptic current"})
    for name, unit in _schema.UNIT_PROPERTIES.items():
        data_vars[name] = ("unit", np.asarray(props[name]), {"units": unit})
    data_vars["ia_epsp_conductance_us"] = ("unit", props["ia_epsp_conductance_us"], {"units": "uS"})
    data_vars["rst_weight"] = ("unit", props["rst_weight"], {"units": "1"})
    data_vars["tetanic_force"] = ("unit", props["tetanic_n"], {"units": "N", "long_name": "unit force at high rates"})
    data_vars["reflex_latency_ms"] = ("unit", props["reflex_latency_ms"], {"units": "ms"})
    coords: dict[str, Any] = {"time": ("time", res.t, {"units": "s"}),
                              "unit": ("unit", np.arange(cfg.pool.n_units)),
                              "pathway_unit": ("pathway_unit", np.array([0, cfg.pool.n_units - 1]))}
    if res.voltage is not None:
        coords["vtime"] = ("vtime", res.voltage_t, {"units": "s"})
        coords["vunit"] = ("vunit", np.asarray(voltage_units, dtype=int))
        data_vars["v_s"] = (("vunit", "vtime"), res.voltage["v_s"] * 1e3, {"units": "mV"})
        data_vars["v_d"] = (("vunit", "vtime"), res.voltage["v_d"] * 1e3, {"units": "mV"})
        data_vars["m_pic"] = (("vunit", "vtime"), res.voltage["m_pic"], {"units": "1"})
    attrs = {
        "kind": "activity",
        "config": cfg.to_dict(),
        "seed": cfg.seed,
        "engine": cfg.engine,
        "dt_s": cfg.dt_ms * 1e-3,
        "fs_force_hz": cfg.fs_force_hz,
        "duration_s": cfg.task.duration_s,
        "mvc_n": cal.mvc_n,
        "mnpool_version": __version__,
        "brian2_version": brian2.__version__,
        "python_version": platform.python_version(),
    }
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)

