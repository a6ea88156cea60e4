"""``report.html`` of the cohort commands: ``mnpool train``, ``mnpool atlas`` and ``mnpool infer``.

Each function turns what its command computed into the tables of the self-contained page of
:func:`simulator.report.write_report`, next to the figures the command wrote, its configuration
and links to its data files. The numbers are those of the command's own results (the signature's
:func:`scenarios.signature.comparison_rows`, the library's changes, ``posterior.nc``), never
recomputed here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from simulator.report import Table, write_report

__all__ = ["training_report", "atlas_report", "inference_report"]


def _figures(out: Path, captions: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(file, caption)`` of the figures among ``captions`` that the command wrote into ``out``."""
    return [(name, caption) for name, caption in captions.items() if (out / name).is_file()]


def _yes_no(flag: bool | None) -> str:
    return "n/a" if flag is None else ("yes" if flag else "no")


def training_report(out: str | os.PathLike, sig: xr.Dataset, scenario: Any, *, command: str = "mnpool train"
                    ) -> Path:
    """Write ``out/report.html`` of a training scenario.

    Parameters
    ----------
    out
        The run's folder (``signature.nc``, ``signature.png``, ``comparison.txt`` in it).
    sig
        The signature (:func:`scenarios.training.run_training`).
    scenario
        The :class:`scenarios.training.TrainingScenario` that was run.
    command
        Command line shown in the report.

    Returns
    -------
    Path
        The report.
    """
    from scenarios.signature import comparison_rows
    out = Path(out)
    rows = comparison_rows(sig, scenario.published)
    published = [r for r in rows if "published_change" in r]
    within = [r["within"] for r in published if r["within"] is not None]
    tables = []
    if published:
        tables.append(Table(
            "Simulated vs published change",
            ["measure", "unit", "published change", "published SD", "simulated mean change", "95 % CI low",
             "95 % CI high", "effect size d_z", "within published ± SD", "note"],
            [[r["measure"], r["change_unit"], r["published_change"], r["published_sd"], r["mean"],
              r["ci_low"], r["ci_high"], r["effect_size"], _yes_no(r["within"]), r["note"]] for r in published],
            note=f"Published values: {scenario.reference or 'the scenario file'}. Simulated: mean over "
                 "subjects of the pre-to-post change, 95 % CI (t), Cohen's d_z = mean / SD."))
    tables.append(Table(
        "Every simulated change (trained group)",
        ["measure", "unit", "mean change", "95 % CI low", "95 % CI high", "effect size d_z", "subjects"],
        [[r["measure"], r["change_unit"], r["mean"], r["ci_low"], r["ci_high"], r["effect_size"], r["n"]]
         for r in rows if np.isfinite(r["mean"])]))
    n_failed = int(sig.attrs.get("n_failed", 0))
    summary = (f"Training scenario '{scenario.name}'" + (f" ({scenario.reference})" if scenario.reference else "")
               + f": {', '.join(f'{site} {100 * v:+g} %' for site, v in scenario.adaptation.items())} "
               f"reached at week {scenario.weeks[-1]:g}, "
               f"{len(scenario.weeks)} sessions, {int(sig.sizes['subject'])} virtual subjects"
               + (" and as many untrained controls" if scenario.control else "") + ". "
               + (f"{sum(within)} of {len(within)} published changes with an SD are matched within "
                  "the published mean ± SD. " if within else "")
               + (f"{n_failed} session(s) failed (failures.json)." if n_failed else ""))
    config = {"name": scenario.name, "reference": scenario.reference, "adaptation": dict(scenario.adaptation),
              "weeks": list(scenario.weeks), "time_constant_weeks": scenario.time_constant_weeks,
              "control": scenario.control, "subject": scenario.subject.to_dict(),
              "cohort": scenario.cohort.to_dict(), "battery": scenario.battery.to_dict(),
              "published": dict(scenario.published)}
    return write_report(out, title=f"mnpool train {scenario.name}", summary=summary, command=command,
                        figures=_figures(out, {"signature.png": "mean change of every measure (95 % CI), "
                                                                "published values as diamonds"}),
                        tables=tables, config=config,
                        data_files=["signature.nc", "comparison.txt", "failures.json", "tasks"])


