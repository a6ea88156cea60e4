"""Likelihood-free inference of the site of a training adaptation from its measured signature.

A training *signature* is the pre→post change of a battery of measures (MVC, recruitment
thresholds, discharge rates, V/Mmax, H-reflex, MEP, CMEP, SICI, silent period, delta-F, ...).
Simulations done elsewhere give a *reference library*: an :class:`xarray.Dataset` whose variable
``change`` has dims ``(site, magnitude, replicate, measure)`` — the simulated change of every
measure when one site of :data:`simulator.sites.SITES` (or ``"control"``, no adaptation) is
changed by a relative ``magnitude``, in several virtual subjects (``replicate``). NaN marks a
measure that was not obtained.

The observed signature (:class:`Observation`, read from TOML by :func:`load_observation`) is
compared with every library cell by a **Gaussian synthetic likelihood** (Wood 2010, Nature
466:1102; Price, Drovandi, Lee & Nott 2018, J Comput Graph Stat 27:1): the simulated changes of a
cell are summarised by their mean and covariance over replicates (the covariance shrunk toward its
diagonal, Schäfer & Strimmer 2005, Stat Appl Genet Mol Biol 4:32, because replicates are few), the
observation's own variance is added on the diagonal, and the observed changes are scored by that
multivariate normal density. With a uniform prior over sites and over the magnitude grid this
gives the posterior over sites (:func:`infer`), optionally over pairs of sites; how well a battery
can tell the sites apart at all is measured on the library itself by leave-one-replicate-out
(:func:`confusion_matrix`), and which extra measurement would help most by the expected
information gain (:func:`expected_information_gain`; Lindley 1956, Ann Math Stat 27:986).
:func:`run_inference` is the file-to-file entry point behind ``mnpool infer``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr

from simulator.config import ConfigError, load_toml
from simulator.sites import SITES

__all__ = ["CONTROL", "LIBRARY_DIMS", "Observation", "InferenceResult", "load_observation",
           "check_library", "replicate_sd", "infer", "confusion_matrix",
           "expected_information_gain", "plot_posterior", "plot_confusion",
           "plot_information_gain", "run_inference"]

#: Site label of the library's no-adaptation condition (optional).
CONTROL = "control"
#: Dimensions of the library's ``change`` variable, in this order.
LIBRARY_DIMS = ("site", "magnitude", "replicate", "measure")
#: Separator of the two sites in a pair label (``"a+b"``).
PAIR_SEP = "+"

_OBSERVATION_KEYS = ("measures", "description")
_MEASURE_KEYS = ("change", "sd")
_LOG2 = math.log(2.0)


# ----------------------------------------------------------------------------- observation
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

    Raises
    ------
    ConfigError
        If there are no measures, or a change or sd is not a finite number, or an sd is <= 0.
    """

    change: Mapping[str, float]
    sd: Mapping[str, float]
    source: str
    description: str

    def __init__(self, measures: Mapping[str, tuple[float, float]], *, source: str = "<code>",
                 description: str = "") -> None:
        where = f"observation {source}" if source != "<code>" else "observation"
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
                if key not in entry:
                    raise ConfigError(f"{where}: measures.{name}.{key} is missing"
                                      + (" (the standard error of the mean change, > 0)"
                                         if key == "sd" else " (the observed mean change)"))
            pairs[name] = (entry["change"], entry["sd"])
        description = data.get("description", "")
        if not isinstance(description, str):
            raise ConfigError(f"{where}: description = {description!r} must be a string")
        return cls(pairs, source=source, description=description)

    def to_dict(self) -> dict[str, Any]:
        """The TOML layout (inverse of :meth:`from_dict`)."""
        out: dict[str, Any] = {"measures": {m: {"change": self.change[m], "sd": self.sd[m]}
                                            for m in self.measures}}
        if self.description:
            out["description"] = self.description
        return out

    def with_measure(self, name: str, change: float, sd: float) -> Observation:
        """A copy with one more (or a replaced) measure."""
        pairs = {m: (self.change[m], self.sd[m]) for m in self.measures}
        pairs[name] = (change, sd)
        return Observation(pairs, source=self.source, description=self.description)


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
        [measures.mvc_pct]
        change = 14.1    # observed mean pre->post change, in the measure's unit
        sd = 3.0         # its standard error (same unit, > 0)

    Whether the measures exist is checked against the library by :func:`infer`.

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


# ----------------------------------------------------------------------------- library
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
        ``measures`` in the order given.

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
        raise ConfigError(f"measure(s) {', '.join(map(repr, empty))} have no finite value in the "
                          "library (never obtained); leave them out")
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


# ----------------------------------------------------------------------------- synthetic likelihood
@dataclasses.dataclass(frozen=True)
class _Stats:
    """Per-cell summary of the library: mean (S, M, p), covariance (S, M, p, p), present (S, M)."""

    mean: np.ndarray
    cov: np.ndarray
    present: np.ndarray


