"""Quality of a separated source without ground truth: pulse-to-noise ratio and silhouette.

``PNR = 10 log10(mean s² at discharges / mean s² elsewhere)`` (Holobar et al. 2014 J Neural Eng
11:016008) and the silhouette ``SIL`` of the spike and noise clusters of a source (Negro et al.
2016 J Neural Eng 13:026027).
"""

from __future__ import annotations

import numpy as np


__all__ = ["pulse_to_noise_ratio", "silhouette"]


def pulse_to_noise_ratio(source: np.ndarray, spikes: np.ndarray) -> float:
    """Pulse-to-noise ratio of a source [dB] (Holobar et al. 2014).

    Parameters
    ----------
    source
        Estimated source (innervation pulse train), shape ``(n_samples,)``.
    spikes
        Discharge sample indices identified in it.

    Returns
    -------
    float
        ``10 log10(mean s² at discharges / mean s² elsewhere)`` [dB]; ``nan`` without discharges.
    """
    s2 = np.asarray(source, dtype=float) ** 2
    spikes = np.asarray(spikes, dtype=np.int64)
    if spikes.size == 0 or spikes.size >= s2.size:
        return float("nan")
    mask = np.zeros(s2.size, dtype=bool)
    mask[spikes] = True
    return float(10.0 * np.log10(s2[mask].mean() / max(s2[~mask].mean(), np.finfo(float).tiny)))


def silhouette(spike_values: np.ndarray, noise_values: np.ndarray) -> float:
    """Silhouette of the spike and noise clusters of a source's peak heights [1].

    ``SIL = (between - within) / max(within, between)`` where ``within`` is the summed squared
    distance of the spike peaks to their own centroid and ``between`` their summed squared
    distance to the noise centroid (Negro et al. 2016; squared Euclidean distances as in the
    k-means of MUedit, Avrillon et al. 2024, against which the usual 0.9 threshold was set).

    Parameters
    ----------
    spike_values, noise_values
        Heights of the peaks classified as discharges and as noise.

    Returns
    -------
    float
        SIL in [-1, 1]; 0 when either cluster is empty.
    """
    sp = np.asarray(spike_values, dtype=float)
    no = np.asarray(noise_values, dtype=float)
    if sp.size == 0 or no.size == 0:
        return 0.0
    within = ((sp - sp.mean()) ** 2).sum()
    between = ((sp - no.mean()) ** 2).sum()
    d = max(within, between)
    return float((between - within) / d) if d > 0 else 0.0
