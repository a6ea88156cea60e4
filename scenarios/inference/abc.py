"""ABC-SMC cross-check of the site inference (issue 14 item 6).

The default inference (:func:`~scenarios.inference.posterior.infer`) scores an observation with a
*Gaussian* synthetic likelihood built from the library's replicates. This module asks the same
question without that assumption: approximate Bayesian computation by sequential Monte Carlo
with model selection (Toni, Welch, Strelkowa, Ipsen & Stumpf 2009, J R Soc Interface 6:187),
run by the maintained library **pyabc** (Klinger, Rickert & Hasenauer 2018, Bioinformatics
34:3591). Each site of the library is one model, its parameter the dose (relative change of the
site's parameters) with a uniform prior over the doses the library simulated for it; the
simulator is an *empirical emulator* of the library (:class:`LibraryEmulator`): one virtual
subject drawn at random, its changes interpolated linearly between the two simulated doses that
bracket the proposed one, plus the observation's measurement noise. No distributional shape is
assumed; the price is Monte Carlo error and a tolerance ``epsilon`` on the distance (Euclidean,
in units of the library's between-subject SD, :func:`~scenarios.inference.observation.replicate_sd`).

:func:`abc_site_posterior` infers one observation; :func:`abc_confusion_matrix` runs both
methods on the same left-out subjects and scores them (recall, mean posterior of the true site,
Brier score). pyabc is an optional dependency (``pip install 'mnpool[abc]'``), imported only when
ABC actually runs; the emulator needs only numpy.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from scenarios.inference.design import fold_setup
from scenarios.inference.emulator import LibraryEmulator
from scenarios.inference.likelihood import PosteriorPredictiveWarning
from scenarios.inference.observation import CONTROL, Observation, replicate_sd
from scenarios.inference.posterior import _prepare, infer
from simulator.config import ConfigError

__all__ = ["INSTALL_HINT", "MissingExtraError", "LibraryEmulator", "abc_site_posterior",
           "abc_confusion_matrix", "approach_confusion", "abc_summary"]

#: How to get the optional dependency.
INSTALL_HINT = "pip install 'mnpool[abc]'"

#: The two inferences compared (dim ``approach``; not ``method``, which ``Dataset.sel`` takes as its
#: own keyword).
APPROACHES = ("abc_smc", "gaussian")


class MissingExtraError(ConfigError, ImportError):
    """pyabc is not installed (a ConfigError, so ``mnpool`` exits 2 with one line)."""


def require_pyabc() -> Any:
    """Import pyabc or fail with the install command.

    Returns
    -------
    module
        The ``pyabc`` package.

    Raises
    ------
    MissingExtraError
        pyabc cannot be imported.
    """
    try:
        import pyabc
    except ImportError as exc:
        raise MissingExtraError(f"the ABC-SMC cross-check needs pyabc, which is not installed "
                                f"({exc}); install it with: {INSTALL_HINT}") from None
    return pyabc


@contextlib.contextmanager
def _quiet_seeded(seed: int) -> Iterator[None]:
    """Seed numpy's global generator (pyabc draws its priors and perturbations from it) and
    silence pyabc's per-generation log; both are restored afterwards."""
    state = np.random.get_state()
    loggers = [logging.getLogger(n) for n in ("ABC", "pyabc")]
    levels = [lg.level for lg in loggers]
    np.random.seed(seed)
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        np.random.set_state(state)
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _model_kernel(pyabc: Any, n_models: int, p_stay: float = 0.7) -> Any:
    """pyabc's model perturbation kernel (stay with ``p_stay``, else jump uniformly to another
    model; pyabc's default) with its probabilities in closed form: pyabc builds a scipy discrete
    distribution at every call, which took a third of a run's time."""

    class _Kernel(pyabc.ModelPerturbationKernel):
        def rvs(self, m: int) -> int:
            if self.nr_of_models == 1 or np.random.rand() < self.probability_to_stay:
                return int(m)
            other = int(np.random.randint(self.nr_of_models - 1))
            return other + (other >= m)

        def pmf(self, n: int, m: int) -> float:
            if n == m:
                return float(self.probability_to_stay)
            return 0.0 if self.nr_of_models == 1 else (1 - self.probability_to_stay) / (self.nr_of_models - 1)

    return _Kernel(n_models, probability_to_stay=p_stay)