def _cell_stats(x: np.ndarray, shrinkage: float | str, where: xr.DataArray) -> _Stats:
    """Mean and shrunk covariance of every (site, magnitude) cell over replicates.

    Missing values are handled pairwise: a mean uses a measure's finite replicates, a covariance
    the replicates where both measures are finite. Cells without any finite value are absent
    (e.g. ``control`` simulated at one magnitude only); a present cell lacking a measure is an
    error, since its likelihood would live in a different space from the others'.
    """
    finite = np.isfinite(x)
    n_i = finite.sum(axis=2)                                    # (S, M, p)
    present = n_i.sum(axis=-1) > 0
    if not present.any(axis=1).all():
        empty = [str(s) for s, ok in zip(where.site.values, present.any(axis=1)) if not ok]
        raise ConfigError(f"site(s) {', '.join(map(repr, empty))} have no finite change of the "
                          f"measures {', '.join(map(str, where.measure.values))} at any magnitude")
    lacking = present[..., None] & (n_i == 0)
    if lacking.any():
        s, m, k = np.argwhere(lacking)[0]
        raise ConfigError(f"the library has no value of measure {str(where.measure.values[k])!r} "
                          f"for site {str(where.site.values[s])!r} at magnitude "
                          f"{float(where.magnitude.values[m]):g}; leave the measure out or "
                          "complete the library")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(np.where(finite, x, 0.0), axis=2) / np.maximum(n_i, 1)
        xc = np.where(finite, x - mean[:, :, None, :], 0.0)          # (S, M, R, p)
        n_ij = np.einsum("smri,smrj->smij", finite.astype(float), finite.astype(float))
        cross = np.einsum("smri,smrj->smij", xc, xc)
        cov = np.where(n_ij >= 2, cross / np.maximum(n_ij - 1, 1), 0.0)
    p = x.shape[-1]
    diag = np.einsum("smii->smi", cov).copy()
    # a measure obtained in a single replicate of a cell borrows the library's pooled variance
    single = (n_i == 1)
    if single.any():
        pooled = np.nanmean(np.where(n_i >= 2, diag, np.nan).reshape(-1, p), axis=0)
        pooled = np.where(np.isfinite(pooled), pooled, 0.0)
        diag = np.where(single, pooled, diag)
    sd = np.sqrt(diag)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where((sd[..., :, None] > 0) & (sd[..., None, :] > 0),
                        cov / (sd[..., :, None] * sd[..., None, :]), 0.0)
    off = ~np.eye(p, dtype=bool)
    if shrinkage == "auto":
        lam = _schafer_strimmer(xc, finite, sd, corr, n_ij, off)
    else:
        lam = np.full(present.shape, float(shrinkage))
    corr = np.where(off, corr * (1.0 - lam[..., None, None]), 1.0)
    corr = np.clip(corr, -1.0, 1.0)
    cov = corr * sd[..., :, None] * sd[..., None, :]
    return _Stats(mean=np.where(present[..., None], mean, np.nan), cov=cov, present=present)


def _schafer_strimmer(xc: np.ndarray, finite: np.ndarray, sd: np.ndarray, corr: np.ndarray,
                      n_ij: np.ndarray, off: np.ndarray) -> np.ndarray:
    """Optimal shrinkage of the correlations toward zero (Schäfer & Strimmer 2005, target D).

    ``lambda = sum Var(r_ij) / sum r_ij**2`` over ``i != j``, clipped to [0, 1]; 1 (diagonal
    covariance) where it cannot be estimated (fewer than 3 joint replicates).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(finite & (sd[:, :, None, :] > 0), xc / sd[:, :, None, :], 0.0)
        w = np.einsum("smri,smrj->smrij", z, z)
        n = np.maximum(n_ij, 1)
        w_mean = w.sum(axis=2) / n
        ss = (w ** 2).sum(axis=2) - n * w_mean ** 2
        var_r = np.where(n_ij >= 3, n / np.maximum(n - 1, 1) ** 3 * ss, 0.0)
        num = np.where(off, var_r, 0.0).sum(axis=(-1, -2))
        den = np.where(off, corr ** 2, 0.0).sum(axis=(-1, -2))
        lam = np.where(den > 0, num / den, 1.0)
    few = (np.where(off, n_ij, np.inf).min(axis=(-1, -2)) < 3) if off.any() else np.zeros(lam.shape, bool)
    return np.where(few, 1.0, np.clip(lam, 0.0, 1.0))


def _gauss_loglik(y: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(y; mean, cov), broadcasting ``y`` (..., p) against cells (S, M, p)/(S, M, p, p).

    The covariance is first scaled to a correlation matrix, so the result does not depend on the
    measures' units even numerically, then eigen-decomposed with eigenvalues floored at 1e-12, so
    a pairwise-estimated covariance that is not quite positive definite still scores. The
    diagonal must be positive (the observation variance is always added).
    """
    d2, logdet = _whitened(y, mean, cov)
    p = mean.shape[-1]
    return -0.5 * (p * math.log(2 * math.pi) + logdet + d2)


