"""Design of the battery: how well it tells the sites apart and which measure would help most.

The fourth stage of :mod:`scenarios.inference`: the leave-one-replicate-out confusion matrix of
the library (:func:`confusion_matrix`) and the expected information gain of one more measure
(:func:`expected_information_gain`; Lindley 1956, Ann Math Stat 27:986).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import xarray as xr

from scenarios.inference.likelihood import (_Stats, _cell_loglik, _cell_stats, _gauss_loglik, _logmeanexp,
                                            _normalise_log, _observation_cov)
from scenarios.inference.observation import CONTROL, Observation, _number, check_library, replicate_sd
from scenarios.inference.posterior import _check_shrinkage, _prepare
from simulator.config import ConfigError

__all__ = ["confusion_matrix", "expected_information_gain", "observation_folds", "fold_stats",
           "scorable_candidates"]

_LOG2 = math.log(2.0)


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


def observation_folds(da: xr.DataArray, held_out: xr.Dataset | xr.DataArray | None
                      ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The observations a calibration check infers, with the library replicates it may use.

    Without ``held_out``: leave-one-replicate-out, one fold per replicate ``r`` (its changes in
    every cell, against the library without replicate ``r`` in *any* cell, since a replicate
    index usually names the same virtual subject across cells). With ``held_out`` (a library
    of other virtual subjects, e.g. from a population with other base parameters): one fold
    per held-out replicate, against the whole library.

    Returns
    -------
    list of (keep, observed)
        ``keep`` (replicate,) bool mask of the library replicates used; ``observed`` (site,
        magnitude, measure) changes aligned on ``da``'s cells (NaN where not simulated).

    Raises
    ------
    ConfigError
        Fewer than 3 library replicates (leave-one-out) or 2 (held-out); a held-out library
        with sites, magnitudes or measures the library lacks.
    """
    n_reps = da.sizes["replicate"]
    if held_out is None:
        if n_reps < 3:
            raise ConfigError(f"leave-one-replicate-out needs at least 3 replicates; the library has "
                              f"{n_reps}")
        return [(np.arange(n_reps) != r, da.values[:, :, r, :]) for r in range(n_reps)]
    if n_reps < 2:
        raise ConfigError(f"the library needs at least 2 replicates (a covariance); it has {n_reps}")
    used = [str(m) for m in da.measure.values]
    try:
        held = check_library(held_out, used)
    except ConfigError as exc:
        raise ConfigError(f"held-out library: {exc}") from None
    for dim in ("site", "magnitude"):
        extra = sorted(set(held[dim].values.tolist()) - set(da[dim].values.tolist()))
        if extra:
            raise ConfigError(f"held-out library: {dim}(s) {', '.join(map(repr, extra))} are not in the "
                              f"library; allowed: {', '.join(map(repr, da[dim].values.tolist()))}")
    held = held.reindex(site=da.site.values, magnitude=da.magnitude.values)
    keep = np.ones(n_reps, dtype=bool)
    hx = held.transpose("site", "magnitude", "replicate", "measure").values.copy()
    _align_control(da, hx)
    return [(keep, hx[:, :, r, :]) for r in range(hx.shape[2])]


def _align_control(da: xr.DataArray, hx: np.ndarray) -> None:
    """Move the held-out control to the library's control cell, in place.

    The untrained control is the same at every dose, and an atlas stores it at its first dose
    only: a held-out atlas with other doses (e.g. -0.3 where the library starts at -0.6) would
    otherwise put its control where the library has none, and it would never be scored.
    """
    sites = [str(s) for s in da.site.values]
    if CONTROL not in sites:
        return
    c = sites.index(CONTROL)
    lib_cells = np.flatnonzero(np.isfinite(da.values[c]).any(axis=(1, 2)))
    held_cells = np.flatnonzero(np.isfinite(hx[c]).any(axis=(1, 2)))
    if lib_cells.size == 1 and held_cells.size == 1 and lib_cells[0] != held_cells[0]:
        hx[c, lib_cells[0]] = hx[c, held_cells[0]]
        hx[c, held_cells[0]] = np.nan


def fold_setup(library: xr.Dataset | xr.DataArray, measures: Sequence[str] | None,
               held_out: xr.Dataset | xr.DataArray | None, observation_sd: Mapping[str, float] | None,
               shrinkage: float | str) -> tuple[float | str, xr.DataArray, list, list[str], np.ndarray]:
    """The checked inputs every left-out/held-out evaluation starts from: shrinkage, the library
    restricted to ``measures``, its :func:`observation_folds`, the measure names and the
    observation noise SD per measure (default: the between-replicate SD)."""
    shrinkage = _check_shrinkage(shrinkage)
    da = check_library(library, measures)
    folds = observation_folds(da, held_out)
    used = [str(m) for m in da.measure.values]
    return shrinkage, da, folds, used, _sd_vector(observation_sd, replicate_sd(da), used, "observation_sd")


def fold_stats(da: xr.DataArray, folds: list[tuple[np.ndarray, np.ndarray]], shrinkage: float | str
               ) -> Iterator[tuple[_Stats, np.ndarray]]:
    """The library statistics of every fold of :func:`observation_folds` and its observations,
    computed once for the held-out folds (which all use the whole library)."""
    stats = None
    for keep, observed in folds:
        if stats is None or not keep.all():
            stats = _cell_stats(da.values[:, :, keep, :], shrinkage, da)
        yield stats, observed


