"""Rebuild every shipped library with the current model, then the README blocks made from them.

A change of the body (a default parameter or an equation) changes
:func:`simulator.simulation.model_fingerprint`; the shipped libraries then no longer describe the
model, ``test_shipped_library_was_built_by_this_model`` fails and ``mnpool infer`` refuses them.
``make libraries`` (``python -m scenarios.rebuild_libraries``) runs, in order:

1. the reference library, the held-out population and the decomposed companion (each an
   ``mnpool atlas`` into ``--out``; an atlas that was interrupted resumes where it stopped, one
   that finished is not run again);
2. copies the three ``library.nc`` into ``scenarios/library/``;
3. ``mnpool calibrate`` on the reference library with the held-out population, and on the
   companion, and puts their ``calibration.md`` into the README (``<!-- calibration.md -->``,
   ``<!-- calibration_dec.md -->`` blocks);
4. ``mnpool designs`` and its ``designs.md`` into the README (``<!-- designs.md -->``).

Wall time on this project's 2-core machine (benchmarks/README.md, tenth session): ~2 h for the
reference library (1720 sessions, ~4.2 s each on 2 workers), ~20 min for the held-out population
(260), ~1 h 5 min for the companion (520 sessions with decomposition), ~5 min for the designs.
The ledger's simulated values are re-measured by the slow physiology tests, not here.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LIBRARIES", "Library", "replace_block", "rebuild", "main"]

REPO = Path(__file__).resolve().parents[1]
LIBRARY_DIR = REPO / "scenarios" / "library"
README = REPO / "README.md"


@dataclass(frozen=True)
class Library:
    """One shipped library: its config, where it is shipped and the atlas that builds it."""

    name: str
    config: str          #: repository-relative TOML
    shipped: str         #: repository-relative NetCDF the atlas's library.nc becomes
    subjects: int
    magnitudes: tuple[float, ...]

    def atlas_args(self, out: Path) -> list[str]:
        """``mnpool atlas`` arguments building this library into ``out``."""
        return ["atlas", "--config", self.config, "--out", str(out),
                "--subjects", str(self.subjects), "--magnitudes", *[f"{m:g}" for m in self.magnitudes]]


#: The shipped libraries, in build order (the commands their TOML files document).
LIBRARIES = (
    Library("reference_library", "scenarios/library/reference_library.toml",
            "scenarios/library/reference_library.nc", 20, (-0.6, -0.3, -0.15, 0.15, 0.3, 0.6, 1.2)),
    Library("held_out", "scenarios/library/populations/held_out.toml",
            "scenarios/library/populations/held_out.nc", 10, (-0.3, 0.3)),
    Library("reference_library_dec", "scenarios/library/reference_library_dec.toml",
            "scenarios/library/reference_library_dec.nc", 20, (-0.3, 0.3)),
)


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with the lines between ``<!-- name -->`` and ``<!-- /name -->`` replaced by
    ``content``.

    Raises
    ------
    ValueError
        ``text`` has no such block.
    """
    pattern = re.compile(rf"(<!-- {re.escape(name)} -->\n)(.*?)(<!-- /{re.escape(name)} -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"README has no <!-- {name} --> ... <!-- /{name} --> block")
    return pattern.sub(lambda m: m.group(1) + content + m.group(3), text, count=1)


def _mnpool(args: Sequence[str], dry_run: bool) -> None:
    print("mnpool " + " ".join(args), flush=True)
    if dry_run:
        return
    from scenarios.cli import main as cli
    status = cli(list(args))
    if status:
        raise SystemExit(f"mnpool {args[0]} failed (exit {status}); re-run to resume")


def _refresh_readme(name: str, source: Path, dry_run: bool) -> None:
    print(f"README.md: <!-- {name} --> <- {source}", flush=True)
    if not dry_run:
        README.write_text(replace_block(README.read_text(), name, source.read_text()))


def rebuild(out: Path, *, dry_run: bool = False) -> None:
    """Run every step of the module docstring into ``out`` (print the commands only with
    ``dry_run``)."""
    import contextlib

    from simulator.io import atomic_path
    out = Path(out).resolve()
    if out.is_relative_to(REPO):
        out = out.relative_to(REPO)
    # the commands run from the repository root with relative paths, so that each library's
    # ``build_command`` attribute reads as its TOML file documents it
    with contextlib.chdir(REPO):
        for lib in LIBRARIES:
            built = out / lib.name / "library.nc"
            if not built.is_file():  # a finished atlas is not run again (mnpool refuses to resume it)
                _mnpool(lib.atlas_args(out / lib.name), dry_run)
            print(f"copy {built} -> {lib.shipped}", flush=True)
            if not dry_run:
                with atomic_path(lib.shipped, suffix=".nc") as tmp:
                    shutil.copyfile(built, tmp)
        main_lib, held, dec = (lib.shipped for lib in LIBRARIES)
        _mnpool(["calibrate", "--library", main_lib, "--held-out", held, "--out", str(out / "calibration"),
                 "--overwrite"], dry_run)
        _refresh_readme("calibration.md", out / "calibration" / "calibration.md", dry_run)
        _mnpool(["calibrate", "--library", dec, "--out", str(out / "calibration_dec"), "--overwrite"],
                dry_run)
        _refresh_readme("calibration_dec.md", out / "calibration_dec" / "calibration.md", dry_run)
        if not (out / "designs" / "designs.md").is_file():
            _mnpool(["designs", "--out", str(out / "designs")], dry_run)
        _refresh_readme("designs.md", out / "designs" / "designs.md", dry_run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scenarios.rebuild_libraries [--out DIR] [--dry-run]``."""
    parser = argparse.ArgumentParser(prog="python -m scenarios.rebuild_libraries",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="library-build",
                        help="build folder (resumable; default library-build)")
    parser.add_argument("--dry-run", action="store_true", help="print the steps, run nothing")
    args = parser.parse_args(argv)
    rebuild(Path(args.out), dry_run=args.dry_run)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
