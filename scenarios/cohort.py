"""Virtual subjects and cohorts: inter-individual spread around a base subject, and day-to-day change.

A cohort is ``n_subjects`` virtual subjects drawn around one base
:class:`~simulator.simulation.SimulationConfig`. Each parameter of :data:`VARIED` is drawn from a
lognormal distribution with mean equal to the base value and coefficient of variation given by
the matching ``*_cv`` field of :class:`CohortConfig`, then clipped to the parameter's allowed
range (read from the same table of ranges that validates configurations,
:func:`simulator.config.field_ranges`); the lognormal keeps weights and shares positive and
makes the spread multiplicative, as between-subject spreads of reflex and evoked amplitudes are.
Each subject also gets its own simulation seed. A *session* (0 = pre, 1 = post, ...) multiplies
the excitability parameters of :data:`SESSION_VARIED` by a day-to-day factor (lognormal, mean 1,
CV ``session_excitability_cv``) and draws new noise from session 1 on (same seed, so the same
anatomy: :attr:`~simulator.simulation.SimulationConfig.session`).

Every random number comes from a stream named by (cohort seed, group, subject id, purpose,
session), so a subject is the same whatever the cohort size, the order of calls, or the other
CVs (one normal deviate is drawn per varied parameter even when its CV is 0). The control group
(:func:`control_group`) is drawn from the same population through a different stream. Training
scenarios apply an adaptation to a session's configuration with
:func:`simulator.sites.apply_adaptation`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import xarray as xr

from simulator import streams
from simulator.config import Config, ConfigError, field_ranges, load_toml, param
from simulator.simulation import SimulationConfig

__all__ = ["VARIED", "SESSION_VARIED", "GROUPS", "CohortConfig", "Subject", "draw_cohort",
           "control_group", "session", "electrode_offset_mm", "cohort_dataset", "load_cohort"]

#: Inter-individual spread: ``CohortConfig`` field -> configuration parameter (section.field).
VARIED: dict[str, str] = {
    "n_units_cv": "pool.n_units",
    "recruitment_range_cv": "pool.recruitment_range",
    "reticulospinal_share_cv": "reticulospinal.share",
    "neuromodulation_level_cv": "neuromodulation.level",
    "monosynaptic_weight_cv": "afferent.monosynaptic_weight",
    "cm_weight_cv": "corticospinal.cm_weight",
    "twitch_scale_cv": "muscle.twitch_scale",
    "independent_sd_cv": "drive.independent_sd",
}
#: Parameters scaled by the day-to-day excitability factor of a session.
SESSION_VARIED: tuple[str, ...] = ("neuromodulation.level", "corticospinal.cm_weight")
#: Groups and their random-stream numbers (:data:`simulator.streams.STREAMS` ``cohort_<group>``).
GROUPS: dict[str, int] = {g: streams.STREAMS[f"cohort_{g}"] for g in ("train", "control")}

# purposes of the random streams (part of each stream's name; never reorder)
_PARAMS, _SEED, _SESSION, _UNUSED, _ELECTRODE = range(5)  # _UNUSED: was the session seed
_CV_DOC = "coefficient of variation between subjects (lognormal, mean = base value)"


@dataclasses.dataclass(frozen=True)
class CohortConfig(Config):
    """How virtual subjects differ from the base subject and from day to day.

    The default CVs are illustrative orders of magnitude, not fitted to a population; set them
    from the data of the cohort being modelled. ``n_units_cv = 0`` keeps the base pool size
    (a different size per subject is also a different Brian2 structure, so standalone builds
    are not shared).
    """

    section = "cohort"

    n_subjects: int = param(10, lo=1, hi=1000, doc="number of subjects in the group")
    seed: int = param(0, lo=0, hi=2**32 - 1, doc="seed of every draw of the cohort")
    n_units_cv: float = param(0.0, lo=0.0, hi=1.0, doc=_CV_DOC + " of pool.n_units (rounded)")
    recruitment_range_cv: float = param(0.2, lo=0.0, hi=2.0, doc=_CV_DOC + " of pool.recruitment_range")
    reticulospinal_share_cv: float = param(0.2, lo=0.0, hi=2.0, doc=_CV_DOC + " of reticulospinal.share")
    neuromodulation_level_cv: float = param(0.2, lo=0.0, hi=2.0, doc=_CV_DOC + " of neuromodulation.level")
    monosynaptic_weight_cv: float = param(0.3, lo=0.0, hi=2.0, doc=_CV_DOC + " of afferent.monosynaptic_weight")
    cm_weight_cv: float = param(0.2, lo=0.0, hi=2.0, doc=_CV_DOC + " of corticospinal.cm_weight")
    twitch_scale_cv: float = param(0.25, lo=0.0, hi=2.0, doc=_CV_DOC + " of muscle.twitch_scale")
    independent_sd_cv: float = param(0.1, lo=0.0, hi=2.0, doc=_CV_DOC + " of drive.independent_sd")
    session_excitability_cv: float = param(0.05, lo=0.0, hi=1.0, doc=(
        "day-to-day CV of the excitability parameters (SESSION_VARIED), one factor each per session"))
    electrode_shift_mm: float = param(2.0, lo=0.0, hi=20.0, unit="mm", doc=(
        "SD of the electrode-grid placement between sessions (used by the EMG stage)"))


@dataclasses.dataclass(frozen=True)
class Subject:
    """One virtual subject of a cohort.

    Attributes
    ----------
    id
        Index in its group (0-based).
    group
        ``"train"`` or ``"control"`` (:data:`GROUPS`).
    config
        The subject's validated configuration, with its own ``seed``.
    electrode_shift_mm
        SD [mm] of the electrode-grid placement between sessions, for the EMG stage
        (:func:`electrode_offset_mm` draws a session's offset).
    parameters
        The drawn value of every parameter of :data:`VARIED` (``section.field -> value``).
    """

    id: int
    group: str
    config: SimulationConfig
    electrode_shift_mm: float
    parameters: Mapping[str, float]

    @property
    def label(self) -> str:
        """``"train-003"``-style name."""
        return f"{self.group}-{self.id:03d}"


def _rng(cohort: CohortConfig, group: str, subject_id: int, purpose: int, index: int = 0) -> np.random.Generator:
    # a named stream: the same numbers whatever else was drawn before
    return streams.rng(cohort.seed, f"cohort_{group}", subject_id, purpose, index)


def _seed(cohort: CohortConfig, group: str, subject_id: int, purpose: int, index: int = 0) -> int:
    # a subject's seed: the first word of its seed stream's state
    ss = _rng(cohort, group, subject_id, purpose, index).bit_generator.seed_seq
    return int(ss.generate_state(1, dtype=np.uint32)[0])


@functools.lru_cache(maxsize=None)
def _limits(path: str) -> tuple[float, float, bool]:
    """Allowed (lo, hi, integer) of a configuration parameter, from the config range table."""
    section, _, field = path.rpartition(".")
    meta = field_ranges(type(SimulationConfig().get_path(section)))[field]
    lo = -math.inf if meta["lo"] is None else float(meta["lo"])
    if meta.get("lo_open"):
        lo = math.nextafter(lo, math.inf)
    hi = math.inf if meta["hi"] is None else float(meta["hi"])
    return lo, hi, isinstance(SimulationConfig().get_path(path), int)


def _lognormal_factor(z: float, cv: float) -> float:
    """``exp(sigma z - sigma^2 / 2)``: lognormal with mean 1 and coefficient of variation ``cv``."""
    sigma2 = math.log1p(cv * cv)
    return math.exp(math.sqrt(sigma2) * z - sigma2 / 2)


def _scaled(base: float, factor: float, path: str) -> float | int:
    lo, hi, integer = _limits(path)
    value = float(np.clip(base * factor, lo, hi))
    if integer:
        return int(np.clip(round(value), math.ceil(lo), math.floor(hi)))
    return value


def _check(base: Any, cohort: Any) -> None:
    if not isinstance(base, SimulationConfig):
        raise ConfigError(f"base must be a SimulationConfig, got {type(base).__name__}")
    if not isinstance(cohort, CohortConfig):
        raise ConfigError(f"cohort must be a CohortConfig, got {type(cohort).__name__}")


def _draw(base: SimulationConfig, cohort: CohortConfig, group: str) -> list[Subject]:
    _check(base, cohort)
    subjects = []
    for sid in range(cohort.n_subjects):
        z = _rng(cohort, group, sid, _PARAMS).standard_normal(len(VARIED))
        values: dict[str, float] = {}
        for (cv_field, path), zi in zip(VARIED.items(), z):
            current = base.get_path(path)
            cv = getattr(cohort, cv_field)
            # a zero CV keeps the base value exactly (no clipping, no rounding)
            values[path] = current if cv == 0 else _scaled(current, _lognormal_factor(float(zi), cv), path)
        cfg = base.replace_paths(values).replace(seed=_seed(cohort, group, sid, _SEED))
        subjects.append(Subject(id=sid, group=group, config=cfg,
                                electrode_shift_mm=cohort.electrode_shift_mm,
                                parameters=MappingProxyType(dict(values))))
    return subjects


def draw_cohort(base: SimulationConfig, cohort: CohortConfig) -> list[Subject]:
    """Draw the (training) group of virtual subjects around a base subject.

    Parameters
    ----------
    base
        The base subject and task; every parameter not in :data:`VARIED` is shared.
    cohort
        Group size, seed and variability.

    Returns
    -------
    list of Subject
        ``cohort.n_subjects`` subjects; the same ``cohort`` (seed) gives the identical list.

    Raises
    ------
    ConfigError
        If ``base`` or ``cohort`` has the wrong type (values are validated on construction).
    """
    return _draw(base, cohort, "train")


def control_group(base: SimulationConfig, cohort: CohortConfig) -> list[Subject]:
    """Draw a control group: the same population as :func:`draw_cohort`, an independent stream.

    The subjects are labelled ``group = "control"`` and their parameters, seeds and sessions come
    from the control stream, so they are new individuals (not copies of the training group) and
    adding controls never changes the training group.

    Parameters
    ----------
    base, cohort
        As in :func:`draw_cohort`.

    Returns
    -------
    list of Subject
    """
    return _draw(base, cohort, "control")


def _check_session(subject: Any, index: Any, cohort: Any) -> None:
    if not isinstance(subject, Subject):
        raise ConfigError(f"subject must be a Subject (from draw_cohort), got {type(subject).__name__}")
    _check(subject.config, cohort)
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index <= 10_000:
        raise ConfigError(f"session index = {index!r} must be an integer in [0, 10000] (0 = pre)")


def session(subject: Subject, index: int, cohort: CohortConfig) -> SimulationConfig:
    """The subject's configuration on one testing session (0 = pre, 1 = post, ...).

    Each parameter of :data:`SESSION_VARIED` is multiplied by its own day-to-day factor
    (lognormal, mean 1, CV ``cohort.session_excitability_cv``), drawn from the stream of
    (cohort seed, group, subject id, session index) and clipped to the allowed range. Later
    sessions set :attr:`SimulationConfig.session`, which draws new noise for every run while the
    subject's seed, and so its anatomy (stimulation thresholds, MUAP placement), stays.
    With ``session_excitability_cv = 0``, session 0 is ``subject.config`` itself.

    Parameters
    ----------
    subject
        From :func:`draw_cohort` or :func:`control_group`.
    index
        Session number (integer >= 0).
    cohort
        The cohort the subject was drawn from (its seed names the streams).

    Returns
    -------
    SimulationConfig
        Validated configuration of that session.

    Raises
    ------
    ConfigError
        On a negative or non-integer index or wrong argument types.
    """
    _check_session(subject, index, cohort)
    cfg = subject.config
    cv = cohort.session_excitability_cv
    if cv > 0:
        z = _rng(cohort, subject.group, subject.id, _SESSION, int(index)).standard_normal(len(SESSION_VARIED))
        values = {}
        for path, zi in zip(SESSION_VARIED, z):
            values[path] = _scaled(cfg.get_path(path), _lognormal_factor(float(zi), cv), path)
        cfg = cfg.replace_paths(values)
    if index > 0:
        # another day: new noise in every run, but the same subject (the seed also fixes the
        # anatomy: stimulation thresholds, MUAP placement), so only `session` changes
        cfg = cfg.replace(session=int(index))
    return cfg


def electrode_offset_mm(subject: Subject, index: int, cohort: CohortConfig) -> tuple[float, float]:
    """Electrode-grid offset [mm] of one session, along the fibres and across them.

    Each component is normal with SD ``subject.electrode_shift_mm``, from the subject's session
    stream; session 0 is the reference placement (0, 0).

    Returns
    -------
    tuple of float
        ``(along_mm, across_mm)``.
    """
    _check_session(subject, index, cohort)
    if index == 0 or subject.electrode_shift_mm == 0:
        return (0.0, 0.0)
    d = _rng(cohort, subject.group, subject.id, _ELECTRODE, int(index)).normal(0.0, subject.electrode_shift_mm, 2)
    return (float(d[0]), float(d[1]))


def cohort_dataset(subjects: list[Subject], cohort: CohortConfig | None = None) -> xr.Dataset:
    """The drawn parameters of a list of subjects as a Dataset (dim ``subject``), for the record.

    Returns
    -------
    xarray.Dataset
        One variable per parameter of :data:`VARIED` (named ``section.field``) plus ``seed`` and
        ``group``; attrs hold the cohort configuration when given.
    """
    if not subjects:
        raise ConfigError("no subjects")
    labels = [s.label for s in subjects]
    data = {path: ("subject", [s.parameters[path] for s in subjects]) for path in VARIED.values()}
    data["seed"] = ("subject", [s.config.seed for s in subjects])
    data["group"] = ("subject", [s.group for s in subjects])
    attrs = {"kind": "cohort"}
    if cohort is not None:
        attrs["cohort"] = cohort.to_dict()
    return xr.Dataset(data, coords={"subject": labels}, attrs=attrs)


def load_cohort(path: str | Path) -> CohortConfig:
    """Read the ``[cohort]`` table of a TOML file (defaults if absent).

    Raises
    ------
    ConfigError
        On a missing file, invalid TOML, unknown keys or out-of-range values.
    """
    data = load_toml(path)
    table = data.get("cohort", {})
    if not isinstance(table, Mapping):
        raise ConfigError(f"{str(path)!r}: cohort must be a table of settings, got {table!r}")
    return CohortConfig.from_dict(table)
