"""Command-line plumbing shared by every package's commands: the registry and common arguments.

Each package owns the commands of its stage in its ``commands.py`` (:mod:`simulator.commands`,
:mod:`validation.commands`, :mod:`scenarios.commands`) and registers them here with
:func:`register`; the parser and the console script live in the top package
(:mod:`scenarios.cli`), so imports run downward only. A command is a thin wrapper over a public
file-to-file function of its package.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .staging import check_out, interruptible, mark_output, staged_output

__all__ = ["SUBCOMMANDS", "register", "add_common", "add_out", "add_where", "scheduler_from_args",
           "prepare_out", "staged_output", "interruptible", "mark_output"]

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
        add_out(p)
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


def add_out(p: argparse.ArgumentParser, *, default: str | None = None, required: bool = True,
            resumable: bool = False) -> None:
    """``--out DIR`` and ``--overwrite`` (see :mod:`simulator.staging` for the rules)."""
    p.add_argument("--out", metavar="DIR", default=default, required=required and default is None,
                   help="output folder: created, or empty" + (", or this command's unfinished "
                                                              "folder to resume" if resumable else "")
                   + (f" (default {default})" if default else ""))
    p.add_argument("--overwrite", action="store_true",
                   help="replace the results of an earlier mnpool run in --out"
                   + (" (instead of resuming it)" if resumable else ""))


def prepare_out(args: argparse.Namespace, *, resume: str | None = None) -> Path:
    """Check ``args.out`` before any long work (:func:`simulator.staging.check_out`).

    Parameters
    ----------
    args
        Parsed arguments with ``out`` and ``overwrite``.
    resume
        For resumable commands: their name, so that their own unfinished folder is accepted.

    Raises
    ------
    ConfigError
        ``--out`` is a file or lies under one, is not writable, or is not empty (and neither
        resumable nor an mnpool result replaced with ``--overwrite``).
    """
    return check_out(args.out, overwrite=getattr(args, "overwrite", False), resume=resume)
