"""The commands of the scenario stage: ``sweep``, ``experiment``, ``train``, ``atlas``, ``infer`` and
``calibrate``.

Thin wrappers over :func:`scenarios.sweep.run_sweep`, :func:`scenarios.experiments.run`,
:func:`scenarios.training.run_training`, :func:`scenarios.atlas.run_atlas` and
:func:`scenarios.inference.run_inference`, registered in :mod:`simulator.commandline`.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from simulator.commandline import (add_common, add_out, add_where, interruptible, mark_output,
                                   prepare_out, register, scheduler_from_args, staged_output)
from simulator.config import ConfigError, load_toml
from simulator.engine import ENGINES

__all__ = ["run_sweep_command", "run_experiment", "run_train", "run_atlas_command", "run_infer",
           "run_calibrate", "run_designs_command"]


@contextmanager
def _resumable(args: argparse.Namespace, command: str, check: Callable[[], Any] | None = None
               ) -> Iterator[Path]:
    """``--out`` of a command that writes task by task and resumes: checked before any work
    (its own unfinished folder is accepted; ``--overwrite`` empties an earlier mnpool result),
    marked unfinished while it runs, complete at the end; SIGTERM/SIGINT stop it cleanly."""
    import shutil
    out = prepare_out(args, resume=command)
    if check is not None:
        check()
    from simulator.staging import MARKER
    created = not out.exists()
    with interruptible():
        if args.overwrite and out.is_dir():
            for entry in out.iterdir():  # prepare_out checked it is an mnpool result
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
        out.mkdir(parents=True, exist_ok=True)
        mark_output(out, command, complete=False)
        try:
            yield out
        except BaseException:
            # refused before any task ran (e.g. an unknown task function): leave no folder
            if created and {p.name for p in out.iterdir()} <= {MARKER, "failures.json"}:
                shutil.rmtree(out)
            raise
        mark_output(out, command, complete=True)


def _add_sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sweep", required=True, metavar="SWEEP.toml",
                   help="sweep file: [sweep] table of dotted config keys -> lists, optional zip, "
                        "function. The function runs code: use only sweep files you would run as "
                        "scripts")
    add_common(p, out=False)
    add_out(p, resumable=True)
    add_where(p)
    p.add_argument("--function", metavar="MODULE:FUNCTION", default=None,
                   help="task function config -> Dataset (overrides the sweep file's; "
                        "default scenarios.sweep:summarize). It is imported and run on every "
                        "worker, i.e. it runs code; it is imported from the installed packages, "
                        "never from the current folder")
    p.add_argument("--measure", metavar="NAME", default=None,
                   help="per-task measure plotted in sweep.png against the first swept key")


@register("sweep", "Run a parameter sweep on Dask; write one file per task, sweep.nc/.zarr and sweep.png. "
          "The sweep's task function runs code (module:function, imported from the installed packages, "
          "never from the current folder)", _add_sweep)
def run_sweep_command(args: argparse.Namespace) -> int:
    """``mnpool sweep --config BASE.toml --sweep SWEEP.toml --out DIR [--workers N | --scheduler A | --serial]``."""
    import dataclasses

    from scenarios import sweep as sw

    from simulator.simulation import load_config
    base = load_config(args.config, seed=args.seed)
    spec = sw.load_sweep(args.sweep)
    if args.function is not None:
        spec = dataclasses.replace(spec, function=args.function)
    with _resumable(args, "sweep", lambda: spec.tasks(base)) as out:
        res = sw.run_sweep(base, spec, out, scheduler=scheduler_from_args(args), workers=args.workers,
                           measure=args.measure, progress=not args.quiet)
    done = 0 if res.dataset is None else res.dataset.sizes["task"]
    print(f"mnpool sweep: {done} of {done + len(res.failures)} tasks finished "
          f"({res.executed} run, {res.skipped} already done); wrote {res.out}")
    if res.failures:
        print(f"mnpool sweep: {len(res.failures)} task(s) failed; see {res.out / 'failures.json'}")
        return 1
    return 0


# ---- contraction experiments (scenarios.experiments)
def _add_experiment(p: argparse.ArgumentParser) -> None:
    from scenarios.experiments import EXPERIMENTS
    p.add_argument("name", choices=sorted(EXPERIMENTS), help="experiment")
    add_common(p)
    p.add_argument("--engine", choices=ENGINES, default=None)
    p.add_argument("--save-activity", action="store_true",
                   help="also keep the simulated spikes and force, for 'mnpool emg --activity': "
                        "activity.nc (contraction) or activity/trial_NNN.nc (evoked, one per trial)")


def _keeping_simulator(folder: Path, single: bool):  # noqa: ANN202
    """``simulate`` that also saves every activity it returns in ``folder``."""
    import itertools

    from simulator.io import save_netcdf
    from simulator.simulation import simulate
    trials = itertools.count()

    def simulate_and_keep(cfg, **kwargs):  # noqa: ANN001, ANN202
        ds = simulate(cfg, **kwargs)
        k = next(trials)
        save_netcdf(ds, folder / ("activity.nc" if single else f"activity/trial_{k:03d}.nc"))
        return ds
    return simulate_and_keep


def _experiment_report(ds, name: str, staging: Path, contraction: bool, subject, protocol,  # noqa: ANN001
                       command: str) -> None:
    """``report.html`` of an experiment: its figure, its scalar outcomes, config and files."""
    from simulator.report import Table, write_report
    rows = [[v, float(ds[v]), ds[v].attrs.get("units", "")] for v in ds.data_vars if ds[v].ndim == 0]
    tables = [Table("Outcomes", ["outcome", "value", "units"], rows)]
    if contraction and "recruitment_threshold" in ds:
        cols = [c for c in ("recruitment_threshold", "derecruitment_threshold", "rate_at_recruitment",
                            "discharge_rate", "delta_f") if c in ds]
        fired = [int(u) for u in ds["unit"].values if np.isfinite(float(ds["recruitment_threshold"].sel(unit=u)))]
        tables.append(Table(f"Motor units ({len(fired)} recruited; definitions: "
                            f"{ds.attrs.get('definitions', 'openhdemg')})",
                            ["unit", *[f"{c} [{ds[c].attrs.get('units', '')}]" for c in cols]],
                            [[u, *[float(ds[c].sel(unit=u)) for c in cols]] for u in fired]))
    files = ["experiment.nc", "activity.nc", "activity"]
    write_report(staging, title=f"mnpool experiment {name}", command=command,
                 summary=f"Virtual experiment '{name}' on a {subject.pool.n_units}-unit subject "
                         f"(seed {subject.seed}).",
                 figures=[("experiment.png", f"{name}: measured outcomes")], tables=tables,
                 config={"subject": subject.to_dict(), name: protocol.to_dict()}, data_files=files)


@register("experiment", "Run a virtual experiment on a subject: contractions (mvc, trapezoid, triangle, "
          "ballistic) or evoked responses (h_reflex, v_wave, mep, sici, silent_period, cmep, startle)",
          _add_experiment)
def run_experiment(args: argparse.Namespace) -> int:
    """``mnpool experiment NAME --config FILE --out DIR [--save-activity]``: subject from the
    config's simulation tables, protocol from its ``[NAME]`` table; writes ``experiment.nc``,
    ``experiment.png``, ``report.html`` and, with ``--save-activity``, the activity."""
    from scenarios.evoked import plot_experiment
    from scenarios.experiments import CONTRACTIONS, EXPERIMENTS, run
    from scenarios.session import Session
    from simulator.io import save_netcdf
    from simulator.plotting import plot_unit_summary, save_figure
    from simulator.simulation import load_config, simulate
    data = load_toml(args.config) if args.config else {}
    protocol = EXPERIMENTS[args.name].from_dict(data.get(args.name, {}))
    subject = load_config(args.config, seed=args.seed, engine=args.engine,
                          ignore=tuple(EXPERIMENTS))
    out = prepare_out(args)
    contraction = args.name in CONTRACTIONS
    with staged_output(out, command="experiment", overwrite=args.overwrite) as staging:
        # the run happens inside the staging folder so that --save-activity can write into it
        sim = _keeping_simulator(staging, contraction) if getattr(args, "save_activity", False) \
            else simulate
        ds = run(subject, protocol, session=Session(subject, simulator=sim))
        save_netcdf(ds, staging / "experiment.nc")
        save_figure(plot_unit_summary(ds) if contraction else plot_experiment(ds), staging / "experiment.png")
        _experiment_report(ds, args.name, staging, contraction, subject, protocol,
                           f"mnpool experiment {args.name}")
    if not args.quiet:
        if contraction:
            print(f"mnpool experiment {args.name}: MVC {float(ds.mvc_n):.0f} N, plateau force "
                  f"{float(ds.force_mean):.1f} %MVC, mean rate {float(ds.mean_rate):.1f} pps -> {out}")
        else:
            outcomes = ", ".join(f"{v} {float(ds[v]):.3g} {ds[v].attrs.get('units', '')}".rstrip()
                                 for v in ds.data_vars if ds[v].ndim == 0)
            print(f"mnpool experiment {args.name}: {outcomes} -> {out}")
    return 0


def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario TOML file or library name (see scenarios/library)")
    add_out(p, resumable=True)
    p.add_argument("--subjects", type=int, default=None, metavar="N", help="override cohort.n_subjects")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_where(p)


@register("train", "Run a training scenario on a virtual cohort; print simulated vs published changes",
          _add_train)
def run_train(args: argparse.Namespace) -> int:
    """``mnpool train SCENARIO --out DIR``: writes ``signature.nc``, ``signature.png``,
    ``comparison.txt`` (simulated mean change [95 % CI] and d_z next to the published change) and
    ``report.html``."""
    import dataclasses

    from scenarios import training as T
    scenario = T.load_scenario(args.scenario)
    if args.subjects is not None:
        scenario = dataclasses.replace(scenario, cohort=scenario.cohort.replace(n_subjects=args.subjects))
    from scenarios.reports import training_report
    with _resumable(args, "train") as out:
        sig = T.run_training(scenario, out, scheduler=scheduler_from_args(args), workers=args.workers,
                             progress=not args.quiet)
        training_report(out, sig, scenario, command=f"mnpool train {args.scenario}")
    print(f"mnpool train: {scenario.name} ({scenario.reference}), adaptation {dict(scenario.adaptation)}, "
          f"{int(sig.sizes['subject'])} subjects -> {args.out}")
    print(T.comparison_table(sig, scenario.published))
    return 1 if sig.attrs.get("n_failed") else 0


def _add_designs(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenarios", nargs="*", metavar="NAME",
                   help="library scenarios (default: all of scenarios/library)")
    add_out(p, resumable=True)
    p.add_argument("--subjects", type=int, default=None, metavar="N",
                   help="override every cohort's size (default: each study's own n)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_where(p)


@register("designs", "Run every published training design at its stated n with the full battery; "
          "table of published outcomes vs simulated 95 %% CI (fitted or predicted)", _add_designs)
def run_designs_command(args: argparse.Namespace) -> int:
    """``mnpool designs [NAME ...] --out DIR``: one folder per scenario and ``designs.md`` (the
    README's table of published designs)."""
    from scenarios import designs as D
    D.library_scenarios(args.scenarios or None)  # unknown names: exit 2 before any work
    if args.subjects is not None and args.subjects < 2:
        raise ConfigError(f"--subjects {args.subjects}: a cohort needs at least 2 subjects")
    with _resumable(args, "designs") as out:
        results = D.run_designs(out, args.scenarios or None, n_subjects=args.subjects,
                                scheduler=scheduler_from_args(args), workers=args.workers,
                                progress=not args.quiet)
    print((Path(args.out) / "designs.md").read_text(), end="")
    return 1 if any(sig.attrs.get("n_failed") for _, sig in results.values()) else 0


def _percent_list(text: str) -> list[float]:
    """``"10,20"`` -> ``[10.0, 20.0]``: non-zero finite MVC changes in % (argparse type)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers (e.g. 10,20)") from None
    bad = [v for v in values if v == 0 or v != v or abs(v) > 200]
    if bad:
        raise argparse.ArgumentTypeError(f"{text!r}: MVC changes must be non-zero and within +-200 %")
    return values


def _add_atlas(p: argparse.ArgumentParser) -> None:
    add_common(p, out=False)
    add_out(p, resumable=True)
    p.add_argument("--sites", nargs="+", default=None, metavar="SITE", help="sites (default: all)")
    p.add_argument("--magnitudes", nargs="+", type=float, default=[0.3], metavar="CHANGE",
                   help="relative changes applied to every site (default 0.3)")
    p.add_argument("--iso-mvc", type=_percent_list, default=None, metavar="PCT[,PCT...]", help=(
        "compare sites at equal strength gain instead: for each MVC change in %% (e.g. 10,20) find "
        "every site's dose that gives it in the reference subject, then run the cohort at it "
        "(replaces --magnitudes)"))
    p.add_argument("--subjects", type=int, default=3, metavar="N", help="virtual subjects (default 3)")
    add_where(p)


@register("atlas", "Adapt every site by a standard magnitude; write the site x measure heatmap, the "
          "reference library for 'mnpool infer', the confusion matrix and the per-site recall", _add_atlas)
def run_atlas_command(args: argparse.Namespace) -> int:
    """``mnpool atlas --config BASE.toml --out DIR``: the subject from the config, the cohort from
    its ``[cohort]`` table, the battery from its ``[battery]`` table; writes ``library.nc``,
    ``atlas.png``, the confusion matrix, ``recall.txt`` and the dose coverage curve (>= 3
    subjects; :func:`scenarios.atlas.write_identifiability`) and ``report.html``."""
    from scenarios import atlas as A
    base, cohort, battery = A.atlas_inputs(args.config, subjects=args.subjects, seed=args.seed)
    from scenarios.reports import atlas_report
    with _resumable(args, "atlas") as out:
        lib = A.run_atlas(base, out, sites=args.sites, magnitudes=args.magnitudes,
                          cohort=cohort, battery=battery, scheduler=scheduler_from_args(args),
                          workers=args.workers, progress=not args.quiet, iso_mvc=args.iso_mvc,
                          command=args.command_line)
        atlas_report(out, lib, command="mnpool atlas",
                     config={"subject": base.to_dict(), "cohort": cohort.to_dict(), "battery": battery.to_dict(),
                             "sites": [str(s) for s in lib.site.values[1:]], "magnitudes": args.magnitudes,
                             "iso_mvc_pct": args.iso_mvc})
    print(f"mnpool atlas: {lib.sizes['site'] - 1} sites x {lib.sizes['magnitude']} magnitude(s) x "
          f"{lib.sizes['replicate']} subjects -> {args.out}/library.nc, atlas.png")
    if args.iso_mvc is not None:
        print((Path(args.out) / "iso_strength.txt").read_text(), end="")
    return 0


def _add_infer(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", required=True, metavar="LIBRARY.nc", help="reference library from 'mnpool atlas'")
    p.add_argument("--observed", required=True, metavar="OBSERVED.toml",
                   help="observed changes: [measures.NAME] change = x, sd = s")
    add_out(p)
    p.add_argument("--no-pairs", action="store_true", help="single sites only")
    _add_allow_other_model(p)
    p.add_argument("--seed", type=int, default=0)


def _add_allow_other_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--allow-other-model", action="store_true", help=(
        "use a library simulated by another model (its model_fingerprint differs from this "
        "mnpool's); refused by default"))


@register("infer", "Posterior probability of each site (and pair of sites) given observed pre-post changes, "
          "and which measurement to add next", _add_infer)
def run_infer(args: argparse.Namespace) -> int:
    """``mnpool infer --library L.nc --observed OBS.toml --out DIR``: writes ``posterior.nc``,
    ``summary.txt``, ``posterior.png``, ``information_gain.png`` and ``report.html``."""
    from scenarios import inference as I
    from scenarios.reports import inference_report
    from simulator.io import load_netcdf
    out = prepare_out(args)
    with staged_output(out, command="infer", overwrite=args.overwrite) as staging:
        I.run_inference(args.library, args.observed, staging, pairs=not args.no_pairs, seed=args.seed,
                        allow_other_model=args.allow_other_model)
        summary = (staging / "summary.txt").read_text()
        inference_report(staging, load_netcdf(staging / "posterior.nc"), command="mnpool infer",
                         config={"library": str(Path(args.library).absolute()),
                                 "observed": str(Path(args.observed).absolute()),
                                 "pairs": not args.no_pairs, "seed": args.seed})
    print(summary + f"mnpool infer: wrote {out}")
    return 0


def _size_list(text: str) -> list[int]:
    """``--sizes 5,10,20``: increasing cohort sizes >= 1."""
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give increasing integers >= 1, e.g. 5,10,20,40") from None
    if not sizes or min(sizes) < 1 or any(b <= a for a, b in zip(sizes, sizes[1:])):
        raise argparse.ArgumentTypeError(f"{text!r}: give increasing integers >= 1, e.g. 5,10,20,40")
    return sizes


def _add_calibrate(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", required=True, metavar="LIBRARY.nc", help="reference library from 'mnpool atlas'")
    p.add_argument("--held-out", default=None, metavar="OTHER.nc", help=(
        "library of other virtual subjects (e.g. an atlas of a population with other base "
        "parameters): recall and dose coverage on subjects the library was not built from"))
    p.add_argument("--measures", nargs="+", default=None, metavar="MEASURE",
                   help="the battery (default: every measure obtained in every simulated cell)")
    p.add_argument("--sizes", type=_size_list, default=[5, 10, 20, 40, 80], metavar="N[,N...]",
                   help="cohort sizes of the power analysis (default 5,10,20,40,80)")
    p.add_argument("--abc", action="store_true", help=(
        "also cross-check with ABC-SMC model selection (pyabc; pip install 'mnpool[abc]'): both "
        "methods on the same left-out subjects, minutes"))
    p.add_argument("--abc-per-cell", type=_positive_int, default=2, metavar="N",
                   help="left-out subjects per (site, dose) cell of the ABC cross-check (default 2)")
    _add_allow_other_model(p)
    add_out(p)
    p.add_argument("--seed", type=int, default=0)


def _positive_int(text: str) -> int:
    """``--abc-per-cell 2``: an integer in [1, 1000]."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"{text!r}: give an integer from 1 to 1000")
    return value


@register("calibrate", "How far a library's inference can be trusted: recall per site on left-out "
          "and held-out subjects, coverage of the dose's credible intervals, and the cohort size "
          "each site needs", _add_calibrate)
def run_calibrate(args: argparse.Namespace) -> int:
    """``mnpool calibrate --library L.nc [--held-out H.nc] [--abc] --out DIR``: writes
    ``calibration.nc``, ``calibration.txt``, ``confusion.png`` (``confusion_held_out.png``,
    ``confusion_abc.png``), ``coverage.png`` and ``power.png``."""
    from scenarios import inference as I
    out = prepare_out(args)
    with staged_output(out, command="calibrate", overwrite=args.overwrite) as staging:
        I.run_calibration(args.library, staging, held_out_path=args.held_out, measures=args.measures,
                          sizes=args.sizes, seed=args.seed, abc=args.abc, abc_per_cell=args.abc_per_cell,
                          allow_other_model=args.allow_other_model)
        summary = (staging / "calibration.txt").read_text()
    print(summary + f"mnpool calibrate: wrote {out}")
    return 0
