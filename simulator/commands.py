"""Implementations of the ``mnpool`` subcommands (registered into :mod:`simulator.cli`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .cli import add_common, register
from .config import ConfigError, load_toml

__all__ = ["emg_config_from_args", "add_emg_arguments", "check_emg_outputs", "emg_outputs", "run_emg"]


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