def _check_int(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ConfigError(f"{name} = {value!r} must be an integer in [{lo}, {hi}]")
    return int(value)


def abc_site_posterior(library: xr.Dataset | xr.DataArray, observation: Observation, *,
                       keep: np.ndarray | None = None, population_size: int = 300,
                       max_populations: int = 6, min_acceptance_rate: float = 0.02,
                       seed: int = 0) -> xr.DataArray:
    """Posterior probability of each site by ABC-SMC model selection with pyabc.

    One pyabc model per library site (``control`` included), uniform prior over the sites; its
    parameter ``dose`` has a uniform prior over the doses simulated for it (a site simulated
    at one dose has no parameter). Each model draws from :class:`LibraryEmulator` (one subject,
    or for an observation of a cohort's means, ``n_subjects``, the mean of that many subjects
    drawn with replacement) and adds Gaussian noise of the observation's standard error, so the
    generative model matches the one
    the Gaussian synthetic likelihood assumes except for the Gaussian shape. Distance: Euclidean
    on the changes divided by the library's between-subject SD. The tolerance follows pyabc's
    default median schedule (each generation accepts the closer half of the previous one's
    distances) for ``max_populations`` generations or until the acceptance rate falls below
    ``min_acceptance_rate`` (Toni et al. 2009, J R Soc Interface 6:187; Klinger et al. 2018,
    Bioinformatics 34:3591). Single-core sampler, in-memory database, numpy's global
    generator seeded with ``seed`` (and restored after).

    Parameters
    ----------
    library
        Reference library.
    observation
        Observed mean changes and their standard errors (library units).
    keep
        ``(replicate,)`` bool mask of the subjects the emulator and the distance scale may use.
    population_size
        Particles per generation (50-5000).
    max_populations
        Generations (1-30).
    min_acceptance_rate
        Stop when a generation accepts fewer than this fraction of its simulations (0-1).
    seed
        Seed of the whole run.

    Returns
    -------
    xarray.DataArray
        ``(site,)`` posterior model probabilities (sum 1; a site that died out has 0), same
        layout as :attr:`~scenarios.inference.posterior.InferenceResult.site_posterior`.
        Coordinate ``dose_mean`` (site): posterior mean dose given the site (NaN for control,
        for a single-dose site its dose, NaN for a site that died out). Attrs ``epsilon``
        (final tolerance, in between-subject SDs), ``generations``, ``n_simulations``.

    Raises
    ------
    MissingExtraError
        pyabc is not installed.
    ConfigError
        Invalid library, observation or settings.
    """
    pyabc = require_pyabc()
    population_size = _check_int(population_size, "population_size", 50, 5000)
    max_populations = _check_int(max_populations, "max_populations", 1, 30)
    if not 0 <= float(min_acceptance_rate) < 1:
        raise ConfigError(f"min_acceptance_rate = {min_acceptance_rate!r} must be in [0, 1)")
    da, y, var = _prepare(library, observation)
    emu = LibraryEmulator(da, keep=keep)
    scale = replicate_sd(da if keep is None else da.isel(replicate=np.flatnonzero(keep))).values
    if not np.all(np.isfinite(scale) & (scale > 0)):
        raise ConfigError("the library has a measure without between-subject spread; the ABC "
                          "distance cannot be scaled")
    noise = np.sqrt(var)
    # a cohort's mean change (observation.n_subjects): each simulation is a random cohort's mean
    n_cohort = getattr(observation, "n_subjects", None) or 1
    rng = np.random.default_rng(seed)
    models, priors = [], []
    for site in emu.sites:
        doses = emu.doses(site)
        def model(par: Mapping[str, float], site: str = site) -> dict[str, np.ndarray]:
            return {"y": emu.sample(site, par.get("dose"), rng, noise, n_cohort)}
        models.append(pyabc.FunctionModel(model, name=site))
        priors.append(pyabc.Distribution(dose=pyabc.RV("uniform", doses[0], doses[-1] - doses[0]))
                      if doses.size > 1 else pyabc.Distribution())

    def distance(a: Mapping[str, np.ndarray], b: Mapping[str, np.ndarray]) -> float:
        return float(np.sqrt(np.sum(((a["y"] - b["y"]) / scale) ** 2)))

    with _quiet_seeded(seed), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smc = pyabc.ABCSMC(models, priors, distance, population_size=population_size,
                           sampler=pyabc.sampler.SingleCoreSampler(),
                           model_perturbation_kernel=_model_kernel(pyabc, len(models)))
        history = smc.new("sqlite://", {"y": y})
        try:
            history = smc.run(max_nr_populations=max_populations, min_acceptance_rate=min_acceptance_rate)
            t = history.max_t
            probs = history.get_model_probabilities(t)["p"]       # only the living models
            post = np.array([float(probs.get(i, 0.0)) for i in range(len(emu.sites))])
            dose_mean = np.full(len(emu.sites), np.nan)
            for i, site in enumerate(emu.sites):
                doses = emu.doses(site)
                if site == CONTROL:
                    continue
                if doses.size == 1:
                    dose_mean[i] = doses[0]
                elif post[i] > 0:
                    df, w = history.get_distribution(m=i, t=t)
                    dose_mean[i] = float(np.sum(w * df["dose"].to_numpy()) / np.sum(w))
            eps = float(history.get_all_populations().set_index("t").loc[t, "epsilon"])
            n_sim = int(history.total_nr_simulations)
        finally:
            with contextlib.suppress(Exception):
                history._close_session()
    post = post / post.sum()
    return xr.DataArray(post, dims="site", coords={"site": list(emu.sites),
                                                    "dose_mean": ("site", dose_mean)},
                        name="site_posterior",
                        attrs={"long_name": "ABC-SMC posterior probability of the site (single site)",
                               "epsilon": eps, "generations": int(t + 1), "n_simulations": n_sim,
                               "population_size": population_size, "seed": int(seed),
                               "method": "ABC-SMC model selection (pyabc), empirical library emulator"})


def _pick_observations(da: xr.DataArray, max_per_cell: int, rng: np.random.Generator
                       ) -> list[tuple[int, int, int]]:
    """Up to ``max_per_cell`` random subjects (complete in the used measures) of every simulated
    (site, magnitude) cell: the ``(site, magnitude, replicate)`` indices to infer."""
    x = da.values
    picks = []
    for s in range(x.shape[0]):
        for m in range(x.shape[1]):
            complete = np.flatnonzero(np.isfinite(x[s, m]).all(axis=-1))
            if complete.size:
                chosen = rng.choice(complete, size=min(max_per_cell, complete.size), replace=False)
                picks += [(s, m, int(r)) for r in np.sort(chosen)]
    return picks


def _scores(post: np.ndarray, truth: np.ndarray, n_sites: int, rng: np.random.Generator
            ) -> dict[str, Any]:
    """Confusion (MAP, ties at random), mean posterior and proper scores of one method.

    The Brier score is ``mean_i sum_k (p_ik - [k = true_i])**2`` (Brier 1950, Mon Weather Rev
    78:1; 0 perfect, 2 worst); the log score ``mean_i -ln p_i,true`` (Good 1952, J R Stat Soc B
    14:107), with ``p`` floored at 1e-6 so an ABC posterior of exactly 0 scores finitely;
    ``overconfidence`` is the mean MAP probability minus the fraction inferred correctly (0 for
    a calibrated method, > 0 when it claims more certainty than it delivers; Guo et al. 2017,
    ICML 70:1321).
    """
    counts = np.zeros((n_sites, n_sites))
    mean_post = np.zeros((n_sites, n_sites))
    n = np.bincount(truth, minlength=n_sites).astype(float)
    hits = 0
    for p, t in zip(post, truth):
        best = int(rng.choice(np.flatnonzero(p >= p.max() - 1e-12)))
        counts[t, best] += 1
        mean_post[t] += p
        hits += best == t
    with np.errstate(invalid="ignore"):
        rows, mean_post = counts / n[:, None], mean_post / n[:, None]
    onehot = np.eye(n_sites)[truth]
    p_true = post[np.arange(truth.size), truth]
    return dict(confusion=rows, mean_posterior=mean_post, true_posterior=np.diag(mean_post),
                accuracy=hits / truth.size, mean_true_posterior=float(p_true.mean()),
                brier=float(((post - onehot) ** 2).sum(axis=1).mean()),
                log_score=float(-np.log(np.maximum(p_true, 1e-6)).mean()),
                overconfidence=float(post.max(axis=1).mean() - hits / truth.size))


def abc_confusion_matrix(library: xr.Dataset | xr.DataArray, *, measures: Sequence[str] | None = None,
                         observation_sd: Mapping[str, float] | None = None, max_per_cell: int = 2,
                         population_size: int = 300, max_populations: int = 6,
                         shrinkage: float | str = "auto", seed: int = 0) -> xr.Dataset:
    """ABC-SMC and the Gaussian synthetic likelihood on the same left-out subjects.

    As :func:`~scenarios.inference.design.confusion_matrix` (leave-one-replicate-out: the
    observation is one virtual subject's changes plus Gaussian measurement noise of SD
    ``observation_sd``, inferred against the library without that subject in any cell, folds
    from :func:`~scenarios.inference.design.observation_folds`), but on a bounded random subset
    of observations — ``max_per_cell`` subjects of every simulated (site, dose) cell — each
    inferred twice: by :func:`abc_site_posterior` (its emulator and distance scale never see
    the left-out subject) and by :func:`~scenarios.inference.posterior.infer` (single sites)
    on exactly the same noisy observation and library subset.

    Parameters
    ----------
    library
        Reference library, >= 3 subjects.
    measures
        The battery (default: every obtained measure).
    observation_sd
        ``{measure: SD}`` of the measurement noise (default: the between-subject SD).
    max_per_cell
        Left-out subjects per cell (1-1000); the run costs about ``2 x max_per_cell x cells``
        seconds with the default settings.
    population_size, max_populations
        As in :func:`abc_site_posterior`.
    shrinkage
        Covariance shrinkage of the Gaussian method, as in :func:`infer`.
    seed
        Seed of the subset, the noise, the ABC runs and tie breaking.

    Returns
    -------
    xarray.Dataset
        Dim ``approach`` = :data:`APPROACHES`. ``confusion`` (approach, true_site,
        inferred_site): fraction of the true site's observations inferred (MAP) as each site;
        ``mean_posterior`` (same dims): mean posterior; ``recall`` and ``true_posterior``
        (approach, true_site); ``posterior`` (approach, observation, inferred_site) with the
        observations' ``obs_site``, ``obs_magnitude``, ``obs_replicate`` and changes
        ``observed`` (observation, measure); per approach
        ``accuracy``, ``mean_true_posterior``, ``brier``, ``log_score``, ``overconfidence`` (see
        :func:`_scores`) and ``wall_time_s`` (s); ``n_observations`` (true_site).

    Raises
    ------
    MissingExtraError
        pyabc is not installed (checked before any work).
    ConfigError
        As :func:`~scenarios.inference.design.confusion_matrix`, or invalid ABC settings.
    """
    require_pyabc()
    max_per_cell = _check_int(max_per_cell, "max_per_cell", 1, 1000)
    shrinkage, da, folds, used, obs_sd = fold_setup(library, measures, None, observation_sd, shrinkage)
    rng = np.random.default_rng(seed)
    picks = _pick_observations(da, max_per_cell, rng)
    sites = [str(s) for s in da.site.values]
    post = np.zeros((2, len(picks), len(sites)))
    ys = np.zeros((len(picks), len(used)))
    wall = np.zeros(2)
    for k, (s, m, r) in enumerate(picks):
        keep, observed = folds[r]
        y = ys[k] = observed[s, m] + rng.normal(size=len(used)) * obs_sd
        obs = Observation({name: (float(v), float(sd)) for name, v, sd in zip(used, y, obs_sd)})
        t0 = time.perf_counter()
        post[0, k] = abc_site_posterior(da, obs, keep=keep, population_size=population_size,
                                        max_populations=max_populations, seed=seed + k).values
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PosteriorPredictiveWarning)
            post[1, k] = infer(da.isel(replicate=np.flatnonzero(keep)), obs, pairs=False,
                               shrinkage=shrinkage).site_posterior.values
        wall += [t1 - t0, time.perf_counter() - t1]
    truth = np.array([s for s, _, _ in picks], dtype=int)
    scores = [_scores(post[i], truth, len(sites), rng) for i in range(2)]
    pair = ("approach", "true_site", "inferred_site")
    per_method = {key: ("approach", [sc[key] for sc in scores])
                  for key in ("accuracy", "mean_true_posterior", "brier", "log_score", "overconfidence")}
    return xr.Dataset(
        {"confusion": (pair, np.stack([sc["confusion"] for sc in scores]),
                       {"long_name": "fraction of the true site's observations inferred (MAP) as each site"}),
         "mean_posterior": (pair, np.stack([sc["mean_posterior"] for sc in scores]),
                            {"long_name": "mean posterior of each site given the true site"}),
         "true_posterior": (("approach", "true_site"), np.stack([sc["true_posterior"] for sc in scores])),
         "recall": (("approach", "true_site"), np.stack([np.diag(sc["confusion"]) for sc in scores])),
         "posterior": (("approach", "observation", "inferred_site"), post),
         "observed": (("observation", "measure"), ys, {"long_name": "observed change (subject + noise)"}),
         "n_observations": ("true_site", np.bincount(truth, minlength=len(sites))),
         "wall_time_s": ("approach", wall, {"units": "s"}), **per_method},
        coords={"approach": list(APPROACHES), "true_site": sites, "inferred_site": sites, "measure": used,
                "obs_site": ("observation", [sites[s] for s, _, _ in picks]),
                "obs_magnitude": ("observation", [float(da.magnitude.values[m]) for _, m, _ in picks]),
                "obs_replicate": ("observation", [int(r) for _, _, r in picks])},
        attrs={"measures": used, "observation_sd": obs_sd.tolist(), "max_per_cell": max_per_cell,
               "population_size": population_size, "max_populations": max_populations,
               "seed": int(seed), "chance": 1.0 / len(sites),
               "method": "leave-one-replicate-out on a random subset; ABC-SMC (pyabc) and Gaussian "
                         "synthetic likelihood on the same noisy observations"})


