"""Benchmark suites: recordings with ground truth for scoring any decomposition tool.

A suite is a folder of recording Datasets spanning a documented grid of conditions
(SNR x contraction level x electrode grid x pool size) plus a ``manifest.json`` that lists every
recording with its conditions. :func:`run_suite` decomposes each recording with mnpool's own
method (:func:`validation.decomposition.decompose`); :func:`score_suite` scores the outputs of
*any* tool (files named after the recording ids, in any format :func:`simulator.io.
read_decomposition` reads) and returns one table, written as CSV and NetCDF, with figures of the
units found against SNR, the RoA distribution, and detectability against recruitment threshold
and depth (the biases of real decompositions toward large, superficial units: Farina et al. 2010
J Appl Physiol 108:1792).

Recordings come from a *recording factory*: a callable ``factory(conditions, seed) -> Dataset``.
The default, :func:`simulated_recording`, runs the Brian2 pool and the EMG synthesis
(:mod:`simulator.network`, :mod:`simulator.emg`); :func:`toy_factory` uses the test fixture of
:mod:`validation.testing` so that the suite machinery works (and is tested) without them.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from simulator.config import Config, ConfigError, param, short_repr
from simulator.io import atomic_path, save_netcdf
from simulator.loading import InputError, read_decomposition_file, read_json, read_recording

from .decomposition import DecompositionConfig, decompose
from .metrics import score

__all__ = ["SuiteConfig", "RecordingFactory", "conditions", "simulated_recording", "toy_factory",
           "make_suite", "run_suite", "score_suite", "score_file", "suite_figures", "MANIFEST",
           "check_suite"]

#: Name of the manifest file of a suite folder.
MANIFEST = "manifest.json"

RecordingFactory = Callable[[dict[str, Any], int], xr.Dataset]


@dataclasses.dataclass(frozen=True)
class SuiteConfig(Config):
    """The grid of conditions of a benchmark suite (every combination is one recording)."""

    section = "benchmark"

    snr_db: tuple[float, ...] = param((10.0, 20.0, 30.0), lo=-20.0, hi=80.0, unit="dB",
                                      doc="signal-to-noise ratios")
    contraction_mvc: tuple[float, ...] = param((10.0, 30.0, 50.0), lo=0.5, hi=100.0, unit="%MVC",
                                               doc="plateau of the trapezoidal contraction")
    grid: tuple[str, ...] = param(("13x5",), doc="electrode grids (rows x columns)")
    n_units: tuple[int, ...] = param((200,), lo=1, hi=2000, doc="motor units in the pool")
    duration_s: float = param(20.0, lo=1.0, hi=600.0, unit="s", doc="plateau duration")
    fs_hz: float = param(2048.0, lo=256.0, hi=100000.0, unit="Hz", doc="sampling rate")
    seed: int = param(0, lo=0, hi=2**32 - 1, doc="seed of the first recording (then +1 each)")

    def validate(self) -> None:
        for g in self.grid:
            parts = str(g).lower().split("x")
            if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
                raise ConfigError(f"benchmark.grid = {self.grid!r}: {g!r} must look like '13x5'")
        for name in ("snr_db", "contraction_mvc", "grid", "n_units"):
            if len(getattr(self, name)) == 0:
                raise ConfigError(f"benchmark.{name} is empty; give at least one value")


def conditions(cfg: SuiteConfig) -> list[dict[str, Any]]:
    """Every combination of the suite's conditions, with a recording id and seed, in order."""
    out = []
    for i, (snr, mvc, grid, n) in enumerate(itertools.product(
            cfg.snr_db, cfg.contraction_mvc, cfg.grid, cfg.n_units)):
        out.append({"id": f"rec_{i:03d}", "snr_db": float(snr), "contraction_mvc": float(mvc),
                    "grid": str(grid), "n_units": int(n), "duration_s": cfg.duration_s,
                    "fs_hz": cfg.fs_hz, "seed": cfg.seed + i})
    return out


