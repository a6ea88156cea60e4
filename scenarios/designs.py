"""Published training designs as predictions: every library scenario run at its stated cohort
size with the full battery, each published outcome compared with the simulated 95 % CI.

A library scenario (``scenarios/library/*.toml``, :func:`scenarios.training.load_scenario`)
states its site(s) and their rationale before any result (``rationale``), at most one outcome its
dose was fitted to (``[fit]``), and what the study measured (``[published.*]``). Everything else
the model says about it is a prediction: :func:`design_rows` labels each published outcome
``fitted`` or ``predicted`` and calls it *reproduced* when the published mean lies inside the
simulated cohort's 95 % confidence interval of the mean change (the interval a replication with
the study's n would give; Cumming 2014, Psychol Sci 25:7). Outcomes the model misses carry the
scenario's ``miss`` note, written after the run and shown as such. Measures the study did not
record are reported too when the model predicts a large change (|d_z| >= 0.8): what the design
would have seen had it measured them.

:func:`run_designs` runs every scenario's sessions as one set of Dask tasks (sessions shared
between scenarios, such as identical pre sessions, run once), then writes each scenario's
signature into its own folder and the table :func:`designs_markdown` into ``designs.md`` — the
table the README shows (``mnpool designs --out designs``) — with, when the shipped reference
library is present, what it infers from each study's published changes (:func:`infer_design`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from scenarios import training as T
from scenarios.signature import comparison_rows
from scenarios.tasks import run_tasks
from simulator.config import ConfigError

__all__ = ["library_scenarios", "design_rows", "unmeasured_predictions", "infer_design", "designs_markdown",
           "run_designs", "LARGE_EFFECT", "REFERENCE_LIBRARY"]

#: The shipped reference library (:mod:`scenarios.atlas`), read by :func:`infer_design`.
REFERENCE_LIBRARY = T.LIBRARY / "reference_library.nc"

#: |Cohen's d_z| from which an unmeasured prediction is listed.
LARGE_EFFECT = 0.8


def library_scenarios(names: Sequence[str] | None = None) -> dict[str, T.TrainingScenario]:
    """The library's scenarios by file stem (all of ``scenarios/library`` when ``names`` is None).

    Raises
    ------
    ConfigError
        A name that is not a library scenario (the message lists them).
    """
    known = T.scenario_names()
    names = known if names is None else list(names)
    bad = [n for n in names if n not in known]
    if bad:
        raise ConfigError(f"unknown library scenario(s) {bad}; known: {', '.join(known)}")
    return {n: T.load_scenario(n) for n in names}


def design_rows(scenario: T.TrainingScenario, sig: xr.Dataset) -> list[dict[str, Any]]:
    """Each published outcome of ``scenario`` next to the simulated change.

    Returns
    -------
    list of dict
        Per published measure, in the file's order: ``measure``, ``change_unit``,
        ``published_change``, ``published_sd`` (NaN if not given), ``note``, ``mean``,
        ``ci_low``, ``ci_high`` (95 % CI of the simulated mean change), ``n``, ``role``
        (``"fitted"`` or ``"predicted"``), ``reproduced`` (published mean inside the CI; None
        when the model gives no value) and ``miss`` (the file's explanation, "" if none).
    """
    fitted = scenario.fit.get("outcome")
    rows = {r["measure"]: r for r in comparison_rows(sig, scenario.published)}
    out = []
    for m in scenario.published:
        r = rows[m]   # every published measure is a battery measure (load_scenario checks)
        ok = None if not np.isfinite(r["mean"]) else bool(r["ci_low"] <= r["published_change"] <= r["ci_high"])
        out.append({k: r[k] for k in ("measure", "change_unit", "published_change", "published_sd", "note",
                                      "mean", "ci_low", "ci_high", "n")}
                   | {"role": "fitted" if m == fitted else "predicted", "reproduced": ok,
                      "miss": str(scenario.published[m].get("miss", ""))})
    return out


def unmeasured_predictions(scenario: T.TrainingScenario, sig: xr.Dataset,
                           min_effect: float = LARGE_EFFECT) -> list[dict[str, Any]]:
    """Measures the study did not report whose simulated change is large (|d_z| >= ``min_effect``),
    largest first: ``measure``, ``change_unit``, ``mean``, ``ci_low``, ``ci_high``, ``effect_size``."""
    rows = [r for r in comparison_rows(sig, {}) if r["measure"] not in scenario.published
            and np.isfinite(r["effect_size"]) and abs(r["effect_size"]) >= min_effect]
    return sorted(rows, key=lambda r: -abs(r["effect_size"]))


def infer_design(scenario: T.TrainingScenario, library: xr.Dataset, top: int = 3,
                 simulated: xr.Dataset | None = None) -> dict[str, Any]:
    """Which sites the library infers from what the study published (the question mnpool asks of
    a real study): its published mean changes, as a cohort of the study's n
    (:class:`scenarios.inference.Observation` with ``n_subjects``; published SDs where given,
    else the model's spread), single sites and pairs. With ``simulated`` (the design's own
    signature, :func:`scenarios.training.assemble_training`) its simulated mean changes of the
    same measures are inferred instead, with the model's spread: can the library find the
    design's site when the body, not the study, produced the changes? (If it can and the
    published changes point elsewhere, the body differs from the study's subjects; if it cannot,
    the battery does not separate the sites.)

    Returns
    -------
    dict
        ``measures`` (published measures the library has), ``top`` (``[(hypothesis, posterior)]``,
        singles and pairs, best first), ``true`` (the design's own site or ``a+b`` pair, sorted
        as the library orders sites), ``true_posterior``, ``true_rank`` (1 = most probable) and
        ``predictive_p`` (below 0.001: no library entry explains the observation).
    """
    import warnings

    from scenarios import inference as I
    usable = set(I.check_library(library).measure.values.tolist())
    measures = [m for m in scenario.published if m in usable]
    if not measures:
        raise ConfigError(f"{scenario.name}: none of its published measures is in the library")
    if simulated is not None:
        mean = simulated["mean_change"].isel(group=0)
        measures = [m for m in measures if np.isfinite(float(mean.sel(measure=m)))]
        pairs = {m: (float(mean.sel(measure=m)), None) for m in measures}
    else:
        pairs = {m: (float(scenario.published[m]["change"]),
                     float(scenario.published[m]["sd"]) if "sd" in scenario.published[m] else None)
                 for m in measures}
    obs = I.Observation(pairs, n_subjects=scenario.cohort.n_subjects, description=scenario.name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", I.PosteriorPredictiveWarning)   # reported as predictive_p
        res = I.infer(library, obs, pairs=True)
    post = res.posterior if res.posterior is not None else res.site_posterior.rename(site="hypothesis")
    order = np.argsort(-post.values, kind="stable")
    labels = [str(h) for h in post.hypothesis.values]
    sites = [str(s) for s in library.site.values]
    true = I.PAIR_SEP.join(sorted(scenario.adaptation, key=sites.index))
    rank = labels.index(true) if true in labels else None
    return {"measures": measures, "top": [(labels[i], float(post.values[i])) for i in order[:top]],
            "true": true, "true_posterior": float(post.values[rank]) if rank is not None else float("nan"),
            "true_rank": int(np.flatnonzero(order == rank)[0]) + 1 if rank is not None else None,
            "predictive_p": float(res.settings["predictive_p"])}


def _own(got: Mapping[str, Any]) -> str:
    """The design's own hypothesis in an :func:`infer_design` result: posterior (rank)."""
    if not got["true_rank"]:
        return f"{got['true']}: not a library hypothesis"
    return f"{got['true']}: {got['true_posterior']:.2f} ({got['true_rank']})"


