"""Testing helpers shipped with mnpool: valid Datasets without Brian2, and hypothesis strategies.

:func:`synthetic_activity` builds a valid ``kind == "activity"`` Dataset from numpy alone, with
the rate coding of Fuglevand, Winter & Patla (1993, J Neurophysiol 70:2470): a unit fires once
its recruitment excitation is exceeded, from 8 Hz, its rate rising linearly to a peak that falls
from 35 Hz (first unit) to 25 Hz (last); discharges form a gamma renewal process in the
time-rescaled clock (inter-spike-interval CV ``isi_cv``); force is that of the saturating
muscle of :mod:`simulator.models.muscle` (numpy twin of the Brian2 one). It stands in for the Brian2 simulator in tests of the downstream
stages (EMG, decomposition, measures) and is deliberately simple.

The hypothesis strategies (``spike_sets``, ``invalid_field_values``) generate spike trains and
out-of-range configuration values from the same table of ranges that validates configs
(:func:`simulator.config.field_ranges`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from . import _schema as S
from .config import Config, field_ranges
from .models.pool import PoolConfig, unit_properties
from .models import muscle
from .models.muscle import MuscleConfig

__all__ = ["synthetic_activity", "excitation_profile", "spike_sets", "invalid_field_values", "valid_configs"]

PROFILES = ("ramp", "constant", "trapezoid")


def excitation_profile(kind: str, t_s: np.ndarray, duration_s: float, peak: float) -> np.ndarray:
    """Excitation (fraction of maximal drive) over time.

    Parameters
    ----------
    kind
        ``"ramp"`` (linear 0 -> peak), ``"constant"`` (peak throughout) or ``"trapezoid"``
        (rise over the first quarter, hold, fall over the last quarter).
    t_s
        Sample times (s).
    duration_s
        Total duration (s).
    peak
        Peak excitation (0–1).

    Returns
    -------
    ndarray
        Excitation at each sample.
    """
    if kind == "ramp":
        return peak * t_s / duration_s
    if kind == "constant":
        return np.full_like(t_s, peak)
    if kind == "trapezoid":
        q = duration_s / 4
        return peak * np.clip(np.minimum(t_s / q, (duration_s - t_s) / q), 0, 1)
    raise ValueError(f"profile = {kind!r} is not allowed; expected one of {', '.join(PROFILES)}")


def synthetic_activity(n_units: int = 20, duration_s: float = 5.0, seed: int | None = 0, *,
                       fs_hz: float = 1000.0, profile: str | Callable[[np.ndarray], np.ndarray] = "ramp",
                       peak_excitation: float = 0.6, isi_cv: float = 0.15, min_rate_hz: float = 8.0,
                       peak_rate_first_hz: float = 35.0, peak_rate_last_hz: float = 25.0,
                       pool: PoolConfig | None = None) -> xr.Dataset:
    """A valid activity Dataset with plausible firing, from numpy alone.

    Parameters
    ----------
    n_units
        Number of motor units (ignored if ``pool`` is given).
    duration_s
        Duration (s).
    seed
        Seed of the ``numpy.random.Generator`` for discharge times.
    fs_hz
        Sampling rate of force and excitation (Hz).
    profile
        Excitation profile name (see :func:`excitation_profile`) or a function of time (s)
        returning excitation (0–1).
    peak_excitation
        Peak excitation of a named profile (0–1).
    isi_cv
        Coefficient of variation of inter-spike intervals (gamma renewal, 0 < cv < 1).
    min_rate_hz, peak_rate_first_hz, peak_rate_last_hz
        Rate at recruitment; peak rate of the first and the last unit (Hz) (Fuglevand 1993).
    pool
        Pool gradients (default ``PoolConfig(n_units=n_units)``).

    Returns
    -------
    xarray.Dataset
        ``kind == "activity"`` Dataset following :mod:`simulator._schema`.
    """
    pool = pool or PoolConfig(n_units=n_units)
    if not (duration_s > 0 and math.isfinite(duration_s)):
        raise ValueError(f"duration_s = {duration_s!r} must be a finite number > 0 s")
    if not 0 < isi_cv < 1:
        raise ValueError(f"isi_cv = {isi_cv!r} is out of range; allowed (0, 1)")
    rng = np.random.default_rng(seed)
    props = unit_properties(pool)
    n = pool.n_units
    n_t = int(round(duration_s * fs_hz))
    t = np.arange(n_t) / fs_hz
    exc = profile(t) if callable(profile) else excitation_profile(profile, t, duration_s, peak_excitation)
    thr = props["recruitment_excitation"]
    peak = peak_rate_first_hz + (peak_rate_last_hz - peak_rate_first_hz) * props["size_index"]
    # Rate rises linearly from min_rate at recruitment to the unit's peak at full excitation.
    frac = (exc[None, :] - thr[:, None]) / np.maximum(1 - thr[:, None], 1e-9)
    rate = np.where(frac >= 0, min_rate_hz + (peak - min_rate_hz)[:, None] * np.clip(frac, 0, 1), 0.0)
    # Time rescaling: a gamma renewal process of unit mean in Lambda(t) = ∫ rate dt.
    lam = np.concatenate([np.zeros((n, 1)), np.cumsum(rate, axis=1) / fs_hz], axis=1)
    t_edges = np.arange(n_t + 1) / fs_hz
    shape = 1 / isi_cv**2
    times, units = [], []
    for u in range(n):
        total = lam[u, -1]
        if total <= 0:
            continue
        m = int(total * 1.5) + 10
        marks = rng.uniform(0, 1) + np.cumsum(rng.gamma(shape, 1 / shape, m)) - 1.0
        marks = marks[(marks > 0) & (marks < total)]
        ts = np.interp(marks, lam[u], t_edges)
        times.append(ts)
        units.append(np.full(ts.size, u))
    spike_time = np.concatenate(times) if times else np.zeros(0)
    spike_unit = np.concatenate(units).astype(np.int64) if units else np.zeros(0, np.int64)
    order = np.argsort(spike_time, kind="stable")
    spike_time, spike_unit = spike_time[order], spike_unit[order]

    # Force: the saturating calcium-troponin muscle of :mod:`simulator.models.muscle`
    mcfg = MuscleConfig()
    mparams = muscle.unit_parameters(props["twitch_n"], props["contraction_time_ms"] * 1e-3, mcfg)
    trains = [spike_time[spike_unit == u] for u in range(n)]
    force = muscle.unit_force(trains, mparams, mcfg, duration_s, 1.0 / fs_hz).sum(axis=1)
    # MVC: every unit at its peak rate (mean over the last half of a 1-s train)
    steady = [np.arange(0.0, 1.0, 1.0 / r) for r in peak]
    mvc = float(muscle.unit_force(steady, mparams, mcfg, 1.0, 1e-4).sum(axis=1)[5000:].mean())

    unit = np.arange(n)
    data: dict[str, Any] = {
        S.SPIKE_TIME: ("spike", spike_time, {"units": "s"}),
        S.SPIKE_UNIT: ("spike", spike_unit, {}),
        "force": ("time", force, {"units": "N"}),
        "force_mvc": ("time", 100 * force / mvc, {"units": "%MVC"}),
        "target": ("time", 100 * exc, {"units": "%MVC"}),
        "excitation": ("time", exc, {"units": "1"}),
    }
    g_us = props["specific_leak_ms_cm2"] * props["membrane_area_mm2"] * 0.01 * 1e3  # mS/cm²·mm² -> µS
    extra = {"input_conductance_us": g_us, "rheobase_na": g_us * 10.0,  # 10 mV to threshold
             "pic_conductance_us": props["pic_ratio"] * g_us * 0.9}
    for name, units_ in S.UNIT_PROPERTIES.items():
        values = props.get(name, extra.get(name))
        data[name] = ("unit", np.asarray(values), {"units": units_})
    attrs = {"kind": "activity", "fs_force_hz": float(fs_hz), "duration_s": float(duration_s),
             "seed": seed, "mvc_n": mvc, "engine": "synthetic",
             "config": {"pool": pool.to_dict(), "profile": profile if isinstance(profile, str) else "custom",
                        "peak_excitation": peak_excitation, "isi_cv": isi_cv}}
    return xr.Dataset(data, coords={"time": ("time", t, {"units": "s"}), "unit": unit}, attrs=attrs)


# ------------------------------------------------------------------ hypothesis strategies
def spike_sets(n_units: int, n_samples: int, max_spikes: int = 50) -> Any:
    """Hypothesis strategy for ``(spike_sample, spike_unit)`` int arrays (any order, repeats allowed).

    Parameters
    ----------
    n_units
        Units are drawn from ``[0, n_units)``.
    n_samples
        Samples are drawn from ``[0, n_samples)``.
    max_spikes
        Largest number of discharges.
    """
    from hypothesis import strategies as st

    pair = st.tuples(st.integers(0, n_samples - 1), st.integers(0, n_units - 1))
    return st.lists(pair, max_size=max_spikes).map(
        lambda p: (np.array([a for a, _ in p], dtype=np.int64), np.array([b for _, b in p], dtype=np.int64)))


def invalid_field_values(cls: type[Config]) -> Any:
    """Hypothesis strategy of ``(field, value)`` pairs that violate ``cls``'s declared ranges.

    Draws from numeric fields with a bound (values beyond it, or non-finite) and categorical
    fields (a value not among the choices), reading the same table that validates the config.
    """
    from hypothesis import strategies as st

    options = []
    for name, meta in field_ranges(cls).items():
        if meta.get("choices") is not None:
            options.append(st.just((name, "__not_a_choice__")))
            continue
        lo, hi = meta.get("lo"), meta.get("hi")
        bad = [st.sampled_from([math.nan, math.inf, -math.inf])]
        if lo is not None:
            bad.append(st.floats(max_value=lo, exclude_max=not meta.get("lo_open"),
                                 allow_nan=False, min_value=lo - 1e6))
        if hi is not None:
            bad.append(st.floats(min_value=hi, exclude_min=True, allow_nan=False, max_value=hi + 1e6))
        if lo is None and hi is None:
            continue
        options.append(st.tuples(st.just(name), st.one_of(*bad)))
    return st.one_of(*options)


def valid_configs(cls: type[Config], **fixed: Any) -> Any:
    """Hypothesis strategy of valid ``cls`` instances drawn from its declared ranges.

    Numeric fields are drawn within their bounds (unbounded sides limited to ±1e6), categorical
    fields from their choices; nested configs, booleans and tuples keep their defaults unless
    given in ``fixed``. Draws that fail a cross-field check are rejected (``hypothesis.assume``).
    """
    import dataclasses

    from hypothesis import strategies as st

    from .config import ConfigError

    fields = {}
    for f in dataclasses.fields(cls):
        if f.name in fixed:
            fields[f.name] = st.just(fixed[f.name])
            continue
        meta, default = f.metadata, f.default
        if meta.get("choices") is not None:
            fields[f.name] = st.sampled_from(meta["choices"])
        elif isinstance(default, bool) or not isinstance(default, (int, float)):
            continue
        else:
            lo = -1e6 if meta.get("lo") is None else meta["lo"]
            hi = 1e6 if meta.get("hi") is None else meta["hi"]
            if isinstance(default, int):
                fields[f.name] = st.integers(int(math.ceil(lo + (1 if meta.get("lo_open") else 0))), int(hi))
            else:
                fields[f.name] = st.floats(lo, hi, exclude_min=bool(meta.get("lo_open")),
                                           allow_nan=False, allow_infinity=False)

    def build(values: dict) -> Config | None:
        try:
            return cls(**values)
        except ConfigError:
            return None

    return st.fixed_dictionaries(fields).map(build).filter(lambda c: c is not None)