def atlas_report(out: str | os.PathLike, library: xr.Dataset, *, config: Mapping[str, Any],
                 command: str = "mnpool atlas") -> Path:
    """Write ``out/report.html`` of a signature atlas.

    Parameters
    ----------
    out
        The run's folder (``library.nc``, ``atlas.png``, maybe ``confusion.*``, ``recall.txt`` and
        ``coverage.png`` in it).
    library
        The reference library (:func:`scenarios.atlas.run_atlas`).
    config
        Base subject, cohort, battery, sites and magnitudes, shown as run.
    command
        Command line shown in the report.

    Returns
    -------
    Path
        The report.
    """
    out = Path(out)
    mvc = library["change"].sel(measure="mvc")
    mags = [float(m) for m in library.magnitude.values]
    mean, sd = mvc.mean("replicate", skipna=True), mvc.std("replicate", ddof=1, skipna=True)
    rows = [[str(site), *[v for m in mags for v in (float(mean.sel(site=site, magnitude=m)),
                                                    float(sd.sel(site=site, magnitude=m)))]]
            for site in library.site.values]
    unit = str(library.change_unit.sel(measure="mvc").item())
    table = Table(f"MVC change ({unit}) by site and magnitude",
                  ["site", *[f"{h} at {100 * m:+g} %" for m in mags for h in ("mean", "SD")]], rows,
                  note="Mean and SD over the virtual subjects of the pre-to-post MVC change; 'control' "
                       "is the untrained second session (day-to-day variability alone).")
    n_sites = library.sizes["site"] - 1
    levels = ', '.join(f'{100 * m:+g} %' for m in mags)
    how = (f"adapted by the dose that changes the reference subject's MVC by {levels} (iso-strength)"
           if "dose" in library else f"adapted by {levels}")
    summary = (f"Signature atlas: {n_sites} site(s) each {how}, "
               f"the battery before and after on {library.sizes['replicate']} virtual subjects, with an "
               "untrained control. The heatmap shows each site's mean change in units of the "
               "day-to-day SD; library.nc is the reference library of 'mnpool infer'.")
    tables = [table]
    if "dose" in library:
        dose, got = library["dose"], library["dose_mvc_change_pct"]
        dose_rows = [[str(site), 100 * m, d, float(got.sel(site=site, magnitude=m)),
                      "yes" if np.isfinite(d) else "no"]
                     for site in library.site.values[1:] for m in mags
                     for d in [float(dose.sel(site=site, magnitude=m))]]
        tables.append(Table("Iso-strength doses", ["site", "target MVC change (%)", "dose (relative change)",
                                                   "MVC change at the dose (%)", "reachable"], dose_rows,
                            note="Root search on the reference subject's calibrated MVC; an unreachable "
                                 "site shows the largest change it can give, and its cohort was not run."))
    return write_report(out, title="mnpool atlas", summary=summary, command=command,
                        figures=_figures(out, {"atlas.png": "standardised change (day-to-day SDs), "
                                                            "sites x measures",
                                               "confusion.png": "how often the battery recovers the "
                                                                "true site",
                                               "coverage.png": "coverage of the dose's credible intervals "
                                                               "(left-out subjects)"}),
                        tables=tables, config=dict(config),
                        data_files=["library.nc", "confusion.nc", "recall.txt", "iso_strength.txt",
                                    "failures.json", "tasks"])


