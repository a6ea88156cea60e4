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
(260), ~2 h for the companion (520 sessions with decomposition: ~28 s of wall per session beside
another atlas this session, 13.9 s alone in the seventh), ~5 min for the designs.
The ledger's simulated values are re-measured by the slow physiology tests, not here.

**A body too expensive to rebuild in one sitting is staged.** ``--stage`` builds libraries for a
*candidate body* written as a config overlay, ``scenarios/library/next/body.toml`` (the new
defaults), while the code keeps the old ones: each library's atlas runs on its TOML (or the
replacement in ``scenarios/library/next/``, e.g. a held-out population whose parameters are
relative to the base) with the overlay under it, and its ``library.nc`` is kept as
``scenarios/library/next/<name>.nc``. ``--only NAME`` builds some of them, so the work can be
spread over several sittings, each committing what it finished. ``--land``, once the defaults
in the code are those of ``body.toml``, checks every staged library (same equations hash; its
recorded subject, cohort and battery equal what its TOML now gives: the same body was
simulated), stamps it with the model's fingerprint and its documented build command, moves it and
any replacement TOML into place, then runs steps 3 and 4. The code change that makes the overlay
the defaults (parameters, the tests and ledger entries it moves, the README) can be prepared in
the meantime and kept as ``scenarios/library/next/landing.patch`` (``git format-patch``); it is
applied with ``git am`` before ``--land``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LIBRARIES", "Library", "read_block", "replace_block", "rebuild", "stage", "land", "main"]

REPO = Path(__file__).resolve().parents[1]
LIBRARY_DIR = REPO / "scenarios" / "library"
NEXT_DIR = LIBRARY_DIR / "next"
BODY = NEXT_DIR / "body.toml"
LANDING_PATCH = NEXT_DIR / "landing.patch"
README = REPO / "README.md"


@dataclass(frozen=True)
class Library:
    """One shipped library: its config, where it is shipped and the atlas that builds it."""

    name: str
    config: str          #: repository-relative TOML
    shipped: str         #: repository-relative NetCDF the atlas's library.nc becomes
    subjects: int
    magnitudes: tuple[float, ...]

    def atlas_args(self, out: Path, config: str | None = None) -> list[str]:
        """``mnpool atlas`` arguments building this library into ``out`` (from ``config``
        instead of its own TOML when given)."""
        return ["atlas", "--config", config or self.config, "--out", str(out),
                "--subjects", str(self.subjects), "--magnitudes", *[f"{m:g}" for m in self.magnitudes]]

    @property
    def command(self) -> str:
        """The documented command (as its TOML file gives it), recorded in ``build_command``."""
        return "mnpool " + " ".join(self.atlas_args(Path(self.name)))

    @property
    def staged(self) -> Path:
        """Where ``--stage`` keeps this library built with the candidate body."""
        return NEXT_DIR / Path(self.shipped).name

    @property
    def next_config(self) -> Path:
        """A replacement of this library's TOML that comes with the candidate body (may not exist)."""
        return NEXT_DIR / Path(self.config).relative_to("scenarios/library")


#: The shipped libraries, in build order (the commands their TOML files document).
LIBRARIES = (
    Library("reference_library", "scenarios/library/reference_library.toml",
            "scenarios/library/reference_library.nc", 20, (-0.6, -0.3, -0.15, 0.15, 0.3, 0.6, 1.2)),
    Library("held_out", "scenarios/library/populations/held_out.toml",
            "scenarios/library/populations/held_out.nc", 10, (-0.3, 0.3)),
    Library("reference_library_dec", "scenarios/library/reference_library_dec.toml",
            "scenarios/library/reference_library_dec.nc", 20, (-0.3, 0.3)),
)


def _block_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- {re.escape(name)} -->\n)(.*?)(<!-- /{re.escape(name)} -->)", re.S)


def read_block(text: str, name: str) -> str:
    """The lines between ``<!-- name -->`` and ``<!-- /name -->`` in ``text``.

    Raises
    ------
    ValueError
        ``text`` has no such block.
    """
    found = _block_pattern(name).search(text)
    if not found:
        raise ValueError(f"README has no <!-- {name} --> ... <!-- /{name} --> block")
    return found.group(2)


