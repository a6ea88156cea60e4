"""Training-adaptation scenarios: a measurement battery before and after an adaptation at chosen
sites, on a virtual cohort, and the signature it leaves in every measurement.

A *training scenario* (:class:`TrainingScenario`, read from TOML, see ``scenarios/library``) is a
cohort (:mod:`scenarios.cohort`), an adaptation ``{site: relative change}``
(:mod:`simulator.sites`) reached at the last session with an optional time course over weeks, a
battery (:mod:`scenarios.battery`), and the published outcomes to compare with.
:func:`run_training` runs every (subject, session) battery as an independent task on Dask
(:func:`scenarios.tasks.run_tasks`: results stream to disk, a re-run skips finished sessions, a
failed one is reported and the rest go on) and assembles the *signature*
(:mod:`scenarios.signature`).

This module is the public face of the three: the battery's and the signature's names are
importable from here too.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from scenarios import cohort as C
from scenarios.battery import MEASURES, UNIT_MEASURES, BatteryConfig, Measure, battery_task, run_battery
from scenarios.signature import (change, comparison_rows, comparison_table, plot_signature, signature,
                                 summarize_signature)
from scenarios.tasks import Task, run_tasks, task_id
from simulator.config import ConfigError, load_toml
from simulator.simulation import SimulationConfig
from simulator.sites import apply_adaptation

__all__ = ["Measure", "MEASURES", "UNIT_MEASURES", "BatteryConfig", "run_battery", "battery_task", "change",
           "TrainingScenario", "load_scenario", "session_tasks", "training_tasks", "assemble_training",
           "write_training", "run_training", "signature",
           "summarize_signature", "comparison_rows", "comparison_table", "plot_signature", "LIBRARY", "scenario_names",
           "FUNCTION"]

#: Folder of the published scenario files.
LIBRARY = Path(__file__).with_name("library")
#: Files of :data:`LIBRARY` that are not scenarios (the reference library's base subject).
NOT_SCENARIOS = ("reference_library", "reference_library_dec")


def scenario_names() -> list[str]:
    """Stems of the library's scenario files, sorted."""
    return sorted(p.stem for p in LIBRARY.glob("*.toml") if p.stem not in NOT_SCENARIOS)


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
        ``{measure: {"change": x, "sd": s, "note": ..., "miss": ...}}`` in the measure's change
        unit: what the study measured (``miss``: why the model does not reproduce it, written
        after the run and shown as such).
    rationale
        Why these sites and proportions, stated before any result (library files must have one).
    fit
        ``{"outcome": measure, "how": text}``: the one published outcome the adaptation's size was
        fitted to (every other outcome is a prediction); empty if nothing was fitted.
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
    rationale: str = ""
    fit: Mapping[str, str] = dataclasses.field(default_factory=dict)

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
                  "time_constant_weeks", "control", "subject", "cohort", "battery", "published",
                  "rationale", "fit"}
_PUBLISHED_KEYS = {"change", "sd", "note", "miss"}
_FIT_KEYS = {"outcome", "how"}


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
            known = ", ".join(scenario_names())
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
        extra = sorted(set(entry) - _PUBLISHED_KEYS)
        if extra:
            raise ConfigError(f"{where}: published.{name}: unknown key(s) {extra}; allowed {sorted(_PUBLISHED_KEYS)}")
        published[name] = dict(entry)
    fit = data.get("fit") or {}
    if not isinstance(fit, Mapping) or set(fit) - _FIT_KEYS or (fit and "outcome" not in fit):
        raise ConfigError(f"{where}: [fit] = {fit!r} must hold 'outcome' (one published measure) and "
                          "optionally 'how'")
    if fit and fit["outcome"] not in published:
        raise ConfigError(f"{where}: fit.outcome = {fit['outcome']!r} is not a published measure of the "
                          f"scenario ({', '.join(published) or 'none'}): a dose can only be fitted to "
                          "something the study measured")
    return TrainingScenario(
        name=str(data.get("name", where)), adaptation=adaptation, subject=subject,
        cohort=C.CohortConfig.from_dict(data.get("cohort", {})),
        battery=BatteryConfig.from_dict(data.get("battery", {})), weeks=weeks,
        time_constant_weeks=float(data.get("time_constant_weeks", 0.0)), control=bool(data.get("control", False)),
        reference=str(data.get("reference", "")), description=str(data.get("description", "")),
        muscle=str(data.get("muscle", "")), published=published,
        rationale=str(data.get("rationale", "")), fit={str(k): str(v) for k, v in fit.items()})


