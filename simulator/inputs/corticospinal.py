"""Corticospinal tract: the cortical motor command, its oscillations and intracortical gating.

The force controller (the "intention") sets a cortical command ``c(t)`` in [0, 1]. Corticospinal
output is that command gated by intracortical inhibition (GABA-A interneurons; SICI reflects
them, Kujirai et al. 1993 J Physiol 471:501):

.. math:: o_{CST}(t) = c(t)\\,\\frac{1 + k}{1 + k\\,\\lambda_{ICI}}

so the default inhibition level ``λ = 1`` leaves the output unchanged, and less inhibition
(e.g. after training, Weier et al. 2012) gives more output for the same command. The output
carries the common low-frequency drive and a beta-band (15–30 Hz) common oscillation shared by
every motoneuron (Conway et al. 1995 J Physiol 489:917; Baker et al. 1997 J Physiol 501:225),
which is what produces corticomuscular and intramuscular beta coherence.

Two separately weighted projections leave the tract: corticomotoneuronal synapses onto the
motoneurons (site ``corticomotoneuronal``) and projections to spinal excitatory interneurons
(site ``corticospinal_interneuron``; Lemon 2008 Annu Rev Neurosci 31:195). Their default shares
of the descending excitation are set in :mod:`simulator.models.interneurons` and
:mod:`simulator.inputs.reticulospinal`.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import Config, param

__all__ = ["CorticospinalConfig", "cortical_gain", "beta_oscillation", "OUTPUT_EQUATIONS", "MOTONEURON_EQUATIONS"]


@dataclasses.dataclass(frozen=True)
class CorticospinalConfig(Config):
    """Corticospinal pathway parameters (relative weights: 1 is the default subject)."""

    section = "corticospinal"

    cm_weight: float = param(1.0, lo=0.0, hi=5.0, doc="corticomotoneuronal synaptic weight (relative)")
    interneuron_weight: float = param(1.0, lo=0.0, hi=5.0,
                                      doc="corticospinal weight onto spinal excitatory interneurons")
    intracortical_inhibition: float = param(1.0, lo=0.0, hi=5.0, doc=(
        "level of intracortical (GABA-A) inhibition gating cortical output; 1 = default"))
    ici_strength: float = param(0.5, lo=0.0, hi=10.0, doc=(
        "k in the gate (1+k)/(1+k*level): how strongly inhibition scales cortical output"))
    beta_cv: float = param(0.06, lo=0.0, hi=1.0, doc=(
        "SD of the beta-band common oscillation relative to the cortical output"))
    beta_low_hz: float = param(15.0, lo=1.0, hi=200.0, unit="Hz")
    beta_high_hz: float = param(30.0, lo=1.0, hi=200.0, unit="Hz")

    def validate(self) -> None:
        from ..config import ConfigError
        if self.beta_high_hz <= self.beta_low_hz:
            raise ConfigError(f"corticospinal.beta_high_hz = {self.beta_high_hz} must exceed "
                              f"corticospinal.beta_low_hz = {self.beta_low_hz}")


def cortical_gain(cfg: CorticospinalConfig) -> float:
    """Gain from cortical command to corticospinal output, ``(1+k)/(1+k*level)`` (1 at default)."""
    k = cfg.ici_strength
    return (1.0 + k) / (1.0 + k * cfg.intracortical_inhibition)


def beta_oscillation(n_steps: int, dt_s: float, cfg: CorticospinalConfig,
                     rng: np.random.Generator) -> np.ndarray:
    """Band-limited (beta) Gaussian common oscillation with SD ``cfg.beta_cv``.

    Parameters
    ----------
    n_steps
        Number of samples.
    dt_s
        Sample interval [s]; the band must lie below the Nyquist frequency.
    cfg
        Corticospinal configuration.
    rng
        Seeded random generator.

    Returns
    -------
    ndarray, shape (n_steps,)
    """
    nyq = 0.5 / dt_s
    if cfg.beta_high_hz >= nyq:
        from ..config import ConfigError
        raise ConfigError(f"corticospinal.beta_high_hz = {cfg.beta_high_hz} must be below the "
                          f"Nyquist frequency {nyq:g} Hz of drive.noise_dt_ms")
    if cfg.beta_cv == 0:
        return np.zeros(n_steps)
    from scipy import signal  # here, not at the top: scipy.signal costs ~2 s of every CLI start
    sos = signal.butter(4, [cfg.beta_low_hz / nyq, cfg.beta_high_hz / nyq], btype="band", output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(n_steps + 4000))[4000:]
    return cfg.beta_cv * x / x.std()


#: Cortical output (``drive`` group with ``exc_src = exc``; motoneurons with ``exc_l``): the
#: command gated by the GABA-B suppression of a TMS pulse (:mod:`simulator.inputs.stimulation`).
OUTPUT_EQUATIONS = """
cortex_gate = clip(1 - cort_inh_ta(t), 0, 1) : 1
o_cst = exc_src * CST_GAIN * cortex_gate : 1
CST_GAIN : 1 (constant, shared)
"""

#: Corticomotoneuronal excitation of a motoneuron with the shared low-frequency and beta
#: oscillations, and the direct corticospinal volley of a stimulus.
MOTONEURON_EQUATIONS = """
e_cm = B_CM * o_cst * (1 + common_ta(t) + beta_ta(t)) : 1
e_cmv = B_CM * cst_volley_ta(t) : 1
B_CM : 1 (constant, shared)
"""