def replace_block(text: str, name: str, content: str) -> str:
    """``text`` with the lines between ``<!-- name -->`` and ``<!-- /name -->`` replaced by
    ``content``.

    Raises
    ------
    ValueError
        ``text`` has no such block.
    """
    read_block(text, name)
    return _block_pattern(name).sub(lambda m: m.group(1) + content + m.group(3), text, count=1)


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
        readme = REPO / "README.md"
        readme.write_text(replace_block(readme.read_text(), name, source.read_text()))


def _relative(out: Path) -> Path:
    out = Path(out).resolve()
    return out.relative_to(REPO) if out.is_relative_to(REPO) else out


def _copy(source: Path | str, target: Path | str, dry_run: bool) -> None:
    from simulator.io import atomic_path
    print(f"copy {source} -> {target}", flush=True)
    if not dry_run:
        with atomic_path(target, suffix=Path(target).suffix) as tmp:
            shutil.copyfile(source, tmp)


def _atlas(lib: Library, folder: Path, dry_run: bool, config: str | None = None) -> Path:
    built = folder / "library.nc"
    if not built.is_file():  # a finished atlas is not run again (mnpool refuses to resume it)
        _mnpool(lib.atlas_args(folder, config), dry_run)
    return built


def _figures(out: Path, dry_run: bool) -> None:
    """Steps 3 and 4: calibration and designs from the shipped libraries, into the README."""
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


def _chosen(only: Sequence[str] | None) -> tuple[Library, ...]:
    names = [lib.name for lib in LIBRARIES]
    unknown = [n for n in only or () if n not in names]
    if unknown:
        raise SystemExit(f"--only {' '.join(unknown)}: unknown library; known: {', '.join(names)}")
    return tuple(lib for lib in LIBRARIES if not only or lib.name in only)


def rebuild(out: Path, *, dry_run: bool = False) -> None:
    """Run steps 1-4 of the module docstring into ``out`` (print the commands only with
    ``dry_run``)."""
    import contextlib
    out = _relative(out)
    # the commands run from the repository root with relative paths, so that each library's
    # ``build_command`` attribute reads as its TOML file documents it
    with contextlib.chdir(REPO):
        for lib in LIBRARIES:
            _copy(_atlas(lib, out / lib.name, dry_run), lib.shipped, dry_run)
        _figures(out, dry_run)