def approach_confusion(check: xr.Dataset, approach: str = "abc_smc") -> xr.DataArray:
    """One method's confusion matrix from :func:`abc_confusion_matrix`, in the layout of
    :func:`~scenarios.inference.design.confusion_matrix` (for
    :func:`~scenarios.inference.figures.plot_confusion`).

    Returns
    -------
    xarray.DataArray
        ``(true_site, inferred_site)`` MAP fractions; coordinates ``true_posterior`` and
        ``n_observations``; attrs ``accuracy``, ``chance``, ``n_observations``, ``method``.
    """
    if approach not in APPROACHES:
        raise ConfigError(f"approach = {approach!r}; allowed: {', '.join(APPROACHES)}")
    sub = check.sel(approach=approach)
    return sub.confusion.assign_coords(true_posterior=("true_site", sub.true_posterior.values),
                                       n_observations=check.n_observations).assign_attrs(
        accuracy=float(sub.accuracy), chance=check.attrs["chance"],
        n_observations=int(check.n_observations.sum()),
        method=f"{approach}, {check.attrs['method']}").drop_vars("approach")


def _brier_difference(check: xr.Dataset) -> tuple[float, float]:
    """Mean Brier score of ABC minus the Gaussian's over the same observations, and its paired
    standard error (the methods share the observations, so their scores are correlated)."""
    sites = [str(s) for s in check.inferred_site.values]
    onehot = np.eye(len(sites))[[sites.index(str(s)) for s in check.obs_site.values]]
    per_obs = ((check.posterior.values - onehot) ** 2).sum(axis=-1)           # (approach, observation)
    d = per_obs[0] - per_obs[1]
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size)) if d.size > 1 else float("nan")


