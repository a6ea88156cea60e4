"""The ``mnpool`` command line: one subcommand per stage of the pipeline.

The parser sits in the top package so that it may import all three: the commands themselves live
in :mod:`simulator.commands`, :mod:`validation.commands` and :mod:`scenarios.commands` and are
registered in :data:`simulator.commandline.SUBCOMMANDS`. Every command validates its input before
any long work, prints one clear ``mnpool: error: ...`` line on bad input and exits with status 2,
writing nothing.
"""

from __future__ import annotations

import argparse
import shlex
import sys

# registration order is the order of ``mnpool --help``: the stages of the pipeline
import simulator.commands  # noqa: F401,I001  (registers simulate, demo, emg, sites)
import validation.commands  # noqa: F401  (registers decompose, score, benchmark)
import scenarios.commands  # noqa: F401  (registers sweep, experiment, train, atlas, infer)
from simulator.commandline import SUBCOMMANDS
from simulator.config import ConfigError
from simulator.engine import check_environment
from simulator.staging import interrupt_received

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


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
    """Warnings as one ``mnpool: warning: ...`` line (the default shows a file and a code line)."""
    print(f"mnpool: warning: {_one_line(message)}", file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``mnpool`` console script; returns the exit status.

    Exit status 2 with one ``mnpool: error: ...`` line for bad input (settings, input files,
    ``--out``), 1 for a failure while writing (e.g. a full disk), 130 when interrupted (SIGINT or
    SIGTERM); in every failing case the output folder is left as it was (see
    :mod:`simulator.staging`).
    """
    import warnings
    parser = build_parser()
    args = parser.parse_args(argv)
    # the command line as typed, for the provenance a result records (e.g. a library's attrs)
    args.command_line = "mnpool " + shlex.join(sys.argv[1:] if argv is None else argv)
    shown = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        check_environment()
        return int(args.func(args) or 0)
    except (ConfigError, FileNotFoundError) as exc:
        print(f"mnpool: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # also SIGTERM (simulator.staging.Interrupted)
        print("mnpool: interrupted; the output folder was left as it was", file=sys.stderr)
        return 130
    except BaseException as exc:
        # A signal can land inside an import or a C call that turns the Interrupted raised by
        # the handler into another exception (e.g. "ImportError: initialization failed").
        if interrupt_received():
            print("mnpool: interrupted; the output folder was left as it was", file=sys.stderr)
            return 130
        if isinstance(exc, OSError):  # writing failed: no space left, a read-only disk...
            print(f"mnpool: error: {_one_line(exc)}", file=sys.stderr)
            return 1
        raise
    finally:
        warnings.showwarning = shown


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
