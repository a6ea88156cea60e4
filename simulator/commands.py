"""Implementations of the ``mnpool`` subcommands (registered into :mod:`simulator.cli`)."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .cli import add_common, register
from .config import ConfigError, load_toml
from .engine import ENGINES

__all__ = ["run_simulate", "run_demo", "emg_config_from_args", "add_emg_arguments",
           "check_emg_outputs", "emg_outputs", "run_emg"]


def _prepare_out(out: str) -> Path:
    """Check that ``out`` can be written before any long work starts."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"--out {out!r} exists and is not a folder")
    return p


def _publish(staging: Path, out: Path) -> None:
    """Move every file of ``staging`` into ``out`` (created), so a failed run writes nothing."""
    out.mkdir(parents=True, exist_ok=True)
    for f in staging.iterdir():
        shutil.move(str(f), out / f.name)


def _simulate_args(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--engine", choices=ENGINES, default=None,
                   help="Brian2 engine (overrides the config's; default auto: standalone where a "
                        "C++ compiler works)")
    p.add_argument("--emg", action="store_true",
                   help="also synthesise the HD-sEMG recording (settings: [emg] table and flags below)")
    add_emg_arguments(p)


@register("simulate", "Simulate a motoneuron pool performing a task; write the activity Dataset and figures",
          _simulate_args)
def run_simulate(args: argparse.Namespace) -> int:
    """``mnpool simulate --config FILE --out DIR [--seed N] [--engine E]``."""
    from .simulation import load_config
    cfg = load_config(args.config, seed=args.seed, engine=args.engine)
    emg = None
    if args.emg:  # validate the EMG settings before the (long) simulation
        emg_cfg = emg_config_from_args(args)
        emg = (emg_cfg, check_emg_outputs(emg_cfg, args.format), not args.no_figures)
    out = _prepare_out(args.out)
    return _simulate_and_write(cfg, out, progress=not args.quiet, emg=emg)


def _simulate_and_write(cfg, out: Path, *, progress: bool, emg=None) -> int:  # noqa: ANN001
    """Simulate, then write the activity Dataset, its figures, the config and (optionally) the
    EMG recording into a staging folder that is moved into ``out`` only when all succeeded."""
    from .io import save_netcdf
    from .plotting import plot_activity, plot_pathways, save_figure
    from .simulation import simulate
    ds = simulate(cfg, progress=progress)
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        staging = Path(tmp)
        save_netcdf(ds, staging / "activity.nc")
        save_figure(plot_activity(ds), staging / "activity.png")
        save_figure(plot_pathways(ds), staging / "pathways.png")
        (staging / "config.toml").write_text(_to_toml(cfg.to_dict()))
        if emg is not None:
            emg_cfg, formats, figures = emg
            emg_outputs(ds, emg_cfg, staging, formats, seed=cfg.seed, progress=progress,
                        figures=figures)
        _publish(staging, out)
    if progress:
        print(f"wrote {out / 'activity.nc'} ({ds.sizes['spike']} spikes, {ds.sizes['unit']} units) "
              f"and {out / 'activity.png'}")
    return 0


def _to_toml(data: dict, prefix: str = "") -> str:
    """Minimal TOML writer for nested config dicts (numbers, strings, booleans, lists)."""
    import json
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines = []
    if prefix and scalars:
        lines.append(f"[{prefix}]")
    for k, v in scalars.items():
        val = ("true" if v else "false") if isinstance(v, bool) else json.dumps(v)
        lines.append(f"{k} = {val}")
    text = "\n".join(lines) + ("\n\n" if lines else "")
    for k, v in tables.items():
        text += _to_toml(v, f"{prefix}.{k}" if prefix else k)
    return text


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", default="demo_output", help="output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


@register("demo", "Default scenario end to end: 200-unit pool, 30 %%MVC trapezoid, HD-sEMG, figures",
          _demo_args)
def run_demo(args: argparse.Namespace) -> int:
    """``mnpool demo [--out DIR]``: the default trapezoid at 30 %MVC on a 200-unit pool."""
    from .emg import EmgConfig
    from .simulation import SimulationConfig
    cfg = SimulationConfig(seed=args.seed)
    out = _prepare_out(args.out)
    emg_cfg = EmgConfig()
    return _simulate_and_write(cfg, out, progress=not args.quiet,
                               emg=(emg_cfg, check_emg_outputs(emg_cfg, "netcdf"), True))