def _unit(unit: str) -> str:
    return "" if unit == "1" else f" {unit}"


def _num(x: float, sd: float = float("nan")) -> str:
    return f"{x:+.3g}" + (f" ± {sd:.2g}" if np.isfinite(sd) else "")


def designs_markdown(results: Mapping[str, tuple[T.TrainingScenario, xr.Dataset]],
                     library: xr.Dataset | None = None) -> str:
    """The published-designs table (Markdown): per scenario and published outcome the published
    change, the simulated mean [95 % CI] at the stated n, fitted or predicted, and whether it is
    reproduced (with the file's explanation when not); then each scenario's large unmeasured
    predictions; with a ``library``, what it infers from each study's published changes
    (:func:`infer_design`)."""
    lines = ["| study | measure (unit) | published | simulated mean [95 % CI] | n | role | reproduced |",
             "|---|---|---|---|---|---|---|"]
    tally = {"fitted": [0, 0], "predicted": [0, 0]}
    for _, (scenario, sig) in results.items():
        for r in design_rows(scenario, sig):
            if r["reproduced"] is None:
                sim, rep = "not simulated", "–"
            else:
                sim = f"{r['mean']:+.3g} [{r['ci_low']:+.3g}, {r['ci_high']:+.3g}]"
                rep = "yes" if r["reproduced"] else "no" + (f" ({r['miss']})" if r["miss"] else "")
                tally[r["role"]][0] += bool(r["reproduced"])
                tally[r["role"]][1] += 1
            lines.append(f"| {scenario.reference} | {r['measure']} ({r['change_unit']}) | "
                         f"{_num(r['published_change'], r['published_sd'])} | {sim} | {r['n']} | "
                         f"{r['role']} | {rep} |")
    lines += ["", f"Reproduced (published mean inside the simulated 95 % CI): predicted "
              f"{tally['predicted'][0]} of {tally['predicted'][1]}, fitted {tally['fitted'][0]} of "
              f"{tally['fitted'][1]}.", "", "Large changes the model predicts in measures the studies did not report "
              f"(|d_z| >= {LARGE_EFFECT:g}):", ""]
    for _, (scenario, sig) in results.items():
        extra = unmeasured_predictions(scenario, sig)
        text = "; ".join(f"{r['measure']} {r['mean']:+.3g}{_unit(r['change_unit'])} (d_z {r['effect_size']:+.1f})"
                         for r in extra) or "none"
        lines.append(f"- {scenario.reference}: {text}")
    if library is not None:
        lines += ["", "What the reference library infers from each study's published changes (a cohort of the "
                  "study's n; singles and pairs), and, in the last column, from the design's own simulated "
                  "mean changes of the same measures (can the library find the site when the body made "
                  "the changes?):", "",
                  "| study | measures | most probable | the design's own sites: posterior (rank) | "
                  "from the simulated means: posterior (rank) |",
                  "|---|---|---|---|---|"]
        for _, (scenario, sig) in results.items():
            got = infer_design(scenario, library)
            top = ", ".join(f"{h} {p:.2f}" for h, p in got["top"])
            if got["predictive_p"] < 1e-3:
                top += f" (fits nothing well: predictive p = {got['predictive_p']:.1g})"
            lines.append(f"| {scenario.reference} | {', '.join(got['measures'])} | {top} | {_own(got)} | "
                         f"{_own(infer_design(scenario, library, simulated=sig))} |")
    return "\n".join(lines) + "\n"