def scorable_candidates(library: xr.Dataset | xr.DataArray, used: Sequence[str]) -> tuple[list[str], list[str]]:
    """Library measures not in ``used`` that can be added to them, and those that cannot (a
    measure the library lacks in some present cell cannot be scored)."""
    chosen, skipped = [], []
    for m in (str(m) for m in check_library(library).measure.values if str(m) not in used):
        try:
            sub = check_library(library, [*used, m])
            _cell_stats(sub.values, 1.0, sub)
        except ConfigError:
            skipped.append(m)
            continue
        chosen.append(m)
    return chosen, skipped


def confusion_matrix(library: xr.Dataset | xr.DataArray, *, measures: Sequence[str] | None = None,
                     observation_sd: Mapping[str, float] | None = None, shrinkage: float | str = "auto",
                     held_out: xr.Dataset | xr.DataArray | None = None, seed: int = 0) -> xr.DataArray:
    """How well a battery of measures separates the sites: leave-one-replicate-out on the library,
    or on held-out virtual subjects.

    Every replicate (virtual subject) ``r`` of every present cell is turned into an observation
    — its simulated changes plus Gaussian measurement noise of SD ``observation_sd`` — and
    inferred (single sites, :func:`infer` without pairs) against the library with replicate
    ``r`` left out *of every cell*, since a replicate index usually names the same virtual
    subject across cells. With ``held_out``, the observations are instead every replicate of
    another library (other virtual subjects, e.g. a population whose base parameters differ
    from the library's: does the inference survive subjects unlike those it was built from?)
    inferred against the whole library. The inferred site is the maximum a posteriori site
    (ties broken at random). Sites the battery cannot tell apart share their rows.

    Parameters
    ----------
    library
        Reference library (:func:`check_library`), at least 3 replicates (2 with ``held_out``).
    measures
        Measures of the battery (default: all of the library's).
    observation_sd
        ``{measure: SD}`` of the observation noise, in each measure's unit (default, and for
        measures not named: the between-replicate SD, :func:`replicate_sd`).
    shrinkage
        As in :func:`infer`.
    held_out
        Another library (same layout; its sites and magnitudes a subset of the library's) whose
        replicates are the observations; default: leave-one-replicate-out.
    seed
        Seed of the observation noise and of tie breaking.

    Returns
    -------
    xarray.DataArray
        ``(true_site, inferred_site)``, rows summing to 1 (fraction of that site's observations
        inferred as each site; the diagonal is each site's recall). Coordinate
        ``true_posterior`` (true_site): mean posterior probability of the true site (low for
        sites the battery cannot separate); attrs ``accuracy`` (fraction inferred correctly over
        all observations), ``chance`` (1 / number of sites), ``n_observations``, ``measures``,
        ``observation_sd``, ``not_identifiable`` (pairs ``"a~b"`` where the observations of
        one are inferred as the other at least as often as correctly) and ``method``.

    Raises
    ------
    ConfigError
        On an invalid library or measure, too few replicates, an invalid noise SD or a held-out
        library that does not fit the library.
    """
    shrinkage, da, folds, used, obs_sd = fold_setup(library, measures, held_out, observation_sd, shrinkage)
    rng = np.random.default_rng(seed)
    sites = [str(s) for s in da.site.values]
    n_sites = len(sites)
    counts = np.zeros((n_sites, n_sites))
    true_post = np.zeros(n_sites)
    n_obs = np.zeros(n_sites)
    var = obs_sd ** 2
    for stats, observed in fold_stats(da, folds, shrinkage):
        y = observed + rng.normal(size=observed.shape) * obs_sd                 # (S, M, p)
        # a subject lacking some measures is scored on the others (the likelihood's marginal)
        valid = np.isfinite(y).any(axis=-1) & stats.present
        ll = _cell_loglik(stats, y, var)                                       # (S, M, S', M')
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
    confused = [f"{sites[a]}~{sites[b]}" for a in range(n_sites) for b in range(a + 1, n_sites)
                if (n_obs[a] and 0 < rows[a, b] >= rows[a, a]) or (n_obs[b] and 0 < rows[b, a] >= rows[b, b])]
    method = ("held-out library" if held_out is not None else "leave-one-replicate-out")
    return xr.DataArray(
        rows, dims=("true_site", "inferred_site"),
        coords={"true_site": sites, "inferred_site": sites,
                "true_posterior": ("true_site", true_post, {"long_name": "mean posterior of the true site"}),
                "n_observations": ("true_site", n_obs.astype(int))},
        name="confusion",
        attrs={"long_name": "fraction of observations of the true site inferred as each site",
               "accuracy": accuracy, "chance": 1.0 / n_sites, "n_observations": int(n_obs.sum()),
               "measures": used, "observation_sd": obs_sd.tolist(), "seed": int(seed),
               "not_identifiable": confused,
               "method": f"{method}, MAP site, Gaussian synthetic likelihood"})


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
        library's between-replicate SD, :func:`replicate_sd`, i.e. a single subject's worth;
        divided by sqrt(n) for a cohort's mean, ``observation.n_subjects = n``).
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
    observed = list(observation.measures)
    skipped: list[str] = []
    if candidates is None:
        chosen, skipped = scorable_candidates(library, observed)
    else:
        chosen = list(candidates)
        again = [m for m in chosen if m in observed]
        if again:
            raise ConfigError(f"candidate measure(s) {', '.join(map(repr, again))} are observed already")
        check_library(library, observed + chosen)
    n_obs = observation.n_subjects
    default_sd = replicate_sd(full) / math.sqrt(n_obs or 1)
    sds = _sd_vector(candidate_sd, default_sd, chosen, "candidate_sd") if chosen else np.array([])

    stats = _cell_stats(da.values, shrinkage, da)
    ll = _cell_loglik(stats, y, var, n_obs)
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
        cov = _observation_cov(st.cov, v, n_obs, st.mean_cov)                # (S, M, p+1, p+1)
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