# ---- decomposition, scoring and benchmark suites (validation package)

def _load_recording(path: str):
    """Load a recording Dataset for a command (FileNotFoundError -> 'mnpool: error')."""
    from .io import load_netcdf
    return load_netcdf(path)


def _decomposition_config(args):
    from validation.decomposition import DecompositionConfig

    from .config import load_toml
    data = load_toml(args.config).get("decomposition", {}) if args.config else {}
    cfg = DecompositionConfig.from_dict(data)
    return cfg.replace(seed=args.seed) if args.seed is not None else cfg


def _add_decompose(p):
    from .cli import add_common
    p.add_argument("--recording", required=True, metavar="REC.nc", help="recording Dataset")
    add_common(p)


def _add_score(p):
    from simulator.io import DECOMPOSITION_FORMATS
    p.add_argument("--recording", required=True, metavar="REC.nc",
                   help="recording Dataset with ground truth")
    p.add_argument("--decomposition", required=True, metavar="FILE",
                   help="decomposition: mnpool .nc, openhdemg .json, MUedit/DEMUSE .mat, CSV")
    p.add_argument("--format", choices=DECOMPOSITION_FORMATS, default=None,
                   help="format of FILE (guessed from its suffix and content if omitted)")
    p.add_argument("--out", metavar="DIR", default=None, help="write score.csv/score.nc here")


def _add_benchmark(p):
    from .cli import add_common
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    make = sub.add_parser("make", help="generate a suite of recordings with ground truth")
    add_common(make)
    make.add_argument("--toy", action="store_true",
                      help="use the test-fixture generator instead of the full simulator")
    run = sub.add_parser("run", help="decompose every recording of a suite with mnpool")
    run.add_argument("--suite", required=True, metavar="DIR")
    add_common(run)
    sc = sub.add_parser("score", help="score any tool's decompositions of a suite")
    sc.add_argument("--suite", required=True, metavar="DIR")
    sc.add_argument("--decompositions", required=True, metavar="DIR",
                    help="one file per recording, named <id>.<ext>")
    sc.add_argument("--format", default=None, help="format of the files (guessed if omitted)")
    sc.add_argument("--tool", default="", help="name of the tool, recorded in the table")
    add_common(sc, config=False)


@register("decompose", "decompose an HD-sEMG recording into motor units (Negro et al. 2016)",
          _add_decompose)
def _run_decompose(args) -> int:
    from pathlib import Path

    from validation.decomposition import decompose
    from validation.figures import plot_raster, plot_sources
    from validation.metrics import score

    from .io import save_netcdf
    cfg = _decomposition_config(args)        # validated before any work
    rec = _load_recording(args.recording)
    dec = decompose(rec, cfg, progress=not args.quiet)
    out = Path(args.out)
    sc = score(dec, rec) if "spike_unit" in rec else None
    save_netcdf(dec, out / "decomposition.nc")
    plot_sources(dec, out / "sources.png")
    plot_raster(dec, out / "raster.png", rec, sc)
    msg = f"{dec.sizes['unit']} units in {dec.attrs['elapsed_s']:.1f} s"
    if sc is not None:
        save_netcdf(sc, out / "score.nc")
        msg += f"; {sc.attrs['n_found']} of {sc.attrs['n_true_active']} true units found (RoA >= 0.9)"
    print(f"mnpool decompose: {msg}; wrote {out}")
    return 0


@register("score", "score a decomposition (any tool) against a recording's ground truth",
          _add_score)
def _run_score(args) -> int:
    from pathlib import Path

    from validation.benchmark import score_file

    from .io import atomic_path, save_netcdf
    sc = score_file(args.recording, args.decomposition, fmt=args.format)
    cols = [c for c in ("roa", "sensitivity", "precision", "lag_s", "recruitment_excitation",
                        "depth_mm", "muap_ptp_uv") if c in sc]
    table = sc[cols + ["matched_estimate", "found"]].to_dataframe()
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    print(", ".join(f"{k} {sc.attrs[k]}" for k in ("n_true_active", "n_estimated", "n_matched",
                                                   "n_found", "n_duplicates")))
    if args.out:
        out = Path(args.out)
        save_netcdf(sc, out / "score.nc")
        with atomic_path(out / "score.csv", suffix=".csv") as tmp:
            table.to_csv(tmp)
    return 0


@register("benchmark", "benchmark suites: make recordings, run mnpool, score any tool",
          _add_benchmark)
