"""The ``mnpool`` command line: one subcommand per stage of the pipeline.

The parser sits in the top package so that it may import all three: the commands themselves live
in :mod:`simulator.commands`, :mod:`validation.commands` and :mod:`scenarios.commands` and are
registered in :data:`simulator.commandline.SUBCOMMANDS`. Every command validates its input before
any long work, prints one clear ``mnpool: error: ...`` line on bad input and exits with status 2,
writing nothing.
"""

from __future__ import annotations

import argparse
import sys

# registration order is the order of ``mnpool --help``: the stages of the pipeline
import simulator.commands  # noqa: F401,I001  (registers simulate, demo, emg, sites)
import validation.commands  # noqa: F401  (registers decompose, score, benchmark)
import scenarios.commands  # noqa: F401  (registers sweep, experiment, train, atlas, infer)
from simulator.commandline import SUBCOMMANDS
from simulator.config import ConfigError

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser with every registered subcommand."""
    from simulator import __version__
    parser = argparse.ArgumentParser(prog="mnpool", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mnpool {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (help_, add, run) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        add(p)
        p.set_defaults(func=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mnpool`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"mnpool: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
