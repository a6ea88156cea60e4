"""The measurement battery of one lab session on one subject, and its measures.

A *battery* (:class:`BatteryConfig`) is what one lab session measures on one subject: MVC, a
trapezoidal contraction at a %MVC of *that session's* MVC (recruitment and derecruitment
thresholds, plateau discharge rate, rate–force gain; Del Vecchio et al. 2019), triangular ramps
(delta-F), the H/M recruitment curve at rest, H-reflex and V-wave during MVC with twitch
interpolation, TMS (MEP, SICI, silent period), CMEP and startle. :func:`run_battery` returns one
``session`` Dataset of scalar measures and per-unit values; :data:`MEASURES` names and describes
every measure of signatures, libraries and observations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from scenarios import evoked as E
from scenarios.contractions import TriangleProtocol
from scenarios.registry import experiment, run
from scenarios.session import Session
from simulator import measures, streams
from simulator.config import Config, param
from simulator.simulation import SimulationConfig
from simulator.task import TaskConfig

__all__ = ["Measure", "MEASURES", "UNIT_MEASURES", "BatteryConfig", "run_battery", "battery_task"]


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


def _trapezoid(session: Session, b: BatteryConfig) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    cfg = session.subject
    task = TaskConfig(shape="trapezoid", level=b.trapezoid_level, rest_s=0.5, rise_s=b.trapezoid_rise_s,
                      plateau_s=b.trapezoid_plateau_s, fall_s=b.trapezoid_rise_s, rest_after_s=0.5)
    ds = session.simulator(cfg.replace(task=task), calibration=session.calibration)
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
    return run(cfg, b)


@experiment(BatteryConfig)
def _battery(session: Session, b: BatteryConfig) -> xr.Dataset:
    """The battery as an experiment: every measurement on one session of the subject."""
    cfg = session.subject
    out: dict[str, Any] = {"mvc": ((), session.calibration.mvc_n)}
    units, decomposed = _trapezoid(session, b)
    out.update(decomposed)
    if b.triangle:
        # test units recruited at 1-10 %MVC, as in the soleus/TA delta-F studies (Afsharipour
        # et al. 2020; Orssatto et al. 2021); only they and their controls are smoothed
        tri = run(cfg, TriangleProtocol(level=b.triangle_level, ramp_s=b.triangle_ramp_s,
                                        delta_f_range_pct=(1.0, 10.0)), session=session)
        units["delta_f"] = tri.delta_f.values
    for name, values in units.items():
        out[f"unit_{name}"] = ("unit", values)
        out[name] = ((), _median(values))
    if b.h_reflex:
        h = run(cfg, E.HReflexProtocol(intensities_ma=b.h_intensities_ma, repeats=1), session=session)
        out["hmax_mmax"] = ((), float(h.hmax_mmax))
        v = run(cfg, E.VWaveProtocol(repeats=b.repeats), session=session)
        out["v_msup"] = ((), float(v.v_msup))
        out["voluntary_activation"] = ((), float(v.voluntary_activation))
        hm = run(cfg, E.HReflexProtocol(intensities_ma=(float(h.intensity_at_hmax),), repeats=b.repeats,
                                          background_pct=100.0), session=session)
        out["h_mvc"] = ((), float(hm.h_reflex[0]) / float(v.m_sup) if float(v.m_sup) > 0 else np.nan)
    if b.tms:
        mep = run(cfg, E.MEPProtocol(intensities_pct=(b.mep_pct,), repeats=b.repeats), session=session)
        out["mep_mmax"] = ((), float(mep.mep_mmax[0]))
        sici = run(cfg, E.SICIProtocol(isis_ms=(2.5,), repeats=b.repeats), session=session)
        out["sici"] = ((), float(sici.ratio[0]))
        sp = run(cfg, E.SilentPeriodProtocol(repeats=b.repeats), session=session)
        out["silent_period"] = ((), float(sp.silent_period))
    if b.cmep:
        cm = run(cfg, E.CMEPProtocol(intensity_pct=60.0, repeats=b.repeats), session=session)
        out["cmep_mmax"] = ((), float(cm.cmep_mmax))
    if b.startle:
        st = run(cfg, E.StartleProtocol(repeats=b.repeats), session=session)
        out["startle"] = ((), float(st.startle_response))
    ds = xr.Dataset({k: (dims, np.asarray(v, dtype=float)) for k, (dims, v) in out.items()})
    for name, m in MEASURES.items():
        if name in ds:
            ds[name].attrs.update(units=m.unit, long_name=m.long_name)
    ds.attrs = {"kind": "session", "battery": b.to_dict(), "config": cfg.to_dict(), "seed": cfg.seed}
    return ds


def battery_task(cfg: SimulationConfig, battery: Mapping[str, Any] | None = None) -> xr.Dataset:
    """The battery as a sweep task function (``scenarios.training:battery_task``, the name under
    which training and atlas sessions are recorded)."""
    return run_battery(cfg, battery)
