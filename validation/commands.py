"""The commands of the validation stage: ``decompose``, ``score`` and ``benchmark``.

Thin wrappers over :func:`validation.decomposition.decompose`, :func:`validation.benchmark.score_file`
and the suite functions of :mod:`validation.benchmark`, registered in :mod:`simulator.commandline`.
"""

from __future__ import annotations

from simulator.commandline import add_common, add_out, prepare_out, register, staged_output
from simulator.config import ConfigError, load_toml

__all__ = ["run_decompose", "run_score", "run_benchmark"]


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
    add_out(p, required=False)


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
    from validation.decomposition import decompose
    from validation.figures import plot_raster, plot_sources
    from validation.metrics import score

    from simulator.io import save_netcdf
    from simulator.loading import read_recording
    cfg = _decomposition_config(args)        # validated before any work
    rec = read_recording(args.recording)
    out = prepare_out(args)
    dec = decompose(rec, cfg, progress=not args.quiet)
    sc = score(dec, rec) if "spike_unit" in rec else None
    with staged_output(out, command="decompose", overwrite=args.overwrite) as staging:
        save_netcdf(dec, staging / "decomposition.nc")
        plot_sources(dec, staging / "sources.png")
        plot_raster(dec, staging / "raster.png", rec, sc)
        if sc is not None:
            save_netcdf(sc, staging / "score.nc")
    msg = f"{dec.sizes['unit']} units in {dec.attrs['elapsed_s']:.1f} s"
    if sc is not None:
        msg += f"; {sc.attrs['n_found']} of {sc.attrs['n_true_active']} true units found (RoA >= 0.9)"
    print(f"mnpool decompose: {msg}; wrote {out}")
    return 0


@register("score", "score a decomposition (any tool) against a recording's ground truth",
          _add_score)
def run_score(args) -> int:
    from validation.benchmark import score_file

    from simulator.io import atomic_path, save_netcdf
    from simulator.loading import read_decomposition_file, read_recording
    rec = read_recording(args.recording, truth=True)
    dec = read_decomposition_file(args.decomposition, args.format)
    out = prepare_out(args) if args.out else None
    sc = score_file(rec, dec)
    cols = [c for c in ("roa", "sensitivity", "precision", "lag_s", "recruitment_excitation",
                        "depth_mm", "muap_ptp_uv") if c in sc]
    table = sc[cols + ["matched_estimate", "found"]].to_dataframe()
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    print(", ".join(f"{k} {sc.attrs[k]}" for k in ("n_true_active", "n_estimated", "n_matched",
                                                   "n_found", "n_duplicates")))
    if out is not None:
        with staged_output(out, command="score", overwrite=args.overwrite) as staging:
            save_netcdf(sc, staging / "score.nc")
            with atomic_path(staging / "score.csv", suffix=".csv") as tmp:
                table.to_csv(tmp)
    return 0


@register("benchmark", "benchmark suites: make recordings, run mnpool, score any tool",
          _add_benchmark)
def run_benchmark(args) -> int:
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
        out = prepare_out(args)
        with staged_output(out, command="benchmark make", overwrite=args.overwrite) as staging:
            bm.make_suite(staging, cfg, factory=factory, progress=not args.quiet)
        print(f"mnpool benchmark: wrote {out / bm.MANIFEST}")
    elif args.action == "run":
        cfg = _decomposition_config(args)
        bm.check_suite(args.suite)  # the manifest (ids, paths) before any work
        out = prepare_out(args)
        with staged_output(out, command="benchmark run", overwrite=args.overwrite) as staging:
            files = bm.run_suite(args.suite, staging, cfg, progress=not args.quiet)
        print(f"mnpool benchmark: {len(files)} decompositions in {out}")
    else:
        bm.check_suite(args.suite)
        out = prepare_out(args)
        units, summary = bm.score_suite(args.suite, args.decompositions, fmt=args.format,
                                        tool=args.tool)
        with staged_output(out, command="benchmark score", overwrite=args.overwrite) as staging:
            save_netcdf(summary, staging / "summary.nc")
            with atomic_path(staging / "units.csv", suffix=".csv") as tmp:
                units.to_csv(tmp, index=False)
            bm.suite_figures(units, staging)
        print(summary.to_dataframe().to_string())
