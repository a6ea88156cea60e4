"""Motor-unit decomposition of HD-sEMG by convolutive blind source separation.

The surface EMG is a convolutive mixture of motor-unit spike trains filtered by their MUAPs. After
extending every channel with ``R - 1`` delayed copies the mixture becomes (nearly) instantaneous
and each unit's spike train can be recovered as a linear combination of the extended, whitened
channels (Holobar & Zazula 2007 IEEE Trans Signal Process 55:4487, convolution kernel
compensation; Negro et al. 2016 J Neural Eng 13:026027, convolutive FastICA). This module follows
Negro et al. 2016 step by step:

1. band-pass (20–500 Hz) and exclusion of flat or non-finite channels;
2. extension by ``R`` delays (default ``ceil(1500 / channels)``, 24 for 64 channels, but at least
   20 samples per extended row), centring;
3. whitening by eigen-decomposition of the covariance, discarding eigenvalues below the mean of
   the smallest half (regularisation of the noise subspace);
4. per candidate source: initialisation at a sample of high activity (``‖z(t)‖²``), fixed-point
   FastICA (Hyvärinen & Oja 1997) with a skewness (default), log-cosh or kurtosis contrast and
   deflationary orthogonalisation against the separation vectors already accepted;
5. peak detection on ``s·|s|`` with a minimum distance, 2-class k-means of the peak heights;
6. refinement: the separation vector is replaced by the mean whitened sample at the detected
   discharges while the ISI coefficient of variation decreases;
7. acceptance at silhouette ``SIL >= 0.9`` and a minimum number of discharges; removal of
   duplicates (same unit, possibly at another delay: RoA >= 0.3 after lag alignment, keeping the
   lower ISI CoV; with peel-off the first estimate is kept); peel-off of each accepted unit from the whitened data (its lagged
   spike-triggered average subtracted at its discharges; Holobar & Zazula 2007), so that the
   next candidates converge on units the large ones masked instead of on the same large unit
   at another delay;
8. a unit is reported only if its output source (the separation filter applied to the whole
   unpeeled recording) still has ``SIL >= 0.9`` and enough discharges.

Everything is vectorised over samples (BLAS matrix–vector products on a ``(components, samples)``
float32 array), so 64 channels x 60 s at 2048 Hz should fit in about 1.5 GB (1.0 GB measured
at 16 delays). The only randomness (which of the most active samples initialises a candidate) comes from ``numpy.random.Generator(seed)``, so
a decomposition is reproducible from its config and seed.

Modules: :mod:`~validation.decomposition.config` (settings), :mod:`~validation.decomposition.preprocessing`
(steps 1–3), :mod:`~validation.decomposition.sources` (steps 4–7, one source at a time) and
:mod:`~validation.decomposition.pipeline` (:func:`decompose`, step 8 and the output Dataset).
"""

from __future__ import annotations

from validation.decomposition.config import ChannelExclusionWarning, DecompositionConfig
from validation.decomposition.pipeline import decompose
from validation.decomposition.preprocessing import extend, usable_channels, whiten
from validation.decomposition.sources import detect_spikes

__all__ = ["DecompositionConfig", "ChannelExclusionWarning", "decompose", "extend", "whiten",
           "detect_spikes", "usable_channels"]
