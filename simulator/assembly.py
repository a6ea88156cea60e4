"""Network values of one run: the subject's per-unit parameters, the pathway constants, the
inputs and the stimuli, in SI units, keyed ``group.variable`` or ``ta.<TimedArray>`` as
:func:`simulator.engine.run` expects (:mod:`simulator.network` fixes the structure)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import streams
from .engine import Values
from . import network
from .inputs import corticospinal, drive, neuromodulation, stimulation
from .inputs.drive import common_noise, independent_noise
from .models import axon, interneurons, motoneuron, muscle
from .inputs.stimulation import Stimulus
from .network import SEGMENT_ARRAYS, STIM_ARRAYS, Structure
from .subject import SimulationConfig, pathway_constants
from .task import controller_values

__all__ = ["structure_for", "stimulation_values", "network_values"]


def structure_for(cfg: SimulationConfig, duration_s: float, voltage_units: tuple[int, ...] = (),
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
    values: dict[str, Any] = {"mn.REFR_AX": cfg.nerve.axon_refractory_ms * 1e-3}
    if stimulus is None:  # an unstimulated network uses neither volleys nor nerve pulses
        return values
    n = structure.n_stim_steps
    values.update({f"ta.{name}": np.zeros(n) for name in STIM_ARRAYS})
    values.update({f"ta.{name}": np.full(n, -1.0) for name in SEGMENT_ARRAYS})
    t = np.arange(n) * structure.stim_dt_s
    aff, cortex = cfg.afferent, cfg.cortex
    if stimulus.nerve_time_s is not None:
        values["ta.t_nerve_ta"] = np.full(n, stimulus.nerve_time_s)
        values["ta.i_nerve_ta"] = np.full(n, stimulus.nerve_ma)
        values["ta.ia_volley_ta"] = stimulation.ia_volley(
            t, stimulus.nerve_time_s, stimulus.nerve_ma,
            stimulation.ia_thresholds_ma(cfg.nerve, streams.rng(cfg.seed, "ia_thresholds")), cfg.nerve,
            path_m=aff.path_length_m, cv_m_s=aff.conduction_velocity_m_s,
            central_delay_s=aff.central_delay_ms * 1e-3, rng=streams.rng(cfg.seed, "ia_dispersion"))
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


def network_values(cfg: SimulationConfig, structure: Structure, props: dict[str, np.ndarray],
                   rng: np.random.Generator, *, e_ff: np.ndarray, target: np.ndarray,
                   closed_loop: bool, f_mvc: float,
                   injection: tuple[np.ndarray, np.ndarray] | None = None,
                   stimulus: Stimulus | None = None) -> Values:
    """Every value of one run, keyed ``group.variable`` or ``ta.<TimedArray>`` (SI units).

    Each body part hands its own parameters (its ``brian_values``); the shared pathway constants
    (:func:`simulator.subject.pathway_constants`) reach every group whose equations declare them
    (:func:`simulator.network.declared`), so no list of who-needs-what is kept by hand.

    Parameters
    ----------
    cfg
        The subject and task.
    structure
        The network structure of the run.
    props
        Per-unit properties (:func:`simulator.subject.unit_table`).
    rng
        The run's noise stream (:func:`simulator.streams.noise`).
    e_ff, target
        Feed-forward command and force target, sampled at ``structure.input_dt_s``.
    closed_loop
        Force control (True) or imposed excitation (False).
    f_mvc
        Maximal voluntary force [N].
    injection
        Optional somatic current ``(amplitude per unit [A], time course)``.
    stimulus
        Optional stimuli of the run.
    """
    n, n_in = structure.n_units, structure.n_input_steps
    in_dt = structure.input_dt_s
    drive_params = {**controller_values(cfg.task, f_mvc=f_mvc, closed_loop=closed_loop),
                    **interneurons.brian_values(cfg.interneurons)}
    mn_params = {**motoneuron.brian_values(cfg.motoneuron, props),
                 **axon.brian_values(props, cfg.nerve.si("axon_refractory_ms")),
                 **drive.brian_values(cfg.drive),
                 **muscle.brian_values(cfg.muscle, props),
                 "g_ia": props["g_ia"], "rst_w": props["rst_weight"]}
    shared = {**pathway_constants(cfg), **neuromodulation.brian_values(cfg.neuromodulation)}
    values: Values = {}
    for group, own, equations in (("drive", drive_params, network.DRIVE_EQUATIONS),
                                  ("mn", mn_params, network.MOTONEURON_GROUP_EQUATIONS)):
        names = network.declared(equations)
        values.update({f"{group}.{k}": v for k, v in own.items()})
        values.update({f"{group}.{k}": v for k, v in shared.items() if k in names})
    values.update(stimulation_values(cfg, structure, stimulus))
    values.update({
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