def inference_report(out: str | os.PathLike, posterior: xr.Dataset, *, config: Mapping[str, Any],
                     top: int = 8, command: str = "mnpool infer") -> Path:
    """Write ``out/report.html`` of a site inference.

    Parameters
    ----------
    out
        The run's folder (``posterior.nc``, ``summary.txt`` and figures in it).
    posterior
        The contents of ``posterior.nc`` (:func:`scenarios.inference.run_inference`).
    config
        Library and observation files and settings, shown as run.
    top
        Sites (and hypotheses) listed.
    command
        Command line shown in the report.

    Returns
    -------
    Path
        The report.
    """
    from scenarios.battery import MEASURES
    from scenarios.inference import PREDICTIVE_ALPHA, site_table
    out = Path(out)
    p = posterior
    site = str(p.attrs.get("predictive_site", p.attrs.get("map_site", "")))
    measures = [str(m) for m in p.measure.values]
    tables = [Table(
        f"Observation and posterior predictive given {site}",
        ["measure", "unit", "observed change", "observed SD", "predicted mean", "predictive SD",
         "z = (observed - predicted) / SD"],
        [[m, MEASURES[m].change_unit if m in MEASURES else "", float(p.observed_change.sel(measure=m)),
          float(p.observed_sd.sel(measure=m)), float(p.predictive_mean.sel(measure=m)),
          float(p.predictive_sd.sel(measure=m)), float(p.predictive_z.sel(measure=m))] for m in measures],
        note="Predictive: the library's cells of the most probable site mixed over its magnitude "
             "posterior, with the observation's own SD added.")]
    sites = site_table(p.site_posterior, p.magnitude_posterior)
    recall = p["library_recall"] if "library_recall" in p else None
    tables.append(Table("Sites by posterior probability (single site)",
                        ["site", "posterior", "MAP magnitude", "mean magnitude"]
                        + (["recall by these measures"] if recall is not None else []),
                        [list(r) + ([float(recall.sel(site=r[0]))] if recall is not None else [])
                         for r in sites[:top]],
                        note=(f"{len(sites) - top} more sites share {sum(r[1] for r in sites[top:]):.3g}. "
                              if len(sites) > top else "")
                        + ("Recall: how often left-out single subjects of the library, measured with "
                           "the observed measures, are inferred as their true site (how far to trust "
                           "a high posterior)." if recall is not None else "")))
    if "posterior" in p:
        order = np.argsort(-p.posterior.values, kind="stable")[:top]
        tables.append(Table("Singles and pairs (pairs assume the single-site changes add)",
                            ["hypothesis", "posterior"],
                            [[str(p.hypothesis.values[i]), float(p.posterior.values[i])] for i in order]))
    if "information_gain" in p:
        tables.append(Table("Expected information gain of one more measure",
                            ["measure", "bits"],
                            [[str(c), float(v)] for c, v in zip(p.candidate.values, p.information_gain.values)]))
    pp = p.attrs.get("predictive_p")
    summary = (f"Site inference from {len(measures)} observed change(s) ({', '.join(measures)}): the most "
               f"probable single site is {sites[0][0]} (posterior {sites[0][1]:.3g})"
               + (f", the most probable hypothesis {p.attrs['map_hypothesis']}" if "map_hypothesis" in p.attrs
                  else "") + "."
               + (f" Warning: no library entry explains the observation (predictive p = {float(pp):.2g})."
                  if pp is not None and float(pp) < PREDICTIVE_ALPHA else ""))
    return write_report(out, title="mnpool infer", summary=summary, command=command,
                        figures=_figures(out, {"posterior.png": "posterior over sites (and pairs)",
                                               "information_gain.png": "expected information gain of "
                                                                       "one more measure",
                                               "confusion.png": "how often the observed measures recover "
                                                                "each site (left-out library subjects)",
                                               "coverage.png": "coverage of the dose's credible intervals "
                                                               "(left-out library subjects)"}),
                        tables=tables, data_files=["posterior.nc", "summary.txt"],
                        config={**config, "observation": p.attrs.get("observation", "")})
