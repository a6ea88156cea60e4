"""Motor-unit twitches and their summation into muscle force (Fuglevand, Winter & Patla 1993).

Each unit's twitch is the critically damped second-order impulse response

.. math:: f_i(t) = P_i \\frac{t}{T_i} \\exp\\left(1 - \\frac{t}{T_i}\\right),

peaking at ``P_i`` [N] after the contraction time ``T_i``. Twitches add linearly, scaled by the
fusion gain of Fuglevand et al. (1993, J Neurophysiol 70:2470, eqs. 16–17): with the normalised
instantaneous rate ``r = T_i / ISI`` the gain is 1 for ``r <= 0.4`` and

.. math:: g(r) = \\frac{(1 - e^{-2 r^3}) / r}{(1 - e^{-2 \\cdot 0.4^3}) / 0.4}

above, so that force saturates at high rates. The twitch is integrated inside Brian2 (two linear
state variables per unit), which keeps the force available on-line for the force controller.
Maximal voluntary force (MVC) is the force reached by maximal excitation of the pool
(:func:`simulator.network.calibrate`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import Config, param

__all__ = ["MuscleConfig", "fusion_gain", "twitch_update", "EQUATIONS", "RESET", "R_LINEAR"]


@dataclasses.dataclass(frozen=True)
class MuscleConfig(Config):
    """Peripheral (non-neural) muscle properties."""

    section = "muscle"

    twitch_scale: float = param(1.0, lo=0.1, hi=5.0, doc=(
        "factor on every unit's twitch force: muscle hypertrophy (site muscle_hypertrophy), "
        "the peripheral control against which neural sites are contrasted"))

#: Normalised rate T/ISI up to which twitches sum linearly (Fuglevand 1993).
R_LINEAR = 0.4

#: Brian2 equations appended to the motoneuron group: ``force_unit`` is the unit's force [N].
EQUATIONS = """
dtw_a/dt = -tw_a / T_twitch : newton
dforce_unit/dt = (tw_a - force_unit) / T_twitch : newton
P_twitch : newton (constant)
T_twitch : second (constant)
t_prev : second
"""

def twitch_update(gate: str = "1") -> str:
    """Brian2 code adding one twitch of amplitude ``gate * P * gain(T/ISI)``.

    ``tw_a`` jumps by P*e so that force_unit = P (t/T) exp(1 - t/T) after an isolated spike.
    ``gate`` is an expression in {0, 1}: a spike that never reaches the muscle (it collided with an
    antidromic one, :mod:`simulator.inputs.stimulation`) adds no twitch and leaves ``t_prev``.
    """
    return (
        "r_norm = T_twitch / (t - t_prev)\n"
        f"tw_a += ({gate}) * P_twitch * exp(1.0) * (int(r_norm <= R_LIN) + int(r_norm > R_LIN) * "
        "((1 - exp(-2*r_norm**3)) / (r_norm + 1e-12)) / GAIN_NORM)\n"
        f"t_prev = ({gate}) * t + (1 - ({gate})) * t_prev\n")


#: Reset appended to the motoneuron reset: one twitch per discharge.
RESET = twitch_update()


#: Normalisation constant of the fusion gain at r = 0.4.
GAIN_NORM = (1.0 - np.exp(-2.0 * R_LINEAR**3)) / R_LINEAR


def fusion_gain(r: np.ndarray | float) -> np.ndarray:
    """Fuglevand 1993 twitch gain as a function of the normalised rate ``r = T/ISI``.

    Parameters
    ----------
    r
        Contraction time divided by the inter-spike interval (dimensionless, >= 0).

    Returns
    -------
    ndarray
        Gain (1 in the linear range, < 1 above r = 0.4).
    """
    r = np.asarray(r, dtype=float)
    if np.any(r < 0):
        raise ValueError("normalised rate r must be >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        high = (1.0 - np.exp(-2.0 * r**3)) / r / GAIN_NORM
    return np.where(r <= R_LINEAR, 1.0, high)