def _whitened(y: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Squared Mahalanobis distance of ``y`` from ``N(mean, cov)`` and ``log det cov``
    (the pieces of :func:`_gauss_loglik`, same broadcasting and eigenvalue floor)."""
    d = np.sqrt(np.einsum("...ii->...i", cov))
    corr = cov / (d[..., :, None] * d[..., None, :])
    evals, evecs = np.linalg.eigh(corr)
    evals = np.maximum(evals, 1e-12)
    r = (y - mean) / d
    proj = np.einsum("...pk,...p->...k", evecs, r)
    return (proj ** 2 / evals).sum(-1), 2 * np.log(d).sum(-1) + np.log(evals).sum(-1)


#: Posterior predictive p-value below which :func:`infer` warns that no library entry explains
#: the observation.
PREDICTIVE_ALPHA = 1e-3


class PosteriorPredictiveWarning(UserWarning):
    """The observation is far from every library entry: the posterior ranks poor explanations."""


def _predictive_check(stats: _Stats, y: np.ndarray, obs_var: np.ndarray, sites: list[str],
                      mags: np.ndarray) -> dict[str, Any]:
    """How well the best library cell predicts ``y``: its chi-square p-value (Gelman et al. 1996,
    Stat Sinica 6:733, posterior predictive check with the Mahalanobis distance as discrepancy)."""
    from scipy.stats import chi2
    cov = stats.cov + np.eye(obs_var.size) * obs_var
    d2, _ = _whitened(y[None, None, :], np.nan_to_num(stats.mean), cov)
    d2 = np.where(stats.present & np.isfinite(d2), d2, np.inf)
    i, j = np.unravel_index(int(np.argmin(d2)), d2.shape)
    p = float(chi2.sf(d2[i, j], df=y.size)) if np.isfinite(d2[i, j]) else 0.0
    return {"predictive_p": p, "predictive_nearest": f"{sites[i]} at magnitude {mags[j]:g}",
            "predictive_mahalanobis": float(np.sqrt(d2[i, j]))}


def _logmeanexp(a: np.ndarray, axis: int | tuple[int, ...]) -> np.ndarray:
    """log of the mean of exp(a) over ``axis``, ignoring -inf/NaN entries (absent cells)."""
    a = np.where(np.isfinite(a), a, -np.inf)
    mx = np.max(a, axis=axis, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    with np.errstate(divide="ignore"):
        count = np.isfinite(a).sum(axis=axis, keepdims=True)
        out = np.log(np.exp(a - mx).sum(axis=axis, keepdims=True) / np.maximum(count, 1)) + mx
    out = np.where(count > 0, out, -np.inf)
    return np.squeeze(out, axis=axis)


def _normalise_log(logp: np.ndarray, axis: int = -1) -> np.ndarray:
    mx = np.max(logp, axis=axis, keepdims=True)
    mx = np.where(np.isfinite(mx), mx, 0.0)
    e = np.exp(logp - mx)
    return e / e.sum(axis=axis, keepdims=True)


def _cell_loglik(stats: _Stats, y: np.ndarray, obs_var: np.ndarray) -> np.ndarray:
    """Synthetic log-likelihood of observation(s) ``y`` (..., p) in every cell; -inf if absent."""
    cov = stats.cov + np.eye(obs_var.size) * obs_var
    ll = _gauss_loglik(y[..., None, None, :], np.nan_to_num(stats.mean), cov)
    return np.where(stats.present, ll, -np.inf)


# ----------------------------------------------------------------------------- result
@dataclasses.dataclass(frozen=True)
class InferenceResult:
    """Posterior over the sites (and pairs of sites) of adaptation.

    Attributes
    ----------
    site_posterior
        ``(site,)``: posterior probability of each single site (``control`` included when the
        library has it), given that one site adapted.
    magnitude_posterior
        ``(site, magnitude)``: posterior over the magnitude grid given each site (NaN where the
        library has no cell).
    log_evidence
        ``(site,)``: log synthetic likelihood marginalised over magnitude (natural log; the
        density is in the product of the measures' units).
    measures
        Measures used, in the observation's order.
    observation
        The observation.
    posterior
        ``(hypothesis,)``: posterior over singles and pairs (``"a+b"``); ``None`` without pairs.
    pair_posterior
        ``(pair,)``: the pair entries of ``posterior`` (they and the singles sum to 1).
    pair_log_evidence
        ``(pair,)``: log evidence of each pair.
    pair_magnitude_posterior
        ``(pair, magnitude_a, magnitude_b)``: posterior over the magnitudes given each pair.
    site_involvement
        ``(site,)``: probability that a site is involved, alone or in a pair (pairs only).
    site_posterior_interval
        ``(site, bound)``: bootstrap 5th/95th percentiles of ``site_posterior`` over resampled
        replicates (only with ``n_bootstrap > 0``).
    settings
        Shrinkage, pair prior and the library's attrs, for the record.
    """

    site_posterior: xr.DataArray
    magnitude_posterior: xr.DataArray
    log_evidence: xr.DataArray
    measures: tuple[str, ...]
    observation: Observation
    posterior: xr.DataArray | None = None
    pair_posterior: xr.DataArray | None = None
    pair_log_evidence: xr.DataArray | None = None
    pair_magnitude_posterior: xr.DataArray | None = None
    site_involvement: xr.DataArray | None = None
    site_posterior_interval: xr.DataArray | None = None
    settings: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def map_site(self) -> str:
        """The single site of highest posterior probability."""
        return str(self.site_posterior.idxmax("site").item())

    @property
    def map_hypothesis(self) -> str:
        """The single site or pair of highest posterior probability (pairs included if run)."""
        if self.posterior is None:
            return self.map_site
        return str(self.posterior.idxmax("hypothesis").item())

    def to_dataset(self) -> xr.Dataset:
        """Everything as one Dataset (what :func:`run_inference` writes to ``posterior.nc``)."""
        data = {"site_posterior": self.site_posterior, "magnitude_posterior": self.magnitude_posterior,
                "log_evidence": self.log_evidence}
        for name in ("posterior", "pair_posterior", "pair_log_evidence", "pair_magnitude_posterior",
                     "site_involvement", "site_posterior_interval"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        ds = xr.Dataset(data)
        ds["observed_change"] = ("measure", [self.observation.change[m] for m in self.measures],
                                 {"long_name": "observed mean pre-post change"})
        ds["observed_sd"] = ("measure", [self.observation.sd[m] for m in self.measures],
                             {"long_name": "standard error of the observed change"})
        ds = ds.assign_coords(measure=list(self.measures))
        ds.attrs = {"kind": "site_inference", "method": "Gaussian synthetic likelihood (Wood 2010)",
                    "measures": list(self.measures), "map_site": self.map_site,
                    "map_hypothesis": self.map_hypothesis,
                    "observation": self.observation.to_dict(),
                    **{k: v for k, v in self.settings.items()}}
        return ds

    def summary(self, top: int = 8) -> str:
        """Plain-text table: sites by posterior, their most probable magnitude, top pairs."""
        lines = [f"Site inference from {len(self.measures)} measure(s): {', '.join(self.measures)}"]
        p = self.settings.get("predictive_p")
        if p is not None and p < PREDICTIVE_ALPHA:
            lines.append(f"WARNING: no library entry explains the observation (nearest "
                         f"{self.settings.get('predictive_nearest')}, predictive p = {p:.2g})")
        lines += ["", f"{'site':<28}{'posterior':>10}{'MAP magnitude':>15}{'E[magnitude]':>14}"
                 + (f"{'bootstrap 90 %':>18}" if self.site_posterior_interval is not None else "")]
        order = np.argsort(-self.site_posterior.values, kind="stable")
        for i in order[:top]:
            site = str(self.site_posterior.site.values[i])
            if self.site_posterior_interval is not None:
                lo, hi = self.site_posterior_interval.sel(site=site).values
                interval = f"{f'{lo:.3f}-{hi:.3f}':>18}"
            else:
                interval = ""
            mp = self.magnitude_posterior.sel(site=site)
            ok = np.isfinite(mp.values)
            mags = mp.magnitude.values[ok]
            w = mp.values[ok]
            if site == CONTROL:  # no adaptation: its magnitude grid carries no meaning
                lines.append(f"{site:<28}{float(self.site_posterior[i]):>10.3f}{'-':>15}{'-':>14}{interval}")
                continue
            lines.append(f"{site:<28}{float(self.site_posterior[i]):>10.3f}"
                         f"{mags[np.argmax(w)]:>15g}{float(np.sum(w * mags)):>14.3g}{interval}")
        if len(order) > top:
            rest = float(self.site_posterior.values[order[top:]].sum())
            lines.append(f"{f'({len(order) - top} more)':<28}{rest:>10.3f}")
        if self.posterior is not None:
            lines += ["", "Singles and pairs (pairs assume the single-site changes add):",
                      f"{'hypothesis':<52}{'posterior':>10}"]
            post = self.posterior
            for i in np.argsort(-post.values, kind="stable")[:top]:
                lines.append(f"{str(post.hypothesis.values[i]):<52}{float(post[i]):>10.3f}")
            total = float(self.pair_posterior.sum()) if self.pair_posterior is not None else 0.0
            lines.append(f"{'(all pairs together)':<52}{total:>10.3f}")
        return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- inference
def _prepare(library: xr.Dataset | xr.DataArray, observation: Observation) -> tuple[xr.DataArray, np.ndarray, np.ndarray]:
    if not isinstance(observation, Observation):
        raise ConfigError(f"observation must be an Observation (see load_observation), got "
                          f"{type(observation).__name__}")
    try:
        da = check_library(library, observation.measures)
    except ConfigError as exc:
        if observation.source != "<code>":
            raise ConfigError(f"observation {observation.source}: {exc}") from None
        raise
    y = np.array([observation.change[m] for m in observation.measures])
    var = np.array([observation.sd[m] for m in observation.measures]) ** 2
    return da, y, var


def _check_shrinkage(shrinkage: float | str) -> float | str:
    if shrinkage == "auto":
        return shrinkage
    if isinstance(shrinkage, bool) or not isinstance(shrinkage, (int, float)) or not 0 <= shrinkage <= 1:
        raise ConfigError(f"shrinkage = {shrinkage!r} must be 'auto' or a number in [0, 1]")
    return float(shrinkage)


def infer(library: xr.Dataset | xr.DataArray, observation: Observation, *, pairs: bool = True,
          pair_prior: float = 0.5, shrinkage: float | str = "auto", n_bootstrap: int = 0,
          seed: int = 0) -> InferenceResult:
    """Posterior over the sites of adaptation given an observed training signature.

    For every library cell (site ``s``, magnitude ``m``) the simulated changes of the observed
    measures over replicates give a mean ``mu`` and a covariance ``S`` (shrunk toward its
    diagonal); the synthetic likelihood of the observation ``y`` is the normal density
    ``N(y; mu, S + diag(sd**2))`` (Wood 2010, Nature 466:1102; Price et al. 2018, J Comput Graph
    Stat 27:1). The prior is uniform over the sites (``control`` included when present) and
    uniform over each site's magnitude grid, so a site's evidence is the mean likelihood over its
    magnitudes. The posterior itself is deterministic; ``n_bootstrap`` resamples the library's
    replicates to show how much it depends on which virtual subjects were simulated.

    **Pairs** (``pairs=True``): two sites ``a``, ``b`` adapting together at magnitudes
    ``(ma, mb)`` are scored under an *additivity assumption*: their mean signature is the sum of
    the single-site mean changes (minus the control mean, when the library has ``control``, so
    the no-adaptation change is counted once) and their covariance the sum of the two
    covariances (conservative: it counts replicate spread twice). Interactions between sites
    (e.g. a PIC gain amplifying a larger synaptic input) are not represented. The prior gives
    ``pair_prior`` to all pairs together (equally) and ``1 - pair_prior`` to the singles.

    Parameters
    ----------
    library
        Reference library (see :func:`check_library`); changes in each measure's unit.
    observation
        Observed mean changes and their standard errors (same units as the library).
    pairs
        Also score every pair of distinct non-control sites.
    pair_prior
        Prior probability that two sites adapted rather than one (0–1, exclusive of 1).
    shrinkage
        Weight of the diagonal target in the covariance, in [0, 1], or ``"auto"`` for the
        Schäfer & Strimmer (2005, Stat Appl Genet Mol Biol 4:32) estimate per cell.
    n_bootstrap
        If > 0, recompute the single-site posterior on this many bootstrap resamples of the
        replicates (each cell resampled with replacement, Efron 1979, Ann Stat 7:1) and report
        its 5th and 95th percentiles as ``site_posterior_interval`` (0–10000).
    seed
        Seed of the bootstrap.

    Returns
    -------
    InferenceResult

    Raises
    ------
    ConfigError
        On an invalid library (:func:`check_library`), an observed measure the library lacks
        (the message lists the known ones), or a present cell missing an observed measure.
    """
    if isinstance(pair_prior, bool) or not isinstance(pair_prior, (int, float)) or not 0 <= pair_prior < 1:
        raise ConfigError(f"pair_prior = {pair_prior!r} must be in [0, 1)")
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int) or not 0 <= n_bootstrap <= 10_000:
        raise ConfigError(f"n_bootstrap = {n_bootstrap!r} must be an integer in [0, 10000]")
    shrinkage = _check_shrinkage(shrinkage)
    da, y, var = _prepare(library, observation)
    stats = _cell_stats(da.values, shrinkage, da)
    sites = [str(s) for s in da.site.values]
    mags = da.magnitude.values
    ll = _cell_loglik(stats, y, var)                                   # (S, M)
    log_ev = _logmeanexp(ll, axis=1)                                   # (S,)
    if not np.any(np.isfinite(log_ev)):
        raise ConfigError("the observation is so far from every library entry that every likelihood "
                          "underflows to zero (no posterior can be computed); check the measures' "
                          "units and that each sd is the standard error of the change")
    site_post = _normalise_log(log_ev)
    check = _predictive_check(stats, y, var, sites, mags)
    if check["predictive_p"] < PREDICTIVE_ALPHA:
        warnings.warn(PosteriorPredictiveWarning(
            f"the observation is far from every library entry (nearest: {check['predictive_nearest']}, "
            f"Mahalanobis distance {check['predictive_mahalanobis']:.3g}, predictive p = "
            f"{check['predictive_p']:.2g}); the posterior only ranks poor explanations"), stacklevel=2)
    mag_post = np.where(stats.present, _normalise_log(np.where(stats.present, ll, -np.inf), axis=1), np.nan)
    coords = {"site": sites}
    result: dict[str, Any] = dict(
        site_posterior=xr.DataArray(site_post, dims="site", coords=coords, name="site_posterior",
                                    attrs={"long_name": "posterior probability of the site (single site)"}),
        magnitude_posterior=xr.DataArray(mag_post, dims=("site", "magnitude"),
                                         coords={"site": sites, "magnitude": mags}, name="magnitude_posterior",
                                         attrs={"long_name": "posterior over the magnitude given the site"}),
        log_evidence=xr.DataArray(log_ev, dims="site", coords=coords, name="log_evidence",
                                  attrs={"long_name": "log synthetic likelihood, marginal over magnitude"}),
        measures=tuple(observation.measures), observation=observation,
        settings={"shrinkage": shrinkage, "pairs": bool(pairs), "pair_prior": float(pair_prior),
                  **check,
                  "library_attrs": {k: v for k, v in getattr(library, "attrs", {}).items()
                                    if isinstance(v, (str, int, float))}},
    )
    if n_bootstrap:
        result["site_posterior_interval"] = _bootstrap(da, y, var, shrinkage, n_bootstrap, seed)
        result["settings"].update(n_bootstrap=n_bootstrap, seed=int(seed))
    neural = [i for i, s in enumerate(sites) if s != CONTROL]
    if pairs and len(neural) >= 2:
        result.update(_pairs(stats, y, var, sites, mags, neural, log_ev, pair_prior))
    return InferenceResult(**result)


def _bootstrap(da: xr.DataArray, y: np.ndarray, var: np.ndarray, shrinkage: float | str,
               n: int, seed: int) -> xr.DataArray:
    """5th and 95th percentiles of the site posterior over bootstrap resamples of the replicates."""
    rng = np.random.default_rng(seed)
    x = da.values
    posts = np.empty((n, x.shape[0]))
    for b in range(n):
        idx = rng.integers(x.shape[2], size=x.shape[:3])
        xb = np.take_along_axis(x, idx[..., None], axis=2)
        stats = _cell_stats(xb, shrinkage, da)
        posts[b] = _normalise_log(_logmeanexp(_cell_loglik(stats, y, var), axis=1))
    q = np.percentile(posts, [5.0, 95.0], axis=0).T
    return xr.DataArray(q, dims=("site", "bound"), coords={"site": da.site.values, "bound": ["p05", "p95"]},
                        name="site_posterior_interval",
                        attrs={"long_name": "bootstrap 90 % interval of the site posterior over replicates",
                               "n_bootstrap": n})


def _pairs(stats: _Stats, y: np.ndarray, var: np.ndarray, sites: list[str], mags: np.ndarray,
           neural: list[int], log_ev: np.ndarray, pair_prior: float) -> dict[str, Any]:
    combos = list(itertools.combinations(neural, 2))
    a = np.array([i for i, _ in combos])
    b = np.array([j for _, j in combos])
    mean = np.nan_to_num(stats.mean)
    baseline = np.zeros_like(y)
    if CONTROL in sites:
        c = sites.index(CONTROL)
        baseline = mean[c][stats.present[c]].mean(axis=0)
    # additivity: (P, Ma, Mb, p) mean and covariance of the pair's signature
    pm = mean[a][:, :, None, :] + mean[b][:, None, :, :] - baseline
    pc = stats.cov[a][:, :, None] + stats.cov[b][:, None, :]
    present = stats.present[a][:, :, None] & stats.present[b][:, None, :]
    pll = _gauss_loglik(y, pm, pc + np.eye(y.size) * var)
    pll = np.where(present, pll, -np.inf)
    pair_ev = _logmeanexp(pll, axis=(1, 2))
    labels = [f"{sites[i]}{PAIR_SEP}{sites[j]}" for i, j in combos]
    n_single, n_pair = len(sites), len(combos)
    log_prior = np.concatenate([np.full(n_single, math.log((1 - pair_prior) / n_single)),
                                np.full(n_pair, math.log(pair_prior / n_pair) if pair_prior > 0 else -np.inf)])
    joint = _normalise_log(log_prior + np.concatenate([log_ev, pair_ev]))
    involvement = joint[:n_single].copy()
    for k, (i, j) in enumerate(combos):
        involvement[i] += joint[n_single + k]
        involvement[j] += joint[n_single + k]
    flat = pll.reshape(n_pair, -1)
    mpost = np.where(present.reshape(n_pair, -1), _normalise_log(flat, axis=1), np.nan).reshape(pll.shape)
    return dict(
        posterior=xr.DataArray(joint, dims="hypothesis", coords={"hypothesis": sites + labels},
                               name="posterior",
                               attrs={"long_name": "posterior over single sites and pairs (additive)"}),
        pair_posterior=xr.DataArray(joint[n_single:], dims="pair", coords={"pair": labels},
                                    name="pair_posterior",
                                    attrs={"long_name": "posterior of each pair (share of the joint posterior)"}),
        pair_log_evidence=xr.DataArray(pair_ev, dims="pair", coords={"pair": labels}, name="pair_log_evidence"),
        pair_magnitude_posterior=xr.DataArray(
            mpost, dims=("pair", "magnitude_a", "magnitude_b"),
            coords={"pair": labels, "magnitude_a": mags, "magnitude_b": mags}, name="pair_magnitude_posterior"),
        site_involvement=xr.DataArray(involvement, dims="site", coords={"site": sites}, name="site_involvement",
                                      attrs={"long_name": "probability that the site adapted (alone or in a pair)"}),
    )


# ----------------------------------------------------------------------------- confusion matrix
def _sd_vector(sd: Mapping[str, float] | None, default: xr.DataArray, measures: Sequence[str],
               what: str) -> np.ndarray:
    out = []
    for m in measures:
        if sd is not None and m in sd:
            v = _number(sd[m], f"{what}[{m!r}]")
        else:
            v = float(default.sel(measure=m))
            if not (math.isfinite(v) and v > 0):
                raise ConfigError(f"{what}: measure {m!r} has no between-replicate spread in the "
                                  f"library (SD = {v!r}); give {what}={{{m!r}: ...}}")
        if not v > 0:
            raise ConfigError(f"{what}[{m!r}] = {v!r} must be > 0")
        out.append(v)
    if sd is not None:
        unknown = sorted(set(sd) - set(measures))
        if unknown:
            raise ConfigError(f"{what} names measure(s) {', '.join(map(repr, unknown))} that are not "
                              f"used; used measures: {', '.join(measures)}")
    return np.array(out)


def confusion_matrix(library: xr.Dataset | xr.DataArray, *, measures: Sequence[str] | None = None,
                     observation_sd: Mapping[str, float] | None = None, shrinkage: float | str = "auto",
                     seed: int = 0) -> xr.DataArray:
    """How well a battery of measures separates the sites: leave-one-replicate-out on the library.

    Every replicate (virtual subject) ``r`` of every present cell is turned into an observation
    — its simulated changes plus Gaussian measurement noise of SD ``observation_sd`` — and
    inferred (single sites, :func:`infer` without pairs) against the library with replicate
    ``r`` left out *of every cell*, since a replicate index usually names the same virtual
    subject across cells. The inferred site is the maximum a posteriori site (ties broken at
    random). Sites the battery cannot tell apart share their rows.

    Parameters
    ----------
    library
        Reference library (:func:`check_library`), at least 3 replicates.
    measures
        Measures of the battery (default: all of the library's).
    observation_sd
        ``{measure: SD}`` of the observation noise, in each measure's unit (default, and for
        measures not named: the between-replicate SD, :func:`replicate_sd`).
    shrinkage
        As in :func:`infer`.
    seed
        Seed of the observation noise and of tie breaking.

    Returns
    -------
    xarray.DataArray
        ``(true_site, inferred_site)``, rows summing to 1 (fraction of that site's observations
        inferred as each site). Coordinate ``true_posterior`` (true_site): mean posterior
        probability of the true site (low for sites the battery cannot separate); attrs
        ``accuracy`` (fraction inferred correctly over all observations), ``chance``
        (1 / number of sites), ``n_observations``, ``measures``, ``observation_sd``.

    Raises
    ------
    ConfigError
        On an invalid library or measure, fewer than 3 replicates, or an invalid noise SD.
    """
    shrinkage = _check_shrinkage(shrinkage)
    da = check_library(library, measures)
    if da.sizes["replicate"] < 3:
        raise ConfigError(f"leave-one-replicate-out needs at least 3 replicates; the library has "
                          f"{da.sizes['replicate']}")
    used = [str(m) for m in da.measure.values]
    obs_sd = _sd_vector(observation_sd, replicate_sd(da), used, "observation_sd")
    rng = np.random.default_rng(seed)
    x = da.values
    sites = [str(s) for s in da.site.values]
    n_sites, n_reps = len(sites), x.shape[2]
    counts = np.zeros((n_sites, n_sites))
    true_post = np.zeros(n_sites)
    n_obs = np.zeros(n_sites)
    var = obs_sd ** 2
    for r in range(n_reps):
        keep = np.arange(n_reps) != r
        stats = _cell_stats(x[:, :, keep, :], shrinkage, da)
        y = x[:, :, r, :] + rng.normal(size=x[:, :, r, :].shape) * obs_sd      # (S, M, p)
        valid = np.isfinite(y).all(axis=-1) & stats.present
        ll = _cell_loglik(stats, np.nan_to_num(y), var)                       # (S, M, S', M')
        post = _normalise_log(_logmeanexp(ll, axis=-1), axis=-1)               # (S, M, S')
        for s, m in zip(*np.nonzero(valid)):
            p = post[s, m]
            best = np.flatnonzero(p >= p.max() - 1e-12)
            counts[s, rng.choice(best)] += 1
            true_post[s] += p[s]
            n_obs[s] += 1
    with np.errstate(invalid="ignore"):
        rows = counts / n_obs[:, None]
        true_post = true_post / n_obs
    accuracy = float(np.trace(counts) / counts.sum()) if counts.sum() else float("nan")
    return xr.DataArray(
        rows, dims=("true_site", "inferred_site"),
        coords={"true_site": sites, "inferred_site": sites,
                "true_posterior": ("true_site", true_post, {"long_name": "mean posterior of the true site"}),
                "n_observations": ("true_site", n_obs.astype(int))},
        name="confusion",
        attrs={"long_name": "fraction of observations of the true site inferred as each site",
               "accuracy": accuracy, "chance": 1.0 / n_sites, "n_observations": int(n_obs.sum()),
               "measures": used, "observation_sd": obs_sd.tolist(), "seed": int(seed),
               "method": "leave-one-replicate-out, MAP site, Gaussian synthetic likelihood"})


# ----------------------------------------------------------------------------- information gain
def _entropy_bits(p: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=axis) / _LOG2


def expected_information_gain(library: xr.Dataset | xr.DataArray, observation: Observation,
                              candidates: Sequence[str] | None = None, *, n_samples: int = 400,
                              candidate_sd: Mapping[str, float] | None = None,
                              shrinkage: float | str = "auto", seed: int = 0) -> xr.DataArray:
    """Which additional measurement would best separate the candidate sites.

    For each candidate measure ``c`` the expected drop in the entropy (bits) of the single-site
    posterior if ``c`` were also measured — the mutual information between the site and the new
    measurement given the current observation (Lindley 1956, Ann Math Stat 27:986). Monte Carlo
    over the posterior predictive: draw (site, magnitude) from the current posterior, draw the
    new change from the synthetic likelihood of that cell *conditional on the observed changes*
    (joint Gaussian of observed + candidate measures, candidate noise ``candidate_sd``), recompute
    the posterior with the extended observation, and average ``H(before) - H(after)``. The same
    draws are used for every candidate (common random numbers), so the ranking is not noise.

    Parameters
    ----------
    library
        Reference library (:func:`check_library`).
    observation
        Current observation.
    candidates
        Measures to consider (default: every library measure not observed; measures the library
        lacks in some present cell are then skipped and listed in ``attrs["skipped"]``).
    n_samples
        Monte Carlo draws per candidate (10–100000).
    candidate_sd
        ``{measure: SD}`` of the new measurement's standard error, in its unit (default: the
        library's between-replicate SD, :func:`replicate_sd`, i.e. a single subject's worth).
    shrinkage
        As in :func:`infer`.
    seed
        Seed of the Monte Carlo draws.

    Returns
    -------
    xarray.DataArray
        ``(measure,)`` expected information gain in bits, sorted highest first; clipped at 0
        (the exact value is >= 0; a negative estimate is Monte Carlo noise). Coordinates
        ``se_bits`` (Monte Carlo standard error) and ``sd`` (noise used); attrs
        ``entropy_bits`` (current posterior entropy), ``skipped``.

    Raises
    ------
    ConfigError
        On invalid inputs, an explicit candidate that is observed already, unknown, or missing
        in a present cell of the library.
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or not 10 <= n_samples <= 100_000:
        raise ConfigError(f"n_samples = {n_samples!r} must be an integer in [10, 100000]")
    shrinkage = _check_shrinkage(shrinkage)
    da, y, var = _prepare(library, observation)
    full = check_library(library)
    known = [str(m) for m in full.measure.values]
    observed = list(observation.measures)
    skipped: list[str] = []
    if candidates is None:
        chosen = []
        for m in (m for m in known if m not in observed):
            try:  # a candidate the library lacks in some present cell cannot be scored
                sub = check_library(library, observed + [m])
                _cell_stats(sub.values, 1.0, sub)
            except ConfigError:
                skipped.append(m)
                continue
            chosen.append(m)
    else:
        chosen = list(candidates)
        again = [m for m in chosen if m in observed]
        if again:
            raise ConfigError(f"candidate measure(s) {', '.join(map(repr, again))} are observed already")
        check_library(library, observed + chosen)
    default_sd = replicate_sd(full)
    sds = _sd_vector(candidate_sd, default_sd, chosen, "candidate_sd") if chosen else np.array([])

    stats = _cell_stats(da.values, shrinkage, da)
    ll = _cell_loglik(stats, y, var)
    site_post = _normalise_log(_logmeanexp(ll, axis=1))
    h0 = float(_entropy_bits(site_post))
    joint = site_post[:, None] * np.where(stats.present, _normalise_log(np.where(stats.present, ll, -np.inf), axis=1), 0.0)
    rng = np.random.default_rng(seed)
    flat = joint.ravel() / joint.sum()
    draws = rng.choice(flat.size, size=n_samples, p=flat)
    z = rng.standard_normal(n_samples)
    gains, ses = [], []
    p = y.size
    for m, sd in zip(chosen, sds):
        sub = check_library(library, observed + [m])
        st = _cell_stats(sub.values, shrinkage, sub)
        v = np.append(var, sd ** 2)
        cov = st.cov + np.eye(p + 1) * v                                  # (S, M, p+1, p+1)
        s_idx, m_idx = np.unravel_index(draws, joint.shape)
        mu = st.mean[s_idx, m_idx]                                        # (n, p+1)
        c = cov[s_idx, m_idx]
        # conditional normal of the new measure given the observed ones in the drawn cell
        gain_vec = np.linalg.solve(c[:, :p, :p], c[:, :p, p][..., None])[..., 0]    # (n, p)
        cond_mean = mu[:, p] + np.einsum("np,np->n", gain_vec, y - mu[:, :p])
        cond_var = np.maximum(c[:, p, p] - np.einsum("np,np->n", gain_vec, c[:, :p, p]), 1e-300)
        y_new = cond_mean + np.sqrt(cond_var) * z
        y_aug = np.concatenate([np.broadcast_to(y, (n_samples, p)), y_new[:, None]], axis=1)
        ll_new = _gauss_loglik(y_aug[:, None, None, :], np.nan_to_num(st.mean), cov)
        ll_new = np.where(st.present, ll_new, -np.inf)
        post_new = _normalise_log(_logmeanexp(ll_new, axis=2), axis=1)
        drop = h0 - _entropy_bits(post_new, axis=1)
        gains.append(float(drop.mean()))
        ses.append(float(drop.std(ddof=1) / math.sqrt(n_samples)))
    gains_a = np.maximum(np.array(gains), 0.0)
    order = np.argsort(-gains_a, kind="stable")
    names = [chosen[i] for i in order]
    return xr.DataArray(
        gains_a[order], dims="measure",
        coords={"measure": names, "se_bits": ("measure", np.array(ses)[order]),
                "sd": ("measure", sds[order] if len(sds) else np.array([]))},
        name="information_gain",
        attrs={"units": "bit", "long_name": "expected reduction of the site-posterior entropy",
               "entropy_bits": h0, "skipped": skipped, "n_samples": n_samples, "seed": int(seed),
               "observed": observed})


# ----------------------------------------------------------------------------- figures
def plot_posterior(result: InferenceResult, *, pairs: bool = True, top_pairs: int = 8):
    """Bar chart of the site posterior (and, if run, the most probable pairs).

    Parameters
    ----------
    result
        From :func:`infer`.
    pairs
        Draw the singles-and-pairs posterior beside the single-site one.
    top_pairs
        Number of pairs shown.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from simulator.plotting import _pyplot
    plt = _pyplot()
    with_pairs = pairs and result.posterior is not None
    fig, axes = plt.subplots(1, 2 if with_pairs else 1, figsize=(11 if with_pairs else 6, 4.2),
                             squeeze=False)
    post = result.site_posterior
    order = np.argsort(-post.values, kind="stable")
    ax = axes[0, 0]
    labels = [str(post.site.values[i]) for i in order]
    ax.barh(np.arange(len(order)), post.values[order], color="C0")
    ax.set_yticks(np.arange(len(order)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("posterior probability")
    ax.set_title(f"single site ({len(result.measures)} measures)", fontsize=9)
    if with_pairs:
        hyp = result.posterior
        idx = [i for i in np.argsort(-hyp.values, kind="stable")
               if PAIR_SEP in str(hyp.hypothesis.values[i])][:top_pairs]
        singles = [i for i in np.argsort(-hyp.values, kind="stable")
                   if PAIR_SEP not in str(hyp.hypothesis.values[i])][:top_pairs]
        show = sorted(idx + singles, key=lambda i: -hyp.values[i])[:top_pairs + 4]
        ax = axes[0, 1]
        colors = ["C1" if PAIR_SEP in str(hyp.hypothesis.values[i]) else "C0" for i in show]
        ax.barh(np.arange(len(show)), hyp.values[show], color=colors)
        ax.set_yticks(np.arange(len(show)), [str(hyp.hypothesis.values[i]) for i in show], fontsize=7)
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("posterior probability")
        ax.set_title("singles (blue) and additive pairs (orange)", fontsize=9)
    fig.tight_layout()
    return fig


def plot_confusion(cm: xr.DataArray):
    """Heatmap of a confusion matrix (:func:`confusion_matrix`) with its values written in.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from simulator.plotting import _pyplot
    plt = _pyplot()
    n = cm.sizes["true_site"]
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    im = ax.imshow(cm.values, vmin=0, vmax=1, cmap="viridis")
    for i in range(n):
        for j in range(cm.sizes["inferred_site"]):
            v = cm.values[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7,
                        color="black" if v > 0.6 else "white")
    ax.set_xticks(np.arange(cm.sizes["inferred_site"]), [str(s) for s in cm.inferred_site.values],
                  rotation=60, ha="right", fontsize=7)
    ax.set_yticks(np.arange(n), [str(s) for s in cm.true_site.values], fontsize=7)
    ax.set_xlabel("inferred site (MAP)")
    ax.set_ylabel("true site")
    acc = cm.attrs.get("accuracy")
    if acc is not None:
        ax.set_title(f"accuracy {acc:.2f} (chance {cm.attrs.get('chance', float('nan')):.2f})", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="fraction of observations")
    fig.tight_layout()
    return fig


def plot_information_gain(eig: xr.DataArray):
    """Bar chart of the expected information gain of each candidate measure (bits), ± 2 SE.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from simulator.plotting import _pyplot
    plt = _pyplot()
    n = eig.sizes["measure"]
    fig, ax = plt.subplots(figsize=(6, 1.2 + 0.35 * max(n, 1)))
    if n:
        se = eig["se_bits"].values if "se_bits" in eig.coords else None
        ax.barh(np.arange(n), eig.values, xerr=None if se is None else 2 * se, color="C2")
        ax.set_yticks(np.arange(n), [str(m) for m in eig.measure.values], fontsize=8)
        ax.invert_yaxis()
    else:
        ax.text(0.5, 0.5, "no candidate measures", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("expected information gain [bit]")
    h0 = eig.attrs.get("entropy_bits")
    ax.set_title("next measurement" + (f" (current entropy {h0:.2f} bit)" if h0 is not None else ""),
                 fontsize=9)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- entry point
def run_inference(library_path: str | os.PathLike, observation_path: str | os.PathLike,
                  out_dir: str | os.PathLike, *, pairs: bool = True, seed: int = 0,
                  n_samples: int = 400) -> Path:
    """Infer the site of adaptation from files and write the results (``mnpool infer``).

    Loads the library (NetCDF written by :func:`simulator.io.save_netcdf`) and the observation
    (:func:`load_observation`), runs :func:`infer` and :func:`expected_information_gain`, and
    writes into ``out_dir``: ``posterior.nc`` (the result Dataset plus ``information_gain``),
    ``summary.txt``, ``posterior.png`` and ``information_gain.png``. Every input is checked and
    every result computed before the first file is written; each file is written atomically.

    Parameters
    ----------
    library_path
        NetCDF reference library.
    observation_path
        Observation TOML.
    out_dir
        Output folder (created).
    pairs
        Also score pairs of sites (:func:`infer`).
    seed
        Seed of the information-gain Monte Carlo.
    n_samples
        Monte Carlo draws per candidate measure.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ConfigError
        On a missing or unreadable library, or any invalid input; nothing is written then.
    """
    from simulator.io import atomic_path, save_netcdf
    from simulator.loading import read_netcdf
    from simulator.plotting import save_figure
    lib_path = Path(library_path)
    library = read_netcdf(lib_path, what="reference library")
    observation = load_observation(observation_path)
    result = infer(library, observation, pairs=pairs)
    eig = expected_information_gain(library, observation, n_samples=n_samples, seed=seed)
    ds = result.to_dataset()
    ds["information_gain"] = eig.rename(measure="candidate")
    ds.attrs["library"] = str(lib_path)
    ds.attrs["seed"] = int(seed)
    text = result.summary()
    text += "\nExpected information gain of one more measure (bits):\n"
    text += "".join(f"  {str(m):<30}{float(v):8.3f} ± {float(se):.3f}\n"
                    for m, v, se in zip(eig.measure.values, eig.values, eig.se_bits.values)) or "  (none)\n"
    fig_post = plot_posterior(result)
    fig_eig = plot_information_gain(eig)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_netcdf(ds, out / "posterior.nc")
    with atomic_path(out / "summary.txt", suffix=".txt") as tmp:
        tmp.write_text(text)
    save_figure(fig_post, out / "posterior.png")
    save_figure(fig_eig, out / "information_gain.png")
    return out
