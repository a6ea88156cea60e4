"""Inference inputs: the observed signature and the checks of the reference library.

The first stage of :mod:`scenarios.inference`: an :class:`Observation` (the observed mean
pre→post change of each measure and its standard error, read from TOML by
:func:`load_observation`) and the reference library's layout (:data:`LIBRARY_DIMS`,
:func:`check_library`, :func:`replicate_sd`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr

from simulator.config import ConfigError, load_toml
from simulator.sites import SITES

__all__ = ["CONTROL", "LIBRARY_DIMS", "PAIR_SEP", "DECOMPOSED_SUFFIX", "Observation", "load_observation",
           "check_library", "check_library_model", "replicate_sd"]


#: Site label of the library's no-adaptation condition (optional).
CONTROL = "control"
#: Dimensions of the library's ``change`` variable, in this order.
LIBRARY_DIMS = ("site", "magnitude", "replicate", "measure")
#: Separator of the two sites in a pair label (``"a+b"``).
PAIR_SEP = "+"
#: Suffix of a measure computed on decomposed, MUAP-tracked units (``discharge_rate_dec``).
DECOMPOSED_SUFFIX = "_dec"

_OBSERVATION_KEYS = ("measures", "description", "n_subjects")
#: Largest cohort an observation may report (a typo guard, not a physiological limit).
MAX_SUBJECTS = 100_000
_MEASURE_KEYS = ("change", "sd")


@dataclasses.dataclass(frozen=True, init=False)
class Observation:
    """An observed training signature: mean pre→post change of each measure and its uncertainty.

    Parameters
    ----------
    measures
        ``{measure: (change, sd)}``: the observed mean change, in the measure's own unit (the unit
        of the library's changes), and its standard error (same unit, > 0).
    source
        Where the observation came from (a file name), quoted in error messages.
    description
        Free text (e.g. the study).
    n_subjects
        ``None`` (default): the changes are one subject's, ``sd`` their measurement error, and
        each library cell predicts them with its between-subject covariance ``S``. An integer
        ``n``: the changes are a cohort's mean over ``n`` subjects (as a study reports them), ``sd``
        its standard error, and each cell predicts the mean with ``S/n`` plus the uncertainty of
        the library's own cell mean (see
        :func:`scenarios.inference.likelihood._observation_cov`). A cohort's ``sd`` may be
        ``None`` (stored as 0; omitted in TOML): a study that gave no error is then scored with
        the model's spread of a cohort mean alone.

    Raises
    ------
    ConfigError
        If there are no measures, or a change or sd is not a finite number, or an sd is <= 0, or
        ``n_subjects`` is not an integer in [1, 100000].
    """

    change: Mapping[str, float]
    sd: Mapping[str, float]
    source: str
    description: str
    n_subjects: int | None

    def __init__(self, measures: Mapping[str, tuple[float, float]], *, source: str = "<code>",
                 description: str = "", n_subjects: int | None = None) -> None:
        where = f"observation {source}" if source != "<code>" else "observation"
        if n_subjects is not None and (isinstance(n_subjects, bool)
                                       or not isinstance(n_subjects, (int, np.integer))
                                       or not 1 <= n_subjects <= MAX_SUBJECTS):
            raise ConfigError(f"{where}: n_subjects = {n_subjects!r} must be an integer in "
                              f"[1, {MAX_SUBJECTS}] (the cohort whose mean change is observed), "
                              "or absent for one subject")
        if not isinstance(measures, Mapping) or not measures:
            raise ConfigError(f"{where}: no measures; give at least one [measures.NAME] table "
                              "with 'change' and 'sd'")
        change: dict[str, float] = {}
        sd: dict[str, float] = {}
        for name, pair in measures.items():
            if not isinstance(name, str) or not name:
                raise ConfigError(f"{where}: measure name {name!r} must be a non-empty string")
            try:
                c, s = pair
            except (TypeError, ValueError):
                raise ConfigError(f"{where}: measures.{name} = {pair!r} must be (change, sd)") from None
            change[name] = _number(c, f"{where}: measures.{name}.change")
            if s is None and n_subjects is not None:
                sd[name] = 0.0   # no published error: the model's spread of a cohort mean alone
                continue
            sd[name] = _number(s, f"{where}: measures.{name}.sd")
            if not sd[name] > 0:
                raise ConfigError(f"{where}: measures.{name}.sd = {s!r} must be > 0 (the standard "
                                  "error of the observed mean change, in the measure's unit)")
            # squares enter the likelihood: keep them representable (no underflow to 0, no inf)
            if not _SQUARABLE[0] <= sd[name] <= _SQUARABLE[1]:
                raise ConfigError(f"{where}: measures.{name}.sd = {s!r} is out of range; allowed "
                                  f"[{_SQUARABLE[0]:g}, {_SQUARABLE[1]:g}]")
            if abs(change[name]) > _SQUARABLE[1]:
                raise ConfigError(f"{where}: measures.{name}.change = {c!r} is out of range; "
                                  f"allowed [{-_SQUARABLE[1]:g}, {_SQUARABLE[1]:g}]")
        object.__setattr__(self, "change", MappingProxyType(change))
        object.__setattr__(self, "sd", MappingProxyType(sd))
        object.__setattr__(self, "source", str(source))
        object.__setattr__(self, "description", str(description))
        object.__setattr__(self, "n_subjects", None if n_subjects is None else int(n_subjects))

    @property
    def measures(self) -> tuple[str, ...]:
        """The observed measures, in the order given."""
        return tuple(self.change)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "<code>") -> Observation:
        """Build from the TOML layout ``{"measures": {name: {"change": x, "sd": s}}}``.

        Raises
        ------
        ConfigError
            On unknown keys, a missing ``change`` or ``sd``, or an invalid value (see the class).
        """
        where = f"observation {source}" if source != "<code>" else "observation"
        unknown = sorted(set(data) - set(_OBSERVATION_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed keys are: "
                              f"{', '.join(_OBSERVATION_KEYS)}")
        table = data.get("measures")
        if not isinstance(table, Mapping) or not table:
            raise ConfigError(f"{where}: no measures; give at least one [measures.NAME] table "
                              "with 'change' and 'sd'")
        pairs = {}
        for name, entry in table.items():
            if not isinstance(entry, Mapping):
                raise ConfigError(f"{where}: measures.{name} = {entry!r} must be a table with "
                                  "'change' and 'sd'")
            unknown = sorted(set(entry) - set(_MEASURE_KEYS))
            if unknown:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} in measures.{name}; "
                                  f"allowed keys are: {', '.join(_MEASURE_KEYS)}")
            for key in _MEASURE_KEYS:
                if key == "sd" and "n_subjects" in data:
                    continue   # optional for a cohort's mean (the class's n_subjects)
                if key not in entry:
                    raise ConfigError(f"{where}: measures.{name}.{key} is missing"
                                      + (" (the standard error of the mean change, > 0)"
                                         if key == "sd" else " (the observed mean change)"))
            pairs[name] = (entry["change"], entry.get("sd"))
        description = data.get("description", "")
        if not isinstance(description, str):
            raise ConfigError(f"{where}: description = {description!r} must be a string")
        return cls(pairs, source=source, description=description, n_subjects=data.get("n_subjects"))

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout (inverse of :meth:`from_dict`)."""
        out: dict[str, Any] = {"measures": {m: {"change": self.change[m], "sd": self.sd[m]}
                                            if self.sd[m] > 0 else {"change": self.change[m]}
                                            for m in self.measures}}
        if self.description:
            out["description"] = self.description
        if self.n_subjects is not None:
            out["n_subjects"] = self.n_subjects
        return out

    def with_measure(self, name: str, change: float, sd: float | None) -> Observation:
        """A copy with one more (or a replaced) measure."""
        pairs = {m: (self.change[m], self.sd[m] or None) for m in self.measures}
        pairs[name] = (change, sd)
        return Observation(pairs, source=self.source, description=self.description,
                           n_subjects=self.n_subjects)


