"""Contraction protocols: voluntary contractions measured through the motor units and the force.

Protocols: ``mvc`` (maximal voluntary contraction), ``trapezoid`` (e.g. Del Vecchio et al. 2019),
``triangle`` (delta-F ramps, Gorassini et al. 2002; Orssatto et al. 2021) and ``ballistic``
(fast ramp to a target, Van Cutsem et al. 1998). Each is registered with the one experiment
interface (:func:`scenarios.registry.run`); the returned Dataset holds the per-unit measures of
:func:`simulator.measures.unit_summary` (plus the rate–force gain) and scalar outcomes in the
conventions of the literature (%MVC, pps, N), with the protocol and seed in ``attrs``.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import xarray as xr

from scenarios.registry import experiment, experiment_attrs
from scenarios.session import Session
from simulator import measures
from simulator.config import Config, param
from simulator.task import TaskConfig

__all__ = ["MVCProtocol", "TrapezoidProtocol", "TriangleProtocol", "BallisticProtocol", "CONTRACTIONS"]


class _Contraction(Config):
    """A voluntary contraction: the subject performs :meth:`task`."""

    #: Measure the plateau's last this many seconds only (None: the whole plateau).
    measured_last_s: ClassVar[float | None] = None

    def task(self) -> TaskConfig:
        """The :class:`simulator.task.TaskConfig` the subject performs."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class MVCProtocol(_Contraction):
    """Maximal voluntary contraction: maximal cortical command held for ``duration_s``."""

    section = "mvc"
    measured_last_s = 1.0  # the last second at maximal effort
    duration_s: float = param(3.0, lo=1.0, hi=30.0, unit="s")

    def task(self) -> TaskConfig:
        """The :class:`simulator.task.TaskConfig` the subject performs."""
        return TaskConfig(shape="constant", control="excitation", level=100.0, rest_s=0.2,
                          plateau_s=self.duration_s, rest_after_s=0.3)


@dataclasses.dataclass(frozen=True)
class TrapezoidProtocol(_Contraction):
    """Ramp–plateau–ramp contraction to ``level`` %MVC."""

    section = "trapezoid"
    level: float = param(30.0, lo=1.0, hi=100.0, unit="%MVC")
    rise_s: float = param(3.0, lo=0.1, hi=60.0, unit="s")
    plateau_s: float = param(10.0, lo=0.0, hi=600.0, unit="s")
    fall_s: float = param(3.0, lo=0.1, hi=60.0, unit="s")

    def task(self) -> TaskConfig:
        """The :class:`simulator.task.TaskConfig` the subject performs."""
        return TaskConfig(shape="trapezoid", level=self.level, rest_s=0.5, rise_s=self.rise_s,
                          plateau_s=self.plateau_s, fall_s=self.fall_s, rest_after_s=0.5)


@dataclasses.dataclass(frozen=True)
class TriangleProtocol(_Contraction):
    """Triangular ramp up and down to ``level`` %MVC (delta-F)."""

    section = "triangle"
    level: float = param(20.0, lo=1.0, hi=100.0, unit="%MVC")
    ramp_s: float = param(10.0, lo=1.0, hi=120.0, unit="s", doc="duration of each ramp")
    delta_f_range_pct: tuple[float, float] = param((0.0, 100.0), lo=0.0, hi=100.0, unit="%MVC", doc=(
        "recruitment thresholds of the units analysed as delta-F test units (controls may be any "
        "earlier unit); the others get NaN"))

    def task(self) -> TaskConfig:
        """The :class:`simulator.task.TaskConfig` the subject performs."""
        return TaskConfig(shape="triangle", level=self.level, rest_s=0.5, rise_s=self.ramp_s,
                          fall_s=self.ramp_s, rest_after_s=1.5)