def simulated_recording(cond: dict[str, Any], seed: int) -> xr.Dataset:
    """Recording factory on the full simulator: Brian2 pool, trapezoid contraction, HD-sEMG.

    The pool (``n_units``) performs a trapezoid to ``contraction_mvc`` %MVC with a plateau of
    ``duration_s``; the grid is given as ``"ROWSxCOLS"`` and mapped to the matching standard
    grid (13x5 at 8 mm, 8x8 at 10 mm, 10x32 at 8 mm) or a custom 8 mm grid.
    """
    from simulator.electrodes import GRIDS, GridConfig
    from simulator.emg import EmgConfig, synthesize
    from simulator.models.pool import PoolConfig
    from simulator.simulation import SimulationConfig, simulate
    from simulator.task import TaskConfig
    rows, cols = (int(v) for v in str(cond["grid"]).lower().split("x"))
    named = [name for name, (r, c, _) in GRIDS.items() if (r, c) == (rows, cols)]
    grid = GridConfig(name=named[0]) if named else GridConfig(name="custom", rows=rows, cols=cols)
    sim = SimulationConfig(pool=PoolConfig(n_units=int(cond["n_units"])), seed=int(seed),
                           task=TaskConfig(shape="trapezoid", level=float(cond["contraction_mvc"]),
                                           rest_s=0.5, rise_s=2.0, plateau_s=float(cond["duration_s"]),
                                           fall_s=2.0, rest_after_s=0.5))
    activity = simulate(sim)
    emg_cfg = EmgConfig(grid=grid, snr_db=float(cond["snr_db"]), fs_hz=float(cond["fs_hz"]))
    return synthesize(activity, emg_cfg, seed=int(seed))


def toy_factory(cond: dict[str, Any], seed: int) -> xr.Dataset:
    """Recording factory on the test fixture :func:`validation.testing.toy_recording`.

    The number of active units grows with the contraction level (a tenth of the pool at 30 %MVC,
    at least 3, at most 30), as recruitment would.
    """
    from .testing import toy_recording
    rows, cols = (int(v) for v in cond["grid"].lower().split("x"))
    n_active = int(np.clip(round(cond["n_units"] * cond["contraction_mvc"] / 300.0), 3, 30))
    return toy_recording(n_active, n_channels=min(64, rows * cols), duration_s=cond["duration_s"],
                         snr_db=cond["snr_db"], seed=seed, fs_hz=cond["fs_hz"], grid=(rows, cols))


def make_suite(out_dir: str | Path, cfg: SuiteConfig | None = None, *,
               factory: RecordingFactory | None = None, progress: bool = False) -> Path:
    """Generate every recording of a suite and its manifest.

    Parameters
    ----------
    out_dir
        Folder to create; recordings are ``<id>.nc``.
    cfg
        Grid of conditions (default :class:`SuiteConfig`).
    factory
        Recording factory (default :func:`simulated_recording`).
    progress
        Show a progress bar.

    Returns
    -------
    Path
        The manifest file (written last, atomically: a suite without one is incomplete).
    """
    cfg = cfg or SuiteConfig()
    factory = factory or simulated_recording
    out = Path(out_dir)
    conds = conditions(cfg)
    it = conds
    if progress:
        from tqdm import tqdm
        it = tqdm(conds, desc="benchmark make", unit="recording")
    for c in it:
        ds = factory(c, c["seed"])
        ds.attrs["benchmark_id"] = c["id"]
        save_netcdf(ds, out / f"{c['id']}.nc")
    manifest = {"suite": cfg.to_dict(), "factory": getattr(factory, "__name__", str(factory)),
                "recordings": [{**c, "file": f"{c['id']}.nc"} for c in conds]}
    with atomic_path(out / MANIFEST, suffix=".json") as tmp:
        tmp.write_text(json.dumps(manifest, indent=2))
    return out / MANIFEST


#: A recording id: a plain file stem (it names ``<id>.nc`` files inside output folders).
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,119}")
_CONDITIONS = ("snr_db", "contraction_mvc", "grid", "n_units", "seed")


def _inside(base: Path, relative: Any, where: str) -> Path:
    """``base / relative``, checked to stay inside ``base`` (no absolute path, no ``..``)."""
    if not isinstance(relative, str) or not relative or "\0" in relative:
        raise InputError(where, f"file name {short_repr(relative)} must be a non-empty string")
    rel = Path(relative)
    if rel.is_absolute() or ".." in rel.parts:
        raise InputError(where, f"file name {short_repr(relative)} must be a relative path "
                                "inside the suite folder (no '..', not absolute)")
    full = (base / rel).resolve()
    if not full.is_relative_to(base.resolve()):
        raise InputError(where, f"file name {short_repr(relative)} leads outside the suite folder")
    return base / rel


