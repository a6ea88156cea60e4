"""Training-adaptation scenarios: a measurement battery before and after an adaptation at chosen
sites, on a virtual cohort, and the signature it leaves in every measurement.

A *battery* (:class:`BatteryConfig`) is what one lab session measures on one subject: MVC, a
trapezoidal contraction at a %MVC of *that session's* MVC (recruitment and derecruitment
thresholds, plateau discharge rate, rate–force gain; Del Vecchio et al. 2019), triangular ramps
(delta-F), the H/M recruitment curve at rest, H-reflex and V-wave during MVC with twitch
interpolation, TMS (MEP, SICI, silent period), CMEP and startle. :func:`run_battery` returns one
``session`` Dataset of scalar measures and per-unit values.

A *training scenario* (:class:`TrainingScenario`, read from TOML, see ``scenarios/library``) is a
cohort (:mod:`scenarios.cohort`), an adaptation ``{site: relative change}``
(:mod:`simulator.sites`) reached at the last session with an optional time course over weeks, a
battery, and the published outcomes to compare with. :func:`run_training` runs every (subject,
session) battery as an independent task on Dask (:func:`scenarios.sweep.run_tasks`: results
stream to disk, a re-run skips finished sessions, a failed one is reported and the rest go on)
and assembles the *signature* (:func:`signature`): per subject and measure the pre and post
values and the change, and per measure the mean change, its SD, 95 % CI and the standardised
effect size (Cohen's d_z), next to the published value.

Motor units are followed across sessions on the true spikes (a simulated unit keeps its index),
so per-unit measures are compared within the same units, as tracking does in the lab
(Martinez-Valdes et al. 2017); decomposing and tracking the sessions' HD-sEMG is the job of
:mod:`validation.tracking` and is reported separately (it measures the analysis, not the subject).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from scenarios import cohort as C
from scenarios import evoked as E
from simulator import measures, streams
from simulator.config import Config, ConfigError, load_toml, param
from simulator.simulation import SimulationConfig, simulate
from simulator.sites import apply_adaptation
from simulator.task import TaskConfig

__all__ = ["Measure", "MEASURES", "UNIT_MEASURES", "BatteryConfig", "run_battery", "battery_task", "change",
           "TrainingScenario", "load_scenario", "session_tasks", "run_training", "signature",
           "summarize_signature", "comparison_table", "plot_signature", "LIBRARY"]

#: Folder of the published scenario files.
LIBRARY = Path(__file__).with_name("library")


@dataclasses.dataclass(frozen=True)
class Measure:
    """One measurement of the battery.

    Attributes
    ----------
    unit
        Unit of the measure itself.
    relative
        Changes are reported in % of the pre value (else in the measure's unit).
    long_name
        Description.
    """

    unit: str
    relative: bool
    long_name: str

    @property
    def change_unit(self) -> str:
        """Unit of a pre→post change."""
        return "%" if self.relative else self.unit


#: Every measure of the battery (the measure names of signatures, libraries and observations).
MEASURES: dict[str, Measure] = {
    "mvc": Measure("N", True, "maximal voluntary force"),
    "recruitment_threshold": Measure("%MVC", True, "median recruitment threshold (tracked units)"),
    "derecruitment_threshold": Measure("%MVC", False, "median derecruitment threshold (tracked units)"),
    "discharge_rate": Measure("pps", False, "median plateau discharge rate (tracked units)"),
    "rate_force_gain": Measure("pps/%MVC", True, "median rate-force gain on the ramp (tracked units)"),
    "delta_f": Measure("pps", False, "median delta-F of units recruited at 1-10 %MVC (paired-unit technique)"),
    "hmax_mmax": Measure("1", True, "Hmax/Mmax at rest"),
    "h_mvc": Measure("1", True, "H-reflex during MVC / superimposed M-wave"),
    "v_msup": Measure("1", True, "V-wave / superimposed M-wave at MVC"),
    "voluntary_activation": Measure("%", False, "voluntary activation by twitch interpolation"),
    "mep_mmax": Measure("1", True, "MEP / Mmax at rest"),
    "sici": Measure("1", False, "conditioned/test MEP at 2.5 ms ISI"),
    "silent_period": Measure("ms", False, "cortical silent period"),
    "cmep_mmax": Measure("1", True, "CMEP / Mmax at rest"),
    "startle": Measure("mV", True, "startle response amplitude"),
}
#: Unit measures also computed on decomposed HD-sEMG and tracked by MUAP (battery.decomposition).
UNIT_MEASURES = ("recruitment_threshold", "derecruitment_threshold", "discharge_rate", "rate_force_gain")
MEASURES.update({f"{m}_dec": dataclasses.replace(MEASURES[m], long_name=MEASURES[m].long_name.replace(
    "tracked units", "units decomposed and tracked by MUAP")) for m in UNIT_MEASURES})
MEASURES["tracked_units_dec"] = Measure("1", False, "units decomposed in both sessions and tracked")


@dataclasses.dataclass(frozen=True)
class BatteryConfig(Config):
    """The measurements of one session (durations kept short: every session is one task)."""

    section = "battery"

    trapezoid_level: float = param(35.0, lo=5.0, hi=90.0, unit="%MVC",
                                   doc="plateau of the trapezoid, in % of the session's own MVC")
    trapezoid_rise_s: float = param(3.5, lo=0.5, hi=30.0, unit="s")
    trapezoid_plateau_s: float = param(4.0, lo=0.5, hi=60.0, unit="s")
    triangle: bool = param(True, doc="triangular ramps for delta-F")
    triangle_level: float = param(30.0, lo=5.0, hi=60.0, unit="%MVC")
    triangle_ramp_s: float = param(8.0, lo=1.0, hi=30.0, unit="s")
    h_reflex: bool = param(True, doc="H/M recruitment curve at rest, H and V during MVC, twitch interpolation")
    h_intensities_ma: tuple[float, ...] = param((6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 40.0), lo=0.0,
                                                hi=200.0, unit="mA")
    tms: bool = param(True, doc="MEP, SICI and silent period")
    mep_pct: float = param(65.0, lo=0.0, hi=100.0, unit="%MSO")
    cmep: bool = param(True)
    startle: bool = param(True)
    repeats: int = param(2, lo=1, hi=20, doc="sweeps averaged per evoked response")
    decomposition: bool = param(False, doc=(
        "also synthesise the trapezoid's HD-sEMG, decompose it and compute the unit measures on "
        "the decomposed units, tracked across sessions by MUAP (the '_dec' measures)"))
    electrode_shift_mm: float = param(2.0, lo=0.0, hi=20.0, unit="mm", doc=(
        "SD of the grid placement between sessions (drawn from the subject's seed and session)"))


def _median(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=float)
    return float(np.nanmedian(x)) if np.isfinite(x).any() else float("nan")


def _unit_measures(trains: Mapping[int, np.ndarray], ds: xr.Dataset) -> dict[str, np.ndarray]:
    """Thresholds, plateau rate and rate–force gain of every train (true or decomposed)."""
    t, force = ds["time"].values, ds["force_mvc"].values
    target = ds["target"].values
    plateau = t[target >= target.max() - 1e-9]
    t0, t1 = plateau[0] + 0.5, plateau[-1]  # skip the overshoot at the corner
    n = len(trains)
    rt, dert, rate, gain = (np.full(n, np.nan) for _ in range(4))
    for k, (u, s) in enumerate(sorted(trains.items())):
        rt[k], dert[k] = measures.thresholds(s, t, force)
        count = np.sum((s >= t0) & (s <= t1))
        rate[k] = count / (t1 - t0) if count else np.nan
        gain[k] = measures.rate_force_gain(s, t, force)
    return {"recruitment_threshold": rt, "derecruitment_threshold": dert, "discharge_rate": rate,
            "rate_force_gain": gain}


def _trapezoid(cfg: SimulationConfig, b: BatteryConfig, calibration: Any
               ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    task = TaskConfig(shape="trapezoid", level=b.trapezoid_level, rest_s=0.5, rise_s=b.trapezoid_rise_s,
                      plateau_s=b.trapezoid_plateau_s, fall_s=b.trapezoid_rise_s, rest_after_s=0.5)
    ds = simulate(cfg.replace(task=task), calibration=calibration)
    units = _unit_measures(measures.spike_trains(ds), ds)
    return units, (_decomposed(ds, cfg, b) if b.decomposition else {})


def _decomposed(ds: xr.Dataset, cfg: SimulationConfig, b: BatteryConfig) -> dict[str, Any]:
    """Decompose the session's HD-sEMG; per decomposed unit: measures and grid MUAP for tracking."""
    from simulator.electrodes import GridConfig
    from simulator.emg import EmgConfig, synthesize
    from validation.decomposition import decompose
    from validation.metrics import spike_trains_from_dataset
    from validation.tracking import grid_templates
    shift = (streams.rng(cfg.seed, "electrode_shift", cfg.session).normal(0.0, b.electrode_shift_mm, 2)
             if cfg.session and b.electrode_shift_mm > 0 else np.zeros(2))
    grid = GridConfig(offset_x_mm=float(shift[0]), offset_z_mm=float(shift[1]))
    rec = synthesize(ds, EmgConfig(grid=grid), seed=cfg.seed)
    dec = decompose(rec, seed=cfg.seed)
    samples = spike_trains_from_dataset(dec, n_units=dec.sizes.get("unit", 0))
    fs = float(rec.attrs["fs_hz"])
    units = _unit_measures({k: np.asarray(s) / fs for k, s in enumerate(samples)}, ds)
    out: dict[str, Any] = {f"dec_unit_{m}": ("dec_unit", v) for m, v in units.items()}
    out["dec_template"] = (("dec_unit", "row", "col", "lag"), grid_templates(rec, samples))
    return out


def run_battery(cfg: SimulationConfig, battery: BatteryConfig | Mapping[str, Any] | None = None) -> xr.Dataset:
    """Run one session's battery on a subject.

    Parameters
    ----------
    cfg
        The subject on that day (its task is ignored).
    battery
        Which measurements (default :class:`BatteryConfig`).

    Returns
    -------
    xarray.Dataset
        ``kind = "session"``: one scalar variable per measure of :data:`MEASURES` that was
        measured, and per-unit ``unit_<measure>`` variables for the unit measures.
    """
    b = battery if isinstance(battery, BatteryConfig) else BatteryConfig.from_dict(battery or {})
    session = E.Session(cfg)
    out: dict[str, Any] = {"mvc": ((), session.calibration.mvc_n)}
    units, decomposed = _trapezoid(cfg, b, session.calibration)
    out.update(decomposed)
    if b.triangle:
        from scenarios.experiments import TriangleProtocol, run
        tri = run(cfg, TriangleProtocol(level=b.triangle_level, ramp_s=b.triangle_ramp_s))
        # test units recruited at 1-10 %MVC, as in the soleus/TA delta-F studies (Afsharipour
        # et al. 2020; Orssatto et al. 2021): higher-threshold units here have almost no pairs
        rt = tri.recruitment_threshold.values
        units["delta_f"] = np.where((rt > 1.0) & (rt < 10.0), tri.delta_f.values, np.nan)
    for name, values in units.items():
        out[f"unit_{name}"] = ("unit", values)
        out[name] = ((), _median(values))
    if b.h_reflex:
        h = E.run(cfg, E.HReflexProtocol(intensities_ma=b.h_intensities_ma, repeats=1), session=session)
        out["hmax_mmax"] = ((), float(h.hmax_mmax))
        v = E.run(cfg, E.VWaveProtocol(repeats=b.repeats), session=session)
        out["v_msup"] = ((), float(v.v_msup))
        out["voluntary_activation"] = ((), float(v.voluntary_activation))
        hm = E.run(cfg, E.HReflexProtocol(intensities_ma=(float(h.intensity_at_hmax),), repeats=b.repeats,
                                          background_pct=100.0), session=session)
        out["h_mvc"] = ((), float(hm.h_reflex[0]) / float(v.m_sup) if float(v.m_sup) > 0 else np.nan)
    if b.tms:
        mep = E.run(cfg, E.MEPProtocol(intensities_pct=(b.mep_pct,), repeats=b.repeats), session=session)
        out["mep_mmax"] = ((), float(mep.mep_mmax[0]))
        sici = E.run(cfg, E.SICIProtocol(isis_ms=(2.5,), repeats=b.repeats), session=session)
        out["sici"] = ((), float(sici.ratio[0]))
        sp = E.run(cfg, E.SilentPeriodProtocol(repeats=b.repeats), session=session)
        out["silent_period"] = ((), float(sp.silent_period))
    if b.cmep:
        cm = E.run(cfg, E.CMEPProtocol(intensity_pct=60.0, repeats=b.repeats), session=session)
        out["cmep_mmax"] = ((), float(cm.cmep_mmax))
    if b.startle:
        st = E.run(cfg, E.StartleProtocol(repeats=b.repeats), session=session)
        out["startle"] = ((), float(st.startle_response))
    ds = xr.Dataset({k: (dims, np.asarray(v, dtype=float)) for k, (dims, v) in out.items()})
    for name, m in MEASURES.items():
        if name in ds:
            ds[name].attrs.update(units=m.unit, long_name=m.long_name)
    ds.attrs = {"kind": "session", "battery": b.to_dict(), "config": cfg.to_dict(), "seed": cfg.seed}
    return ds


def battery_task(cfg: SimulationConfig, battery: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Task function of training and atlas runs (``scenarios.training:battery_task``)."""
    return run_battery(cfg, battery)


def _paired_change(a: np.ndarray, b: np.ndarray, m: Measure) -> float:
    """Median change over the pairs with finite values in both sessions."""
    ok = np.isfinite(a) & np.isfinite(b) & ((a != 0) | (not m.relative))
    if not ok.any():
        return float("nan")
    d = 100.0 * (b[ok] / a[ok] - 1.0) if m.relative else b[ok] - a[ok]
    return float(np.median(d))


def _tracked_pairs(pre: xr.Dataset, post: xr.Dataset, threshold: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Decomposed units of the two sessions paired by MUAP similarity (Martinez-Valdes et al. 2017)."""
    from scipy.optimize import linear_sum_assignment

    from validation.tracking import template_similarity
    a, b = pre["dec_template"].values, post["dec_template"].values
    if a.shape[0] == 0 or b.shape[0] == 0:
        return np.zeros(0, int), np.zeros(0, int)
    sim = template_similarity(a, b)["similarity"]
    rows, cols = linear_sum_assignment(-sim)
    keep = sim[rows, cols] >= threshold
    return rows[keep], cols[keep]


def change(pre: xr.Dataset, post: xr.Dataset) -> dict[str, float]:
    """Pre→post change of every measure both sessions have (% for relative measures).

    Unit measures compare the same units (those with a finite value in both sessions) and take
    the median of the per-unit changes; scalar measures compare the session values. With
    decomposed sessions, the ``_dec`` measures do the same on decomposed units paired across
    sessions by MUAP similarity.
    """
    out: dict[str, float] = {}
    if "dec_template" in pre and "dec_template" in post:
        ia, ib = _tracked_pairs(pre, post)
        out["tracked_units_dec"] = float(ia.size)
        for name in UNIT_MEASURES:
            out[f"{name}_dec"] = _paired_change(pre[f"dec_unit_{name}"].values[ia],
                                                post[f"dec_unit_{name}"].values[ib], MEASURES[name])
    for name, m in MEASURES.items():
        if name not in pre or name not in post:
            continue
        key = f"unit_{name}"
        if key in pre and key in post and pre.sizes.get("unit") == post.sizes.get("unit"):
            out[name] = _paired_change(pre[key].values, post[key].values, m)
            continue
        a, b = float(pre[name]), float(post[name])
        if m.relative:
            out[name] = 100.0 * (b / a - 1.0) if a != 0 and np.isfinite(a) else float("nan")
        else:
            out[name] = b - a
    return out


# ----------------------------------------------------------------------------- scenarios
@dataclasses.dataclass(frozen=True)
class TrainingScenario:
    """A runnable training design.

    Attributes
    ----------
    name, reference, description, muscle
        What the scenario reproduces.
    adaptation
        ``{site: relative change}`` reached at the last session.
    weeks
        Week of every session (first = pre).
    time_constant_weeks
        Adaptation at week w is ``(1 - exp(-w/τ)) / (1 - exp(-W/τ))`` of the final one
        (``0`` = linear in weeks).
    subject
        Base subject (the cohort is drawn around it).
    cohort
        Inter-individual and day-to-day variability.
    battery
        Session measurements.
    control
        Also run an untrained control group of the same size.
    published
        ``{measure: {"change": x, "sd": s, "note": ...}}`` in the measure's change unit.
    """

    name: str
    adaptation: Mapping[str, float]
    subject: SimulationConfig = SimulationConfig()
    cohort: C.CohortConfig = C.CohortConfig()
    battery: BatteryConfig = BatteryConfig()
    weeks: tuple[float, ...] = (0.0, 4.0)
    time_constant_weeks: float = 0.0
    control: bool = False
    reference: str = ""
    description: str = ""
    muscle: str = ""
    published: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)

    def fraction(self, week: float) -> float:
        """Fraction of the final adaptation present at ``week``."""
        last = self.weeks[-1]
        if last <= 0:
            return 1.0
        if self.time_constant_weeks <= 0:
            return float(week / last)
        tau = self.time_constant_weeks
        return float((1 - np.exp(-week / tau)) / (1 - np.exp(-last / tau)))


_SCENARIO_KEYS = {"name", "reference", "description", "muscle", "adaptation", "weeks",
                  "time_constant_weeks", "control", "subject", "cohort", "battery", "published"}


def load_scenario(source: str | os.PathLike | Mapping[str, Any]) -> TrainingScenario:
    """Read a scenario TOML file (or a library name such as ``"del_vecchio_2019"``, or a dict).

    Every part is validated before anything runs: unknown keys, unknown sites, changes outside
    [:data:`~simulator.sites.MIN_CHANGE`, :data:`~simulator.sites.MAX_CHANGE`], adaptations the
    model cannot represent, published measures not in :data:`MEASURES` or without ``change``.
    """
    if isinstance(source, Mapping):
        data, where = dict(source), "<dict>"
    else:
        path = Path(source)
        if not path.suffix and not path.exists():
            path = LIBRARY / f"{source}.toml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in LIBRARY.glob("*.toml")))
            raise ConfigError(f"scenario {str(source)!r} is not a file nor a library scenario ({known})")
        data, where = load_toml(path), str(path)
    unknown = set(data) - _SCENARIO_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown scenario keys {sorted(unknown)}; allowed {sorted(_SCENARIO_KEYS)}")
    if not isinstance(data.get("adaptation"), Mapping) or not data["adaptation"]:
        raise ConfigError(f"{where}: [adaptation] must map at least one site to a relative change")
    subject = SimulationConfig.from_dict(data.get("subject", {}))
    adaptation = {str(k): v for k, v in data["adaptation"].items()}
    apply_adaptation(subject, adaptation)  # unknown sites and unsupported magnitudes fail here
    weeks = tuple(float(w) for w in data.get("weeks", (0.0, 4.0)))
    if len(weeks) < 2 or any(b <= a for a, b in zip(weeks, weeks[1:])) or weeks[0] != 0:
        raise ConfigError(f"{where}: weeks = {list(weeks)} must start at 0 and increase (>= 2 sessions)")
    published = {}
    for name, entry in (data.get("published") or {}).items():
        if name not in MEASURES:
            raise ConfigError(f"{where}: published measure {name!r} is unknown; known: {', '.join(MEASURES)}")
        if not isinstance(entry, Mapping) or "change" not in entry:
            raise ConfigError(f"{where}: published.{name} needs a 'change' (in {MEASURES[name].change_unit})")
        published[name] = dict(entry)
    return TrainingScenario(
        name=str(data.get("name", where)), adaptation=adaptation, subject=subject,
        cohort=C.CohortConfig.from_dict(data.get("cohort", {})),
        battery=BatteryConfig.from_dict(data.get("battery", {})), weeks=weeks,
        time_constant_weeks=float(data.get("time_constant_weeks", 0.0)), control=bool(data.get("control", False)),
        reference=str(data.get("reference", "")), description=str(data.get("description", "")),
        muscle=str(data.get("muscle", "")), published=published)


FUNCTION = "scenarios.training:battery_task"


def _task_id(cfg: SimulationConfig, battery: BatteryConfig) -> str:
    text = json.dumps({"config": cfg.to_dict(), "battery": battery.to_dict(), "function": FUNCTION},
                      sort_keys=True)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def session_tasks(subjects: Sequence[C.Subject], cohort: C.CohortConfig, battery: BatteryConfig,
                  sessions: Sequence[tuple[int, Mapping[str, float]]], **params: Any) -> list:
    """Tasks of every subject's sessions: ``sessions`` lists ``(session index, adaptation)``."""
    from scenarios.sweep import SweepTask
    tasks = []
    for s in subjects:
        for index, adaptation in sessions:
            cfg = C.session(s, index, cohort)
            if adaptation:
                cfg = apply_adaptation(cfg, adaptation)
            tasks.append(SweepTask(_task_id(cfg, battery),
                                   dict(params, group=s.group, subject=s.id, session=index), cfg))
    return tasks


def run_training(scenario: TrainingScenario, out: str | os.PathLike, *, scheduler: Any = None,
                 workers: int | None = None, progress: bool = True) -> xr.Dataset:
    """Run a training scenario on its cohort and write ``signature.nc`` and figures into ``out``.

    Parameters
    ----------
    scenario
        The design (:func:`load_scenario`).
    out
        Output folder (``tasks/`` holds one file per session; a re-run skips finished ones).
    scheduler, workers
        Dask scheduler (``None``: local cluster, ``"serial"``, an address or a Client) and
        local workers, as for :func:`scenarios.sweep.run_sweep`.
    progress
        Progress bar of sessions done / total.

    Returns
    -------
    xarray.Dataset
        The signature (:func:`signature`), also written to ``out/signature.nc``.
    """
    from scenarios.sweep import run_tasks
    from simulator.io import load_netcdf, save_netcdf
    from simulator.plotting import save_figure
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} exists and is not a folder")
    subjects = C.draw_cohort(scenario.subject, scenario.cohort)
    sessions = [(k, {site: v * scenario.fraction(w) for site, v in scenario.adaptation.items()} if k else {})
                for k, w in enumerate(scenario.weeks)]
    tasks = session_tasks(subjects, scenario.cohort, scenario.battery, sessions)
    if scenario.control:
        controls = C.control_group(scenario.subject, scenario.cohort)
        tasks += session_tasks(controls, scenario.cohort, scenario.battery,
                               [(k, {}) for k in range(len(scenario.weeks))])
    failures, _ = run_tasks(tasks, FUNCTION, out, scheduler=scheduler, workers=workers, progress=progress,
                            kwargs={"battery": scenario.battery.to_dict()}, desc="mnpool train")
    results = {}
    for t in tasks:
        path = out / "tasks" / f"{t.id}.nc"
        if path.is_file():
            results[(t.params["group"], t.params["subject"], t.params["session"])] = load_netcdf(path)
    sig = signature(results, weeks=scenario.weeks)
    sig.attrs.update({"scenario": scenario.name, "reference": scenario.reference,
                      "adaptation": json.dumps(dict(scenario.adaptation)),
                      "published": json.dumps(scenario.published), "n_failed": len(failures)})
    save_netcdf(sig, out / "signature.nc")
    save_figure(plot_signature(sig, scenario.published), out / "signature.png")
    (out / "comparison.txt").write_text(comparison_table(sig, scenario.published) + "\n")
    return sig


