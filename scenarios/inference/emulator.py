"""Empirical emulator of a reference library: a virtual subject's changes at any dose.

The simulator of the ABC-SMC cross-check (:mod:`scenarios.inference.abc`), kept apart so that
it needs numpy only (pyabc is an optional dependency).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from scenarios.inference.observation import check_library
from simulator.config import ConfigError

__all__ = ["LibraryEmulator"]


class LibraryEmulator:
    """Empirical emulator of a reference library: one virtual subject's changes at any dose.

    For site ``s`` and dose ``d`` within the doses simulated for ``s``, the changes of subject
    (replicate) ``r`` are interpolated linearly between the two simulated doses that bracket
    ``d``, using the *same* subject at both (a replicate index names one virtual subject across
    the library's cells). No Gaussian or other distributional assumption: the spread between
    subjects is the library's own. A replicate lacking one of the used measures in any of a
    site's cells is not drawn for that site.

    Parameters
    ----------
    library
        Reference library (:func:`~scenarios.inference.observation.check_library`).
    measures
        Measures to emulate (default: all of the library's obtained measures).
    keep
        ``(replicate,)`` bool mask of the subjects the emulator may use (e.g. all but a
        left-out one); default: all.

    Raises
    ------
    ConfigError
        On an invalid library, or a site without any subject complete in the used measures.
    """

    def __init__(self, library: xr.Dataset | xr.DataArray, measures: Sequence[str] | None = None,
                 keep: np.ndarray | None = None) -> None:
        da = check_library(library, measures)
        if keep is not None:
            keep = np.asarray(keep, dtype=bool)
            if keep.shape != (da.sizes["replicate"],) or not keep.any():
                raise ConfigError(f"keep must be a non-empty bool mask of the library's "
                                  f"{da.sizes['replicate']} replicates")
            da = da.isel(replicate=np.flatnonzero(keep))
        self.measures = tuple(str(m) for m in da.measure.values)
        self.sites = tuple(str(s) for s in da.site.values)
        self._doses: dict[str, np.ndarray] = {}
        self._x: dict[str, np.ndarray] = {}
        x = da.values                                                      # (S, M, R, p)
        mags = np.asarray(da.magnitude.values, dtype=float)
        for i, site in enumerate(self.sites):
            present = np.isfinite(x[i]).any(axis=(1, 2))                   # (M,)
            order = np.argsort(mags[present])
            cells = x[i][present][order]                                   # (Ms, R, p)
            complete = np.isfinite(cells).all(axis=(0, 2))                 # (R,)
            if not complete.any():
                raise ConfigError(f"site {site!r}: no virtual subject has every measure "
                                  f"({', '.join(self.measures)}) at every simulated dose")
            self._doses[site] = mags[present][order]
            self._x[site] = cells[:, complete, :]

    def doses(self, site: str) -> np.ndarray:
        """Sorted doses (relative changes) simulated for ``site``."""
        self._check_site(site)
        return self._doses[site]

    def n_subjects(self, site: str) -> int:
        """Number of virtual subjects the emulator draws from for ``site``."""
        self._check_site(site)
        return self._x[site].shape[1]

    def _check_site(self, site: str) -> None:
        if site not in self._x:
            raise ConfigError(f"site {site!r} is not in the library; sites: {', '.join(self.sites)}")

    def interpolate(self, site: str, dose: float | None, subject: int) -> np.ndarray:
        """Changes of one virtual subject at ``dose``, linear between the bracketing doses.

        Parameters
        ----------
        site
            Library site (``control`` included).
        dose
            Relative change of the site's parameters, within :meth:`doses`; ignored (may be
            ``None``) for a site simulated at a single dose.
        subject
            Index among the site's usable subjects, ``0 <= subject <`` :meth:`n_subjects`.

        Returns
        -------
        numpy.ndarray
            ``(measure,)`` changes, each in its library unit.
        """
        self._check_site(site)
        doses, x = self._doses[site], self._x[site]
        if not 0 <= subject < x.shape[1]:
            raise ConfigError(f"subject = {subject!r} must be in [0, {x.shape[1]}) for site {site!r}")
        if doses.size == 1:
            return x[0, subject].copy()
        if dose is None or not doses[0] <= float(dose) <= doses[-1]:
            raise ConfigError(f"dose = {dose!r} for site {site!r} is outside the simulated "
                              f"range [{doses[0]:g}, {doses[-1]:g}]")
        j = min(int(np.searchsorted(doses, float(dose), side="right")) - 1, doses.size - 2)
        w = (float(dose) - doses[j]) / (doses[j + 1] - doses[j])
        return (1.0 - w) * x[j, subject] + w * x[j + 1, subject]

    def sample(self, site: str, dose: float | None, rng: np.random.Generator,
               noise_sd: np.ndarray | None = None, n_subjects: int = 1) -> np.ndarray:
        """One draw: a random virtual subject (or the mean of a random cohort) at ``dose``, plus
        Gaussian measurement noise.

        Parameters
        ----------
        site, dose
            As in :meth:`interpolate`.
        rng
            Random generator (subject choice and noise).
        noise_sd
            ``(measure,)`` SD of the observation's measurement noise (each measure's unit);
            ``None`` for none.
        n_subjects
            Cohort size: the mean of this many subjects drawn with replacement (the library may
            hold fewer subjects than a published cohort).

        Returns
        -------
        numpy.ndarray
            ``(measure,)`` simulated changes.
        """
        picks = rng.integers(self.n_subjects(site), size=n_subjects)
        y = np.mean([self.interpolate(site, dose, int(r)) for r in picks], axis=0)
        if noise_sd is not None:
            y = y + rng.normal(size=y.shape) * noise_sd
        return y