def abc_summary(check: xr.Dataset) -> str:
    """Plain-text "ABC-SMC cross-check" section: per-site recall and mean posterior of the true
    site for both methods, the proper scores and wall times, and which has the lower Brier score
    (only when the paired difference exceeds two standard errors)."""
    a, g = (check.sel(approach=m) for m in APPROACHES)
    lines = ["ABC-SMC cross-check (pyabc model selection on an empirical emulator of the library, "
             f"{check.attrs['population_size']} particles; {int(check.n_observations.sum())} left-out "
             "subjects, the same for both methods)",
             f"{'site':<28}{'n':>4}{'recall ABC':>12}{'Gauss':>8}{'P(true) ABC':>13}{'Gauss':>8}"]
    for s in check.true_site.values:
        n = int(check.n_observations.sel(true_site=s))
        if n:
            lines.append(f"{str(s):<28}{n:>4}{float(a.recall.sel(true_site=s)):>12.2f}"
                         f"{float(g.recall.sel(true_site=s)):>8.2f}{float(a.true_posterior.sel(true_site=s)):>13.2f}"
                         f"{float(g.true_posterior.sel(true_site=s)):>8.2f}")
    for key, what in (("accuracy", "accuracy"), ("mean_true_posterior", "mean P(true site)"),
                      ("brier", "Brier score (lower better)"), ("log_score", "log score (lower better)"),
                      ("overconfidence", "overconfidence (P(MAP) - accuracy)"), ("wall_time_s", "wall time (s)")):
        lines.append(f"{what:<40}{float(a[key]):>10.3f}{float(g[key]):>10.3f}   (ABC, Gaussian)")
    diff, se = _brier_difference(check)
    verdict = ("neither (difference within 2 standard errors)" if abs(diff) <= 2 * se
               else "ABC-SMC" if diff < 0 else "the Gaussian synthetic likelihood")
    lines.append(f"Brier score ABC - Gaussian: {diff:+.3f} +- {se:.3f} (paired SE over subjects); "
                 f"better: {verdict}")
    return "\n".join(lines) + "\n"
