"""Gaussian synthetic likelihood of an observation under every library cell.

The second stage of :mod:`scenarios.inference` (Wood 2010, Nature 466:1102; Price, Drovandi, Lee
& Nott 2018, J Comput Graph Stat 27:1): the simulated changes of a (site, magnitude) cell are
summarised by their mean and covariance over replicates, the covariance shrunk toward its
diagonal (Schäfer & Strimmer 2005, Stat Appl Genet Mol Biol 4:32), and the observed changes
are scored by that multivariate normal density with the observation's variance added.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import xarray as xr

from simulator.config import ConfigError


@dataclasses.dataclass(frozen=True)
class _Stats:
    """Per-cell summary of the library: mean (S, M, p), covariance (S, M, p, p), present (S, M),
    mean_cov (S, M, p, p): covariance of the cell mean itself (:func:`_mean_cov`)."""

    mean: np.ndarray
    cov: np.ndarray
    present: np.ndarray
    mean_cov: np.ndarray


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
    return _Stats(mean=np.where(present[..., None], mean, np.nan), cov=cov, present=present,
                  mean_cov=_mean_cov(cov, n_i, n_ij))


def _mean_cov(cov: np.ndarray, n_i: np.ndarray, n_ij: np.ndarray) -> np.ndarray:
    """Covariance of a cell's mean change from its replicates, measure by measure.

    Each measure's mean uses its own finite replicates (``n_i``), so ``Cov(mean_i, mean_j) =
    S_ij n_ij / (n_i n_j)`` with ``n_ij`` the replicates where both are finite; with every
    replicate complete this is ``S / R``. Counting only the replicates with *every* measure
    would charge a measure that is rarely missing for another's gaps (delta-F is missing in
    13 of 20 subjects of the shipped library's intrinsic +1.2 cell).
    """
    n = np.maximum(n_i, 1).astype(float)
    return cov * n_ij / (n[..., :, None] * n[..., None, :])


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
    diagonal must be positive (:func:`_observation_cov` sees to it).
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


def _observation_cov(cov: np.ndarray, obs_var: np.ndarray, n_subjects: int | None = None,
                     mean_cov: np.ndarray | None = None) -> np.ndarray:
    """Covariance of the observed change under every cell whose replicate covariance is ``cov``.

    One subject (``n_subjects`` None): ``S + diag(sd**2)``, the subject's own spread plus the
    measurement error ``sd``. A cohort's mean change over ``n`` subjects, ``sd`` its standard
    error: ``S/n + S_mean + diag(max(sd**2 - diag(S)/n, 0))``. ``S/n`` is the spread of a cohort
    mean the model predicts (with the correlations between measures that published standard
    errors lack), ``S_mean`` (``mean_cov``, :func:`_mean_cov`; ``S/R`` with ``R`` complete
    replicates) the uncertainty of the library's cell mean (Gelman et al. 2013, Bayesian Data
    Analysis, sec. 3.2; None: ``S``, one replicate); where the published standard error
    is larger than the model's ``sqrt(diag(S)/n)`` the real cohort was more variable than the
    virtual one, and the excess is added, so each measure's variance is at least ``sd**2``.
    """
    eye = np.eye(obs_var.size)
    if n_subjects is None:
        return cov + eye * obs_var
    diag = np.einsum("...ii->...i", cov)
    extra = np.maximum(obs_var - diag / n_subjects, 0.0)
    # a cell without spread (absent cells: all zeros) and no published error would leave a zero
    # variance, which the whitening divides by; absent cells are masked afterwards anyway
    extra = np.where(diag > 0, extra, np.maximum(extra, 1e-30))
    return cov / n_subjects + (cov if mean_cov is None else mean_cov) + eye * extra[..., None, :]


def _predictive_check(stats: _Stats, y: np.ndarray, obs_var: np.ndarray, sites: list[str],
                      mags: np.ndarray, n_subjects: int | None = None) -> dict[str, Any]:
    """How well the best library cell predicts ``y``: its chi-square p-value (Gelman et al. 1996,
    Stat Sinica 6:733, posterior predictive check with the Mahalanobis distance as discrepancy)."""
    from scipy.stats import chi2
    cov = _observation_cov(stats.cov, obs_var, n_subjects, stats.mean_cov)
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
    with np.errstate(invalid="ignore"):   # NaN where every entry is -inf (nothing observed)
        return e / e.sum(axis=axis, keepdims=True)


def _cell_loglik(stats: _Stats, y: np.ndarray, obs_var: np.ndarray,
                 n_subjects: int | None = None) -> np.ndarray:
    """Synthetic log-likelihood of observation(s) ``y`` (..., p) in every cell; -inf if absent
    (covariance: :func:`_observation_cov`).

    A NaN entry of ``y`` is a measure that observation lacks (a subject without a valid delta-F
    pair, or without a decomposed unit tracked across sessions): its likelihood is the
    Gaussian's marginal over the measures it has, i.e. the rows and columns of the missing
    ones dropped (missing at random: that a measure is missing is not itself evidence). An
    observation without any finite measure scores -inf everywhere.
    """
    cov = _observation_cov(stats.cov, obs_var, n_subjects, stats.mean_cov)
    mean = np.nan_to_num(stats.mean)
    y = np.asarray(y, dtype=float)
    finite = np.isfinite(y)
    if finite.all():
        ll = _gauss_loglik(y[..., None, None, :], mean, cov)
    else:
        p = y.shape[-1]
        flat_y, flat_ok = y.reshape(-1, p), finite.reshape(-1, p)
        ll = np.full((flat_y.shape[0], *stats.present.shape), -np.inf)
        patterns, which = np.unique(flat_ok, axis=0, return_inverse=True)
        for k, keep in enumerate(patterns):          # one marginal per pattern of missing measures
            if not keep.any():
                continue
            rows = np.flatnonzero(which.ravel() == k)
            ll[rows] = _gauss_loglik(flat_y[rows][:, keep][:, None, None, :], mean[..., keep],
                                     cov[..., keep, :][..., keep])
        ll = ll.reshape(*y.shape[:-1], *stats.present.shape)
    return np.where(stats.present, ll, -np.inf)
