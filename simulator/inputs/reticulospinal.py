"""Reticulospinal tract: bilateral brainstem drive biased towards high-threshold motoneurons.

Part of the cortical command reaches the pool through the corticoreticular projection and the
pontomedullary reticular formation (Baker 2011 J Physiol 589:5603). The reticular output is

.. math:: o_{RST}(t) = c(t)\\, w_{CR}\\, \\frac{1 - r_0}{1 - r}\\, s_{side}

where ``w_CR`` is the corticoreticular weight (site ``corticoreticular``), ``r`` the weight of the
reciprocal (commissural, bilateral) reticular connections that amplify the output by ``1/(1-r)``
(site ``reticular_reciprocal``; normalised so the default ``r_0`` gives gain 1), and ``s_side`` is
1 for a pool on the side of the task and ``contralateral_fraction`` for the other side (bilateral
projections underlie cross-education; Glover & Baker 2020 J Neurosci 40:5820).

Reticulospinal synapses onto motoneurons (site ``reticulospinal_motoneuron``) are biased towards
high-threshold units (Ziemann et al. 1999; Glover & Baker 2020): unit ``i`` with size index
``s_i`` receives weight ``(1 + b s_i)`` normalised to mean 1 over the pool. A separate
projection excites spinal interneurons (site ``reticulospinal_interneuron``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..config import Config, param

__all__ = ["ReticulospinalConfig", "reticular_gain", "motoneuron_profile", "DEFAULT_RECIPROCAL", "OUTPUT_EQUATIONS", "MOTONEURON_EQUATIONS"]

#: Default reciprocal weight (gain normalised to 1 there).
DEFAULT_RECIPROCAL = 0.3


@dataclasses.dataclass(frozen=True)
class ReticulospinalConfig(Config):
    """Reticulospinal pathway parameters (relative weights: 1 is the default subject)."""

    section = "reticulospinal"

    share: float = param(0.3, lo=0.0, hi=1.0, doc=(
        "fraction of the direct descending excitation of motoneurons carried by the RST"))
    corticoreticular_weight: float = param(1.0, lo=0.0, hi=5.0)
    reciprocal_weight: float = param(DEFAULT_RECIPROCAL, lo=0.0, hi=0.9, doc=(
        "weight of reciprocal bilateral reticular connections (gain 1/(1-r))"))
    motoneuron_weight: float = param(1.0, lo=0.0, hi=5.0, doc="RST -> motoneuron weight (relative)")
    interneuron_weight: float = param(1.0, lo=0.0, hi=5.0, doc="RST -> interneuron weight (relative)")
    size_bias: float = param(2.0, lo=0.0, hi=20.0, doc=(
        "b in (1 + b s): bias of RST synapses towards large, high-threshold units"))
    side: str = param("ipsilateral", choices=("ipsilateral", "contralateral"),
                      doc="pool on the side of the task, or on the other side")
    contralateral_fraction: float = param(0.5, lo=0.0, hi=1.0,
                                          doc="RST drive reaching the contralateral pool")


def reticular_gain(cfg: ReticulospinalConfig) -> float:
    """Gain from cortical command to reticulospinal output (1 at default, ipsilateral)."""
    side = 1.0 if cfg.side == "ipsilateral" else cfg.contralateral_fraction
    return cfg.corticoreticular_weight * (1 - DEFAULT_RECIPROCAL) / (1 - cfg.reciprocal_weight) * side


def motoneuron_profile(size_index: np.ndarray, cfg: ReticulospinalConfig) -> np.ndarray:
    """Relative RST synaptic weight of each unit, ``(1 + b s)`` with mean 1 over the pool."""
    w = 1.0 + cfg.size_bias * np.asarray(size_index, dtype=float)
    return w / w.mean()


#: Reticulospinal output (also gated by the cortical GABA-B suppression of a TMS pulse).
OUTPUT_EQUATIONS = """
o_rst = exc_src * RST_GAIN * cortex_gate : 1
RST_GAIN : 1 (constant, shared)
"""

#: Reticulospinal excitation of a motoneuron, weighted by its size profile ``rst_w``, and the
#: startle volley of a stimulus.
MOTONEURON_EQUATIONS = """
e_rst = B_RST * rst_w * o_rst * (1 + common_ta(t)) : 1
e_rsv = B_RST * rst_w * rst_volley_ta(t) : 1
rst_w : 1 (constant)
B_RST : 1 (constant, shared)
"""