def _run_benchmark(args) -> int:
    from pathlib import Path

    from validation import benchmark as bm

    from .config import load_toml
    from .io import atomic_path, save_netcdf
    if args.action == "make":
        data = load_toml(args.config).get("benchmark", {}) if args.config else {}
        cfg = bm.SuiteConfig.from_dict(data)
        if args.seed is not None:
            cfg = cfg.replace(seed=args.seed)
        factory = bm.toy_factory if args.toy else bm.simulated_recording
        if not args.toy:
            try:
                from simulator import emg, network  # noqa: F401
            except ImportError as exc:
                raise ConfigError("benchmark make needs simulator.network and simulator.emg, "
                                  "not available yet; use --toy for the test-fixture suite") from exc
        path = bm.make_suite(args.out, cfg, factory=factory, progress=not args.quiet)
        print(f"mnpool benchmark: wrote {path}")
    elif args.action == "run":
        cfg = _decomposition_config(args)
        files = bm.run_suite(args.suite, args.out, cfg, progress=not args.quiet)
        print(f"mnpool benchmark: {len(files)} decompositions in {args.out}")
    else:
        units, summary = bm.score_suite(args.suite, args.decompositions, fmt=args.format,
                                        tool=args.tool)
        out = Path(args.out)
        save_netcdf(summary, out / "summary.nc")
        with atomic_path(out / "units.csv", suffix=".csv") as tmp:
            units.to_csv(tmp, index=False)
        bm.suite_figures(units, out)
        print(summary.to_dataframe().to_string())



def add_emg_arguments(p: argparse.ArgumentParser) -> None:
    """EMG options shared by ``mnpool emg`` and ``mnpool simulate --emg``.

    Each one overrides the matching field of the ``[emg]`` table of ``--config``.
    """
    from .electrodes import GRIDS, MONTAGES
    from .io import FORMATS
    g = p.add_argument_group("HD-sEMG")
    g.add_argument("--grid", metavar="NAME", help=f"electrode grid: {', '.join(GRIDS)} or custom")
    g.add_argument("--montage", choices=MONTAGES, help="recorded derivation (default monopolar)")
    g.add_argument("--snr", type=float, metavar="DB", help="signal-to-noise ratio in dB (default 20)")
    g.add_argument("--fs", type=float, metavar="HZ", help="EMG sampling rate (default 2048)")
    g.add_argument("--format", default="netcdf", metavar="LIST",
                   help=f"comma-separated output formats: {', '.join(FORMATS)} (default netcdf)")
    g.add_argument("--no-cache", action="store_true", help="recompute MUAP templates")
    g.add_argument("--no-figures", action="store_true", help="do not write PNG figures")


def emg_config_from_args(args: argparse.Namespace) -> Any:
    """Build the validated :class:`simulator.emg.EmgConfig` from ``--config`` and the EMG flags.

    Raises
    ------
    ConfigError
        Unknown keys, out-of-range values, a grid that does not fit over the muscle.
    """
    from .emg import EmgConfig
    table: dict[str, Any] = {}
    if getattr(args, "config", None):
        table = dict(load_toml(args.config).get("emg", {}))
    grid = dict(table.get("grid", {}))
    if args.grid is not None:
        grid["name"] = args.grid
    if args.montage is not None:
        grid["montage"] = args.montage
    if grid:
        table["grid"] = grid
    if args.snr is not None:
        table["snr_db"] = args.snr
    if args.fs is not None:
        table["fs_hz"] = args.fs
    return EmgConfig.from_dict(table)


def _add_emg_command(p: argparse.ArgumentParser) -> None:
    p.add_argument("--activity", required=True, metavar="ACTIVITY.nc",
                   help="activity Dataset written by `mnpool simulate`")
    add_common(p)
    add_emg_arguments(p)


def check_emg_outputs(cfg: Any, formats: str | list[str]) -> list[str]:
    """Check that ``cfg`` can be written in ``formats`` (call before any work); return the list.

    Raises
    ------
    ConfigError
        Unknown format, a non-integer rate for BIDS, a non-monopolar montage for MUedit.
    """
    from .io import parse_formats
    fmts = parse_formats(formats)
    if "bids" in fmts and abs(cfg.fs_hz - round(cfg.fs_hz)) > 1e-9:
        raise ConfigError(f"format 'bids' needs an integer sampling rate; emg.fs_hz = {cfg.fs_hz!r}")
    if "mat" in fmts and cfg.grid.montage != "monopolar":
        raise ConfigError(f"format 'mat' (MUedit) needs a monopolar recording; "
                          f"emg.grid.montage = {cfg.grid.montage!r}")
    return fmts