def check_suite(suite_dir: str | Path) -> dict[str, Any]:
    """Read and validate a suite's manifest: every id a plain name, every file inside the suite.

    Paths built from the manifest (``<id>.nc`` in output folders, the recording files) must stay
    inside their folders whatever the file says (issue 16).
    """
    p = Path(suite_dir) / MANIFEST
    if not p.is_file():
        raise FileNotFoundError(f"no benchmark manifest {str(p)!r}; create one with "
                                "'mnpool benchmark make'")
    man = read_json(p, "benchmark manifest")
    if not isinstance(man, dict) or not isinstance(man.get("recordings"), list) \
            or not isinstance(man.get("suite"), dict):
        raise InputError(p, "needs an object with 'suite' (table) and 'recordings' (list)")
    seen = set()
    for i, r in enumerate(man["recordings"]):
        if not isinstance(r, dict):
            raise InputError(p, f"recordings[{i}] must be an object")
        rid = r.get("id")
        if not isinstance(rid, str) or not _ID.fullmatch(rid) or ".." in rid:
            raise InputError(p, f"recordings[{i}].id = {short_repr(rid)} must be a plain name "
                                "(letters, digits, '_', '-', '.', '+'; no path)")
        if rid in seen:
            raise InputError(p, f"recording id {rid!r} appears twice")
        seen.add(rid)
        missing = [k for k in _CONDITIONS if k not in r]
        if missing:
            raise InputError(p, f"recordings[{i}] ({rid}) lacks {', '.join(missing)}")
        seed = r["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise InputError(p, f"recordings[{i}].seed = {short_repr(seed)} must be an integer >= 0")
        _inside(Path(suite_dir), r.get("file"), str(p))
    return man


def run_suite(suite_dir: str | Path, out_dir: str | Path | None = None,
              cfg: DecompositionConfig | None = None, *, progress: bool = False) -> list[Path]:
    """Decompose every recording of a suite with mnpool's method.

    Parameters
    ----------
    suite_dir
        Folder made by :func:`make_suite`.
    out_dir
        Where ``<id>.nc`` decompositions go (default ``suite_dir/mnpool``).
    cfg
        Decomposition settings.
    progress
        Show a progress bar.

    Returns
    -------
    list of Path
        The decomposition files.
    """
    man = check_suite(suite_dir)
    out = Path(out_dir) if out_dir is not None else Path(suite_dir) / "mnpool"
    files = []
    recs = man["recordings"]
    if progress:
        from tqdm import tqdm
        recs = tqdm(recs, desc="benchmark run", unit="recording")
    for r in recs:
        rec = read_recording(_inside(Path(suite_dir), r["file"], str(Path(suite_dir) / MANIFEST)))
        files.append(save_netcdf(decompose(rec, cfg, seed=r["seed"]), out / f"{r['id']}.nc"))
    return files


def score_file(recording: str | Path | xr.Dataset, decomposition: str | Path | xr.Dataset, *,
               fmt: str | None = None, **kwargs: Any) -> xr.Dataset:
    """Score one decomposition file (any supported format) against a recording's truth.

    Parameters
    ----------
    recording
        Recording Dataset or its NetCDF file.
    decomposition
        Decomposition Dataset or file (see :func:`simulator.io.read_decomposition`).
    fmt
        Format of the decomposition file (guessed if ``None``).
    **kwargs
        Passed to :func:`validation.metrics.score`.
    """
    rec = recording if isinstance(recording, xr.Dataset) else read_recording(recording, truth=True)
    if "spike_unit" not in rec:
        raise ConfigError("the recording has no ground truth (variables 'spike_unit' and "
                          "'spike_sample'/'spike_time'); only simulated recordings can be scored")
    if isinstance(decomposition, xr.Dataset):
        dec = decomposition
    else:
        dec = read_decomposition_file(decomposition, fmt)
        if "fs_hz" not in dec.attrs:  # formats without a stored rate: the recording's
            dec.attrs["fs_hz"] = float(rec.attrs["fs_hz"])
    return score(dec, rec, **kwargs)


def score_suite(suite_dir: str | Path, decompositions: str | Path, *, fmt: str | None = None,
                tool: str = "") -> tuple[pd.DataFrame, xr.Dataset]:
    """Score a tool's decompositions of every recording of a suite.

    Parameters
    ----------
    suite_dir
        Folder made by :func:`make_suite`.
    decompositions
        Folder with one file per recording, named ``<id>.<ext>`` (any supported format).
    fmt
        Format of the files (guessed per file if ``None``).
    tool
        Name of the tool, recorded in the table.

    Returns
    -------
    units : pandas.DataFrame
        One row per (recording, true unit): conditions, unit properties and scores.
    summary : xarray.Dataset
        Per recording (dim ``recording``): conditions, ``n_found``, ``n_matched``,
        ``n_estimated``, ``n_duplicates``, ``mean_roa_matched``.
    """
    man = check_suite(suite_dir)
    ddir = Path(decompositions)
    if not ddir.is_dir():
        raise FileNotFoundError(f"no such folder of decompositions: {str(ddir)!r}")
    rows, summ = [], []
    for r in man["recordings"]:
        cands = sorted(p for p in ddir.glob(f"{r['id']}.*") if p.is_file())
        if not cands:
            raise FileNotFoundError(f"no decomposition of {r['id']} in {str(ddir)!r} "
                                    f"(expected {r['id']}.json/.mat/.csv/.nc)")
        sc = score_file(_inside(Path(suite_dir), r["file"], str(Path(suite_dir) / MANIFEST)),
                        cands[0], fmt=fmt)
        cond = {k: r[k] for k in ("id", "snr_db", "contraction_mvc", "grid", "n_units", "seed")}
        df = sc.drop_dims("estimate").to_dataframe().reset_index()
        for k, v in cond.items():
            df[k] = v
        rows.append(df)
        summ.append({**cond, **{k: sc.attrs[k] for k in (
            "n_true_active", "n_estimated", "n_matched", "n_found", "n_duplicates",
            "mean_roa_matched")}})
    units = pd.concat(rows, ignore_index=True)
    units["tool"] = tool
    summary = xr.Dataset.from_dataframe(pd.DataFrame(summ).set_index("id").rename_axis("recording"))
    summary.attrs = {"kind": "benchmark_score", "tool": tool, "suite": json.dumps(man["suite"])}
    return units, summary


def suite_figures(units: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """Figures of a scored suite: units found vs SNR, RoA distribution, detectability.

    Parameters
    ----------
    units
        Per-unit table from :func:`score_suite`.
    out_dir
        Folder for the PNG files.

    Returns
    -------
    list of Path
        ``units_found_vs_snr.png``, ``roa_distribution.png``, ``detectability.png``.
    """
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    found = units.groupby(["snr_db", "contraction_mvc"])["found"].sum() / units.groupby(
        ["snr_db", "contraction_mvc"])["id"].nunique()
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for mvc, grp in found.groupby(level="contraction_mvc"):
        ax.plot(grp.index.get_level_values("snr_db"), grp.values, "o-", label=f"{mvc:g} %MVC")
    ax.set(xlabel="SNR (dB)", ylabel="units found per recording (RoA >= 0.9)")
    ax.legend(frameon=False)
    files.append(out / "units_found_vs_snr.png")
    fig.tight_layout()
    fig.savefig(files[-1], dpi=120)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    matched = units[units["matched_estimate"] >= 0]
    ax.hist(matched["roa"], bins=np.linspace(0, 1, 21), color="0.4")
    ax.set(xlabel="rate of agreement of matched units", ylabel="units")
    files.append(out / "roa_distribution.png")
    fig.tight_layout()
    fig.savefig(files[-1], dpi=120)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(8, 3.5), sharey=True)
    active = units[units["n_true_spikes"] > 0]
    for ax, col, label in ((axes[0], "recruitment_excitation", "recruitment threshold (excitation)"),
                           (axes[1], "depth_mm", "depth (mm)")):
        if col in active:
            f = active["found"].astype(bool)
            ax.scatter(active.loc[~f, col], active.loc[~f, "roa"], s=8, c="0.7", label="missed")
            ax.scatter(active.loc[f, col], active.loc[f, "roa"], s=8, c="C3", label="found")
        ax.set(xlabel=label)
    axes[0].set_ylabel("RoA")
    axes[0].legend(frameon=False)
    files.append(out / "detectability.png")
    fig.tight_layout()
    fig.savefig(files[-1], dpi=120)
    plt.close(fig)
    return files