#: Range of observed sds and |changes| whose squares (and sums of them) stay finite and non-zero.
_SQUARABLE = (1e-100, 1e100)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ConfigError(f"{name} = {value!r} must be a number")
    if not math.isfinite(float(value)):
        raise ConfigError(f"{name} = {value!r} must be finite")
    return float(value)


def load_observation(path: str | os.PathLike) -> Observation:
    """Read an observed training signature from TOML.

    The file has one table per measure::

        description = "8 weeks of isometric training, n = 14"   # optional
        n_subjects = 14  # optional: the changes are this cohort's means (absent: one subject)
        [measures.mvc_pct]
        change = 14.1    # observed mean pre->post change, in the measure's unit
        sd = 3.0         # its standard error (same unit, > 0)

    With ``n_subjects`` each cell predicts the cohort mean (its spread shrinks with ``n``);
    without it, one subject's change (:class:`Observation`). Whether the measures exist is checked against the library by :func:`infer`.

    Parameters
    ----------
    path
        The TOML file.

    Returns
    -------
    Observation

    Raises
    ------
    ConfigError
        If the file is missing or not TOML, has no measures, a measure lacks ``change`` or ``sd``,
        a value is not a finite number or an ``sd`` is <= 0 (the message names file, measure and
        field).
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"observation file {str(p)!r} does not exist")
    return Observation.from_dict(load_toml(p), source=repr(str(p)))


def check_library_model(library: xr.Dataset, source: str = "the library", *,
                        allow_other_model: bool = False) -> None:
    """Refuse a library simulated by another body than this mnpool's.

    A library's changes describe the model that simulated them: after a re-fit of the defaults
    or a change of the equations they no longer describe this one, and a posterior computed
    from them is about another body. Libraries written by ``mnpool atlas`` record
    ``attrs["model_fingerprint"]`` (:func:`simulator.simulation.model_fingerprint`) and
    ``attrs["build_command"]``; a library without a fingerprint (built by hand) is accepted.

    Parameters
    ----------
    library
        The library Dataset.
    source
        How to name it in the message (e.g. its path).
    allow_other_model
        Accept a fingerprint that differs (``mnpool infer --allow-other-model``), e.g. to compare
        an old library with a new one on purpose.

    Raises
    ------
    ConfigError
        The fingerprints differ and ``allow_other_model`` is false; the message gives both
        fingerprints and versions and the command that rebuilds the library.
    """
    from simulator import __version__
    from simulator.simulation import model_fingerprint
    built = library.attrs.get("model_fingerprint") if isinstance(library, xr.Dataset) else None
    if built is None or allow_other_model:
        return
    current = model_fingerprint()
    if str(built) != current:
        command = library.attrs.get("build_command", "the 'mnpool atlas' command that built it")
        raise ConfigError(
            f"{source} was simulated by another model (fingerprint {built}, mnpool "
            f"{library.attrs.get('mnpool_version', '?')}) than this mnpool's ({current}, {__version__}): "
            f"its changes do not describe this body; rebuild it ({command}) or pass "
            "--allow-other-model (allow_other_model=True) to use it anyway")


def check_library(library: xr.Dataset | xr.DataArray,
                  measures: Sequence[str] | None = None) -> xr.DataArray:
    """Validate a reference library and return its ``change`` array in canonical order.

    Parameters
    ----------
    library
        Dataset with a ``change`` variable of dims :data:`LIBRARY_DIMS` (or that DataArray).
    measures
        Measures that will be used; each must exist and not be all-NaN (default: every measure
        with at least one finite value).

    Returns
    -------
    xarray.DataArray
        ``change`` as float, dims ``(site, magnitude, replicate, measure)``, restricted to
        ``measures`` in the order given. In an iso-strength library (one with a ``dose``
        variable) the sites that cannot reach any target are left out.

    Raises
    ------
    ConfigError
        If ``change`` or a dimension is missing, a site is not in :data:`simulator.sites.SITES`
        (or ``"control"``), site, magnitude or measure labels repeat, magnitudes are not finite
        numbers, there are fewer than 2 replicates, a requested measure is unknown (the message
        lists the known ones) or has no finite value in the whole library.
    """
    if isinstance(library, xr.DataArray):
        da = library
    elif isinstance(library, xr.Dataset):
        if "change" not in library.data_vars:
            raise ConfigError("the library has no 'change' variable (dims "
                              f"{LIBRARY_DIMS}); variables: {', '.join(map(str, library.data_vars)) or 'none'}")
        da = library["change"]
    else:
        raise ConfigError(f"the library must be an xarray Dataset, got {type(library).__name__}")
    missing = [d for d in LIBRARY_DIMS if d not in da.dims]
    extra = [d for d in da.dims if d not in LIBRARY_DIMS]
    if missing or extra:
        raise ConfigError(f"library 'change' has dims {tuple(da.dims)}; expected {LIBRARY_DIMS}"
                          + (f" (missing {', '.join(missing)})" if missing else "")
                          + (f" (unexpected {', '.join(map(str, extra))})" if extra else ""))
    for dim in ("site", "measure", "magnitude"):
        if dim not in da.coords:
            raise ConfigError(f"library dimension {dim!r} has no coordinate labels")
        labels = list(da[dim].values)
        if len(set(labels)) < len(labels):
            raise ConfigError(f"library {dim} labels repeat: {labels}")
    if isinstance(library, xr.Dataset) and "dose" in library.data_vars and "site" in da.dims:
        # an iso-strength library (scenarios.atlas): a site that cannot give the strength gain
        # at any magnitude was not simulated and is not a candidate explanation
        reach = np.isfinite(library["dose"]).any("magnitude")
        da = da.sel(site=[s for s in da.site.values if s == CONTROL or bool(reach.sel(site=s))])
    sites = [str(s) for s in da.site.values]
    unknown = [s for s in sites if s not in SITES and s != CONTROL]
    if unknown:
        raise ConfigError(f"library site(s) {', '.join(map(repr, unknown))} are not adaptation sites; "
                          f"known: {', '.join(SITES)}, {CONTROL}")
    try:
        mags = np.asarray(da.magnitude.values, dtype=float)
    except (TypeError, ValueError):
        raise ConfigError(f"library magnitudes {list(da.magnitude.values)} must be numbers") from None
    if not np.all(np.isfinite(mags)):
        raise ConfigError(f"library magnitudes {mags.tolist()} must be finite")
    if da.sizes["replicate"] < 2:
        raise ConfigError(f"the library has {da.sizes['replicate']} replicate(s); the synthetic "
                          "likelihood needs at least 2 to estimate a covariance")
    known = [str(m) for m in da.measure.values]
    if measures is None:
        # "all measures" means all that were obtained somewhere; explicit all-NaN ones are errors
        values = da.transpose(*LIBRARY_DIMS).values.astype(float)
        obtained = np.isfinite(values).any(axis=(0, 1, 2))
        wanted = [m for m, ok in zip(known, obtained) if ok]
        if not wanted:
            raise ConfigError("the library has no finite change of any measure")
    else:
        wanted = list(measures)
    if not wanted:
        raise ConfigError("no measures to use")
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise ConfigError(f"measure(s) {', '.join(map(repr, unknown))} are not in the library; "
                          f"known measures: {', '.join(known)}")
    if len(set(wanted)) < len(wanted):
        raise ConfigError(f"measures repeat: {wanted}")
    da = da.assign_coords(site=sites, magnitude=mags, measure=known)
    da = da.transpose(*LIBRARY_DIMS).sel(measure=wanted).astype(float)
    empty = [m for m in wanted if not np.isfinite(da.sel(measure=m).values).any()]
    if empty:
        hint = (f"; measures of decomposed, MUAP-tracked units (*{DECOMPOSED_SUFFIX}) are in a library "
                "built with '[battery] decomposition = true', e.g. scenarios/library/reference_library_dec.nc"
                if any(m.endswith(DECOMPOSED_SUFFIX) for m in empty) else "")
        raise ConfigError(f"measure(s) {', '.join(map(repr, empty))} have no finite value in the "
                          f"library (never obtained); leave them out{hint}")
    return da


def replicate_sd(library: xr.Dataset | xr.DataArray,
                 measures: Sequence[str] | None = None) -> xr.DataArray:
    """Between-replicate standard deviation of each measure, pooled over the library's cells.

    The square root of the mean within-cell variance (cells with >= 2 finite replicates), in the
    measure's unit: the spread between virtual subjects given the same adaptation. It is the
    default observation noise of :func:`confusion_matrix` and of the candidate measures of
    :func:`expected_information_gain`.

    Returns
    -------
    xarray.DataArray
        Dims ``(measure,)``.
    """
    da = check_library(library, measures)
    x = da.values
    finite = np.isfinite(x)
    n = finite.sum(axis=2)                                                  # (S, M, p)
    mean = np.where(finite, x, 0.0).sum(axis=2) / np.maximum(n, 1)
    ss = np.where(finite, x - mean[:, :, None, :], 0.0) ** 2
    ok = n >= 2                                                             # cells with a variance
    var = np.where(ok, ss.sum(axis=2) / np.maximum(n - 1, 1), 0.0)
    cells = ok.sum(axis=(0, 1))
    pooled = np.where(cells > 0, np.sqrt(var.sum(axis=(0, 1)) / np.maximum(cells, 1)), np.nan)
    return xr.DataArray(pooled, dims=("measure",), coords={"measure": da.measure.values},
                        name="replicate_sd")
