"""The one experiment interface: every protocol is run by :func:`run` and registered once.

Every virtual experiment is ``run(subject, protocol, *, seed, session=None) -> xr.Dataset`` (the
neurodsp idea in STYLE.md), so sweeps, training and the atlas never special-case an experiment. A
*protocol* is a :class:`~simulator.config.Config` saying what the subject is asked to do; the
module that defines it registers its measurement with :func:`experiment`, a function
``measure(session, protocol) -> xr.Dataset`` of a :class:`~scenarios.session.Session` (the
subject in the lab). :func:`run` finds the measurement by the protocol's exact type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import xarray as xr

from scenarios.session import Session
from simulator.config import Config, ConfigError
from simulator.simulation import SimulationConfig

__all__ = ["Measurement", "MEASUREMENTS", "experiment", "experiment_attrs", "run"]

#: A measurement: the subject in the lab and a protocol in, the outcomes out.
Measurement = Callable[[Session, Any], xr.Dataset]
#: Protocol class -> its measurement (filled by :func:`experiment`).
MEASUREMENTS: dict[type[Config], Measurement] = {}

_M = TypeVar("_M", bound=Measurement)


def experiment(protocol: type[Config]) -> Callable[[_M], _M]:
    """Decorator registering a measurement as the way to run ``protocol``.

    Parameters
    ----------
    protocol
        The protocol class; its ``section`` is the experiment's name.

    Raises
    ------
    ValueError
        If the protocol already has a measurement (each is registered once).
    """
    def register(measure: _M) -> _M:
        if protocol in MEASUREMENTS:
            raise ValueError(f"protocol {protocol.__name__} is registered twice")
        MEASUREMENTS[protocol] = measure
        return measure
    return register


def experiment_attrs(protocol: Config, subject: SimulationConfig) -> dict[str, Any]:
    """The attrs of an experiment Dataset: kind, name, protocol, subject and seed."""
    return {"kind": "experiment", "experiment": type(protocol).section, "protocol": protocol.to_dict(),
            "subject": subject.to_dict(), "seed": subject.seed}


def run(subject: SimulationConfig, protocol: Config, *, seed: int | None = None,
        session: Session | None = None) -> xr.Dataset:
    """Run one protocol on a subject and measure it.

    Parameters
    ----------
    subject
        The virtual subject (each trial replaces its task by the protocol's).
    protocol
        An instance of a registered protocol class (:data:`MEASUREMENTS`).
    seed
        Random seed of the subject (default: the subject's own).
    session
        Reuse a :class:`~scenarios.session.Session` of the same subject (its calibration, MUAP
        templates and Mmax); ignored if it belongs to another subject.

    Returns
    -------
    xarray.Dataset
        The protocol's outcomes, as documented by its measurement.

    Raises
    ------
    ConfigError
        If ``protocol`` is not an instance of a registered protocol class.
    """
    measure = MEASUREMENTS.get(type(protocol))
    if measure is None:
        names = ", ".join(cls.section for cls in MEASUREMENTS)
        raise ConfigError(f"protocol {protocol!r} is not one of {names}")
    if seed is not None:
        subject = subject.replace(seed=seed)
    if session is None or session.subject != subject:
        session = Session(subject)
    return measure(session, protocol)
