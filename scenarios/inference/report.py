"""The file-to-file entry points of site inference: ``mnpool infer`` (library and observation
files in, posterior, summary and figures out) and ``mnpool calibrate`` (library, and optionally
held-out subjects, in; confusion, dose coverage and power out)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from scenarios.inference.abc import (_check_int, abc_confusion_matrix, abc_summary, approach_confusion,
                                     require_pyabc)
from scenarios.inference.calibration import (cohort_power, coverage_text, decomposition_cost, dose_coverage,
                                             pair_recovery)
from scenarios.inference.design import confusion_matrix, expected_information_gain
from scenarios.inference.figures import (plot_confusion, plot_coverage, plot_decomposition_cost,
                                         plot_information_gain, plot_posterior, plot_power)
from scenarios.inference.observation import (DECOMPOSED_SUFFIX, Observation, check_library, check_library_model,
                                             load_observation)
from scenarios.inference.posterior import InferenceResult, infer, posterior_predictive
from simulator.config import ConfigError

__all__ = ["run_inference", "run_calibration", "calibration_summary", "calibration_markdown"]


def run_inference(library_path: str | os.PathLike, observation_path: str | os.PathLike,
                  out_dir: str | os.PathLike, *, pairs: bool = True, seed: int = 0,
                  n_samples: int = 400, allow_other_model: bool = False) -> Path:
    """Infer the site of adaptation from files and write the results (``mnpool infer``).

    Loads the library (NetCDF written by :func:`simulator.io.save_netcdf`) and the observation
    (:func:`load_observation`), runs :func:`infer` and :func:`expected_information_gain`, and
    writes into ``out_dir``: ``posterior.nc`` (the result Dataset plus ``information_gain`` and
    the posterior predictive of the most probable site, :func:`posterior_predictive`),
    ``summary.txt``, ``posterior.png`` and ``information_gain.png``, and how far to trust the
    answer: the library's recall of each site with the observed measures on left-out subjects
    (a table in ``summary.txt``, ``confusion.png``) and the coverage of its dose intervals
    (``coverage.png``). Every input is checked and
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
    allow_other_model
        Accept a library simulated by another model (:func:`check_library_model`).

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    ConfigError
        On a missing or unreadable library, one simulated by another model, or any invalid
        input; nothing is written then.
    """
    from simulator.io import atomic_path, save_netcdf
    from simulator.loading import read_netcdf
    from simulator.plotting import save_figure
    lib_path = Path(library_path)
    library = read_netcdf(lib_path, what="reference library")
    check_library_model(library, f"reference library {lib_path}", allow_other_model=allow_other_model)
    observation = load_observation(observation_path)
    result = infer(library, observation, pairs=pairs)
    eig = expected_information_gain(library, observation, n_samples=n_samples, seed=seed)
    ds = result.to_dataset()
    ds["information_gain"] = eig.rename(measure="candidate")
    predictive = posterior_predictive(library, result)
    for name in predictive.data_vars:
        ds[name] = predictive[name]
    ds.attrs["predictive_site"] = predictive.attrs["site"]
    ds.attrs["library"] = str(lib_path)
    ds.attrs["seed"] = int(seed)
    text = result.summary()
    text += "\nExpected information gain of one more measure (bits):\n"
    text += "".join(f"  {str(m):<30}{float(v):8.3f} ± {float(se):.3f}\n"
                    for m, v, se in zip(eig.measure.values, eig.values, eig.se_bits.values)) or "  (none)\n"
    trust, figs, cm = _trust(library, observation, result, seed)
    text += trust
    ds["library_recall"] = ("site", [float(cm.sel(true_site=s, inferred_site=s)) for s in ds.site.values],
                            {"long_name": "recall of the site by the observed measures, left-out "
                                          "single subjects of the library"})
    figs = {"posterior.png": plot_posterior(result), "information_gain.png": plot_information_gain(eig), **figs}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_netcdf(ds, out / "posterior.nc")
    with atomic_path(out / "summary.txt", suffix=".txt") as tmp:
        tmp.write_text(text)
    for name, fig in figs.items():
        save_figure(fig, out / name)
    return out


def _trust(library: xr.Dataset, observation: Observation, result: InferenceResult,
           seed: int) -> tuple[str, dict, xr.DataArray]:
    """How far to trust a posterior: the library's recall of each site with the observed measures.

    Left-out single subjects of the library, measured with the observed measures (and, for one
    subject's observation, its errors as the measurement noise), are inferred as in
    :func:`confusion_matrix`; the dose coverage likewise (:func:`dose_coverage`). Returns the
    text for ``summary.txt``, the figures ``confusion.png`` and ``coverage.png``, and the
    confusion matrix.
    """
    measures = list(result.measures)
    sd = None if observation.n_subjects is not None else {m: observation.sd[m] for m in measures}
    cm = confusion_matrix(library, measures=measures, observation_sd=sd, seed=seed)
    order = np.argsort(-result.site_posterior.values, kind="stable")
    who = ("single subjects measured with the observed measures and errors" if sd is not None else
           f"single subjects measured with the observed measures; a cohort of {observation.n_subjects} "
           "is resolved better: mnpool calibrate's power analysis")
    lines = [f"\nHow far to trust this (left-out {who}): recall of each site, most probable first",
             f"  {'site':<28}{'posterior':>10}{'recall':>8}{'P(true site)':>14}"]
    for i in order:
        s = str(result.site_posterior.site.values[i])
        lines.append(f"  {s:<28}{float(result.site_posterior.values[i]):>10.3f}"
                     f"{float(cm.sel(true_site=s, inferred_site=s)):>8.2f}"
                     f"{float(cm.true_posterior.sel(true_site=s)):>14.2f}")
    pairs = cm.attrs["not_identifiable"]
    shown = ", ".join(pairs[:8]) + (f" and {len(pairs) - 8} more (confusion.png)" if len(pairs) > 8 else "")
    lines.append(f"  Not identifiable with these measures ({len(pairs)} pairs): {shown or 'none'}")
    figs = {"confusion.png": plot_confusion(cm)}
    try:
        cov = dose_coverage(library, measures=measures, observation_sd=sd, seed=seed)
    except ConfigError:   # one dose per site
        cov = None
    if cov is not None:
        lines.append("  Dose coverage (left-out subjects): " + coverage_text(cov.level.values, cov.coverage.values))
        figs["coverage.png"] = plot_coverage({"left-out subjects": cov})
    return "\n".join(lines) + "\n", figs, cm


def _usable(library: xr.Dataset) -> list[str]:
    """Measures obtained in every replicate of every simulated cell (as the atlas uses them)."""
    from scenarios.atlas import usable_measures
    return usable_measures(library)


def calibration_summary(ds: xr.Dataset) -> str:
    """Plain-text summary of :func:`run_calibration`'s Dataset: per-site recall (left-out and
    held-out subjects), pairs not identifiable, dose coverage and the cohort sizes needed."""
    lines = [f"Measures: {', '.join(ds.attrs['measures'])}"]
    n_rep = int(ds.attrs.get("replicates", 0))
    if 0 < n_rep < 10:
        lines.append(f"Caution: {n_rep} virtual subjects per cell; covariances of "
                     f"{len(ds.attrs['measures'])} measures rest on them, so recall and power are "
                     "optimistic (issue 14 asks for >= 20)")
    held = "held_out_recall" in ds
    lines.append(f"\n{'site':<28}{'recall (LOO)':>13}" + (f"{'held-out':>10}" if held else "")
                 + f"{'n needed':>10}  best added measure")
    for site, loo, out, n, best in _site_rows(ds):
        lines.append(f"{site:<28}{loo:>13.2f}" + (f"{out:>10.2f}" if held else "") + f"{n:>10}"
                     + (f"  {best}" if "best_addition" in ds else ""))
    lines.append(f"(recall: fraction of single subjects inferred as their site; n needed: smallest "
                 f"cohort whose mean gives the true site a posterior >= {ds.attrs['recall_target']:g})")
    for key, what in (("not_identifiable_loo", "left-out"), ("not_identifiable_held_out", "held-out")):
        if key in ds.attrs:
            pairs = ds.attrs[key]
            lines.append(f"Not identifiable ({what} subjects): {', '.join(pairs) if pairs else 'none'}")
    if "pair_recall" in ds:
        worst = ds.pair_recall.sortby(ds.pair_recall).pair.values[:3]
        lines.append(f"Two sites at once (left-out subjects, additive): MAP hypothesis is the true pair in "
                     f"{100 * ds.attrs['pair_recall']:.0f} % (chance {100 * ds.attrs['pair_chance']:.1f} %); "
                     f"hardest: {', '.join(map(str, worst))}")
    if "coverage" in ds:
        for prefix in ("", "held_out_"):
            if f"{prefix}coverage" in ds:
                cov = coverage_text(ds.level.values, ds[f"{prefix}coverage"].values)
                lines.append(f"Dose coverage ({ds.attrs[f'{prefix}coverage_method']}): {cov}")
    else:
        lines.append("Dose coverage: not computed (no site simulated at two or more doses)")
    if "decomposition_recall" in ds:
        lines.append(decomposition_summary(ds))
    return "\n".join(lines) + "\n"


def _site_rows(ds: xr.Dataset) -> list[tuple[str, float, float, str, str]]:
    """Per site of :func:`run_calibration`'s Dataset: recall on left-out and held-out subjects
    (NaN without a held-out library), the cohort size needed (``">80"`` beyond the largest
    size tried) and the added measure that lowers it most (``"-"`` if none)."""
    rows = []
    for s in ds.site.values:
        n = float(ds.n_needed.sel(site=s))
        held = float(ds.held_out_recall.sel(site=s)) if "held_out_recall" in ds else float("nan")
        best = str(ds.best_addition.sel(site=s).item()) if "best_addition" in ds else ""
        rows.append((str(s), float(ds.recall_loo.sel(site=s)), held,
                     f">{int(ds['size'].values[-1])}" if np.isnan(n) else str(int(n)), best or "-"))
    return rows


def calibration_markdown(ds: xr.Dataset) -> str:
    """``calibration.md``: :func:`run_calibration`'s per-site table and summary lines in Markdown,
    as pasted into the README between ``<!-- calibration.md -->`` markers."""
    held = "held_out_recall" in ds
    rows = _site_rows(ds)
    best = any(r[4] != "-" for r in rows)   # no column when every usable measure is in the battery
    head = ["site", "recall, left-out subjects"] + (["recall, held-out subjects"] if held else [])
    head += [f"cohort for P(true site) >= {ds.attrs['recall_target']:g}"]
    head += ["measure that lowers it most"] if best else []
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1 - best) + "---|" * best]
    for site, loo, out, n, add in rows:
        cells = [site, f"{loo:.2f}"] + ([f"{out:.2f}"] if held else []) + [n] + ([add] if best else [])
        lines.append("| " + " | ".join(cells) + " |")
    notes = []
    for key, what in (("not_identifiable_loo", "left-out"), ("not_identifiable_held_out", "held-out")):
        if key in ds.attrs:
            notes.append(f"{len(ds.attrs[key])} pairs not identifiable on {what} subjects")
    if "pair_recall" in ds:
        notes.append(f"two sites at once: the true pair is the MAP hypothesis for "
                     f"{100 * ds.attrs['pair_recall']:.0f} % of left-out subjects (chance "
                     f"{100 * ds.attrs['pair_chance']:.1f} %)")
    for prefix, what in (("", "left-out"), ("held_out_", "held-out")):
        if f"{prefix}coverage" in ds:
            notes.append(f"dose coverage on {what} subjects: "
                         + coverage_text(ds.level.values, ds[f"{prefix}coverage"].values))
    measures = ", ".join(ds.attrs["measures"])
    text = ("\n".join(lines) + f"\n\n{len(ds.attrs['measures'])} measures ({measures}); "
            + "; ".join(notes) + ".\n")
    return text + (_decomposition_markdown(ds) if "decomposition_recall" in ds else "")


def _decomposition_rows(ds: xr.Dataset) -> tuple[list[str], list[tuple[str, list[float]]],
                                                   list[tuple[str, float, float, float]]]:
    """What both renderings of :func:`decomposition_cost` show: the batteries, the recall of
    every site (then the accuracy) per battery, and per unit measure the correlation and bias
    of the decomposed against the true change and the fraction of subjects with both."""
    batteries = [str(b) for b in ds.battery.values]
    recall = [(str(s), [float(ds.decomposition_recall.sel(battery=b, site=s)) for b in batteries])
              for s in ds.site.values]
    recall.append(("accuracy", [float(ds.decomposition_accuracy.sel(battery=b)) for b in batteries]))
    agreement = [(str(m), float(ds.decomposition_change_correlation.sel(unit_measure=m)),
                  float(ds.decomposition_change_bias.sel(unit_measure=m)),
                  float(ds.decomposition_fraction_obtained.sel(unit_measure=m)))
                 for m in ds.unit_measure.values]
    return batteries, recall, agreement


def _decomposition_markdown(ds: xr.Dataset) -> str:
    """The decomposed-units section of ``calibration.md`` (:func:`decomposition_cost`)."""
    batteries, recall, agreement = _decomposition_rows(ds)
    lines = ["", "Recall of left-out subjects with the motor-unit measures of true units, of decomposed "
             f"units instead ({', '.join(ds.attrs['decomposition_swapped'])} -> *{DECOMPOSED_SUFFIX}), "
             "and with none:", "", "| site | " + " | ".join(batteries) + " |",
             "|---|" + "---:|" * len(batteries)]
    lines += [f"| {label} | " + " | ".join(f"{v:.2f}" for v in values) + " |" for label, values in recall]
    lines += ["", "| unit measure | r (decomposed vs true change) | bias | subjects with both |",
              "|---|---:|---:|---:|"]
    lines += [f"| {m} | {r:.2f} | {bias:.3g} | {100 * frac:.0f} % |" for m, r, bias, frac in agreement]
    return "\n".join(lines) + "\n"


def decomposition_summary(ds: xr.Dataset) -> str:
    """The "decomposed instead of true units" section of ``calibration.txt``
    (:func:`decomposition_cost`, stored as ``decomposition_*`` variables)."""
    batteries, recall, agreement = _decomposition_rows(ds)
    lines = [f"\nMotor-unit measures from decomposed HD-sEMG instead of true units "
             f"({', '.join(ds.attrs['decomposition_swapped'])} -> *{DECOMPOSED_SUFFIX}; left-out subjects):",
             f"  {'site':<28}" + "".join(f"{b:>18}" for b in batteries)]
    lines += [f"  {label:<28}" + "".join(f"{v:>18.2f}" for v in values) for label, values in recall]
    lines.append(f"  {'subjects scored':<28}" + "".join(
        f"{int(ds.decomposition_n_observations.sel(battery=b)):>18d}" for b in batteries))
    lines.append("  Decomposed against true change over every subject (r: correlation; bias: decomposed "
                 "minus true; obtained: subjects with both):")
    lines.append(f"  {'measure':<28}{'r':>6}{'bias':>10}{'obtained':>10}")
    lines += [f"  {m:<28}{r:>6.2f}{bias:>10.3g}{100 * frac:>9.0f}%" for m, r, bias, frac in agreement]
    return "\n".join(lines)


def run_calibration(library_path: str | os.PathLike, out_dir: str | os.PathLike, *,
                    held_out_path: str | os.PathLike | None = None,
                    measures: Sequence[str] | None = None, sizes: Sequence[int] = (5, 10, 20, 40, 80),
                    n_draws: int = 200, seed: int = 0, abc: bool = False, abc_per_cell: int = 2,
                    allow_other_model: bool = False) -> Path:
    """How far the library's inference can be trusted (``mnpool calibrate``).

    Computes the leave-one-replicate-out :func:`confusion_matrix`, the same on the held-out
    library when given (other virtual subjects, e.g. a population with other base parameters),
    :func:`pair_recovery` (two sites at once), the :func:`dose_coverage` of the dose's credible
    intervals (on left-out subjects, and on the held-out subjects when given) and the
    :func:`cohort_power`, then writes ``calibration.nc``, ``calibration.txt``, ``calibration.md``
    (:func:`calibration_markdown`, the README's table), ``confusion.png``
    (and ``confusion_held_out.png``), ``coverage.png`` (:func:`plot_coverage`) and
    ``power.png`` into ``out_dir``. A library built with decomposed HD-sEMG (measures ending in
    ``_dec``) also gets :func:`decomposition_cost` — recall with the true-unit measures, with
    the decomposed ones instead, and with neither: ``decomposition_*`` variables, a section of
    ``calibration.txt`` and ``decomposition.png``.
    With ``abc``, also the ABC-SMC cross-check (:func:`abc_confusion_matrix`: pyabc and the
    Gaussian synthetic likelihood on the same left-out subjects), as an "ABC-SMC cross-check"
    section of ``calibration.txt``, ``abc_*`` variables of ``calibration.nc`` and
    ``confusion_abc.png``. Everything is computed before the first file is written.

    Parameters
    ----------
    library_path
        NetCDF reference library (``mnpool atlas``), >= 3 subjects.
    out_dir
        Output folder (created).
    held_out_path
        NetCDF library of other subjects (same sites and doses, or a subset).
    measures
        The battery (default: every measure obtained in every simulated cell).
    sizes, n_draws
        Cohort sizes and draws of :func:`cohort_power`.
    seed
        Seed of every Monte Carlo step.
    abc
        Run the ABC-SMC cross-check (needs ``pip install 'mnpool[abc]'``; minutes).
    abc_per_cell
        Left-out subjects per (site, dose) cell of the cross-check.
    allow_other_model
        Accept libraries simulated by another model (:func:`check_library_model`).

    Returns
    -------
    Path
        ``out_dir``, holding the files above.

    Raises
    ------
    ConfigError
        On a missing or unreadable library, one simulated by another model, fewer than 3
        subjects, a held-out library that does not fit it, pyabc missing with ``abc``, or any invalid input; nothing is written then.
    """
    from simulator.io import atomic_path, save_netcdf
    if abc:
        require_pyabc()
        _check_int(abc_per_cell, "abc_per_cell", 1, 1000)
    from simulator.loading import read_netcdf
    from simulator.plotting import save_figure
    library = read_netcdf(Path(library_path), what="reference library")
    held = None if held_out_path is None else read_netcdf(Path(held_out_path), what="held-out library")
    check_library_model(library, f"reference library {library_path}", allow_other_model=allow_other_model)
    if held is not None:
        check_library_model(held, f"held-out library {held_out_path}", allow_other_model=allow_other_model)
    usable = _usable(library)
    used = list(measures) if measures is not None else usable
    cm = confusion_matrix(library, measures=used, seed=seed)
    cm_held = None if held is None else confusion_matrix(library, measures=used, held_out=held, seed=seed)
    power = cohort_power(library, measures=used, sizes=sizes, n_draws=n_draws, seed=seed,
                         candidates=[m for m in usable if m not in used])
    ds = power.copy()
    ds["confusion_loo"] = cm.rename(true_site="site").drop_vars(["true_posterior", "n_observations"])
    ds["recall_loo"] = ("site", np.diag(cm.values))
    ds.attrs.update(not_identifiable_loo=cm.attrs["not_identifiable"], library=str(library_path),
                    replicates=int(library.sizes["replicate"]))
    if cm_held is not None:
        ds["confusion_held_out"] = cm_held.rename(true_site="site").drop_vars(["true_posterior",
                                                                                "n_observations"])
        ds["held_out_recall"] = ("site", np.diag(cm_held.values))
        ds.attrs.update(not_identifiable_held_out=cm_held.attrs["not_identifiable"],
                        held_out=str(held_out_path))
    try:
        pairs = pair_recovery(library, measures=used, seed=seed)
    except ConfigError:  # no control or a single site: no pairs to recover
        pairs = None
    if pairs is not None:
        ds["pair_recall"] = pairs
        ds.attrs.update(pair_recall=pairs.attrs["recall"], pair_chance=pairs.attrs["chance"])
    coverages = {}
    try:
        coverages["left-out subjects"] = dose_coverage(library, measures=used, seed=seed)
        if held is not None:
            coverages["held-out subjects"] = dose_coverage(library, measures=used, held_out=held, seed=seed)
    except ConfigError:  # a single dose per site: nothing to cover
        coverages = {}
    for prefix, cov in zip(("", "held_out_"), coverages.values()):
        ds[f"{prefix}coverage"] = cov.coverage
        ds[f"{prefix}site_coverage"] = cov.site_coverage
        ds.attrs[f"{prefix}coverage_method"] = cov.attrs["method"]
    cost = None
    base = [m for m in used if not m.endswith(DECOMPOSED_SUFFIX)]
    obtained = [str(m) for m in check_library(library).measure.values]   # measures with a finite value
    if any(m + DECOMPOSED_SUFFIX in obtained for m in base):   # a library with decomposed units
        cost = decomposition_cost(library, measures=base, seed=seed)
        ds = ds.assign_coords(battery=cost.battery.values, unit_measure=cost.unit_measure.values)
        for name in ("recall", "true_posterior", "accuracy", "n_observations", "change_correlation",
                     "change_bias", "fraction_obtained"):
            ds[f"decomposition_{name}"] = cost[name]
        ds.attrs["decomposition_swapped"] = cost.attrs["swapped"]
    check = None
    if abc:
        check = abc_confusion_matrix(library, measures=used, max_per_cell=abc_per_cell, seed=seed)
        for name in ("recall", "true_posterior"):
            ds[f"abc_{name}"] = check[name].rename(true_site="site")
        for name in ("accuracy", "mean_true_posterior", "brier", "log_score", "overconfidence", "wall_time_s"):
            ds[f"abc_{name}"] = check[name]
        ds.attrs["abc_observations"] = int(check.n_observations.sum())
    text = calibration_summary(ds) + ("" if check is None else "\n" + abc_summary(check))
    figs = {"confusion.png": plot_confusion(cm), "power.png": plot_power(power)}
    if coverages:
        figs["coverage.png"] = plot_coverage(coverages)
    if cost is not None:
        figs["decomposition.png"] = plot_decomposition_cost(cost)
    if check is not None:
        figs["confusion_abc.png"] = plot_confusion(approach_confusion(check))
    if cm_held is not None:
        figs["confusion_held_out.png"] = plot_confusion(cm_held)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_netcdf(ds, out / "calibration.nc")
    with atomic_path(out / "calibration.txt", suffix=".txt") as tmp:
        tmp.write_text(text)
    with atomic_path(out / "calibration.md", suffix=".md") as tmp:
        tmp.write_text(calibration_markdown(ds))
    for name, fig in figs.items():
        save_figure(fig, out / name)
    return out