def signature(results: Mapping[tuple[str, int, int], xr.Dataset], *,
              weeks: Sequence[float] | None = None) -> xr.Dataset:
    """Assemble session results into a signature Dataset.

    Parameters
    ----------
    results
        ``{(group, subject id, session index): session Dataset}``.
    weeks
        Week of every session index (coordinate only).

    Returns
    -------
    xarray.Dataset
        ``value(group, subject, session, measure)``; ``change(group, subject, measure)`` from the
        first to the last session (units in ``change_unit``); and per group the summary of
        :func:`summarize_signature`.
    """
    groups = sorted({g for g, _, _ in results})
    subjects = sorted({s for _, s, _ in results})
    n_sessions = max(k for _, _, k in results) + 1
    names = list(MEASURES)
    value = np.full((len(groups), len(subjects), n_sessions, len(names)), np.nan)
    delta = np.full((len(groups), len(subjects), len(names)), np.nan)
    for (g, s, k), ds in results.items():
        gi, si = groups.index(g), subjects.index(s)
        for mi, m in enumerate(names):
            if m in ds:
                value[gi, si, k, mi] = float(ds[m])
    for g in groups:
        for s in subjects:
            pre, post = results.get((g, s, 0)), results.get((g, s, n_sessions - 1))
            if pre is None or post is None:
                continue
            for m, d in change(pre, post).items():
                delta[groups.index(g), subjects.index(s), names.index(m)] = d
    sig = xr.Dataset(
        {"value": (("group", "subject", "session", "measure"), value),
         "change": (("group", "subject", "measure"), delta)},
        coords={"group": groups, "subject": subjects, "session": np.arange(n_sessions),
                "measure": names,
                "unit": ("measure", [MEASURES[m].unit for m in names]),
                "change_unit": ("measure", [MEASURES[m].change_unit for m in names])},
        attrs={"kind": "signature"})
    if weeks is not None:
        sig = sig.assign_coords(week=("session", np.asarray(weeks, dtype=float)[:n_sessions]))
    return summarize_signature(sig)


