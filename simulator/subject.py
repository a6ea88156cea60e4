"""The virtual subject: its configuration and every per-unit property derived from it.

:class:`SimulationConfig` gathers the subject (pool, motoneuron, muscle, pathways, nerve and
cortex), the task and the numerics; :func:`unit_table` turns it into per-unit parameters
(size-principle gradients, passive properties, synaptic efficacies, axon thresholds and
conduction times); :func:`pathway_constants` gives the shared pathway gains.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from . import streams
from .config import Config, ConfigError, param
from .engine import ENGINES
from .inputs import afferent, corticospinal, reticulospinal, stimulation
from .inputs.afferent import AfferentConfig
from .inputs.corticospinal import CorticospinalConfig
from .inputs.drive import DriveConfig
from .inputs.neuromodulation import NeuromodulationConfig
from .inputs.reticulospinal import ReticulospinalConfig
from .inputs.stimulation import CortexConfig, NerveConfig
from .models.interneurons import InterneuronConfig
from .models.motoneuron import MotoneuronConfig, passive_properties
from .models import muscle
from .models.muscle import MuscleConfig
from .models.pool import PoolConfig, unit_properties
from .task import TaskConfig

__all__ = ["SimulationConfig", "OTHER_TABLES", "load_config", "unit_table", "pathway_constants"]


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
    engine: str = param("auto", choices=ENGINES, doc=(
        "Brian2 engine: 'standalone' (compiled once per network structure, then reused), "
        "'runtime' (Cython, no C++ compiler needed) or 'auto' (standalone where a C++ compiler "
        "works, else runtime; $MNPOOL_ENGINE overrides)"))
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
        props["size_index"], nerve, streams.rng(cfg.seed, "nerve_thresholds"))
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
    aff, inn = cfg.afferent, cfg.interneurons
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
    }
