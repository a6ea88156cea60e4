"""Size-principle distributions of motoneuron and motor-unit properties over a pool of N units.

Every property is a documented function of the unit's recruitment rank. Following Fuglevand,
Winter & Patla (1993, J Neurophysiol 70:2470) properties are spread exponentially over the rank,
so that most units are small and low-threshold: a property with range ``R`` between its smallest
value ``p_min`` (first-recruited unit) and ``p_max`` (last) is

.. math:: p_i = p_{min} \\, R^{\\,s_i}, \\qquad s_i = i / (N - 1),

where :math:`s_i` is the *size index* (0 for the smallest unit, 1 for the largest). Properties
that fall with size (AHP duration, contraction time) use the same formula with ``p_max < p_min``.

Sources for the default ranges
------------------------------
* recruitment range 30x in excitation, twitch range 100x, contraction time 90 ms longest with a
  3x range: Fuglevand et al. 1993.
* input conductance ~0.2–2 µS (input resistance ~5–0.5 MΩ) and specific membrane resistance
  falling with size: cat motoneurons, Zengel et al. 1985 J Physiol 359:1; Powers & Binder 2001
  Rev Physiol Biochem Pharmacol 143:137.
* AHP conductance decay roughly halving from slow to fast units, matching the AHP half-decay
  ratio 28.6/14.4 ms of Cormery et al. 2005 J Physiol 568:841.
* axonal conduction velocity ~45–60 m/s in human motor axons (size-ordered):
  Enoka & Fuglevand 2001 Muscle Nerve 24:4 (review).
* muscle-fibre conduction velocity ~3–5.5 m/s, larger units faster: Botelho et al. 2019;
  Andreassen & Arendt-Nielsen 1987 J Physiol 391:561.
* innervation number proportional to twitch force (Enoka & Fuglevand 2001).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import Config, param

__all__ = ["PoolConfig", "size_index", "exponential_gradient", "unit_properties"]


@dataclasses.dataclass(frozen=True)
class PoolConfig(Config):
    """Size-principle gradients of a motoneuron pool.

    Each ``*_range`` is the ratio between the largest and smallest value across the pool; each
    ``*_min``/``*_max`` is the value at the smallest (first-recruited) or largest unit.
    """

    section = "pool"

    n_units: int = param(200, lo=1, hi=2000, doc="number of motor units")
    recruitment_range: float = param(30.0, lo=1.0, hi=200.0, unit="x",
                                     doc="ratio of last to first recruitment excitation")
    recruitment_excitation_max: float = param(
        0.99, lo=0.05, hi=2.0,
        doc=("excitation (fraction of maximal drive) at which the last unit is recruited without "
             "its PIC; above 1 the largest units are recruited only with their PIC's help "
             "(Heckman et al. 2008), as the candidate body of scenarios/library/next/ has it"))
    membrane_area_min_mm2: float = param(0.25, lo=0.01, hi=2.0, unit="mm2")
    membrane_area_range: float = param(4.0, lo=1.0, hi=20.0, unit="x")
    specific_leak_min_ms_cm2: float = param(0.20, lo=0.02, hi=2.0, unit="mS/cm2",
                                            doc="specific leak conductance of the smallest unit")
    specific_leak_range: float = param(2.0, lo=1.0, hi=10.0, unit="x")
    ahp_increment_min_us: float = param(1.1, lo=0.0, hi=50.0, unit="uS", doc=(
        "AHP conductance added per spike in the smallest unit"))
    ahp_increment_range: float = param(1.9, lo=0.1, hi=50.0, unit="x", doc=(
        "largest/smallest unit ratio of the AHP increment; it grows less than membrane size "
        "(relatively larger AHP in small motoneurons, Zengel et al. 1985), which gives "
        "every unit a similar rate gain per unit of excitation (Fuglevand et al. 1993)"))
    ahp_tau_min_ms: float = param(33.0, lo=2.0, hi=200.0, unit="ms",
                                  doc="AHP conductance decay time of the largest unit")
    ahp_tau_max_ms: float = param(52.0, lo=2.0, hi=300.0, unit="ms",
                                  doc="AHP conductance decay time of the smallest unit")
    pic_ratio: float = param(0.9, lo=0.0, hi=5.0, doc=(
        "maximal dendritic PIC conductance at unit monoaminergic drive, per synaptic conductance "
        "that brings the passive unit to threshold (relatively larger PIC in low-threshold units: "
        "pic_ratio_range below); fitted to delta-F 3-6 pps (ledger)"))
    pic_ratio_range: float = param(0.8, lo=0.1, hi=10.0, unit="x",
                                   doc="largest/smallest unit ratio of the relative PIC size")
    pic_onset_shift_mv: float = param(2.0, lo=-20.0, hi=20.0, unit="mV", doc=(
        "PIC half-activation of the largest unit minus that of the smallest: in high-threshold "
        "(type F) motoneurons the PIC activates closer to spike threshold and lowers recruitment "
        "less (Lee & Heckman 1998 J Neurophysiol 80:583); kept small because human delta-F is "
        "similar in units recruited at 1-30 %MVC (Afsharipour et al. 2020; 4 mV already removes "
        "it above 10 %MVC)"))
    axon_cv_min_m_s: float = param(45.0, lo=10.0, hi=120.0, unit="m/s")
    axon_cv_max_m_s: float = param(60.0, lo=10.0, hi=120.0, unit="m/s")
    fibre_cv_min_m_s: float = param(3.0, lo=1.0, hi=8.0, unit="m/s")
    fibre_cv_max_m_s: float = param(5.5, lo=1.0, hi=8.0, unit="m/s")
    twitch_min_n: float = param(0.02, lo=1e-4, hi=10.0, unit="N", doc="peak twitch of the smallest unit")
    twitch_range: float = param(100.0, lo=1.0, hi=1000.0, unit="x")
    contraction_time_max_ms: float = param(90.0, lo=10.0, hi=300.0, unit="ms",
                                           doc="twitch contraction time of the smallest unit")
    contraction_time_range: float = param(3.0, lo=1.0, hi=10.0, unit="x")
    fibres_per_newton: float = param(1500.0, lo=1.0, hi=1e6, unit="1/N",
                                     doc="muscle fibres per newton of twitch force")

    def validate(self) -> None:
        from ..config import ConfigError
        if self.ahp_tau_max_ms < self.ahp_tau_min_ms:
            raise ConfigError(
                f"pool.ahp_tau_max_ms = {self.ahp_tau_max_ms} must be >= pool.ahp_tau_min_ms = "
                f"{self.ahp_tau_min_ms} (small units have the longer AHP)")
        for lo_name, hi_name in (("axon_cv_min_m_s", "axon_cv_max_m_s"),
                                 ("fibre_cv_min_m_s", "fibre_cv_max_m_s")):
            if getattr(self, hi_name) < getattr(self, lo_name):
                raise ConfigError(f"pool.{hi_name} = {getattr(self, hi_name)} must be >= "
                                  f"pool.{lo_name} = {getattr(self, lo_name)}")


def size_index(n_units: int) -> np.ndarray:
    """Size index ``s_i = i/(N-1)`` in [0, 1] (0 for a single-unit pool)."""
    if n_units < 1:
        raise ValueError(f"n_units = {n_units} must be >= 1")
    if n_units == 1:
        return np.zeros(1)
    return np.arange(n_units) / (n_units - 1)


def exponential_gradient(s: np.ndarray, first: float, last: float) -> np.ndarray:
    """Exponential interpolation ``first * (last/first)**s`` (Fuglevand 1993, eq. 1 form)."""
    return first * (last / first) ** np.asarray(s, dtype=float)


def unit_properties(cfg: PoolConfig) -> dict[str, np.ndarray]:
    """Compute every per-unit property of the pool.

    Parameters
    ----------
    cfg
        Pool configuration.

    Returns
    -------
    dict of str to ndarray
        Arrays of length ``cfg.n_units`` keyed by the names in
        :data:`simulator._schema.UNIT_PROPERTIES` (units in the key suffix), except
        ``input_conductance_us`` and ``rheobase_na`` which need the motoneuron model and are
        added by :func:`simulator.models.motoneuron.passive_properties`.
    """
    s = size_index(cfg.n_units)
    area = exponential_gradient(s, cfg.membrane_area_min_mm2,
                                cfg.membrane_area_min_mm2 * cfg.membrane_area_range)
    leak = exponential_gradient(s, cfg.specific_leak_min_ms_cm2,
                                cfg.specific_leak_min_ms_cm2 * cfg.specific_leak_range)
    twitch = exponential_gradient(s, cfg.twitch_min_n, cfg.twitch_min_n * cfg.twitch_range)
    # Fuglevand 1993: T_i = T_L (1/P_i)^(1/c), c = log_RT(RP) -- equivalently exponential in s.
    ct = exponential_gradient(s, cfg.contraction_time_max_ms,
                              cfg.contraction_time_max_ms / cfg.contraction_time_range)
    # Equivalent sphere diameter of a soma holding ~10 % of the membrane (for description only).
    soma_diam = np.sqrt(0.1 * area * 1e6 / np.pi)
    return {
        "size_index": s,
        "membrane_area_mm2": area,
        "specific_leak_ms_cm2": leak,
        "soma_diameter_um": soma_diam,
        "recruitment_excitation": exponential_gradient(
            s, cfg.recruitment_excitation_max / cfg.recruitment_range, cfg.recruitment_excitation_max),
        "ahp_tau_ms": exponential_gradient(s, cfg.ahp_tau_max_ms, cfg.ahp_tau_min_ms),
        "ahp_increment_us": exponential_gradient(
            s, cfg.ahp_increment_min_us, cfg.ahp_increment_min_us * cfg.ahp_increment_range),
        "pic_ratio": exponential_gradient(s, cfg.pic_ratio, cfg.pic_ratio * cfg.pic_ratio_range),
        "pic_onset_shift_mv": cfg.pic_onset_shift_mv * s,
        "axon_cv_m_s": cfg.axon_cv_min_m_s + (cfg.axon_cv_max_m_s - cfg.axon_cv_min_m_s) * s,
        "fibre_cv_m_s": cfg.fibre_cv_min_m_s + (cfg.fibre_cv_max_m_s - cfg.fibre_cv_min_m_s) * s,
        "twitch_n": twitch,
        "contraction_time_ms": ct,
        "n_fibres": np.maximum(1, np.round(twitch * cfg.fibres_per_newton)).astype(int),
    }