@dataclasses.dataclass(frozen=True)
class BallisticProtocol(_Contraction):
    """Ballistic contraction: the fastest rise to ``level`` %MVC, held briefly."""

    section = "ballistic"
    level: float = param(60.0, lo=1.0, hi=100.0, unit="%MVC")
    rise_s: float = param(0.1, lo=0.02, hi=1.0, unit="s")

    def task(self) -> TaskConfig:
        """The :class:`simulator.task.TaskConfig` the subject performs."""
        return TaskConfig(shape="trapezoid", level=self.level, rest_s=0.3, rise_s=self.rise_s,
                          plateau_s=0.7, fall_s=0.3, rest_after_s=0.2, kp=2.0, ki=10.0)


def _plateau(ds: xr.Dataset) -> np.ndarray:
    target = ds["target"].values
    return target >= target.max() - 1e-9


def _contraction(session: Session, protocol: _Contraction) -> xr.Dataset:
    """Run one contraction protocol on the session's subject and measure it.

    Returns
    -------
    xarray.Dataset
        Per-unit measures (dim ``unit``) and scalar outcomes: ``mvc_n`` [N], ``force_mean`` and
        ``force_cov`` on the plateau [%MVC, %], ``mean_rate`` on the plateau [pps],
        ``n_recruited``, ``median_recruitment_threshold`` [%MVC], ``median_delta_f`` [pps],
        ``median_rate_force_gain`` [pps/%MVC]; ``attrs`` carry protocol, subject and seed.
    """
    cfg = session.subject.replace(task=protocol.task())
    ds = session.simulator(cfg)
    window = getattr(protocol, "delta_f_range_pct", None)
    summary = measures.unit_summary(ds, delta_f_range=None if window in (None, (0.0, 100.0)) else window)
    trains = measures.spike_trains(ds)
    t, force = ds["time"].values, ds["force_mvc"].values
    gain = np.array([measures.rate_force_gain(trains[u], t, force) for u in range(len(trains))])
    summary["rate_force_gain"] = ("unit", gain, {"units": "pps/%MVC"})
    plateau = _plateau(ds)
    if protocol.measured_last_s is not None:
        plateau &= t >= t[plateau][-1] - protocol.measured_last_s
    plateau_t = t[plateau]
    rates = np.array([np.sum((s >= plateau_t[0]) & (s <= plateau_t[-1])) for s in trains.values()])
    active = rates > 0
    duration = max(plateau_t[-1] - plateau_t[0], 1e-9)
    f_plateau = force[plateau]
    scalars = {
        "mvc_n": (ds.attrs["mvc_n"], "N"),
        "force_mean": (float(f_plateau.mean()), "%MVC"),
        "force_cov": (float(100 * f_plateau.std() / max(f_plateau.mean(), 1e-9)), "%"),
        "mean_rate": (float(rates[active].mean() / duration) if active.any() else np.nan, "pps"),
        "n_recruited": (int(np.isfinite(summary.recruitment_threshold.values).sum()), "1"),
        "median_recruitment_threshold": (float(np.nanmedian(summary.recruitment_threshold.values))
                                         if np.isfinite(summary.recruitment_threshold.values).any()
                                         else np.nan, "%MVC"),
        "median_delta_f": (float(np.nanmedian(summary.delta_f.values))
                           if np.isfinite(summary.delta_f.values).any() else np.nan, "pps"),
        "median_rate_force_gain": (float(np.nanmedian(gain)) if np.isfinite(gain).any() else np.nan,
                                   "pps/%MVC"),
    }
    for name, (value, unit) in scalars.items():
        summary[name] = ((), value, {"units": unit})
    # the subject as it performed: with the protocol's task
    summary.attrs = experiment_attrs(protocol, cfg)
    return summary


#: Contraction protocols (measured here).
CONTRACTIONS: dict[str, type[Config]] = {
    "mvc": MVCProtocol, "trapezoid": TrapezoidProtocol, "triangle": TriangleProtocol,
    "ballistic": BallisticProtocol,
}
for _protocol in CONTRACTIONS.values():
    experiment(_protocol)(_contraction)