def run_designs(out: str | os.PathLike, names: Sequence[str] | None = None, *, n_subjects: int | None = None,
                scheduler: Any = None, workers: int | None = None,
                progress: bool = True) -> dict[str, tuple[T.TrainingScenario, xr.Dataset]]:
    """Run the library's scenarios at their stated n with the full battery; write the table.

    Parameters
    ----------
    out
        Output folder: ``tasks/`` (every session, shared; a re-run skips finished ones), one
        folder per scenario (``signature.nc``, ``signature.png``, ``comparison.txt``) and
        ``designs.md``.
    names
        Scenario file stems (default: every library scenario).
    n_subjects
        Override every cohort's size (a quick look; the table then no longer tests the studies'
        own n, and says so through its ``n`` column).
    scheduler, workers, progress
        As for :func:`scenarios.training.run_training`.

    Returns
    -------
    dict
        ``{name: (scenario, signature)}``.
    """
    import dataclasses

    from simulator.io import atomic_path
    scenarios = library_scenarios(names)
    if n_subjects is not None:
        if isinstance(n_subjects, bool) or not isinstance(n_subjects, int) or n_subjects < 2:
            raise ConfigError(f"--subjects {n_subjects!r}: a cohort needs at least 2 subjects")
        scenarios = {k: dataclasses.replace(s, cohort=s.cohort.replace(n_subjects=n_subjects))
                     for k, s in scenarios.items()}
    out = Path(out)
    library = None
    if REFERENCE_LIBRARY.is_file():   # checked before the sessions: a stale library is refused now
        from scenarios.inference import check_library_model
        from simulator.io import load_netcdf
        library = load_netcdf(REFERENCE_LIBRARY)
        check_library_model(library, f"the shipped reference library {REFERENCE_LIBRARY}")
    tasks = {name: T.training_tasks(s) for name, s in scenarios.items()}
    unique = list({t.id: t for ts in tasks.values() for t in ts}.values())
    failures, _ = run_tasks(unique, T.FUNCTION, out, scheduler=scheduler, workers=workers, progress=progress,
                            desc="mnpool designs")
    failed = {f.get("id") for f in failures} if failures else set()
    results = {}
    for name, s in scenarios.items():
        sig = T.assemble_training(s, tasks[name], out / "tasks",
                                  n_failed=sum(t.id in failed for t in tasks[name]))
        (out / name).mkdir(exist_ok=True)
        T.write_training(s, sig, out / name)
        results[name] = (s, sig)
    with atomic_path(out / "designs.md", suffix=".md") as tmp:
        Path(tmp).write_text(designs_markdown(results, library))
    return results
