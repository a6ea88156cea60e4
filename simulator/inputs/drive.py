"""Generic excitatory drive: a command with common and independent synaptic noise.

Until the tract-specific pathways are used, the pool receives one excitatory command ``e(t)``
(a fraction of the maximal synaptic excitation, 0–1) on the dendrites of all units. Unit ``i``
sees

.. math:: E_i(t) = e(t)\\,[1 + c(t)] + \\sigma \\sqrt{e(t)}\\, n_i(t)

where ``c(t)`` is a *common* fluctuation shared by every unit (low-pass Gaussian noise, the
"common drive" of De Luca & Erim 1994 Trends Neurosci 17:299; it sets coherence, force
fluctuations and decomposability) and ``n_i(t)`` are *independent* Ornstein–Uhlenbeck
processes with unit variance whose amplitude grows with the square root of the command, as the
summed shot noise of independent presynaptic spike trains does (Poisson input: variance
proportional to the mean), giving ISI CoVs of ~0.1–0.25 on steady contractions
(Matthews 1996 J Physiol 492:597). Both are generated here with NumPy from the run's seed and
passed to Brian2 as ``TimedArray`` values, so the runtime and standalone engines see
identical inputs.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import signal

from ..config import Config, param

__all__ = ["DriveConfig", "common_noise", "independent_noise", "MOTONEURON_EQUATIONS", "brian_values"]


@dataclasses.dataclass(frozen=True)
class DriveConfig(Config):
    """Noise of the generic excitatory drive."""

    section = "drive"

    common_cv: float = param(0.04, lo=0.0, hi=1.0, doc="SD of the common fluctuation relative to e(t)")
    common_cutoff_hz: float = param(2.5, lo=0.1, hi=100.0, unit="Hz",
                                    doc="low-pass cut-off of the common fluctuation")
    independent_sd: float = param(0.1, lo=0.0, hi=1.0, doc=(
        "SD of each unit's independent noise at maximal excitation (fraction of maximal "
        "excitation); it scales with the square root of the command"))
    independent_tau_ms: float = param(25.0, lo=0.5, hi=1000.0, unit="ms",
                                      doc="correlation time of the independent noise")
    noise_dt_ms: float = param(1.0, lo=0.1, hi=10.0, unit="ms",
                               doc="time step of the noise and command TimedArrays")


def common_noise(n_steps: int, dt_s: float, cfg: DriveConfig, rng: np.random.Generator) -> np.ndarray:
    """Common fluctuation ``c(t)``: zero-mean low-pass Gaussian noise with SD ``cfg.common_cv``.

    Parameters
    ----------
    n_steps
        Number of samples.
    dt_s
        Sample interval [s].
    cfg
        Drive configuration.
    rng
        Random generator (seeded by the caller).

    Returns
    -------
    ndarray, shape (n_steps,)
    """
    white = rng.standard_normal(n_steps + 2000)
    nyq = 0.5 / dt_s
    b, a = signal.butter(2, min(cfg.common_cutoff_hz / nyq, 0.99))
    low = signal.lfilter(b, a, white)[2000:]  # drop the filter's start-up transient
    sd = low.std()
    return np.zeros(n_steps) if sd == 0 else cfg.common_cv * low / sd


def independent_noise(n_steps: int, n_units: int, dt_s: float, cfg: DriveConfig,
                      rng: np.random.Generator) -> np.ndarray:
    """Independent unit-variance Ornstein–Uhlenbeck noise for every unit.

    Uses the exact discrete update ``x[k+1] = a x[k] + sqrt(1 - a^2) w[k]`` with
    ``a = exp(-dt/tau)``, started from the stationary distribution.

    Returns
    -------
    ndarray, shape (n_steps, n_units)
    """
    a = np.exp(-dt_s / (cfg.independent_tau_ms * 1e-3))
    w = rng.standard_normal((n_steps, n_units))
    w[0] /= np.sqrt(1 - a * a)  # stationary start
    return signal.lfilter([np.sqrt(1 - a * a)], [1.0, -a], w, axis=0)


#: Summed descending excitation of a motoneuron and its independent synaptic noise, whose
#: variance grows with the excitation (shot-noise scaling).
MOTONEURON_EQUATIONS = """
descending = e_cm + e_rst + e_in : 1
excitation = descending + NOISE_SD * sqrt(clip(descending, 0, inf)) * indep_ta(t, i) : 1
NOISE_SD : 1 (constant, shared)
"""


def brian_values(cfg: DriveConfig) -> dict[str, float]:
    """Brian2 values of the noise (keyed by variable name)."""
    return {"NOISE_SD": cfg.independent_sd}
