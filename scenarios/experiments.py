"""Every virtual experiment, contractions and evoked responses, behind one signature.

Every experiment is ``run(subject, protocol, *, seed, session=None) -> xr.Dataset`` (the
neurodsp idea in STYLE.md; :mod:`scenarios.registry`), so sweeps and training scenarios never
special-case an experiment. A *subject* is a :class:`simulator.simulation.SimulationConfig`
whose task is ignored; the *protocol* says what the subject is asked to do. The contraction
protocols (:mod:`scenarios.contractions`: ``mvc``, ``trapezoid``, ``triangle``, ``ballistic``)
and the evoked-response protocols (:mod:`scenarios.evoked`: H-reflex, V-wave, MEP, SICI, silent
period, CMEP, startle) are collected here in :data:`EXPERIMENTS`, the names of ``mnpool
experiment``.
"""

from __future__ import annotations

from scenarios.contractions import (CONTRACTIONS, BallisticProtocol, MVCProtocol, TrapezoidProtocol,
                                    TriangleProtocol)
from scenarios.evoked import EVOKED
from scenarios.registry import run
from simulator.config import Config

__all__ = ["MVCProtocol", "TrapezoidProtocol", "TriangleProtocol", "BallisticProtocol",
           "CONTRACTIONS", "EXPERIMENTS", "Protocol", "run"]

#: Any contraction protocol.
Protocol = MVCProtocol | TrapezoidProtocol | TriangleProtocol | BallisticProtocol

#: name -> protocol class of every experiment (contractions and the evoked responses of
#: :mod:`scenarios.evoked`); :func:`run` serves them all.
EXPERIMENTS: dict[str, type[Config]] = dict(CONTRACTIONS, **{k: cls for k, (cls, _) in EVOKED.items()})