def summarize_signature(sig: xr.Dataset) -> xr.Dataset:
    """Add per group and measure: mean change, SD, 95 % CI (t) and Cohen's d_z = mean/SD."""
    from scipy import stats
    ch = sig["change"]
    n = ch.notnull().sum("subject")
    mean = ch.mean("subject")
    sd = ch.std("subject", ddof=1)
    t = xr.apply_ufunc(lambda k: stats.t.ppf(0.975, np.maximum(k - 1, 1)), n)
    half = t * sd / np.sqrt(n.where(n > 0))
    sig["mean_change"] = mean
    sig["sd_change"] = sd
    sig["ci_low"] = mean - half
    sig["ci_high"] = mean + half
    sig["effect_size"] = mean / sd.where(sd > 1e-9 * (1 + abs(mean)))  # identical changes: undefined
    sig["n"] = n
    return sig


def comparison_table(sig: xr.Dataset, published: Mapping[str, Mapping[str, Any]]) -> str:
    """Simulated (mean [95 % CI], d_z) next to published changes, one measure per line."""
    g = "train" if "train" in sig.group.values else str(sig.group.values[0])
    s = sig.sel(group=g)
    lines = [f"{'measure':<24} {'unit':>8} {'simulated':>26} {'d_z':>6}   published",
             "-" * 86]
    for m in sig.measure.values:
        mean = float(s.mean_change.sel(measure=m))
        if not np.isfinite(mean):
            continue
        ci = f"{mean:+.2f} [{float(s.ci_low.sel(measure=m)):+.2f}, {float(s.ci_high.sel(measure=m)):+.2f}]"
        d = float(s.effect_size.sel(measure=m))
        pub = published.get(str(m))
        ptext = "" if pub is None else f"{float(pub['change']):+.2f}" + (
            f" ± {float(pub['sd']):.2f}" if "sd" in pub else "") + (f"  ({pub['note']})" if "note" in pub else "")
        lines.append(f"{m:<24} {str(sig.change_unit.sel(measure=m).item()):>8} {ci:>26} "
                     f"{d:>6.2f}   {ptext}")
    return "\n".join(lines)


