"""Settings of the decomposition (Negro et al. 2016 defaults) and the warning for excluded channels."""

from __future__ import annotations

import dataclasses

from simulator.config import Config, ConfigError, param

__all__ = ["DecompositionConfig", "ChannelExclusionWarning"]


_EXTENDED_ROWS = 1500  # default extended channels (delays x channels)
_SAMPLES_PER_ROW = 20  # fewest samples per extended row for the default extension


class ChannelExclusionWarning(UserWarning):
    """Some channels were left out of a decomposition (non-finite samples or flat)."""


@dataclasses.dataclass(frozen=True)
class DecompositionConfig(Config):
    """Settings of the convolutive FastICA decomposition (Negro et al. 2016)."""

    section = "decomposition"

    band_hz: tuple[float, float] = param((20.0, 500.0), lo=0.0, unit="Hz",
                                         doc="band-pass edges (surface EMG band)")
    extension_factor: int = param(0, lo=0, hi=200,
                                  doc=("delays per channel R; 0 = ceil(1500 / channels), at most "
                                       "samples / (20 channels)"))
    n_iterations: int = param(60, lo=1, hi=2000, doc="largest number of candidate sources tried")
    stop_after_failures: int = param(25, lo=0, hi=2000, doc=(
        "stop after this many consecutive candidates without a new unit (0 = never)"))
    contrast: str = param("skew", choices=("skew", "logcosh", "kurtosis"),
                          doc="FastICA contrast G: x^3/3, log cosh x, or x^4/4")
    fastica_max_iter: int = param(100, lo=1, hi=10000, doc="fixed-point iterations per source")
    fastica_tol: float = param(1e-4, lo=0.0, hi=0.5, lo_open=True,
                               doc="convergence: |w_new . w_old - 1| below this")
    refine_max_iter: int = param(10, lo=0, hi=1000, doc="ISI-CoV refinement iterations")
    whitening_regularisation: float = param(1.0, lo=0.0, hi=100.0, doc=(
        "discard eigenvalues below this times the mean of the smallest half (0 keeps all)"))
    min_peak_distance_ms: float = param(10.0, lo=0.5, hi=200.0, unit="ms",
                                        doc="shortest interval between detected discharges")
    init_candidates: int = param(10, lo=1, hi=100000, doc=(
        "a candidate is initialised at a random one of this many most active unused samples"))
    sil_threshold: float = param(0.9, lo=0.0, hi=1.0, doc="accept sources with SIL >= this")
    min_spikes: int = param(10, lo=2, hi=10**7, doc="accept sources with at least this many discharges")
    duplicate_roa: float = param(0.3, lo=0.0, hi=1.0, lo_open=True, doc=(
        "two sources agreeing at this RoA (after lag alignment) are the same unit"))
    duplicate_max_lag_ms: float = param(40.0, lo=0.0, hi=500.0, unit="ms",
                                        doc="lag searched when comparing two sources")
    unit_window_ms: float = param(20.0, lo=0.5, hi=200.0, unit="ms", doc=(
        "half-width of the lagged spike-triggered average that spans an accepted unit"))
    deflation: str = param("vector", choices=("vector", "subspace"), doc=(
        "orthogonalise new sources against accepted separation vectors, or against each "
        "accepted unit's lagged subspace (also blocks the unit at other delays)"))
    peel_off: bool = param(True, doc=(
        "subtract each accepted unit from the whitened data (Holobar & Zazula 2007 peel-off), "
        "so later candidates converge on the units it masked"))
    seed: int = param(0, lo=0, hi=2**32 - 1, doc="random seed (choice of initial samples)")

    def validate(self) -> None:
        lo, hi = self.band_hz
        if not lo < hi:
            raise ConfigError(f"decomposition.band_hz = {self.band_hz!r}: the low edge must be "
                              "below the high edge, both in [0, fs/2) Hz")
