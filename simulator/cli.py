"""The ``mnpool`` command line: one subcommand per stage of the pipeline.

Each subcommand is registered in :data:`SUBCOMMANDS` as ``name -> (add_arguments, run)``; ``run``
receives the parsed namespace and returns an exit status. Every command validates its input before
any long work, prints one clear ``mnpool: error: ...`` line on bad input and exits with status 2,
writing nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from .config import ConfigError

__all__ = ["main", "SUBCOMMANDS", "add_common", "register"]

AddArgs = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]

#: name -> (help, add_arguments, run); filled by :func:`register` in :mod:`simulator.commands`.
SUBCOMMANDS: dict[str, tuple[str, AddArgs, Run]] = {}


def register(name: str, help_: str, add: AddArgs) -> Callable[[Run], Run]:
    """Decorator registering ``run`` as subcommand ``name`` with arguments from ``add``."""
    def deco(run: Run) -> Run:
        SUBCOMMANDS[name] = (help_, add, run)
        return run
    return deco


def add_common(p: argparse.ArgumentParser, *, config: bool = True, out: bool = True) -> None:
    """Arguments shared by every subcommand: ``--config``, ``--out``, ``--seed``."""
    if config:
        p.add_argument("--config", metavar="FILE.toml", help="TOML configuration (defaults if omitted)")
    if out:
        p.add_argument("--out", metavar="DIR", required=True, help="output folder (created)")
    p.add_argument("--seed", type=int, default=None, help="random seed (overrides the config's)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered subcommand."""
    from simulator import __version__
    from simulator.cli import SUBCOMMANDS as registry  # the package's registry, also under -m
    parser = argparse.ArgumentParser(prog="mnpool", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mnpool {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (help_, add, run) in registry.items():
        p = sub.add_parser(name, help=help_, description=help_)
        add(p)
        p.set_defaults(func=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mnpool`` console script."""
    import simulator.commands  # noqa: F401  (registers the subcommands in simulator.cli)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"mnpool: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
