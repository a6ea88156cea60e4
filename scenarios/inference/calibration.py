"""Is the inference calibrated, and how many subjects does it need?

The fifth stage of :mod:`scenarios.inference`, next to the confusion matrix of
:mod:`~scenarios.inference.design`:

* :func:`dose_coverage` — simulation-based calibration (Cook, Gelman & Rubin 2006, J Comput Graph
  Stat 15:675; Talts et al. 2018, arXiv:1804.06788) of the posterior over the dose given the
  true site: on observations the library was not built from (left-out or held-out virtual
  subjects), the central 50 % and 90 % credible intervals must contain the true dose at their
  nominal rates. On a discrete dose grid the check uses the randomised probability integral
  transform ``u = P(m < m_true) + U * P(m = m_true)`` (``U`` uniform), which is uniform on [0, 1]
  exactly when the posterior is calibrated (Brockwell 2007, Stat Probab Lett 77:1339); the
  central ``q`` interval covers the truth when ``|u - 1/2| <= q/2``.
* :func:`pair_recovery` — two sites adapting at once: how often the pair is the maximum a
  posteriori hypothesis, against chance;
* :func:`cohort_power` — the cohort size at which each site is recovered with a given recall,
  and which added measure lowers it most (a power analysis for the design of a training study);
* :func:`decomposition_cost` — what the inference loses when the motor-unit measures come from
  decomposed HD-sEMG (units found by the decomposition and tracked by MUAP, as a lab has them)
  instead of from every unit's true discharges.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from scenarios.inference.design import _sd_vector, fold_stats, observation_folds, scorable_candidates
from scenarios.inference.likelihood import (_Stats, _cell_loglik, _cell_stats, _gauss_loglik,
                                            _logmeanexp, _normalise_log)
from scenarios.inference.observation import (CONTROL, DECOMPOSED_SUFFIX, PAIR_SEP, _number, check_library,
                                             replicate_sd)
from scenarios.inference.posterior import _check_shrinkage, _pairs
from simulator.config import ConfigError

__all__ = ["dose_coverage", "pair_recovery", "cohort_power", "coverage_text", "decomposition_cost"]


def _levels(levels: Sequence[float]) -> np.ndarray:
    out = np.asarray(levels, dtype=float).ravel()
    if out.size == 0 or not np.all((out > 0) & (out < 1)):
        raise ConfigError(f"levels = {list(levels)!r} must be credible levels in (0, 1)")
    return out


def dose_coverage(library: xr.Dataset | xr.DataArray, *, levels: Sequence[float] = (0.5, 0.9),
                  measures: Sequence[str] | None = None,
                  observation_sd: Mapping[str, float] | None = None,
                  held_out: xr.Dataset | xr.DataArray | None = None,
                  shrinkage: float | str = "auto", seed: int = 0) -> xr.Dataset:
    """Coverage of the dose's credible intervals on observations the library was not built from.

    Every replicate of every present cell of a site simulated at two or more doses (magnitudes)
    is an observation, as in :func:`~scenarios.inference.design.confusion_matrix` (its changes
    plus measurement noise of SD ``observation_sd``, against the library without that replicate,
    or against the whole library for the replicates of ``held_out``). Its posterior over the
    dose *given the true site* (:func:`~scenarios.inference.posterior.infer`'s
    ``magnitude_posterior``) gives the randomised PIT value ``u``; the central interval of level
    ``q`` covers the true dose when ``|u - 1/2| <= q/2``. A calibrated posterior covers at the
    nominal rate; a lower rate means overconfident intervals (the library's spread
    underestimates the observations'), a higher one underconfident intervals.

    Parameters
    ----------
    library
        Reference library (:func:`~scenarios.inference.observation.check_library`).
    levels
        Credible levels to check, in (0, 1).
    measures, observation_sd, shrinkage
        As in :func:`~scenarios.inference.design.confusion_matrix`.
    held_out
        Another library whose replicates are the observations (default: leave-one-out).
    seed
        Seed of the observation noise and of the PIT randomisation.

    Returns
    -------
    xarray.Dataset
        ``pit`` (site, magnitude, replicate): the PIT value of every observation (NaN where
        none); ``coverage`` (level): fraction of observations covered; ``site_coverage``
        (site, level); attrs ``n_observations``, ``method``, ``measures``.

    Raises
    ------
    ConfigError
        Invalid inputs, or no site simulated at two or more doses.
    """
    shrinkage = _check_shrinkage(shrinkage)
    q = _levels(levels)
    da = check_library(library, measures).sortby("magnitude")  # the PIT needs the doses in order
    folds = observation_folds(da, held_out)
    used = [str(m) for m in da.measure.values]
    obs_sd = _sd_vector(observation_sd, replicate_sd(da), used, "observation_sd")
    sites = [str(s) for s in da.site.values]
    n_sites, n_mags = da.sizes["site"], da.sizes["magnitude"]
    rng = np.random.default_rng(seed)
    pit = np.full((n_sites, n_mags, len(folds)), np.nan)
    for k, (stats, observed) in enumerate(fold_stats(da, folds, shrinkage)):
        dosed = (stats.present.sum(axis=1) >= 2) & (np.array(sites) != CONTROL)
        if not dosed.any():
            raise ConfigError("dose coverage needs a site simulated at two or more magnitudes; the "
                              f"library has magnitudes {da.magnitude.values.tolist()} per site")
        y = observed + rng.normal(size=observed.shape) * obs_sd
        ll = _cell_loglik(stats, y, obs_sd ** 2)                          # (S, M, S', M')
        for s in np.flatnonzero(dosed):
            post = _normalise_log(np.where(stats.present[s], ll[s, :, s, :], -np.inf), axis=-1)  # (M, M')
            below = np.cumsum(post, axis=-1) - post                         # P(m' < m)
            for m in range(n_mags):
                if stats.present[s, m] and np.isfinite(y[s, m]).any():
                    pit[s, m, k] = below[m, m] + rng.uniform() * post[m, m]
    covered = np.abs(pit[..., None] - 0.5) <= q / 2                          # (S, M, R, L)
    ok = np.isfinite(pit)
    n_site = ok.sum(axis=(1, 2))
    with np.errstate(invalid="ignore"):
        site_cov = np.where(ok[..., None], covered, False).sum(axis=(1, 2)) / n_site[:, None]
    total = int(ok.sum())
    coverage = np.where(ok[..., None], covered, False).sum(axis=(0, 1, 2)) / max(total, 1)
    method = "held-out library" if held_out is not None else "leave-one-replicate-out"
    return xr.Dataset(
        {"pit": (("site", "magnitude", "replicate"), pit,
                 {"long_name": "randomised PIT of the true dose under its site's dose posterior"}),
         "coverage": ("level", coverage, {"long_name": "fraction of true doses inside the central "
                                                       "credible interval"}),
         "site_coverage": (("site", "level"), site_cov)},
        coords={"site": sites, "magnitude": da.magnitude.values, "replicate": np.arange(len(folds)),
                "level": q},
        attrs={"n_observations": total, "measures": used, "seed": int(seed),
               "method": f"{method}, randomised PIT of the dose posterior given the true site"})


def coverage_text(levels: Sequence[float], coverage: Sequence[float]) -> str:
    """``"50 % interval: 48 %, 90 % interval: 88 %"``: nominal levels and observed coverage."""
    return ", ".join(f"{100 * float(q):.0f} % interval: {100 * float(c):.0f} %" for q, c in zip(levels, coverage))


def pair_recovery(library: xr.Dataset | xr.DataArray, *, measures: Sequence[str] | None = None,
                  observation_sd: Mapping[str, float] | None = None, pair_prior: float = 0.5,
                  shrinkage: float | str = "auto", seed: int = 0) -> xr.DataArray:
    """How often two sites adapting together are recovered as that pair.

    For every pair of non-control sites and every left-out replicate ``r`` (one dose, drawn at
    random, per site), the observation is the additive signature of that subject — its change
    at site ``a`` plus its change at site ``b`` minus its control change — plus measurement noise
    of SD ``observation_sd``; it is inferred with pairs
    (:func:`~scenarios.inference.posterior.infer`'s additive pair model, prior ``pair_prior``)
    against the library without replicate ``r``. A pair is recovered when it is the maximum a
    posteriori hypothesis among all single sites and pairs.

    Parameters
    ----------
    library
        Reference library with ``control`` and >= 2 other sites, >= 3 replicates.
    measures, observation_sd, shrinkage
        As in :func:`~scenarios.inference.design.confusion_matrix`.
    pair_prior
        As in :func:`~scenarios.inference.posterior.infer`.
    seed
        Seed of the doses drawn, the noise and tie breaking.

    Returns
    -------
    xarray.DataArray
        ``(pair,)`` fraction of observations whose MAP hypothesis is the pair; coordinate
        ``involved`` (pair): fraction whose two most probably involved sites
        (``site_involvement``) are the pair's; attrs ``recall`` (mean), ``chance`` (1 / number
        of pairs), ``n_observations``.

    Raises
    ------
    ConfigError
        No control, fewer than two other sites, or invalid inputs.
    """
    shrinkage = _check_shrinkage(shrinkage)
    da = check_library(library, measures)
    sites = [str(s) for s in da.site.values]
    if CONTROL not in sites or len(sites) < 3:
        raise ConfigError("pair recovery needs the control and at least two other sites in the library")
    folds = observation_folds(da, None)
    used = [str(m) for m in da.measure.values]
    obs_sd = _sd_vector(observation_sd, replicate_sd(da), used, "observation_sd")
    rng = np.random.default_rng(seed)
    c = sites.index(CONTROL)
    neural = [i for i in range(len(sites)) if i != c]
    combos = [(a, b) for k, a in enumerate(neural) for b in neural[k + 1:]]
    labels = [f"{sites[a]}{PAIR_SEP}{sites[b]}" for a, b in combos]
    hits = np.zeros(len(combos))
    involved = np.zeros(len(combos))
    counts = np.zeros(len(combos))
    for stats, observed in fold_stats(da, folds, shrinkage):
        c_mag = np.flatnonzero(stats.present[c])[0]
        for k, (a, b) in enumerate(combos):
            ma = rng.choice(np.flatnonzero(stats.present[a]))
            mb = rng.choice(np.flatnonzero(stats.present[b]))
            y = observed[a, ma] + observed[b, mb] - observed[c, c_mag]
            if not np.isfinite(y).all():   # pairs are scored on complete observations only
                continue
            y = y + rng.normal(size=y.shape) * obs_sd
            log_ev = _logmeanexp(_cell_loglik(stats, y, obs_sd ** 2), axis=1)
            res = _pairs(stats, y, obs_sd ** 2, sites, da.magnitude.values, neural, log_ev, pair_prior, None)
            post = res["posterior"].values
            best = np.flatnonzero(post >= post.max() - 1e-12)
            hits[k] += rng.choice(best) == len(sites) + k
            top2 = np.argsort(-res["site_involvement"].values, kind="stable")[:2]
            involved[k] += set(top2.tolist()) == {a, b}
            counts[k] += 1
    with np.errstate(invalid="ignore"):
        recall, inv = hits / counts, involved / counts
    return xr.DataArray(
        recall, dims="pair", coords={"pair": labels, "involved": ("pair", inv)}, name="pair_recall",
        attrs={"long_name": "fraction of two-site observations whose MAP hypothesis is the pair",
               "recall": float(np.nansum(hits) / max(counts.sum(), 1)), "chance": 1.0 / len(combos),
               "n_observations": int(counts.sum()), "measures": used, "seed": int(seed),
               "method": "leave-one-replicate-out, additive pair signatures of the same subject"})


def _cohort_cov(stats: _Stats, n: int, var: np.ndarray) -> np.ndarray:
    """Predictive covariance of a cohort mean of ``n`` in every cell: ``S/n + S_mean + diag(var)``
    (the cohort's own spread and that of the library's estimate of the cell mean, ``S/R`` from
    ``R`` complete replicates, :func:`~scenarios.inference.likelihood._mean_cov`; Gelman et al.
    2013, Bayesian Data Analysis, sec. 3.2); ``var`` is error the virtual subjects do not carry,
    added in full (unlike an observed standard error,
    :func:`~scenarios.inference.likelihood._observation_cov`)."""
    return stats.cov / n + stats.mean_cov + np.eye(var.size) * var


def _recall(stats: _Stats, n: int, var: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Recall of every site for cohorts of ``n``: cohort means drawn from the predictive
    distribution of every present cell (``z``: (draws, S, M, p) standard normals), MAP site of
    each under the same predictive likelihood; mean over doses and draws."""
    cov = _cohort_cov(stats, n, var)                                     # (S, M, p, p)
    evals, evecs = np.linalg.eigh(cov)
    root = evecs * np.sqrt(np.maximum(evals, 0.0))[..., None, :]
    y = np.nan_to_num(stats.mean) + np.einsum("smpk,dsmk->dsmp", root, z)       # (D, S, M, p)
    ll = np.where(stats.present, _gauss_loglik(y[..., None, None, :], np.nan_to_num(stats.mean), cov),
                  -np.inf)                                                      # (D, S, M, S', M')
    post = _normalise_log(_logmeanexp(ll, axis=-1), axis=-1)                    # (D, S, M, S')
    # the posterior of the true site, not the MAP's hit rate: of two sites the battery cannot
    # tell apart, the one whose cells happen to score a little higher would win every tie and
    # show a high "recall"; the posterior gives each about half
    truth = np.einsum("dsms->dsm", post)
    truth = np.where(stats.present[None], truth, np.nan)
    return np.nanmean(truth, axis=(0, 2))


def cohort_power(library: xr.Dataset | xr.DataArray, *, sizes: Sequence[int] = (5, 10, 20, 40, 80),
                 measures: Sequence[str] | None = None, candidates: Sequence[str] | None = None,
                 recall: float = 0.8, n_draws: int = 200, extra_sd: Mapping[str, float] | None = None,
                 shrinkage: float | str = "auto", seed: int = 0) -> xr.Dataset:
    """Cohort size at which each site is recovered, and the added measure that lowers it most.

    A training study reports the mean change of its cohort. For a cohort of ``n`` subjects
    trained at site ``s`` and dose ``m``, the mean change is drawn from the predictive
    distribution ``N(mu, S (1/n + 1/R) + E)`` of the library's cell — its mean ``mu`` and
    between-subject covariance ``S`` estimated from ``R`` virtual subjects (the ``1/R`` term is
    the uncertainty of that estimate, counted per measure pair from the subjects that have
    both, so a larger cohort cannot resolve differences the
    library itself cannot), and ``E = diag(extra_sd**2)`` for error the simulated subjects do
    not carry — and the site is inferred from it with the same predictive likelihood (uniform
    priors over sites and doses, maximum a posteriori site). The recall of ``s`` at ``n`` is
    the posterior probability of the true site, averaged over its cohorts and doses: the
    expected fraction attributed to ``s`` when a cohort's site is drawn from its posterior (the
    MAP site's hit rate would reward a site that wins every near-tie with one it cannot be told
    apart from). The library's
    model is taken as the truth: whether it transfers to other subjects is what a held-out
    :func:`~scenarios.inference.design.confusion_matrix` asks.

    Parameters
    ----------
    library
        Reference library (:func:`~scenarios.inference.observation.check_library`), >= 2
        replicates per cell.
    sizes
        Cohort sizes to evaluate (integers >= 1, increasing).
    measures
        The battery the study measures (default: every measure of the library).
    candidates
        Measures to try adding one at a time (default: every library measure not in
        ``measures``; those the library lacks in some present cell are skipped).
    recall
        Recall a site must reach, in (0, 1).
    n_draws
        Simulated cohorts per cell and size (10-100000).
    extra_sd
        ``{measure: SD}`` added to every cohort mean, in the measure's unit (default 0; a
        numerical floor of 1e-6 x the between-replicate SD keeps the covariance invertible).
    shrinkage
        As in :func:`~scenarios.inference.posterior.infer`.
    seed
        Seed of the simulated cohorts (the same draws for every size and candidate).

    Returns
    -------
    xarray.Dataset
        ``recall`` (site, size): mean posterior probability of the true site; ``n_needed`` (site): smallest size reaching ``recall`` (NaN if
        none); with candidates, ``recall_with`` (candidate, site, size), ``n_needed_with``
        (candidate, site) and ``best_addition`` (site): the candidate with the smallest
        ``n_needed_with`` (ties: the higher recall at that size; "" if none reaches it).

    Raises
    ------
    ConfigError
        On invalid sizes, recall, draws, measures or candidates.
    """
    shrinkage = _check_shrinkage(shrinkage)
    sz = np.asarray(sizes)
    if (sz.size == 0 or sz.ndim != 1 or not np.issubdtype(sz.dtype, np.integer) or np.any(sz < 1)
            or np.any(np.diff(sz) <= 0)):
        raise ConfigError(f"sizes = {list(sizes)!r} must be increasing integers >= 1")
    if isinstance(recall, bool) or not isinstance(recall, (int, float)) or not 0 < recall < 1:
        raise ConfigError(f"recall = {recall!r} must be in (0, 1)")
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or not 10 <= n_draws <= 100_000:
        raise ConfigError(f"n_draws = {n_draws!r} must be an integer in [10, 100000]")
    da = check_library(library, measures)
    full = check_library(library)
    used = [str(m) for m in da.measure.values]
    if candidates is None:
        cands, _ = scorable_candidates(library, used)
    else:
        cands = [str(c) for c in candidates]
        again = [c for c in cands if c in used]
        if again:
            raise ConfigError(f"candidate measure(s) {', '.join(map(repr, again))} are in the battery already")
        check_library(library, used + cands)
    extra = {str(m): _number(v, f"extra_sd[{m!r}]") for m, v in (extra_sd or {}).items()}
    bad = sorted(m for m, v in extra.items() if m not in full.measure.values.tolist() or v < 0)
    if bad:
        raise ConfigError(f"extra_sd: measure(s) {', '.join(map(repr, bad))} unknown or with SD < 0; "
                          f"measures: {', '.join(map(str, full.measure.values))}")
    rsd = replicate_sd(full).fillna(1.0)
    rsd = rsd.where(rsd > 0, 1.0)
    sites = [str(s) for s in da.site.values]
    rng = np.random.default_rng(seed)
    n_mags = da.sizes["magnitude"]
    # one set of standard normals for every battery: common random numbers across candidates
    z_all = rng.standard_normal((n_draws, len(sites), n_mags, len(used) + 1))

    def battery(names: list[str]) -> np.ndarray:
        sub = check_library(library, names)
        stats = _cell_stats(sub.values, shrinkage, sub)
        var = (1e-6 * rsd.sel(measure=names).values) ** 2
        for i, m in enumerate(names):
            if m in extra:
                var[i] = max(var[i], extra[m] ** 2)
        z = z_all[..., :len(names)]
        return np.stack([_recall(stats, int(n), var, z) for n in sz], axis=-1)   # (S, sizes)

    def needed(rec: np.ndarray) -> np.ndarray:
        reach = rec >= recall
        return np.where(reach.any(axis=-1), sz[np.argmax(reach, axis=-1)], np.nan)

    base = battery(used)
    ds = xr.Dataset({"recall": (("site", "size"), base, {"long_name": "mean posterior probability of "
                                                                      "the true site"}),
                     "n_needed": ("site", needed(base), {"long_name": f"smallest cohort with recall "
                                                                      f">= {recall:g}"})},
                    coords={"site": sites, "size": sz})
    if cands:
        with_c = np.stack([battery(used + [c]) for c in cands])                  # (C, S, sizes)
        n_with = np.stack([needed(r) for r in with_c])                           # (C, S)
        best = []
        for s in range(len(sites)):
            col = np.where(np.isfinite(n_with[:, s]), n_with[:, s], np.inf)
            if not np.isfinite(col).any():
                best.append("")
                continue
            tied = np.flatnonzero(col == col.min())
            at = int(np.flatnonzero(sz == col.min())[0])
            best.append(cands[int(tied[np.argmax(with_c[tied, s, at])])])
        ds["recall_with"] = (("candidate", "site", "size"), with_c)
        ds["n_needed_with"] = (("candidate", "site"), n_with)
        ds["best_addition"] = ("site", np.array(best, dtype=str))
        ds = ds.assign_coords(candidate=cands)
    ds.attrs = {"measures": used, "recall_target": float(recall), "n_draws": n_draws, "seed": int(seed),
                "method": "cohort means from each cell's predictive N(mean, cov/n + cov of the cell "
                          "mean), "
                          "mean posterior of the true site under the same likelihood"}
    return ds


def decomposition_cost(library: xr.Dataset | xr.DataArray, *, measures: Sequence[str] | None = None,
                       observation_sd: Mapping[str, float] | None = None,
                       shrinkage: float | str = "auto", seed: int = 0) -> xr.Dataset:
    """Recall of each site when the unit measures come from decomposed HD-sEMG instead of the truth.

    A lab never has every motor unit's discharges: it has the units a decomposition of the
    HD-sEMG finds (typically the large, superficial ones), paired across sessions by their MUAPs
    (Martinez-Valdes et al. 2017, J Physiol 595:1479). A library built with
    ``[battery] decomposition = true`` holds both versions of every unit measure: ``m`` from
    the true discharges of the tracked units and ``m_dec`` from the decomposed ones. Three
    batteries are scored by leave-one-replicate-out (:func:`~scenarios.inference.design.confusion_matrix`,
    same seed, so the noise draws match):

    * ``true units`` — the battery with the true-unit measures;
    * ``decomposed units`` — the same battery with each ``m`` that has an ``m_dec`` replaced by
      it (what a lab that decomposes HD-sEMG measures);
    * ``no unit measures`` — neither (what the unit measures add at all).

    Parameters
    ----------
    library
        Reference library with decomposed measures (:func:`check_library`).
    measures
        The true-units battery (default: every measure of the library with a finite value whose
        name does not end in :data:`DECOMPOSED_SUFFIX`).
    observation_sd, shrinkage, seed
        As in :func:`~scenarios.inference.design.confusion_matrix`.

    Returns
    -------
    xarray.Dataset
        ``recall`` (battery, site), ``true_posterior`` (battery, site), ``accuracy`` and
        ``n_observations`` (battery); per swapped measure (``unit_measure``) how the decomposed
        change follows the true one over every subject of every cell: ``change_correlation``,
        ``change_bias`` (decomposed minus true) and ``fraction_obtained`` (a subject without a
        decomposed unit tracked across its two sessions has no decomposed change; it is scored
        on its other measures); attrs ``swapped`` (the measures replaced), ``not_identifiable_<battery>`` and
        ``chance``.

    Raises
    ------
    ConfigError
        If no measure of the battery has a decomposed counterpart with finite values, or on any
        invalid input of :func:`~scenarios.inference.design.confusion_matrix`.
    """
    from scenarios.inference.design import confusion_matrix
    da = check_library(library)
    known = [str(m) for m in da.measure.values]
    base = list(measures) if measures is not None else [m for m in known if not m.endswith(DECOMPOSED_SUFFIX)]
    swapped = [m for m in base if m + DECOMPOSED_SUFFIX in known]
    if not swapped:
        raise ConfigError("the library has no decomposed unit measure (names ending in "
                          f"{DECOMPOSED_SUFFIX!r}) for any measure of the battery; build it with "
                          "'[battery] decomposition = true'")
    batteries = {"true units": base,
                 "decomposed units": [m + DECOMPOSED_SUFFIX if m in swapped else m for m in base],
                 "no unit measures": [m for m in base if m not in swapped]}
    recall, post, acc, n_obs, attrs = [], [], [], [], {}
    for name, used in batteries.items():
        sd = None if observation_sd is None else {m: observation_sd[m] for m in used if m in observation_sd}
        cm = confusion_matrix(library, measures=used, observation_sd=sd, shrinkage=shrinkage, seed=seed)
        recall.append(np.diag(cm.values))
        post.append(cm.true_posterior.values)
        acc.append(cm.attrs["accuracy"])
        n_obs.append(cm.attrs["n_observations"])
        attrs[f"not_identifiable_{name.replace(' ', '_')}"] = cm.attrs["not_identifiable"]
        attrs["chance"] = cm.attrs["chance"]
        sites = [str(s) for s in cm.true_site.values]
    labels = list(batteries)
    # how closely the decomposed change follows the true one, subject by subject
    r, bias, obtained = [], [], []
    for m in swapped:
        a, b = (da.sel(measure=k).values.ravel() for k in (m, m + DECOMPOSED_SUFFIX))
        ok = np.isfinite(a) & np.isfinite(b)
        r.append(float(np.corrcoef(a[ok], b[ok])[0, 1]) if ok.sum() > 2 else np.nan)
        bias.append(float(np.mean(b[ok] - a[ok])) if ok.any() else np.nan)
        obtained.append(float(ok.sum() / max(np.isfinite(a).sum(), 1)))
    return xr.Dataset(
        {"recall": (("battery", "site"), np.array(recall),
                    {"long_name": "fraction of left-out single subjects inferred as their site"}),
         "true_posterior": (("battery", "site"), np.array(post),
                            {"long_name": "mean posterior of the true site"}),
         "accuracy": ("battery", np.array(acc)),
         "n_observations": ("battery", np.array(n_obs)),
         "change_correlation": ("unit_measure", np.array(r), {
             "long_name": "correlation of the decomposed with the true change over all subjects"}),
         "change_bias": ("unit_measure", np.array(bias), {
             "long_name": "mean decomposed minus true change, in the measure's change unit"}),
         "fraction_obtained": ("unit_measure", np.array(obtained), {
             "long_name": "fraction of subjects with a true change that also have a decomposed one"})},
        coords={"battery": labels, "site": sites, "unit_measure": swapped},
        attrs={"swapped": swapped, "seed": int(seed), **attrs,
               "method": "leave-one-replicate-out, MAP site, Gaussian synthetic likelihood"})