def _overlaid(lib: Library, out: Path) -> str:
    """Write the TOML of ``lib`` (or its replacement in ``next/``) over the candidate body."""
    from simulator.config import load_toml
    from simulator.io import atomic_path

    def merge(a: dict, b: dict) -> dict:
        return {**a, **{k: merge(a[k], v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
                        for k, v in b.items()}}
    own = lib.next_config if lib.next_config.is_file() else REPO / lib.config
    data = merge(load_toml(BODY), load_toml(own))
    from simulator.commands import _to_toml
    path = out / f"{lib.name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".toml") as tmp:
        Path(tmp).write_text(f"# {own.relative_to(REPO)} over {BODY.relative_to(REPO)} (staged build)\n"
                             + _to_toml(data))
    return str(path)


def stage(out: Path, only: Sequence[str] | None = None, *, dry_run: bool = False) -> None:
    """Build the libraries of ``only`` (default all) with the candidate body of ``next/body.toml``
    into ``next/<name>.nc`` (module docstring)."""
    import contextlib
    if not BODY.is_file():
        raise SystemExit(f"--stage needs the candidate body {BODY.relative_to(REPO)}")
    out = _relative(out) / "next"
    with contextlib.chdir(REPO):
        for lib in _chosen(only):
            config = _overlaid(lib, out) if not dry_run else str(out / f"{lib.name}.toml")
            _copy(_atlas(lib, out / lib.name, dry_run, config), lib.staged.relative_to(REPO), dry_run)


def _plain(value: object) -> object:
    """``value`` as JSON reads it back (tuples as lists), for comparing recorded attrs."""
    import json
    return json.loads(json.dumps(value, default=list))


def _body_mismatches() -> list[str]:
    """``section.key = value`` of ``body.toml`` that the code's defaults do not have."""
    from simulator.config import load_toml
    from simulator.simulation import SimulationConfig
    defaults = SimulationConfig().to_dict()
    wrong = []
    for section, values in load_toml(BODY).items():
        items = values.items() if isinstance(values, dict) else [(None, values)]
        for key, value in items:
            have = defaults.get(section) if key is None else defaults.get(section, {}).get(key)
            if have != value:
                wrong.append(f"{section}{'' if key is None else '.' + key} = {value!r} (default {have!r})")
    return wrong


def land(out: Path, *, dry_run: bool = False) -> None:
    """Check the staged libraries against the code's defaults, put them in place, run steps 3-4.

    Raises
    ------
    SystemExit
        The defaults are not yet those of ``body.toml``, a library is not staged, or a staged
        library was simulated with other equations or another subject, cohort or battery than its
        TOML now gives (the message names it and what differs).
    """
    import contextlib

    from scenarios.atlas import atlas_inputs
    from simulator.io import load_netcdf, save_netcdf
    from simulator.network import model_equations_hash
    from simulator.simulation import model_fingerprint
    wrong = _body_mismatches()
    if wrong:
        hint = (f" (the prepared change: git am {LANDING_PATCH.relative_to(REPO)})"
                if LANDING_PATCH.is_file() else "")
        raise SystemExit("--land: the code's defaults are not the staged body's yet: "
                         + "; ".join(wrong) + hint)
    out = _relative(out)
    with contextlib.chdir(REPO):
        for lib in LIBRARIES:  # every check before anything moves
            if not lib.staged.is_file():
                raise SystemExit(f"--land: {lib.staged.relative_to(REPO)} is not built (--stage --only {lib.name})")
            staged = load_netcdf(lib.staged)
            config = lib.next_config if lib.next_config.is_file() else REPO / lib.config
            base, cohort, battery = atlas_inputs(config, subjects=lib.subjects)
            differs = [name for name, want in (("model_equations", model_equations_hash()),
                                               ("base_config", base.to_dict()), ("cohort", cohort.to_dict()),
                                               ("battery", battery.to_dict()))
                       if _plain(staged.attrs.get(name)) != _plain(want)]
            if differs:
                raise SystemExit(f"--land: {lib.staged.relative_to(REPO)} was simulated with another "
                                 f"{', '.join(differs)} than {config.relative_to(REPO)} now gives; re-stage it")
            print(f"{lib.staged.relative_to(REPO)}: same equations, subject, cohort and battery "
                  f"-> {lib.shipped}", flush=True)
        for lib in LIBRARIES if not dry_run else ():
            staged = load_netcdf(lib.staged)
            if lib.next_config.is_file():
                _copy(lib.next_config, lib.config, dry_run)
                lib.next_config.unlink()
            staged.attrs.update(model_fingerprint=model_fingerprint(), build_command=lib.command)
            save_netcdf(staged, lib.shipped)
            lib.staged.unlink()
        _figures(out, dry_run)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m scenarios.rebuild_libraries [--out DIR] [--stage [--only NAME ...] | --land]
    [--dry-run]``."""
    parser = argparse.ArgumentParser(prog="python -m scenarios.rebuild_libraries",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="library-build",
                        help="build folder (resumable; default library-build)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--stage", action="store_true",
                      help="build with the candidate body scenarios/library/next/body.toml into next/")
    mode.add_argument("--land", action="store_true",
                      help="check the staged libraries against the defaults and put them in place")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="with --stage: these libraries only")
    parser.add_argument("--dry-run", action="store_true", help="print the steps, run nothing")
    args = parser.parse_args(argv)
    if args.only and not args.stage:
        parser.error("--only goes with --stage")
    if args.stage:
        stage(Path(args.out), args.only, dry_run=args.dry_run)
    elif args.land:
        land(Path(args.out), dry_run=args.dry_run)
    else:
        rebuild(Path(args.out), dry_run=args.dry_run)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
