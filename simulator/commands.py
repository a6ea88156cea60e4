"""The commands of the simulator stage: ``simulate``, ``demo``, ``emg`` and ``sites``.

Each is a thin wrapper over a public function (:func:`simulator.simulation.simulate`,
:func:`simulator.emg.synthesize` and :func:`simulator.io.write_recording`,
:func:`simulator.sites.site_table`), registered in :mod:`simulator.commandline`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .commandline import add_common, add_out, prepare_out, register, staged_output
from .config import load_toml
from .engine import ENGINES

__all__ = ["run_simulate", "run_demo", "emg_config_from_args", "add_emg_arguments",
           "check_emg_outputs", "emg_outputs", "run_emg", "run_sites"]


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
        emg = (emg_cfg, check_emg_outputs(emg_cfg, args.format))
    out = prepare_out(args)
    return _simulate_and_write(cfg, out, "simulate", progress=not args.quiet, emg=emg,
                               figures=not args.no_figures, overwrite=args.overwrite)


def _simulate_and_write(cfg, out: Path, command: str, *, progress: bool, emg=None,  # noqa: ANN001
                        figures: bool = True, overwrite: bool = False) -> int:
    """Simulate, then write the activity Dataset, its figures, the config and (optionally) the
    EMG recording into a staging folder that becomes ``out`` only when all succeeded."""
    from .io import save_netcdf
    from .plotting import plot_activity, plot_pathways, save_figure
    from .simulation import simulate
    ds = simulate(cfg, progress=progress)
    with staged_output(out, command=command, overwrite=overwrite) as staging:
        save_netcdf(ds, staging / "activity.nc")
        if figures:
            save_figure(plot_activity(ds), staging / "activity.png")
            save_figure(plot_pathways(ds), staging / "pathways.png")
        (staging / "config.toml").write_text(_to_toml(cfg.to_dict()))
        if emg is not None:
            emg_cfg, formats = emg
            emg_outputs(ds, emg_cfg, staging, formats, seed=cfg.seed, progress=progress,
                        figures=figures)
        _activity_report(ds, cfg, staging, command)
    if progress:
        print(f"wrote {out / 'activity.nc'} ({ds.sizes['spike']} spikes, {ds.sizes['unit']} units)"
              + (f" and {out / 'activity.png'}" if figures else ""))
    return 0


def _activity_report(ds, cfg, staging: Path, command: str) -> None:  # noqa: ANN001
    """``report.html`` of a simulation: its figures, a few facts, the config and the files."""
    import numpy as np

    from .report import Table, write_report
    spikes = np.bincount(ds["spike_unit"].values, minlength=ds.sizes["unit"])
    force = ds["force_mvc"].values
    facts = [["motor units", ds.sizes["unit"], ""], ["units that discharged", int((spikes > 0).sum()), ""],
             ["discharges", int(spikes.sum()), ""], ["MVC", float(ds.attrs["mvc_n"]), "N"],
             ["peak force", float(force.max()), "%MVC"], ["duration", float(ds.attrs["duration_s"]), "s"]]
    names = ["activity.png", "pathways.png", "recording_emg.png", "recording_rms_map.png",
             "recording_muap_grid.png"]
    write_report(staging, title=f"mnpool {command}", command=f"mnpool {command}",
                 summary=f"{cfg.task.shape} contraction to {cfg.task.level:g} % on a "
                         f"{ds.sizes['unit']}-unit pool (seed {cfg.seed}).",
                 figures=[(n, n.removesuffix(".png").replace("_", " ")) for n in names],
                 tables=[Table("Run", ["quantity", "value", "units"], facts)],
                 config=cfg.to_dict(), data_files=["activity.nc", "recording.nc", "config.toml"])


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
    add_out(p, default="demo_output")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


@register("demo", "Default scenario end to end: 200-unit pool, 30 %%MVC trapezoid, HD-sEMG, figures",
          _demo_args)
def run_demo(args: argparse.Namespace) -> int:
    """``mnpool demo [--out DIR]``: the default trapezoid at 30 %MVC on a 200-unit pool."""
    from .emg import EmgConfig
    from .simulation import SimulationConfig
    cfg = SimulationConfig(seed=args.seed)
    out = prepare_out(args)
    emg_cfg = EmgConfig()
    return _simulate_and_write(cfg, out, "demo", progress=not args.quiet,
                               emg=(emg_cfg, check_emg_outputs(emg_cfg, "netcdf")),
                               overwrite=args.overwrite)


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
    from .io import check_formats
    return check_formats(formats, fs_hz=cfg.fs_hz, montage=cfg.grid.montage)


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
    from .loading import read_activity

    # Every check happens before any work or any write.
    cfg = emg_config_from_args(args)
    formats = check_emg_outputs(cfg, args.format)
    activity = read_activity(args.activity)
    out = prepare_out(args)
    seed = args.seed if args.seed is not None else activity.attrs.get("seed")
    with staged_output(out, command="emg", overwrite=args.overwrite) as staging:
        written = emg_outputs(activity, cfg, staging, formats, seed=seed, cache=not args.no_cache,
                              progress=not args.quiet, figures=not args.no_figures)
    if not args.quiet:
        for key, path in written.items():
            print(f"  {key}: {out / Path(path).relative_to(staging)}")
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