def emg_outputs(activity: Any, cfg: Any, out: str | Path, formats: list[str], *, seed: int | None,
                cache: bool = True, progress: bool = False, figures: bool = True) -> dict[str, Path]:
    """Synthesise the recording of ``activity`` and write its formats and figures into ``out``.

    The piece ``mnpool emg`` and ``mnpool simulate --emg`` share: call :func:`check_emg_outputs`
    and :func:`simulator.emg.check_activity` first, so bad input fails before any work.

    Returns
    -------
    dict of str to Path
        Written files by format (and figure name).
    """
    from .emg import synthesize
    from .io import write_recording
    rec = synthesize(activity, cfg, seed=seed, cache=cache, progress=progress)
    written = write_recording(rec, out, formats)
    if figures:
        from .plotting import emg_figures
        written.update({p.stem: p for p in emg_figures(rec, out)})
    if progress:
        print(f"mnpool emg: {rec.sizes['channel']} channels x {rec.sizes['time'] / cfg.fs_hz:g} s, "
              f"{rec.sizes['unit']} units, SNR {rec.attrs['snr_measured_db']:.2f} dB")
    return written


@register("emg", "synthesise HD-sEMG (with ground truth) from an activity Dataset", _add_emg_command)
def run_emg(args: argparse.Namespace) -> int:
    """``mnpool emg``: validate everything, synthesise, write the formats and figures."""
    from .emg import check_activity
    from .io import load_netcdf

    # Every check happens before any work or any write.
    cfg = emg_config_from_args(args)
    formats = check_emg_outputs(cfg, args.format)
    activity = load_netcdf(args.activity)
    check_activity(activity)
    seed = args.seed if args.seed is not None else activity.attrs.get("seed")
    written = emg_outputs(activity, cfg, args.out, formats, seed=seed, cache=not args.no_cache,
                          progress=not args.quiet, figures=not args.no_figures)
    if not args.quiet:
        for key, path in written.items():
            print(f"  {key}: {Path(path)}")
    return 0


# ---- sweeps on Dask (scenarios.sweep)

