"""Contraction protocols as virtual experiments with one signature.

Every experiment is ``run(subject, protocol, *, seed) -> xr.Dataset`` (the neurodsp idea in
STYLE.md), so sweeps and training scenarios never special-case an experiment. A *subject* is a
:class:`simulator.simulation.SimulationConfig` whose task is ignored; the *protocol* says what
the subject is asked to do. The returned Dataset holds the per-unit measures of
:func:`simulator.measures.unit_summary` (plus the rate–force gain) and scalar outcomes in the
conventions of the literature (%MVC, pps, N), with the protocol and seed in ``attrs``.

Protocols: ``mvc`` (maximal voluntary contraction), ``trapezoid`` (e.g. Del Vecchio et al. 2019),
``triangle`` (delta-F ramps, Gorassini et al. 2002; Orssatto et al. 2021) and ``ballistic``
(fast ramp to a target, Van Cutsem et al. 1998); the evoked-response protocols of
:mod:`scenarios.evoked` (H-reflex, V-wave, MEP, SICI, silent period, CMEP, startle) are served by
the same :func:`run`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import xarray as xr

from scenarios import evoked
from simulator import measures
from simulator.config import Config, ConfigError, param
from simulator.simulation import SimulationConfig, simulate
from simulator.task import TaskConfig

__all__ = ["MVCProtocol", "TrapezoidProtocol", "TriangleProtocol", "BallisticProtocol",
           "CONTRACTIONS", "EXPERIMENTS", "run"]


@dataclasses.dataclass(frozen=True)
class MVCProtocol(Config):
    """Maximal voluntary contraction: maximal cortical command held for ``duration_s``."""

    section = "mvc"
    duration_s: float = param(3.0, lo=1.0, hi=30.0, unit="s")

    def task(self) -> TaskConfig:
        """The :class:`simulator.task.TaskConfig` the subject performs."""
        return TaskConfig(shape="constant", control="excitation", level=100.0, rest_s=0.2,
                          plateau_s=self.duration_s, rest_after_s=0.3)


@dataclasses.dataclass(frozen=True)
class TrapezoidProtocol(Config):
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
class TriangleProtocol(Config):
    """Triangular ramp up and down to ``level`` %MVC (delta-F)."""

    section = "triangle"
    level: float = param(20.0, lo=1.0, hi=100.0, unit="%MVC")
    ramp_s: float = param(10.0, lo=1.0, hi=120.0, unit="s", doc="duration of each ramp")

    def task(self) -> TaskConfig:
        """The :class:`simulator.task.TaskConfig` the subject performs."""
        return TaskConfig(shape="triangle", level=self.level, rest_s=0.5, rise_s=self.ramp_s,
                          fall_s=self.ramp_s, rest_after_s=1.5)


@dataclasses.dataclass(frozen=True)
class BallisticProtocol(Config):
    """Ballistic contraction: the fastest rise to ``level`` %MVC, held briefly."""

    section = "ballistic"
    level: float = param(60.0, lo=1.0, hi=100.0, unit="%MVC")
    rise_s: float = param(0.1, lo=0.02, hi=1.0, unit="s")

    def task(self) -> TaskConfig:
        """The :class:`simulator.task.TaskConfig` the subject performs."""
        return TaskConfig(shape="trapezoid", level=self.level, rest_s=0.3, rise_s=self.rise_s,
                          plateau_s=0.7, fall_s=0.3, rest_after_s=0.2, kp=2.0, ki=10.0)


Protocol = MVCProtocol | TrapezoidProtocol | TriangleProtocol | BallisticProtocol

#: Contraction protocols (measured here).
CONTRACTIONS: dict[str, type[Config]] = {
    "mvc": MVCProtocol, "trapezoid": TrapezoidProtocol, "triangle": TriangleProtocol,
    "ballistic": BallisticProtocol,
}
#: name -> protocol class of every experiment (contractions and the evoked responses of
#: :mod:`scenarios.evoked`); :func:`run` serves them all.
EXPERIMENTS: dict[str, type[Config]] = dict(CONTRACTIONS, **{k: cls for k, (cls, _) in evoked.EVOKED.items()})


def _plateau(ds: xr.Dataset) -> np.ndarray:
    target = ds["target"].values
    return target >= target.max() - 1e-9


def run(subject: SimulationConfig, protocol: Config, *, seed: int | None = None,
        simulator: Callable[..., xr.Dataset] = simulate) -> xr.Dataset:
    """Run one contraction protocol on a subject and measure it.

    Parameters
    ----------
    subject
        The virtual subject (its ``task`` is replaced by the protocol's).
    protocol
        One of the protocol dataclasses of :data:`EXPERIMENTS`.
    seed
        Random seed (default: the subject's).
    simulator
        The simulation function (injectable for tests).

    Returns
    -------
    xarray.Dataset
        Per-unit measures (dim ``unit``) and scalar outcomes: ``mvc_n`` [N], ``force_mean`` and
        ``force_cov`` on the plateau [%MVC, %], ``mean_rate`` on the plateau [pps],
        ``n_recruited``, ``median_recruitment_threshold`` [%MVC], ``median_delta_f`` [pps],
        ``median_rate_force_gain`` [pps/%MVC]; ``attrs`` carry protocol, subject and seed.
    """
    if type(protocol) not in EXPERIMENTS.values():
        raise ConfigError(f"protocol {protocol!r} is not one of {', '.join(EXPERIMENTS)}")
    if type(protocol) not in CONTRACTIONS.values():
        return evoked.run(subject, protocol, seed=seed, simulator=simulator)
    cfg = subject.replace(task=protocol.task())
    if seed is not None:
        cfg = cfg.replace(seed=seed)
    ds = simulator(cfg)
    summary = measures.unit_summary(ds)
    trains = measures.spike_trains(ds)
    t, force = ds["time"].values, ds["force_mvc"].values
    gain = np.array([measures.rate_force_gain(trains[u], t, force) for u in range(len(trains))])
    summary["rate_force_gain"] = ("unit", gain, {"units": "pps/%MVC"})
    plateau = _plateau(ds)
    if isinstance(protocol, MVCProtocol):  # the last second at maximal effort
        plateau &= t >= t[plateau][-1] - 1.0
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
    name = next(k for k, v in CONTRACTIONS.items() if isinstance(protocol, v))
    summary.attrs = {"kind": "experiment", "experiment": name, "protocol": protocol.to_dict(),
                     "subject": cfg.to_dict(), "seed": cfg.seed}
    return summary
