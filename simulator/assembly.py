"""Network values of one run: the subject's per-unit parameters, the pathway constants, the
inputs and the stimuli, in SI units, keyed ``group.variable`` or ``ta.<TimedArray>`` as
:func:`simulator.engine.run` expects (:mod:`simulator.network` fixes the structure)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import streams
from .engine import Values
from .inputs import corticospinal, stimulation
from .inputs.drive import common_noise, independent_noise
from .inputs.stimulation import Stimulus
from .network import STIM_ARRAYS, Structure
from .subject import SimulationConfig, pathway_constants

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
        "mn.P_twitch": props["twitch_n"],
        "mn.T_twitch": props["contraction_time_ms"] * 1e-3,
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
