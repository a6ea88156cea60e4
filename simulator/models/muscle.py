"""Motor-unit force with saturating calcium–troponin activation (Ding, Wexler & Binder-Macleod 2000).

Each unit's discharges drive the force model of Ding, Wexler & Binder-Macleod (2000, J Appl
Physiol 88:917; parameters of the rested human quadriceps in Ding et al. 2003, Muscle Nerve
27:26). Every discharge ``j`` releases calcium ``R_j`` into a first-order store ``S`` that
decays with ``τc``; the calcium–troponin complex ``CN`` follows it with the same time constant,
so that a single discharge gives an alpha-function ``CN`` transient:

.. math::

   R_j &= 1 + (R_0 - 1)\\,e^{-(t_j - t_{j-1})/τ_c} \\quad \\text{(facilitation at short intervals)}\\\\
   \\frac{dS}{dt} &= -\\frac{S}{τ_c} + \\sum_j R_j δ(t - t_j), \\qquad
   \\frac{dCN}{dt} = \\frac{S - CN}{τ_c}\\\\
   x &= \\frac{CN}{K_m + CN}, \\qquad
   \\frac{dF}{dt} = A\\,x - \\frac{F}{τ_1 + τ_2\\,x}.

``x`` is the fraction of strongly bound cross-bridges: troponin is finite, so ``x < 1`` and
the steady force is below ``A (τ_1 + τ_2)``, the unit's tetanic force, at any discharge rate.

Post-activation potentiation (phosphorylation of the myosin regulatory light chain raises the
calcium sensitivity of force; Sweeney, Bowman & Stull 1993 Am J Physiol 264:C1085; Vandenboom
2017 Compr Physiol 7:171) is one slow state per unit, ``π`` in [0, 1], that each discharge moves
a step ``s`` towards 1 and that decays with ``τ_π`` (tens of s; the decay is applied at the next
discharge, since it matters only over many discharges): it lowers ``K_m`` to
``K_m (1 − π_max π)``. It enlarges twitches (low activation) much more than tetanic force
(saturated), so the resting twitch after a contraction is potentiated, as in a lab's twitch
interpolation (Gandevia 2001 Physiol Rev 81:1725), and activity makes the muscle saturate at
lower rates. It is off by default (``potentiation_max = 0``): with a step per discharge it also
builds up during long submaximal contractions, more than human muscle does.
The steady force rises sigmoidally with rate (facilitation ``R_0`` and the lengthening of force
decay ``τ_2 x`` at high activation make the low-rate part convex). The Fuglevand et al. (1993)
twitch-sum gain this replaces was not a saturation (Nagamori et al. 2021 PLoS Comput Biol
17:e1008707): an extra discharge could add more than a twitch at high rates.

Per-unit constants keep the pool's size-principle gradients (:mod:`simulator.models.pool`): the
isolated twitch of unit ``i`` peaks at ``P_i`` after ``T_i`` (twitch range 100x, contraction
times 3x range, Fuglevand et al. 1993). ``τc`` scales with contraction time as
``(T_i / T_max)^γ`` (faster calcium handling in fast fibres); ``τ_1`` (with ``τ_2 = κ τ_1``) is
solved so that the twitch peaks at ``T_i`` and ``A`` so that it peaks at ``P_i``. The model is
integrated inside Brian2 (three state variables per unit), which keeps the force available on
line for the force controller; :func:`unit_force` integrates the same equations in numpy for
nerve-train experiments and checks.

Which constants are Ding's and which were fitted here is kept in ``validation/ledger.toml``.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..config import Config, param

__all__ = ["MuscleConfig", "EQUATIONS", "RESET", "twitch_update", "unit_parameters", "unit_force",
           "shared_constants", "brian_values"]


@dataclasses.dataclass(frozen=True)
class MuscleConfig(Config):
    """Peripheral (non-neural) muscle properties."""

    section = "muscle"

    twitch_scale: float = param(1.0, lo=0.1, hi=5.0, doc=(
        "factor on every unit's twitch and tetanic force: muscle hypertrophy (site "
        "muscle_hypertrophy), the peripheral control against which neural sites are contrasted"))
    calcium_tau_ms: float = param(20.0, lo=2.0, hi=100.0, unit="ms", doc=(
        "rise and decay time of the calcium-troponin complex in the slowest unit (Ding et al. "
        "2000: 20 ms, human quadriceps)"))
    calcium_time_exponent: float = param(0.75, lo=0.0, hi=1.0, doc=(
        "calcium time of a unit ~ (contraction time / longest)^exponent: fast fibres handle "
        "calcium faster, but less than in proportion to their contraction time (fitted to the "
        "whole-muscle force-frequency half-maximum, validation/ledger.toml)"))
    troponin_km: float = param(0.103, lo=1e-3, hi=1.0, doc=(
        "calcium-troponin level binding half the cross-bridges in the rested muscle (Ding et al. "
        "2003: 0.103)"))
    facilitation_r0: float = param(1.143, lo=1.0, hi=5.0, doc=(
        "calcium release of a discharge that follows the previous one immediately, relative to "
        "an isolated one (Ding et al. 2003: Km + 1.04 = 1.143)"))
    decay_ratio: float = param(2.44, lo=0.0, hi=10.0, doc=(
        "tau_2 / tau_1: lengthening of force decay with bound cross-bridges (Ding et al. 2000: "
        "124.4 / 50.96 ms)"))
    potentiation_max: float = param(0.0, lo=0.0, hi=0.95, doc=(
        "fall of the troponin Km at full potentiation; 0 (default) turns potentiation off. "
        "0.85 gives voluntary activation 96.8 % at MVC but potentiates the muscle during "
        "submaximal contractions too much (derecruitment thresholds in %MVC rise above "
        "recruitment), see README known deviations"))
    potentiation_step: float = param(0.03, lo=0.0, hi=1.0, doc=(
        "step of the potentiation state towards 1 per discharge (~1 s to potentiate at 30 pps; "
        "RLC phosphorylation develops within seconds of a tetanus, Vandenboom 2017)"))
    potentiation_tau_s: float = param(60.0, lo=1.0, hi=1000.0, unit="s", doc=(
        "decay time of potentiation (twitch potentiation fades over minutes after an MVC, "
        "Vandervoort, Quinlan & McComas 1983 Exp Neurol 81:141)"))


#: Brian2 equations appended to the motoneuron group: ``force_unit`` is the unit's force [N].
EQUATIONS = """
dca_rel/dt = -ca_rel / tau_ca : 1
dca_tn/dt = (ca_rel - ca_tn) / tau_ca : 1
pot : 1
xb = ca_tn / (KM * (1 - POT_MAX * pot) + ca_tn) : 1
dforce_unit/dt = A_xb * xb - force_unit / (tau_f1 + tau_f2 * xb) : newton
A_xb : newton/second (constant)
tau_ca : second (constant)
tau_f1 : second (constant)
tau_f2 : second (constant)
KM : 1 (constant, shared)
R0 : 1 (constant, shared)
POT_MAX : 1 (constant, shared)
POT_STEP : 1 (constant, shared)
TAU_POT : second (constant, shared)
t_prev : second
"""


def twitch_update(gate: str = "1") -> str:
    """Brian2 code releasing one discharge's calcium ``R_j`` (Ding et al. 2000).

    ``gate`` is an expression in {0, 1}: a spike that never reaches the muscle (it collided with an
    antidromic one, :mod:`simulator.inputs.stimulation`) releases nothing and leaves ``t_prev``.
    """
    # potentiation decays over a minute: it is updated at discharges only (its decay since the
    # previous one applied then), which saves an exponential per unit and step
    return (f"ca_rel += ({gate}) * (1 + (R0 - 1) * exp(-(t - t_prev) / tau_ca))\n"
            f"pot_now = pot * exp(-(t - t_prev) / TAU_POT)\n"
            f"pot = ({gate}) * (pot_now + POT_STEP * (1 - pot_now)) + (1 - ({gate})) * pot\n"
            f"t_prev = ({gate}) * t + (1 - ({gate})) * t_prev\n")


#: Reset appended to the motoneuron reset: one calcium release per discharge.
RESET = twitch_update()


def shared_constants(cfg: MuscleConfig) -> dict[str, float]:
    """Pool-wide constants of the Brian2 muscle (``KM``, ``R0``, potentiation)."""
    return {"KM": cfg.troponin_km, "R0": cfg.facilitation_r0, "POT_MAX": cfg.potentiation_max,
            "POT_STEP": cfg.potentiation_step, "TAU_POT": cfg.si("potentiation_tau_s")}


def brian_values(cfg: MuscleConfig, props: dict[str, np.ndarray]) -> dict[str, np.ndarray | float]:
    """Brian2 values of the muscle (keyed by variable name): per-unit constants from
    :func:`unit_parameters` (in ``props``), the shared constants and the initial state of a
    rested muscle (no previous discharge)."""
    n = props["tau_ca"].size
    return {**{k: props[k] for k in ("A_xb", "tau_ca", "tau_f1", "tau_f2")},
            **shared_constants(cfg), "t_prev": np.full(n, -1e9)}


# ----------------------------------------------------------------------------- numpy model
def _integrate(spikes: np.ndarray, tau_ca: np.ndarray, tau_1: np.ndarray, tau_2: np.ndarray,
               amp: np.ndarray, km: float, r0: float, dt: float | np.ndarray,
               n_steps: int, potentiation: tuple[float, float, float] = (0.0, 0.0, 1.0),
               pot0: float = 0.0) -> np.ndarray:
    """Integrate the Ding model for units in parallel with the scheme of Brian2's
    ``exponential_euler`` (each variable decays exactly towards its target computed from the
    previous step's values) and return F ``(n_steps, n_units)``.

    ``spikes`` is a boolean ``(n_steps, n_units)`` grid of discharges; ``dt`` may differ by unit;
    ``potentiation`` is ``(π_max, step, τ_π [s])`` and ``pot0`` the initial potentiation.
    """
    n = tau_ca.size
    pot_max, pot_step, pot_tau = potentiation
    s, cn, f = np.zeros(n), np.zeros(n), np.zeros(n)
    pot = np.full(n, float(pot0))
    t_pot = np.zeros(n)  # when pot was last updated (its initial value holds at t = 0)
    t_prev = np.full(n, -np.inf)
    out = np.empty((n_steps, n))
    dt = np.broadcast_to(np.asarray(dt, dtype=float), (n,))
    decay = np.exp(-dt / tau_ca)
    for k in range(n_steps):
        # same order as Brian2: integrate the state, then apply the reset of this step's spikes
        x = cn / (km * (1.0 - pot_max * pot) + cn)
        tau_f = tau_1 + tau_2 * x
        f_inf = amp * x * tau_f
        f = f_inf + (f - f_inf) * np.exp(-dt / tau_f)
        cn = s + (cn - s) * decay
        s = s * decay
        hit = spikes[k]
        if hit.any():
            t = k * dt[hit]
            s[hit] += 1.0 + (r0 - 1.0) * np.exp(-(t - t_prev[hit]) / tau_ca[hit])
            now = pot[hit] * np.exp(-(t - t_pot[hit]) / pot_tau)
            pot[hit] = now + pot_step * (1.0 - now)
            t_pot[hit] = t
            t_prev[hit] = t
        out[k] = f
    return out


@functools.lru_cache(maxsize=16)
def _twitch_tables(km: float, r0: float, kappa: float, pot_max: float,
                   pot_step: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time to peak and peak of an isolated twitch of the rested muscle in units of ``τc``
    (A = 1/τc), as functions of ``ρ = τ1/τc`` (the model is scale-free: time-to-peak =
    τc g(ρ), peak = A τc h(ρ)). The discharge's own potentiation step is included; its decay
    (minutes) is not."""
    rho = np.geomspace(0.05, 200.0, 400)
    # step in units of τc; long relaxations use a coarser step (peaks are smooth in time)
    dt = np.maximum(0.005, 0.002 * rho)
    n_steps = int(np.ceil(np.max((8.0 + 4.0 * rho * (1 + kappa)) / dt)))
    spikes = np.zeros((n_steps, rho.size), dtype=bool)
    spikes[0] = True
    f = _integrate(spikes, np.ones_like(rho), rho, kappa * rho, np.ones_like(rho), km, r0, dt, n_steps,
                   (pot_max, pot_step, np.inf))
    k = np.argmax(f, axis=0)
    return rho, (k * dt), f[k, np.arange(rho.size)]


def unit_parameters(twitch_n: np.ndarray, contraction_time_s: np.ndarray,
                    cfg: MuscleConfig) -> dict[str, np.ndarray]:
    """Per-unit constants of the Ding model giving each unit its twitch.

    Parameters
    ----------
    twitch_n
        Peak force of each unit's isolated twitch [N].
    contraction_time_s
        Time to that peak [s].
    cfg
        Muscle configuration.

    Returns
    -------
    dict of str to ndarray
        ``tau_ca``, ``tau_f1``, ``tau_f2`` [s], ``A_xb`` [N/s] and ``tetanic_n`` [N], the force
        approached at high rates, ``A (τ1 + τ2)``.

    Raises
    ------
    ValueError
        A contraction time too short for the unit's calcium time (no ``τ1`` reproduces it).
    """
    ct = np.asarray(contraction_time_s, dtype=float)
    tau_ca = cfg.si("calcium_tau_ms") * (ct / ct.max()) ** cfg.calcium_time_exponent
    rho, ttp, peak = _twitch_tables(cfg.troponin_km, cfg.facilitation_r0, cfg.decay_ratio,
                                    cfg.potentiation_max, cfg.potentiation_step)
    target = ct / tau_ca
    if np.any(target <= ttp[0]) or np.any(target >= ttp[-1]):
        raise ValueError(f"muscle: contraction times {ct.min() * 1e3:.0f}-{ct.max() * 1e3:.0f} ms "
                         f"cannot be reached with muscle.calcium_tau_ms = {cfg.calcium_tau_ms:g}")
    # time to peak grows monotonically with ρ: interpolate in log space
    r = np.exp(np.interp(target, ttp, np.log(rho)))
    h = np.exp(np.interp(np.log(r), np.log(rho), np.log(peak)))
    tau_1 = r * tau_ca
    amp = np.asarray(twitch_n, dtype=float) / h  # F_peak = A τc h(ρ) with A in units of 1/τc
    amp_si = amp / tau_ca
    return {"tau_ca": tau_ca, "tau_f1": tau_1, "tau_f2": cfg.decay_ratio * tau_1, "A_xb": amp_si,
            "tetanic_n": amp_si * tau_1 * (1 + cfg.decay_ratio)}


def unit_force(spike_times: list[np.ndarray], params: dict[str, np.ndarray], cfg: MuscleConfig,
               duration_s: float, dt_s: float = 1e-4, potentiated: float = 0.0) -> np.ndarray:
    """Force of every unit for given discharge times (numpy twin of the Brian2 muscle).

    Parameters
    ----------
    spike_times
        Discharge (or nerve-stimulus) times of each unit [s].
    params
        Output of :func:`unit_parameters` for the same units.
    cfg
        Muscle configuration.
    duration_s
        Duration [s].
    dt_s
        Integration step [s].
    potentiated
        Initial potentiation state (0 = rested muscle, 1 = fully potentiated).

    Returns
    -------
    ndarray
        Force ``(n_steps, n_units)`` [N], sampled every ``dt_s`` from 0.
    """
    n_steps = int(round(duration_s / dt_s))
    grid = np.zeros((n_steps, len(spike_times)), dtype=bool)
    for u, times in enumerate(spike_times):
        idx = np.round(np.asarray(times, dtype=float) / dt_s).astype(int)
        grid[idx[(idx >= 0) & (idx < n_steps)], u] = True
    return _integrate(grid, params["tau_ca"], params["tau_f1"], params["tau_f2"], params["A_xb"],
                      cfg.troponin_km, cfg.facilitation_r0, dt_s, n_steps,
                      (cfg.potentiation_max, cfg.potentiation_step, cfg.potentiation_tau_s), potentiated)
