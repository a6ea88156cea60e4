"""The signature atlas: every candidate site adapted by a standard magnitude, the same battery
before and after, on the same virtual cohort — the site x measure map of what each site of
adaptation would show in each measurement.

:func:`run_atlas` runs, for every subject of the cohort, one pre session, one post session per
(site, magnitude) and one untrained post session (the control: day-to-day variability alone),
all as independent Dask tasks (:func:`scenarios.tasks.run_tasks`). It writes

* ``library.nc``: ``change(site, magnitude, replicate, measure)``, the reference library of
  :mod:`scenarios.inference` (site ``"control"`` holds the untrained changes at the first
  magnitude only);
* ``atlas.png``: the heatmap of standardised changes (mean change over subjects divided by the
  SD of the untrained change, i.e. how many day-to-day SDs the site moves each measure);
* ``confusion.png``, ``confusion.nc`` and ``recall.txt`` (with >= 3 subjects): how often the
  battery, analysed by :func:`scenarios.inference.confusion_matrix`, recovers the true site
  (identifiability), and with two or more doses ``coverage.png``, the coverage of the dose's
  credible intervals (:func:`write_identifiability`).

With ``iso_mvc`` the sites are compared at equal strength gain instead of equal relative change:
for every site and target MVC change, :func:`scenarios.iso_strength.find_dose` finds the dose
that changes the reference subject's MVC by that much, and the cohort runs at that dose. The
library's ``magnitude`` is then the MVC change (a fraction: 0.1 = +10 %), ``dose(site, magnitude)``
holds each site's dose (NaN where the site cannot reach the target; its changes are NaN too) and
``iso_strength.txt`` lists the doses.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from scenarios import cohort as C
from scenarios import training as T
from scenarios.tasks import run_tasks
from simulator.config import ConfigError
from simulator.simulation import SimulationConfig
from simulator.sites import SITES, apply_adaptation

__all__ = ["atlas_inputs", "atlas_tasks", "iso_plan", "run_atlas", "usable_measures", "build_library",
           "standardised", "plot_atlas", "write_identifiability", "CONTROL"]

#: Site label of the untrained sessions.
CONTROL = "control"


#: ``(site, magnitude label, dose)``: one post-session condition of the atlas.
Condition = tuple[str, float, float]


def atlas_tasks(base: SimulationConfig, sites: Sequence[str], magnitudes: Sequence[float],
                cohort: C.CohortConfig, battery: T.BatteryConfig,
                plan: Sequence[Condition] | None = None) -> list:
    """Validated tasks: pre sessions, one post per (site, magnitude), untrained posts.

    ``plan`` replaces the full (site, magnitude) grid with explicit conditions, each labelled by
    its magnitude and run at its own dose (the iso-strength atlas, :func:`iso_plan`).
    """
    if plan is None:
        plan = [(site, float(m), float(m)) for site in sites for m in magnitudes]
    for site, _, dose in plan:
        apply_adaptation(base, {site: dose})  # unknown site / unsupported magnitude
    subjects = C.draw_cohort(base, cohort)
    tasks = T.session_tasks(subjects, cohort, battery, [(0, {})], site="pre", magnitude=0.0)
    tasks += T.session_tasks(subjects, cohort, battery, [(1, {})], site=CONTROL, magnitude=0.0)
    for site, label, dose in plan:
        tasks += T.session_tasks(subjects, cohort, battery, [(1, {site: dose})], site=site,
                                 magnitude=label)
    return tasks


def iso_plan(base: SimulationConfig, sites: Sequence[str], targets_pct: Sequence[float], *,
             progress: bool = True) -> list:
    """The dose of every site for every target MVC change (:func:`scenarios.iso_strength.find_dose`).

    Returns a list of :class:`scenarios.iso_strength.IsoDose`, sites in order, targets within each.
    The searches share the on-disk calibration cache, so a re-run costs nothing.
    """
    from tqdm.auto import tqdm

    from scenarios.iso_strength import find_dose
    jobs = [(site, float(t)) for site in sites for t in targets_pct]
    return [find_dose(base, site, t) for site, t in
            tqdm(jobs, desc="mnpool atlas: iso-strength doses", unit="site", disable=not progress)]


def build_library(results: dict[tuple[str, float, int], xr.Dataset], pre: dict[int, xr.Dataset],
                  sites: Sequence[str], magnitudes: Sequence[float], subjects: Sequence[int]) -> xr.Dataset:
    """``change(site, magnitude, replicate, measure)`` from post and pre session results."""
    names = list(T.MEASURES)
    labels = [CONTROL, *sites]
    data = np.full((len(labels), len(magnitudes), len(subjects), len(names)), np.nan)
    for (site, mag, subj), post in results.items():
        if subj not in pre:
            continue
        mi = 0 if site == CONTROL else list(magnitudes).index(mag)
        d = T.change(pre[subj], post)
        for k, name in enumerate(names):
            data[labels.index(site), mi, list(subjects).index(subj), k] = d.get(name, np.nan)
    return xr.Dataset(
        {"change": (("site", "magnitude", "replicate", "measure"), data,
                    {"long_name": "pre-to-post change (see change_unit)"})},
        coords={"site": labels, "magnitude": np.asarray(magnitudes, dtype=float),
                "replicate": np.asarray(subjects), "measure": names,
                "change_unit": ("measure", [T.MEASURES[n].change_unit for n in names])},
        attrs={"kind": "library"})


def _add_doses(lib: xr.Dataset, doses: Sequence[Any]) -> None:
    """``dose(site, magnitude)`` and ``dose_mvc_change_pct`` (the MVC change each dose gives);
    NaN for the control and where a site cannot reach the target."""
    shape = (lib.sizes["site"], lib.sizes["magnitude"])
    dose, got = np.full(shape, np.nan), np.full(shape, np.nan)
    sites, mags = list(lib.site.values), list(np.round(lib.magnitude.values, 12))
    for d in doses:
        i, j = sites.index(d.site), mags.index(round(d.target_pct / 100.0, 12))
        dose[i, j], got[i, j] = d.dose, d.achieved_pct
    lib["dose"] = (("site", "magnitude"), dose, {
        "long_name": "relative change of the site that gives the MVC change (NaN: unreachable)"})
    lib["dose_mvc_change_pct"] = (("site", "magnitude"), got, {
        "long_name": "MVC change of the reference subject at the dose (largest reachable where unreachable)",
        "units": "%"})


def usable_measures(library: xr.Dataset, min_replicates: int = 3) -> list[str]:
    """Measures obtained in at least ``min_replicates`` replicates of every simulated cell.

    Cells that were not simulated (the control beyond the first magnitude, a site that cannot
    reach an iso-strength target) are all-NaN and do not count against a measure. A measure a
    few subjects lack (delta-F where no unit pair qualifies, a decomposed measure where no unit
    was tracked) stays usable: the inference scores each subject on the measures it has (the
    likelihood's marginal), and each cell's mean and covariance come from the subjects that have
    it; three are the fewest that give a variance and its shrinkage. With fewer replicates than
    ``min_replicates`` in the library, every replicate must have it.
    """
    ch = library["change"]
    present = np.isfinite(ch).any(["replicate", "measure"])
    need = min(int(min_replicates), int(ch.sizes["replicate"]))
    return [str(m) for m in ch.measure.values
            if bool((np.isfinite(ch.sel(measure=m)).sum("replicate") >= need).where(present, True).all())]


def standardised(library: xr.Dataset) -> xr.DataArray:
    """Mean change of each (site, magnitude) in units of the SD of the untrained change."""
    ch = library["change"]
    sd = ch.sel(site=CONTROL).std(["magnitude", "replicate"], ddof=1, skipna=True)
    pooled = ch.drop_sel(site=CONTROL).std("replicate", ddof=1).mean(["site", "magnitude"])
    # with few subjects the control SD can be ~0 for a measure: fall back to the pooled spread
    scale = sd.where(sd > 1e-9, pooled).where(lambda s: s > 1e-9)
    z = (ch.mean("replicate") - ch.sel(site=CONTROL).mean(["magnitude", "replicate"])) / scale
    z.attrs["long_name"] = "standardised change (day-to-day SDs)"
    return z.drop_sel(site=CONTROL)


def plot_atlas(library: xr.Dataset, magnitude: float | None = None):  # noqa: ANN201
    """Heatmap of standardised changes, sites (rows) x measures (columns)."""
    import matplotlib.pyplot as plt
    z = standardised(library)
    mag = float(z.magnitude[0]) if magnitude is None else float(magnitude)
    z = z.sel(magnitude=mag)
    measures = [m for m in z.measure.values if np.isfinite(z.sel(measure=m).values).any()]
    z = z.sel(measure=measures)
    vmax = float(np.nanpercentile(np.abs(z.values), 95)) if np.isfinite(z.values).any() else 1.0
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * len(measures), 1.2 + 0.38 * z.sizes["site"]))
    im = ax.imshow(z.values, cmap="RdBu_r", vmin=-max(vmax, 1e-9), vmax=max(vmax, 1e-9), aspect="auto")
    ax.set_xticks(np.arange(len(measures)), measures, rotation=60, ha="right", fontsize=8)
    letters = {s.name: s.letter for s in SITES.values()}
    ax.set_yticks(np.arange(z.sizes["site"]), [f"{letters.get(s, '')} {s}" for s in z.site.values], fontsize=8)
    for i in range(z.sizes["site"]):
        for j in range(len(measures)):
            v = z.values[i, j]
            if np.isfinite(v):
                ax.text(j, i, f"{v:.1f}", ha="center", va="center", fontsize=6,
                        color="w" if abs(v) > 0.6 * vmax else "k")
    if "dose" in library:  # iso-strength: say why a site's row is empty
        for i, site in enumerate(z.site.values):
            dose = float(library["dose"].sel(site=site, magnitude=mag))
            if not np.isfinite(dose):
                best = float(library["dose_mvc_change_pct"].sel(site=site, magnitude=mag))
                ax.text((len(measures) - 1) / 2, i, f"cannot reach MVC {100 * mag:+.0f} % (max {best:+.1f} %)",
                        ha="center", va="center", fontsize=7, color="0.4")
    fig.colorbar(im, ax=ax, label="change / day-to-day SD")
    what = "MVC" if "dose" in library else "relative change"
    ax.set_title(f"signature atlas: every site at {what} {100 * mag:+.0f} %", fontsize=10)
    fig.tight_layout()
    return fig


def atlas_inputs(config: str | os.PathLike | None, *, subjects: int, seed: int | None = None
                 ) -> tuple[SimulationConfig, C.CohortConfig, T.BatteryConfig]:
    """The base subject, cohort and battery that ``mnpool atlas --config FILE`` simulates.

    Parameters
    ----------
    config
        TOML file: the subject, plus ``[cohort]`` and ``[battery]`` tables (defaults if None).
    subjects
        Cohort size (``--subjects``).
    seed
        Override of the subject's seed (``--seed``).
    """
    from simulator.config import load_toml
    from simulator.simulation import load_config
    data = load_toml(config) if config else {}
    base = load_config(str(config) if config else None, seed=seed, ignore=("cohort", "battery"))
    cohort = C.CohortConfig.from_dict(data.get("cohort", {})).replace(n_subjects=subjects)
    return base, cohort, T.BatteryConfig.from_dict(data.get("battery", {}))


def run_atlas(base: SimulationConfig, out: str | os.PathLike, *, sites: Sequence[str] | None = None,
              magnitudes: Sequence[float] = (0.3,), cohort: C.CohortConfig | None = None,
              battery: T.BatteryConfig | None = None, scheduler: Any = None, workers: int | None = None,
              progress: bool = True, iso_mvc: Sequence[float] | None = None,
              command: str | None = None) -> xr.Dataset:
    """Run the atlas and write ``library.nc``, ``atlas.png`` and (>= 3 subjects) the confusion matrix.

    Parameters
    ----------
    base
        Base subject.
    out
        Output folder (``tasks/`` holds one file per session; a re-run skips finished ones).
    sites
        Sites to adapt (default: all of :data:`simulator.sites.SITES`).
    magnitudes
        Relative changes applied to each site.
    cohort
        Subjects (default 3 subjects).
    battery
        Session measurements.
    scheduler, workers, progress
        As for :func:`scenarios.sweep.run_sweep`.
    iso_mvc
        Target MVC changes [%] (e.g. ``(10, 20)``): compare sites at equal strength gain; replaces
        ``magnitudes`` (module docstring).
    command
        The command line that built the library, recorded in its attrs (``build_command``).

    Returns
    -------
    xarray.Dataset
        The library; attrs record the base config, battery and cohort, ``mnpool_version``,
        ``model_fingerprint`` (:func:`simulator.simulation.model_fingerprint`), ``model_equations``
        (the hash of the equations alone: a library built with a body given as a config overlay
        is checked against the defaults that later adopt it, :mod:`scenarios.rebuild_libraries`)
        and ``build_command``.
    """
    from simulator import __version__
    from simulator.io import load_netcdf, save_netcdf
    from simulator.network import model_equations_hash
    from simulator.simulation import model_fingerprint
    from simulator.plotting import save_figure
    sites = list(SITES) if sites is None else list(sites)
    if not sites or not magnitudes:
        raise ConfigError("the atlas needs at least one site and one magnitude")
    unknown = [s for s in sites if s not in SITES]
    if unknown:  # before any long work (the iso-strength search runs first)
        raise ConfigError(f"unknown site(s) {unknown}; known sites: {', '.join(SITES)}")
    cohort = cohort or C.CohortConfig(n_subjects=3)
    battery = battery or T.BatteryConfig()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} exists and is not a folder")
    plan, doses = None, None
    if iso_mvc is not None:
        if not iso_mvc or any(not t for t in iso_mvc):
            raise ConfigError(f"--iso-mvc {list(iso_mvc)}: give non-zero MVC changes in %, e.g. 10,20")
        doses = iso_plan(base, sites, iso_mvc, progress=progress)
        magnitudes = [float(t) / 100.0 for t in iso_mvc]
        plan = [(d.site, d.target_pct / 100.0, d.dose) for d in doses if d.reachable]
    tasks = atlas_tasks(base, sites, magnitudes, cohort, battery, plan=plan)
    # pre and control sessions are shared by every site: run each configuration once
    unique = list({t.id: t for t in tasks}.values())
    run_tasks(unique, T.FUNCTION, out, scheduler=scheduler, workers=workers, progress=progress,
              desc="mnpool atlas")
    pre, post = {}, {}
    for t in tasks:
        path = out / "tasks" / f"{t.id}.nc"
        if not path.is_file():
            continue
        if t.params["site"] == "pre":
            pre[t.params["subject"]] = load_netcdf(path)
        else:
            post[(t.params["site"], t.params["magnitude"], t.params["subject"])] = load_netcdf(path)
    subjects = sorted({t.params["subject"] for t in tasks})
    lib = build_library(post, pre, sites, [float(m) for m in magnitudes], subjects)
    lib.attrs.update({"base_config": base.to_dict(), "battery": battery.to_dict(),
                      "cohort": cohort.to_dict(), "mnpool_version": __version__,
                      "model_fingerprint": model_fingerprint(),
                      "model_equations": model_equations_hash(),
                      "build_command": command or "scenarios.atlas.run_atlas (Python)",
                      "magnitude_kind": "relative change" if doses is None else "MVC change (iso-strength)"})
    if doses is not None:
        _add_doses(lib, doses)
        from simulator.io import atomic_path
        with atomic_path(out / "iso_strength.txt", suffix=".txt") as tmp:
            Path(tmp).write_text("\n".join(d.describe() for d in doses) + "\n")
    save_netcdf(lib, out / "library.nc")
    save_figure(plot_atlas(lib), out / "atlas.png")
    if len(subjects) >= 3:
        write_identifiability(lib, out)
    return lib


def write_identifiability(lib: xr.Dataset, out: str | os.PathLike) -> None:
    """How far the library's inference can be trusted, on its own virtual subjects.

    Writes ``confusion.nc`` and ``confusion.png`` (:func:`scenarios.inference.confusion_matrix`,
    leave-one-subject-out on the usable measures), ``recall.txt`` (per-site recall, the mean
    posterior of the true site and the pairs the battery cannot tell apart) and, when a site
    was simulated at two or more doses, ``coverage.png`` (the dose's credible intervals,
    :func:`scenarios.inference.dose_coverage`; its numbers in ``recall.txt``). For other
    populations and the power analysis, ``mnpool calibrate``.
    """
    from scenarios import inference as I
    from scenarios.inference.calibration import coverage_text
    from simulator.io import atomic_path, save_netcdf
    from simulator.plotting import save_figure
    out = Path(out)
    usable = usable_measures(lib)
    cm = I.confusion_matrix(lib, measures=usable)
    lines = [f"Left-out virtual subjects of this library ({lib.sizes['replicate']} per cell), "
             f"battery of {len(usable)} measures: accuracy {cm.attrs['accuracy']:.2f} "
             f"(chance {cm.attrs['chance']:.2f})", "",
             f"{'site':<28}{'recall':>8}{'P(true site)':>14}"]
    for s in cm.true_site.values:
        lines.append(f"{str(s):<28}{float(cm.sel(true_site=s, inferred_site=s)):>8.2f}"
                     f"{float(cm.true_posterior.sel(true_site=s)):>14.2f}")
    pairs = cm.attrs["not_identifiable"]
    lines += ["", f"Not identifiable: {', '.join(pairs) if pairs else 'none'}"]
    try:
        cov = I.dose_coverage(lib, measures=usable)
    except ConfigError:  # one dose per site: no dose interval to check
        cov = None
    if cov is not None:
        lines.append("Dose coverage (left-out subjects): " + coverage_text(cov.level.values, cov.coverage.values))
    save_netcdf(cm.to_dataset(name="confusion"), out / "confusion.nc")
    save_figure(I.plot_confusion(cm), out / "confusion.png")
    if cov is not None:
        save_figure(I.plot_coverage({"left-out subjects": cov}), out / "coverage.png")
    with atomic_path(out / "recall.txt", suffix=".txt") as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n")
