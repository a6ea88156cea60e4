"""Posterior over the sites (and pairs of sites) of adaptation: :func:`infer`.

The third stage of :mod:`scenarios.inference`: a uniform prior over sites and over the magnitude
grid, the synthetic likelihood of :mod:`scenarios.inference.likelihood`, and the result
(:class:`InferenceResult`) with its bootstrap uncertainty.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from scenarios.inference.likelihood import (PREDICTIVE_ALPHA, PosteriorPredictiveWarning, _cell_loglik,
                                            _cell_stats, _gauss_loglik, _logmeanexp, _normalise_log,
                                            _observation_cov, _predictive_check, _Stats)
from scenarios.inference.observation import CONTROL, PAIR_SEP, Observation, check_library
from simulator.config import ConfigError

__all__ = ["InferenceResult", "infer", "site_table", "posterior_predictive"]


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
        n = self.observation.n_subjects
        lines.append(f"Observed: the mean change of a cohort of {n} subject(s)" if n is not None
                     else "Observed: one subject's change")
        p = self.settings.get("predictive_p")
        if p is not None and p < PREDICTIVE_ALPHA:
            lines.append(f"WARNING: no library entry explains the observation (nearest "
                         f"{self.settings.get('predictive_nearest')}, predictive p = {p:.2g})")
        lines += ["", f"{'site':<28}{'posterior':>10}{'MAP magnitude':>15}{'E[magnitude]':>14}"
                 + (f"{'bootstrap 90 %':>18}" if self.site_posterior_interval is not None else "")]
        rows = site_table(self.site_posterior, self.magnitude_posterior)
        for site, p, map_mag, mean_mag in rows[:top]:
            if self.site_posterior_interval is not None:
                lo, hi = self.site_posterior_interval.sel(site=site).values
                interval = f"{f'{lo:.3f}-{hi:.3f}':>18}"
            else:
                interval = ""
            if site == CONTROL:  # no adaptation: its magnitude grid carries no meaning
                lines.append(f"{site:<28}{p:>10.3f}{'-':>15}{'-':>14}{interval}")
                continue
            lines.append(f"{site:<28}{p:>10.3f}{map_mag:>15g}{mean_mag:>14.3g}{interval}")
        if len(rows) > top:
            rest = float(sum(r[1] for r in rows[top:]))
            lines.append(f"{f'({len(rows) - top} more)':<28}{rest:>10.3f}")
        if self.posterior is not None:
            lines += ["", "Singles and pairs (pairs assume the single-site changes add):",
                      f"{'hypothesis':<52}{'posterior':>10}"]
            post = self.posterior
            for i in np.argsort(-post.values, kind="stable")[:top]:
                lines.append(f"{str(post.hypothesis.values[i]):<52}{float(post[i]):>10.3f}")
            total = float(self.pair_posterior.sum()) if self.pair_posterior is not None else 0.0
            lines.append(f"{'(all pairs together)':<52}{total:>10.3f}")
        return "\n".join(lines) + "\n"


def site_table(site_posterior: xr.DataArray, magnitude_posterior: xr.DataArray
               ) -> list[tuple[str, float, float, float]]:
    """Sites by decreasing posterior, with the magnitude each most probably had.

    Parameters
    ----------
    site_posterior
        ``(site,)`` posterior probability (:attr:`InferenceResult.site_posterior`).
    magnitude_posterior
        ``(site, magnitude)`` posterior over the magnitude given the site.

    Returns
    -------
    list of tuple
        ``(site, posterior, MAP magnitude, posterior mean magnitude)`` per site, most probable
        first (ties keep the library's order); magnitudes are relative changes, NaN for
        ``control``, whose magnitude grid carries no meaning.
    """
    rows = []
    for i in np.argsort(-site_posterior.values, kind="stable"):
        site = str(site_posterior.site.values[i])
        mp = magnitude_posterior.sel(site=site)
        ok = np.isfinite(mp.values)
        mags, w = mp.magnitude.values[ok], mp.values[ok]
        if site == CONTROL or not ok.any():
            rows.append((site, float(site_posterior[i]), float("nan"), float("nan")))
        else:
            rows.append((site, float(site_posterior[i]), float(mags[np.argmax(w)]), float(np.sum(w * mags))))
    return rows


def posterior_predictive(library: xr.Dataset | xr.DataArray, result: InferenceResult,
                         site: str | None = None) -> xr.Dataset:
    """Posterior predictive distribution of the observed changes given one site.

    Under the synthetic likelihood of :func:`infer` an observation from cell (site ``s``,
    magnitude ``m``) is normal with the cell's replicate mean and variance plus the observation's
    own variance (for a cohort's mean, ``Observation.n_subjects``, the variance of such a mean:
    :func:`infer`); mixing the cells of ``s`` with the magnitude posterior gives, per measure, the
    predictive mean ``sum_m w_m mu_m`` and variance ``sum_m w_m (var_m + sd**2 + mu_m**2) -
    mean**2`` (Gelman, Meng & Stern 1996, Stat Sinica 6:733).

    Parameters
    ----------
    library
        The reference library the result was computed from.
    result
        The posterior (:func:`infer`).
    site
        The site (default: the most probable single site, :attr:`InferenceResult.map_site`).

    Returns
    -------
    xarray.Dataset
        Over ``measure`` (the observation's): ``predictive_mean``, ``predictive_sd`` (the
        measures' change units) and ``predictive_z = (observed - mean) / sd``; attr ``site``.
    """
    site = result.map_site if site is None else str(site)
    da, y, var = _prepare(library, result.observation)
    shrinkage = result.settings.get("shrinkage", "auto")
    stats = _cell_stats(da.values, shrinkage, da)
    i = [str(s) for s in da.site.values].index(site)
    w = np.nan_to_num(result.magnitude_posterior.sel(site=site).values)[:, None]   # (M, 1)
    mu = np.nan_to_num(stats.mean[i])                                               # (M, p)
    cell_var = np.einsum("mii->mi", _observation_cov(stats.cov[i], var, result.observation.n_subjects,
                                                     stats.mean_cov[i]))
    mean = (w * mu).sum(0)
    sd = np.sqrt(np.maximum((w * (cell_var + mu ** 2)).sum(0) - mean ** 2, 0.0))
    coords = {"measure": list(result.measures)}
    return xr.Dataset(
        {"predictive_mean": ("measure", mean, {"long_name": f"posterior predictive mean change given {site}"}),
         "predictive_sd": ("measure", sd, {"long_name": f"posterior predictive SD of the change given {site}"}),
         "predictive_z": ("measure", (y - mean) / sd,
                          {"long_name": "observed minus predictive mean, in predictive SDs", "units": "1"})},
        coords=coords, attrs={"site": site})


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
    Stat 27:1). When the observation is a cohort's mean change (``observation.n_subjects = n``,
    ``sd`` its standard error) the covariance is that of a mean of ``n`` subjects,
    ``S (1/n + 1/R) + diag(max(sd**2 - diag(S)/n, 0))`` with ``R`` the cell's replicates (per
    measure pair, those that have both): a published cohort of 14 is then scored as the mean of
    14 virtual subjects, not as one. The prior is uniform over the sites (``control`` included
    when present) and uniform over each site's magnitude grid, so a site's evidence is the mean likelihood over its
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
    n_obs = observation.n_subjects
    ll = _cell_loglik(stats, y, var, n_obs)                            # (S, M)
    log_ev = _logmeanexp(ll, axis=1)                                   # (S,)
    if not np.any(np.isfinite(log_ev)):
        raise ConfigError("the observation is so far from every library entry that every likelihood "
                          "underflows to zero (no posterior can be computed); check the measures' "
                          "units and that each sd is the standard error of the change")
    site_post = _normalise_log(log_ev)
    check = _predictive_check(stats, y, var, sites, mags, n_obs)
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
        result["site_posterior_interval"] = _bootstrap(da, y, var, shrinkage, n_bootstrap, seed, n_obs)
        result["settings"].update(n_bootstrap=n_bootstrap, seed=int(seed))
    neural = [i for i, s in enumerate(sites) if s != CONTROL]
    if pairs and len(neural) >= 2:
        result.update(_pairs(stats, y, var, sites, mags, neural, log_ev, pair_prior, n_obs))
    return InferenceResult(**result)


def _bootstrap(da: xr.DataArray, y: np.ndarray, var: np.ndarray, shrinkage: float | str,
               n: int, seed: int, n_obs: int | None) -> xr.DataArray:
    """5th and 95th percentiles of the site posterior over bootstrap resamples of the replicates."""
    rng = np.random.default_rng(seed)
    x = da.values
    posts = np.empty((n, x.shape[0]))
    for b in range(n):
        idx = rng.integers(x.shape[2], size=x.shape[:3])
        xb = np.take_along_axis(x, idx[..., None], axis=2)
        stats = _cell_stats(xb, shrinkage, da)
        posts[b] = _normalise_log(_logmeanexp(_cell_loglik(stats, y, var, n_obs), axis=1))
    q = np.percentile(posts, [5.0, 95.0], axis=0).T
    return xr.DataArray(q, dims=("site", "bound"), coords={"site": da.site.values, "bound": ["p05", "p95"]},
                        name="site_posterior_interval",
                        attrs={"long_name": "bootstrap 90 % interval of the site posterior over replicates",
                               "n_bootstrap": n})


def _pairs(stats: _Stats, y: np.ndarray, var: np.ndarray, sites: list[str], mags: np.ndarray,
           neural: list[int], log_ev: np.ndarray, pair_prior: float, n_obs: int | None) -> dict[str, Any]:
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
    # the two cells' means are estimated from different replicates: their uncertainties add
    mc = stats.mean_cov[a][:, :, None] + stats.mean_cov[b][:, None, :]
    pll = _gauss_loglik(y, pm, _observation_cov(pc, var, n_obs, mc))
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
