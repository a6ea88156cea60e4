"""The commands of the scenario stage: ``sweep``, ``experiment``, ``train``, ``atlas`` and ``infer``.

Thin wrappers over :func:`scenarios.sweep.run_sweep`, :func:`scenarios.experiments.run`,
:func:`scenarios.training.run_training`, :func:`scenarios.atlas.run_atlas` and
:func:`scenarios.inference.run_inference`, registered in :mod:`simulator.commandline`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from simulator.commandline import (add_common, add_where, prepare_out, publish, register,
                                   scheduler_from_args)
from simulator.config import load_toml

__all__ = ["run_sweep_command", "run_experiment", "run_train", "run_atlas_command", "run_infer"]


def _add_sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sweep", required=True, metavar="SWEEP.toml",
                   help="sweep file: [sweep] table of dotted config keys -> lists, optional zip, function")
    add_common(p)
    add_where(p)
    p.add_argument("--function", metavar="MODULE:FUNCTION", default=None,
                   help="task function config -> Dataset (overrides the sweep file's; "
                        "default scenarios.sweep:summarize)")
    p.add_argument("--measure", metavar="NAME", default=None,
                   help="per-task measure plotted in sweep.png against the first swept key")


@register("sweep", "Run a parameter sweep on Dask; write one file per task, sweep.nc/.zarr and sweep.png",
          _add_sweep)
def run_sweep_command(args: argparse.Namespace) -> int:
    """``mnpool sweep --config BASE.toml --sweep SWEEP.toml --out DIR [--workers N | --scheduler A | --serial]``."""
    import dataclasses

    from scenarios import sweep as sw

    from simulator.simulation import load_config
    base = load_config(args.config, seed=args.seed)
    spec = sw.load_sweep(args.sweep)
    if args.function is not None:
        spec = dataclasses.replace(spec, function=args.function)
    res = sw.run_sweep(base, spec, prepare_out(args.out), scheduler=scheduler_from_args(args), workers=args.workers,
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
    p.add_argument("--engine", choices=("runtime", "standalone"), default=None)


@register("experiment", "Run a virtual experiment on a subject: contractions (mvc, trapezoid, triangle, "
          "ballistic) or evoked responses (h_reflex, v_wave, mep, sici, silent_period, cmep, startle)",
          _add_experiment)
def run_experiment(args: argparse.Namespace) -> int:
    """``mnpool experiment NAME --config FILE --out DIR``: subject from the config's simulation
    tables, protocol from its ``[NAME]`` table; writes ``experiment.nc`` and ``experiment.png``."""
    from scenarios.evoked import plot_experiment
    from scenarios.experiments import CONTRACTIONS, EXPERIMENTS, run
    from simulator.io import save_netcdf
    from simulator.plotting import plot_unit_summary, save_figure
    from simulator.simulation import load_config
    data = load_toml(args.config) if args.config else {}
    protocol = EXPERIMENTS[args.name].from_dict(data.get(args.name, {}))
    subject = load_config(args.config, seed=args.seed, engine=args.engine,
                          ignore=tuple(EXPERIMENTS))
    out = prepare_out(args.out)
    ds = run(subject, protocol)
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        staging = Path(tmp)
        save_netcdf(ds, staging / "experiment.nc")
        contraction = args.name in CONTRACTIONS
        save_figure(plot_unit_summary(ds) if contraction else plot_experiment(ds), staging / "experiment.png")
        publish(staging, out)
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
    p.add_argument("--out", metavar="DIR", required=True, help="output folder (created)")
    p.add_argument("--subjects", type=int, default=None, metavar="N", help="override cohort.n_subjects")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_where(p)


@register("train", "Run a training scenario on a virtual cohort; print simulated vs published changes",
          _add_train)
def run_train(args: argparse.Namespace) -> int:
    """``mnpool train SCENARIO --out DIR``: writes ``signature.nc``, ``signature.png`` and
    ``comparison.txt`` (simulated mean change [95 % CI] and d_z next to the published change)."""
    import dataclasses

    from scenarios import training as T
    scenario = T.load_scenario(args.scenario)
    if args.subjects is not None:
        scenario = dataclasses.replace(scenario, cohort=scenario.cohort.replace(n_subjects=args.subjects))
    sig = T.run_training(scenario, prepare_out(args.out), scheduler=scheduler_from_args(args), workers=args.workers,
                         progress=not args.quiet)
    print(f"mnpool train: {scenario.name} ({scenario.reference}), adaptation {dict(scenario.adaptation)}, "
          f"{int(sig.sizes['subject'])} subjects -> {args.out}")
    print(T.comparison_table(sig, scenario.published))
    return 1 if sig.attrs.get("n_failed") else 0


def _add_atlas(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--sites", nargs="+", default=None, metavar="SITE", help="sites (default: all)")
    p.add_argument("--magnitudes", nargs="+", type=float, default=[0.3], metavar="CHANGE",
                   help="relative changes applied to every site (default 0.3)")
    p.add_argument("--subjects", type=int, default=3, metavar="N", help="virtual subjects (default 3)")
    add_where(p)


@register("atlas", "Adapt every site by a standard magnitude; write the site x measure heatmap, the "
          "reference library for 'mnpool infer' and the confusion matrix", _add_atlas)
def run_atlas_command(args: argparse.Namespace) -> int:
    """``mnpool atlas --config BASE.toml --out DIR``: the subject from the config, the cohort from
    its ``[cohort]`` table, the battery from its ``[battery]`` table."""
    from scenarios import atlas as A
    from scenarios import cohort as C
    from scenarios import training as T
    from simulator.simulation import load_config
    data = load_toml(args.config) if args.config else {}
    base = load_config(args.config, seed=args.seed, ignore=("cohort", "battery"))
    cohort = C.CohortConfig.from_dict(data.get("cohort", {})).replace(n_subjects=args.subjects)
    battery = T.BatteryConfig.from_dict(data.get("battery", {}))
    lib = A.run_atlas(base, prepare_out(args.out), sites=args.sites, magnitudes=args.magnitudes,
                      cohort=cohort, battery=battery, scheduler=scheduler_from_args(args), workers=args.workers,
                      progress=not args.quiet)
    print(f"mnpool atlas: {lib.sizes['site'] - 1} sites x {lib.sizes['magnitude']} magnitude(s) x "
          f"{lib.sizes['replicate']} subjects -> {args.out}/library.nc, atlas.png")
    return 0


def _add_infer(p: argparse.ArgumentParser) -> None:
    p.add_argument("--library", required=True, metavar="LIBRARY.nc", help="reference library from 'mnpool atlas'")
    p.add_argument("--observed", required=True, metavar="OBSERVED.toml",
                   help="observed changes: [measures.NAME] change = x, sd = s")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder (created)")
    p.add_argument("--no-pairs", action="store_true", help="single sites only")
    p.add_argument("--seed", type=int, default=0)


@register("infer", "Posterior probability of each site (and pair of sites) given observed pre-post changes, "
          "and which measurement to add next", _add_infer)
def run_infer(args: argparse.Namespace) -> int:
    """``mnpool infer --library L.nc --observed OBS.toml --out DIR``: writes ``posterior.nc``,
    ``summary.txt``, ``posterior.png`` and ``information_gain.png``."""
    from scenarios import inference as I
    out = I.run_inference(args.library, args.observed, prepare_out(args.out), pairs=not args.no_pairs,
                          seed=args.seed)
    print((Path(out) / "summary.txt").read_text() + f"mnpool infer: wrote {out}")
    return 0
