"""Voluntary activation by twitch interpolation (Merton 1954 J Physiol 123:553; Gandevia 2001
Physiol Rev 81:1725)."""

from __future__ import annotations

import math

__all__ = ["voluntary_activation"]


def voluntary_activation(superimposed_twitch: float, resting_twitch: float) -> float:
    """Voluntary activation by twitch interpolation, ``100 (1 - SIT / RT)`` [%].

    Merton 1954 (J Physiol 123:553); Gandevia 2001 (Physiol Rev 81:1725): the twitch evoked by a
    stimulus superimposed on a voluntary contraction (SIT) relative to the twitch evoked by the
    same stimulus in the potentiated muscle at rest (RT). A superimposed twitch larger than the
    resting one gives a negative value; it is returned as is.

    Parameters
    ----------
    superimposed_twitch
        Superimposed twitch amplitude (>= 0, e.g. N or N·m).
    resting_twitch
        Resting twitch amplitude (> 0, same units).

    Returns
    -------
    float
        Voluntary activation [%] (100 when no superimposed twitch).

    Raises
    ------
    ValueError
        ``resting_twitch`` not > 0 or ``superimposed_twitch`` negative or non-finite.
    """
    sit, rt = float(superimposed_twitch), float(resting_twitch)
    if not (math.isfinite(rt) and rt > 0):
        raise ValueError(f"resting_twitch = {resting_twitch!r} is out of range; allowed > 0 "
                         "(finite, same units as superimposed_twitch)")
    if not (math.isfinite(sit) and sit >= 0):
        raise ValueError(f"superimposed_twitch = {superimposed_twitch!r} is out of range; "
                         "allowed >= 0 (finite)")
    return 100.0 * (1.0 - sit / rt)
