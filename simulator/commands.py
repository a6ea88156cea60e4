"""Implementations of the ``mnpool`` subcommands (registered into :mod:`simulator.cli`)."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from .cli import add_common, register
from .config import ConfigError

__all__ = ["run_simulate", "run_demo"]


def _prepare_out(out: str) -> Path:
    """Check that ``out`` can be written before any long work starts."""
    p = Path(out)
    if p.exists() and not p.is_dir():
        raise ConfigError(f"--out {out!r} exists and is not a folder")
    return p


def _publish(staging: Path, out: Path) -> None:
    """Move every file of ``staging`` into ``out`` (created), so a failed run writes nothing."""
    out.mkdir(parents=True, exist_ok=True)
    for f in staging.iterdir():
        shutil.move(str(f), out / f.name)


def _simulate_args(p: argparse.ArgumentParser) -> None:
    add_common(p)
    p.add_argument("--engine", choices=("runtime", "standalone"), default=None,
                   help="Brian2 engine (overrides the config's)")


@register("simulate", "Simulate a motoneuron pool performing a task; write the activity Dataset and figures",
          _simulate_args)
def run_simulate(args: argparse.Namespace) -> int:
    """``mnpool simulate --config FILE --out DIR [--seed N] [--engine E]``."""
    from .simulation import load_config
    cfg = load_config(args.config, seed=args.seed, engine=args.engine)
    out = _prepare_out(args.out)
    return _simulate_and_write(cfg, out, progress=not args.quiet)


def _simulate_and_write(cfg, out: Path, *, progress: bool) -> int:  # noqa: ANN001
    from .io import save_netcdf
    from .plotting import plot_activity, save_figure
    from .simulation import simulate
    ds = simulate(cfg, progress=progress)
    with tempfile.TemporaryDirectory(dir=out.parent if out.parent.exists() else None) as tmp:
        staging = Path(tmp)
        save_netcdf(ds, staging / "activity.nc")
        save_figure(plot_activity(ds), staging / "activity.png")
        (staging / "config.toml").write_text(_to_toml(cfg.to_dict()))
        _publish(staging, out)
    if progress:
        print(f"wrote {out / 'activity.nc'} ({ds.sizes['spike']} spikes, {ds.sizes['unit']} units) "
              f"and {out / 'activity.png'}")
    return 0


def _to_toml(data: dict, prefix: str = "") -> str:
    """Minimal TOML writer for nested config dicts (numbers, strings, booleans, lists)."""
    import json
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    lines = []
    if prefix and scalars:
        lines.append(f"[{prefix}]")
    for k, v in scalars.items():
        val = ("true" if v else "false") if isinstance(v, bool) else json.dumps(v)
        lines.append(f"{k} = {val}")
    text = "\n".join(lines) + ("\n\n" if lines else "")
    for k, v in tables.items():
        text += _to_toml(v, f"{prefix}.{k}" if prefix else k)
    return text


def _demo_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", metavar="DIR", default="demo_output", help="output folder")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


@register("demo", "Default scenario end to end: 200-unit pool, 30 %%MVC trapezoid, Dataset and figures",
          _demo_args)
def run_demo(args: argparse.Namespace) -> int:
    """``mnpool demo [--out DIR]``: the default trapezoid at 30 %MVC on a 200-unit pool."""
    from .simulation import SimulationConfig
    cfg = SimulationConfig(seed=args.seed)
    out = _prepare_out(args.out)
    return _simulate_and_write(cfg, out, progress=not args.quiet)
