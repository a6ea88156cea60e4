"""Command-line plumbing shared by every package's commands: the registry and common arguments.

Each package owns the commands of its stage in its ``commands.py`` (:mod:`simulator.commands`,
:mod:`validation.commands`, :mod:`scenarios.commands`) and registers them here with
:func:`register`; the parser and the console script live in the top package
(:mod:`scenarios.cli`), so imports run downward only. A command is a thin wrapper over a public
file-to-file function of its package.
"""

from __future__ import annotations

import argparse
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .config import ConfigError

__all__ = ["SUBCOMMANDS", "register", "add_common", "add_where", "scheduler_from_args",
           "prepare_out", "publish"]

AddArgs = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]

#: name -> (help, add_arguments, run), in registration order.
SUBCOMMANDS: dict[str, tuple[str, AddArgs, Run]] = {}


def register(name: str, help_: str, add: AddArgs) -> Callable[[Run], Run]:
    """Decorator registering ``run`` as subcommand ``name`` with arguments from ``add``.

    Parameters
    ----------
    name
        Subcommand name (``mnpool NAME``).
    help_
        One-line help shown by ``mnpool --help``.
    add
        Function adding the subcommand's arguments to its parser.
    """
    def deco(run: Run) -> Run:
        SUBCOMMANDS[name] = (help_, add, run)
        return run
    return deco


def add_common(p: argparse.ArgumentParser, *, config: bool = True, out: bool = True) -> None:
    """Arguments shared by most subcommands: ``--config``, ``--out``, ``--seed``, ``--quiet``."""
    if config:
        p.add_argument("--config", metavar="FILE.toml", help="TOML configuration (defaults if omitted)")
    if out:
        p.add_argument("--out", metavar="DIR", required=True, help="output folder (created)")
    p.add_argument("--seed", type=int, default=None, help="random seed (overrides the config's)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_where(p: argparse.ArgumentParser) -> None:
    """Where the tasks of a multi-run command run: local workers, a scheduler, or serially."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, metavar="N",
                       help="local Dask worker processes (default: one per core)")
    where.add_argument("--scheduler", metavar="ADDRESS", default=None,
                       help="connect to a running Dask scheduler, e.g. tcp://host:8786")
    where.add_argument("--serial", action="store_true", help="run in this process, without Dask")


def scheduler_from_args(args: argparse.Namespace) -> Any:
    """``"serial"``, a scheduler address, or None (local cluster) from :func:`add_where`'s flags."""
    return "serial" if args.serial else args.scheduler


def prepare_out(out: str) -> Path:
    """Check that ``out`` can be written before any long work starts.

    Raises
    ------
    ConfigError
        ``out`` exists and is not a folder.
    """
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"--out {out!r} exists and is not a folder")
    return p


def publish(staging: Path, out: Path) -> None:
    """Move every file of ``staging`` into ``out`` (created), so a failed run writes nothing."""
    out.mkdir(parents=True, exist_ok=True)
    for f in staging.iterdir():
        shutil.move(str(f), out / f.name)