#: Task function under which training and atlas sessions are recorded (and hashed into their ids).
FUNCTION = "scenarios.training:battery_task"


def session_tasks(subjects: Sequence[C.Subject], cohort: C.CohortConfig, battery: BatteryConfig,
                  sessions: Sequence[tuple[int, Mapping[str, float]]], **params: Any) -> list:
    """Tasks of every subject's sessions: ``sessions`` lists ``(session index, adaptation)``."""
    tasks = []
    for s in subjects:
        for index, adaptation in sessions:
            cfg = C.session(s, index, cohort)
            if adaptation:
                cfg = apply_adaptation(cfg, adaptation)
            tasks.append(Task(task_id(cfg, FUNCTION, battery=battery.to_dict()),
                              dict(params, group=s.group, subject=s.id, session=index), cfg, battery))
    return tasks


def training_tasks(scenario: TrainingScenario) -> list:
    """Every (subject, session) battery of the scenario (and of its control group) as a task."""
    subjects = C.draw_cohort(scenario.subject, scenario.cohort)
    sessions = [(k, {site: v * scenario.fraction(w) for site, v in scenario.adaptation.items()} if k else {})
                for k, w in enumerate(scenario.weeks)]
    tasks = session_tasks(subjects, scenario.cohort, scenario.battery, sessions)
    if scenario.control:
        controls = C.control_group(scenario.subject, scenario.cohort)
        tasks += session_tasks(controls, scenario.cohort, scenario.battery,
                               [(k, {}) for k in range(len(scenario.weeks))])
    return tasks


def assemble_training(scenario: TrainingScenario, tasks: Sequence[Task], folder: str | os.PathLike, *,
                      n_failed: int = 0) -> xr.Dataset:
    """The signature of ``scenario`` from its finished sessions (``folder/<task id>.nc``)."""
    from simulator.io import load_netcdf
    results = {}
    for t in tasks:
        path = Path(folder) / f"{t.id}.nc"
        if path.is_file():
            results[(t.params["group"], t.params["subject"], t.params["session"])] = load_netcdf(path)
    sig = signature(results, weeks=scenario.weeks)
    sig.attrs.update({"scenario": scenario.name, "reference": scenario.reference,
                      "adaptation": json.dumps(dict(scenario.adaptation)),
                      "published": json.dumps(scenario.published), "fit": json.dumps(dict(scenario.fit)),
                      "n_failed": int(n_failed)})
    return sig


def write_training(scenario: TrainingScenario, sig: xr.Dataset, out: str | os.PathLike) -> None:
    """``signature.nc``, ``signature.png`` and ``comparison.txt`` of a run into ``out``."""
    from simulator.io import save_netcdf
    from simulator.plotting import save_figure
    out = Path(out)
    save_netcdf(sig, out / "signature.nc")
    save_figure(plot_signature(sig, scenario.published), out / "signature.png")
    (out / "comparison.txt").write_text(comparison_table(sig, scenario.published) + "\n")


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
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {str(out)!r} exists and is not a folder")
    tasks = training_tasks(scenario)
    failures, _ = run_tasks(tasks, FUNCTION, out, scheduler=scheduler, workers=workers, progress=progress,
                            desc="mnpool train")
    sig = assemble_training(scenario, tasks, out / "tasks", n_failed=len(failures))
    write_training(scenario, sig, out)
    return sig
