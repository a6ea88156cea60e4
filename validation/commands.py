"""The commands of the validation stage: ``decompose``, ``score`` and ``benchmark``.

Thin wrappers over :func:`validation.decomposition.decompose`, :func:`validation.benchmark.score_file`
and the suite functions of :mod:`validation.benchmark`, registered in :mod:`simulator.commandline`.
"""

from __future__ import annotations

from simulator.commandline import add_common, register
from simulator.config import ConfigError, load_toml

__all__ = ["run_decompose", "run_score", "run_benchmark"]


def _load_recording(path: str):
    """Load a recording Dataset for a command (FileNotFoundError -> 'mnpool: error')."""
    from simulator.io import load_netcdf
    return load_netcdf(path)


def _decomposition_config(args):
    from validation.decomposition import DecompositionConfig

    data = load_toml(args.config).get("decomposition", {}) if args.config else {}
    cfg = DecompositionConfig.from_dict(data)
    return cfg.replace(seed=args.seed) if args.seed is not None else cfg


def _add_decompose(p):
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
def run_decompose(args) -> int:
    from pathlib import Path

    from validation.decomposition import decompose
    from validation.figures import plot_raster, plot_sources
    from validation.metrics import score

    from simulator.io import save_netcdf
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
def run_score(args) -> int:
    from pathlib import Path

    from validation.benchmark import score_file

    from simulator.io import atomic_path, save_netcdf
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
def run_benchmark(args) -> int:
    from pathlib import Path

    from validation import benchmark as bm

    from simulator.io import atomic_path, save_netcdf
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