def _add_where(p: argparse.ArgumentParser) -> None:
    """Where the tasks of a multi-run command run: local workers, a scheduler, or serially."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="local Dask worker processes (default: one per core)")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="connect to a running Dask scheduler, e.g. tcp://host:8786")
    where.add_argument("--serial", action="store_true", help="run in this process, without Dask")


def _scheduler(args: argparse.Namespace) -> Any:
    return "serial" if args.serial else args.scheduler


def _add_sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument("--sweep", required=True, metavar="SWEEP.toml",
                   help="sweep file: [sweep] table of dotted config keys -> lists, optional zip, function")
    add_common(p)
    _add_where(p)
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

    from .simulation import load_config
    base = load_config(args.config, seed=args.seed)
    spec = sw.load_sweep(args.sweep)
    if args.function is not None:
        spec = dataclasses.replace(spec, function=args.function)
    res = sw.run_sweep(base, spec, _prepare_out(args.out), scheduler=_scheduler(args), workers=args.workers,
                       measure=args.measure, progress=not args.quiet)
    done = 0 if res.dataset is None else res.dataset.sizes["task"]
    print(f"mnpool sweep: {done} of {done + len(res.failures)} tasks finished "
          f"({res.executed} run, {res.skipped} already done); wrote {res.out}")
    if res.failures:
        print(f"mnpool sweep: {len(res.failures)} task(s) failed; see {res.out / 'failures.json'}")
        return 1
    return 0


__all__ += ["run_sweep_command"]


# ---- contraction experiments (scenarios.experiments)
def _add_experiment(p: argparse.ArgumentParser) -> None:
    from scenarios.experiments import EXPERIMENTS
    p.add_argument("name", choices=sorted(EXPERIMENTS), help="experiment")
    add_common(p)
    p.add_argument("--engine", choices=ENGINES, default=None)


@register("experiment", "Run a virtual experiment on a subject: contractions (mvc, trapezoid, triangle, "
          "ballistic) or evoked responses (h_reflex, v_wave, mep, sici, silent_period, cmep, startle)",
          _add_experiment)
def run_experiment(args: argparse.Namespace) -> int:
    """``mnpool experiment NAME --config FILE --out DIR``: subject from the config's simulation
    tables, protocol from its ``[NAME]`` table; writes ``experiment.nc`` and ``experiment.png``."""
    from scenarios.evoked import plot_experiment
    from scenarios.experiments import CONTRACTIONS, EXPERIMENTS, run
    from .io import save_netcdf
    from .plotting import plot_unit_summary, save_figure
    from .simulation import load_config
    data = load_toml(args.config) if args.config else {}
    protocol = EXPERIMENTS[args.name].from_dict(data.get(args.name, {}))
    subject = load_config(args.config, seed=args.seed, engine=args.engine,
                          ignore=tuple(EXPERIMENTS))
    out = _prepare_out(args.out)
    ds = run(subject, protocol)
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        staging = Path(tmp)
        save_netcdf(ds, staging / "experiment.nc")
        contraction = args.name in CONTRACTIONS
        save_figure(plot_unit_summary(ds) if contraction else plot_experiment(ds), staging / "experiment.png")
        _publish(staging, out)
    if not args.quiet:
        if contraction:
            print(f"mnpool experiment {args.name}: MVC {float(ds.mvc_n):.0f} N, plateau force "
                  f"{float(ds.force_mean):.1f} %MVC, mean rate {float(ds.mean_rate):.1f} pps -> {out}")
        else:
            outcomes = ", ".join(f"{v} {float(ds[v]):.3g} {ds[v].attrs.get('units', '')}".rstrip()
                                 for v in ds.data_vars if ds[v].ndim == 0)
            print(f"mnpool experiment {args.name}: {outcomes} -> {out}")
    return 0


# ---- the registry of adaptation sites
def _add_sites(p: argparse.ArgumentParser) -> None:
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")


@register("sites", "List the candidate sites of adaptation (A-L) and the knob each one scales", _add_sites)
def run_sites(args: argparse.Namespace) -> int:
    """``mnpool sites``: the registry of :mod:`simulator.sites`, one line per site."""
    from .sites import site_table
    rows = site_table()
    if args.markdown:
        print("| site | name | parameters | description | reference |\n|---|---|---|---|---|")
        for r in rows:
            print(f"| {r['letter']} | `{r['name']}` | {r['parameters']} | {r['description']} | {r['reference']} |")
        return 0
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['letter']}  {r['name']:<{width}}  {r['parameters']}\n   {'':<{width}}  {r['description']}")
    return 0


# ---- training scenarios, the signature atlas and site inference (issue 7)
def _add_train(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenario", help="scenario TOML file or library name (see scenarios/library)")
    p.add_argument("--out", metavar="DIR", required=True, help="output folder (created)")
    p.add_argument("--subjects", type=int, default=None, metavar="N", help="override cohort.n_subjects")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_where(p)


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
    sig = T.run_training(scenario, _prepare_out(args.out), scheduler=_scheduler(args), workers=args.workers,
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
    _add_where(p)


@register("atlas", "Adapt every site by a standard magnitude; write the site x measure heatmap, the "
          "reference library for 'mnpool infer' and the confusion matrix", _add_atlas)
def run_atlas_command(args: argparse.Namespace) -> int:
    """``mnpool atlas --config BASE.toml --out DIR``: the subject from the config, the cohort from
    its ``[cohort]`` table, the battery from its ``[battery]`` table."""
    from scenarios import atlas as A
    from scenarios import cohort as C
    from scenarios import training as T
    from .simulation import load_config
    data = load_toml(args.config) if args.config else {}
    base = load_config(args.config, seed=args.seed, ignore=("cohort", "battery"))
    cohort = C.CohortConfig.from_dict(data.get("cohort", {})).replace(n_subjects=args.subjects)
    battery = T.BatteryConfig.from_dict(data.get("battery", {}))
    lib = A.run_atlas(base, _prepare_out(args.out), sites=args.sites, magnitudes=args.magnitudes,
                      cohort=cohort, battery=battery, scheduler=_scheduler(args), workers=args.workers,
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
    out = I.run_inference(args.library, args.observed, _prepare_out(args.out), pairs=not args.no_pairs,
                          seed=args.seed)
    print((Path(out) / "summary.txt").read_text() + f"mnpool infer: wrote {out}")
    return 0


__all__ += ["run_train", "run_atlas_command", "run_infer"]
