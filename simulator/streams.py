"""Named random streams: every random draw of a simulation comes from one of these.

No Brian2 random number generator is used; every random input is drawn with NumPy from a
``SeedSequence`` whose entropy is ``[seed, STREAMS[name], ...]``, so each purpose has its own
independent stream and changing one (e.g. the number of trials) never shifts another (e.g. the
subject's nerve thresholds). The numbers are part of the results' identity: changing one changes
every result that uses it, so they are fixed here once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["STREAMS", "rng", "noise"]

#: Stream numbers by purpose. Subject streams (anatomy) depend on the seed only; noise streams
#: also on the session and trial.
STREAMS: dict[str, int] = {
    "calibration_noise": 1,   # drive and synaptic noise of the MVC calibration run
    "task_noise": 2,          # drive and synaptic noise of a task
    "nerve_thresholds": 3,    # motor-axon stimulation thresholds (anatomy)
    "ia_thresholds": 4,       # Ia-afferent stimulation thresholds (anatomy)
    "ia_dispersion": 5,       # Ia-volley conduction-velocity dispersion (anatomy)
    "electrode_shift": 7,     # electrode placement between sessions
    "emg_noise": 0x656D67,    # EMG noise ("emg"), separate from MUAP placement
    # virtual cohorts (scenarios.cohort): keyed [cohort seed, group, subject id, purpose, index],
    # five words, so they never meet the two-to-four-word subject streams above
    "cohort_train": 0,        # the training group's individuals and sessions
    "cohort_control": 1,      # the control group's individuals and sessions
}


def rng(seed: int, stream: str, *keys: int) -> np.random.Generator:
    """Generator of the named ``stream`` of ``seed`` (optionally sub-keyed by ``keys``).

    Parameters
    ----------
    seed
        The subject's (or recording's) seed.
    stream
        A name of :data:`STREAMS`.
    *keys
        Further integers appended to the entropy (e.g. the session).

    Raises
    ------
    KeyError
        Unknown stream name.
    """
    return np.random.default_rng([int(seed), STREAMS[stream], *(int(k) for k in keys)])


def noise(seed: int, stream: str, *, session: int = 0, trial: int | None = None) -> np.random.Generator:
    """Noise generator of one run: the first session's untrialled run keeps the short key
    ``[seed, stream]``; later sessions and repeated trials add ``[session, trial]``."""
    if session or trial is not None:
        return rng(seed, stream, session, 0 if trial is None else trial)
    return rng(seed, stream)