def plot_signature(sig: xr.Dataset, published: Mapping[str, Mapping[str, Any]] | None = None):  # noqa: ANN201
    """Bar chart of the simulated mean change (95 % CI) of every measure, published values as
    diamonds, one panel per change unit."""
    import matplotlib.pyplot as plt
    published = published or {}
    g = "train" if "train" in sig.group.values else str(sig.group.values[0])
    s = sig.sel(group=g)
    finite = [m for m in sig.measure.values if np.isfinite(float(s.mean_change.sel(measure=m)))]
    units = sorted({str(sig.change_unit.sel(measure=m).item()) for m in finite})
    fig, axes = plt.subplots(1, max(1, len(units)), figsize=(3.2 * max(1, len(units)) + 1, 4.2), squeeze=False)
    for ax, unit in zip(axes[0], units):
        ms = [m for m in finite if str(sig.change_unit.sel(measure=m).item()) == unit]
        y = np.arange(len(ms))
        mean = np.array([float(s.mean_change.sel(measure=m)) for m in ms])
        lo = np.array([float(s.ci_low.sel(measure=m)) for m in ms])
        hi = np.array([float(s.ci_high.sel(measure=m)) for m in ms])
        err = np.vstack([mean - np.nan_to_num(lo, nan=0.0), np.nan_to_num(hi, nan=0.0) - mean]).clip(0)
        ax.barh(y, mean, xerr=err, color="tab:blue", alpha=0.7, label="simulated (95% CI)")
        pub = [(i, float(published[m]["change"])) for i, m in enumerate(ms) if m in published]
        if pub:
            ax.plot([p for _, p in pub], [i for i, _ in pub], "D", color="tab:red", label="published")
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_yticks(y, ms, fontsize=8)
        ax.set_xlabel(f"change ({unit})")
    axes[0][0].legend(fontsize=7, frameon=False, loc="lower right")
    fig.suptitle(f"{sig.attrs.get('scenario', 'training signature')}", fontsize=10)
    fig.tight_layout()
    return fig

