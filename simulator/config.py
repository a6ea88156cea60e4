"""Validated, frozen configuration dataclasses shared by every part of mnpool.

Each configurable part of the model declares its parameters as a frozen dataclass whose fields
carry their allowed range and physical unit in the field metadata (see :func:`param`). Validation
happens once, on construction, from that single table, so the error messages, the TOML loader and
the hypothesis strategies in :mod:`simulator.testing` all read the same ranges
(the scikit-learn "parameter constraints" idea).
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self, get_type_hints

__all__ = ["ConfigError", "Config", "param", "load_toml", "field_ranges"]


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type, or out of its allowed range."""


def param(default: Any, *, lo: float | None = None, hi: float | None = None, unit: str = "",
          doc: str = "", choices: tuple[Any, ...] | None = None,
          lo_open: bool = False) -> Any:
    """Declare a configuration field with its allowed range and unit.

    Parameters
    ----------
    default
        Default value (numbers, strings, booleans or tuples thereof; or a nested :class:`Config`).
    lo, hi
        Inclusive bounds for numeric values (``None`` = unbounded on that side).
    unit
        Physical unit of the value, quoted in error messages and docs.
    doc
        One-line description.
    choices
        Allowed values for categorical fields.
    lo_open
        If true the lower bound is exclusive (``value > lo``).
    """
    meta = {"lo": lo, "hi": hi, "unit": unit, "doc": doc, "choices": choices, "lo_open": lo_open}
    if isinstance(default, Config):
        return dataclasses.field(default_factory=lambda: default, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


#: Factors from a declared unit to SI base units (dimensionless fields have unit "").
_SI_FACTORS: dict[str, float] = {"": 1.0, "1": 1.0, "s": 1.0, "ms": 1e-3, "Hz": 1.0, "mV": 1e-3,
                                 "V": 1.0, "nA": 1e-9, "uS": 1e-6, "nF": 1e-9, "mm": 1e-3,
                                 "m": 1.0, "m/s": 1.0, "1/s": 1.0}


def _describe_range(meta: Mapping[str, Any]) -> str:
    if meta.get("choices") is not None:
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    lo, hi = meta.get("lo"), meta.get("hi")
    unit = f" {meta['unit']}" if meta.get("unit") else ""
    left = "(" if meta.get("lo_open") else "["
    lo_s = "-inf" if lo is None else f"{lo:g}"
    hi_s = "inf" if hi is None else f"{hi:g}"
    return f"{left}{lo_s}, {hi_s}]{unit}"


@dataclasses.dataclass(frozen=True)
class Config:
    """Base class: validates every field against its declared range on construction."""

    #: Prefix used in error messages (e.g. ``pool.n_units``); set by containers.
    section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            self._check_field(f, hints.get(f.name), value)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; subclasses override. Raise :class:`ConfigError`."""

    @classmethod
    def _name(cls, field: str) -> str:
        return f"{cls.section}.{field}" if cls.section else field

    def _check_field(self, f: dataclasses.Field, hint: Any, value: Any) -> None:
        meta = f.metadata
        name = self._name(f.name)
        if isinstance(value, Config):
            return
        choices = meta.get("choices")
        if choices is not None:
            if value not in choices:
                raise ConfigError(f"{name} = {value!r} is not allowed; expected {_describe_range(meta)}")
            return
        if isinstance(f.default, bool) or hint is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{name} = {value!r} must be true or false")
            return
        values = value if isinstance(value, tuple) else (value,)
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                if isinstance(f.default, (int, float)) or (isinstance(f.default, tuple) and f.default
                                                          and isinstance(f.default[0], (int, float))):
                    raise ConfigError(f"{name} = {value!r} must be a number; allowed {_describe_range(meta)}")
                continue
            if hint is int and not isinstance(v, int):
                if not float(v).is_integer():
                    raise ConfigError(f"{name} = {value!r} must be an integer; allowed {_describe_range(meta)}")
            if not math.isfinite(v):
                raise ConfigError(f"{name} = {value!r} must be finite; allowed {_describe_range(meta)}")
            lo, hi = meta.get("lo"), meta.get("hi")
            below = lo is not None and (v <= lo if meta.get("lo_open") else v < lo)
            above = hi is not None and v > hi
            if below or above:
                raise ConfigError(f"{name} = {value!r} is out of range; allowed {_describe_range(meta)}")

    # ------------------------------------------------------------------ conversion
    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Self:
        """Build from a (TOML-derived) mapping; unknown keys are an error."""
        data = dict(data or {})
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ConfigError(
                f"unknown key(s) {', '.join(cls._name(k) for k in unknown)}; "
                f"allowed keys are: {', '.join(sorted(fields))}")
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            f = fields[key]
            default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
            if isinstance(default, Config):
                if not isinstance(value, Mapping):
                    raise ConfigError(f"{cls._name(key)} must be a table of settings, got {value!r}")
                kwargs[key] = type(default).from_dict(value)
            elif isinstance(default, tuple) and isinstance(value, list):
                kwargs[key] = tuple(value)
            elif isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                kwargs[key] = float(value)
            else:
                kwargs[key] = value
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain nested dict (tuples become lists) suitable for TOML/JSON."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, Config):
                out[f.name] = v.to_dict()
            elif isinstance(v, tuple):
                out[f.name] = list(v)
            else:
                out[f.name] = v
        return out

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) used in Dataset attrs and cache keys."""
        return json.dumps(self.to_dict(), sort_keys=True)

    def si(self, name: str) -> float:
        """The value of field ``name`` in SI base units, converted from its declared ``unit``.

        This is how a body part hands its parameters to Brian2: ``cfg.si("tau_ms")`` is seconds,
        ``cfg.si("e_leak_mv")`` volts, so no module multiplies by ``1e-3`` by hand.

        Raises
        ------
        KeyError
            The field's unit has no SI conversion here (e.g. ``%MVC``).
        """
        unit = self.__dataclass_fields__[name].metadata.get("unit", "")
        return float(getattr(self, name)) * _SI_FACTORS[unit]

    def replace(self, **changes: Any) -> Self:
        """Return a copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def field_ranges(cls: type[Config]) -> dict[str, dict[str, Any]]:
    """The table of declared ranges of a config class: ``{field: metadata}``."""
    return {f.name: dict(f.metadata) for f in dataclasses.fields(cls)
            if not isinstance(f.default_factory() if f.default_factory is not dataclasses.MISSING
                              else f.default, Config)}


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning syntax errors and missing files into :class:`ConfigError`."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(p)!r} is not valid TOML: {exc}") from exc
