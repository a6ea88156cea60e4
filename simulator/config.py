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
from typing import Any, ClassVar, Self, get_args, get_origin, get_type_hints

__all__ = ["ConfigError", "Config", "param", "load_toml", "field_ranges", "short_repr", "abbreviate"]


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type, or out of its allowed range.

    Messages longer than :attr:`MAX_MESSAGE` characters (a huge value quoted whole) are cut in
    the middle, keeping the name of the setting and what is allowed.
    """

    #: Longest message kept whole [characters].
    MAX_MESSAGE = 600

    def __init__(self, message: object = "", *args: object) -> None:
        if isinstance(message, str) and len(message) > self.MAX_MESSAGE:
            cut = len(message) - 550
            message = f"{message[:400]} ...({cut} characters cut)... {message[-150:]}"
        super().__init__(message, *args)


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


#: Longest value representation quoted in an error message [characters].
MAX_REPR = 80

_KIND_WORDS = {int: "integers", float: "numbers", str: "strings"}


def short_repr(value: Any, limit: int = MAX_REPR) -> str:
    """``repr(value)`` abbreviated to about ``limit`` characters for error messages.

    A 200 000-element list is quoted as its start, an ellipsis and its length, so that one bad
    setting gives one readable line instead of a megabyte of text.
    """
    try:
        text = repr(value)
    except RecursionError:  # a pathologically nested value
        return f"<deeply nested {type(value).__name__}>"
    size = f"{len(value)} items, " if isinstance(value, (list, tuple, dict)) else ""
    return abbreviate(text, limit, size)


def abbreviate(text: str, limit: int = MAX_REPR, note: str = "") -> str:
    """``text`` cut to ``limit`` characters, followed by ``... (N characters)`` when cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({note}{len(text)} characters)"


def _expected_kind(hint: Any, default: Any) -> tuple[Any, Any]:
    """``(kind, item)`` of a field: ``(int, None)``, ``(float, None)``, ``(str, None)`` or
    ``(tuple, element type)``, read from its annotation (else from its default)."""
    if hint in (int, float, str):
        return hint, None
    if get_origin(hint) is tuple:
        args = [a for a in get_args(hint) if a is not Ellipsis]
        return tuple, (args[0] if args else None)
    if isinstance(default, tuple):
        return tuple, (type(default[0]) if default else None)
    if isinstance(default, (int, float, str)):
        return type(default), None
    return None, None


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
            if isinstance(value, (list, dict, set)) or value not in choices:
                raise ConfigError(f"{name} = {short_repr(value)} is not allowed; "
                                  f"expected {_describe_range(meta)}")
            return
        if isinstance(f.default, bool) or hint is bool:
            if not isinstance(value, bool):
                raise ConfigError(f"{name} = {short_repr(value)} must be true or false")
            return
        kind, item = _expected_kind(hint, f.default)
        if kind is tuple:
            if not isinstance(value, tuple):
                raise ConfigError(f"{name} = {short_repr(value)} must be a list of "
                                  f"{_KIND_WORDS.get(item, 'values')}; allowed {_describe_range(meta)}")
            values = value
        else:
            values = (value,)
            item = kind
        for v in values:
            self._check_scalar(name, value, v, item, meta)

    @staticmethod
    def _check_scalar(name: str, value: Any, v: Any, item: Any, meta: Mapping[str, Any]) -> None:
        """Check one number (or string) ``v`` of field ``name`` (whole value ``value``)."""
        numeric = item in (int, float)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            if numeric:
                raise ConfigError(f"{name} = {short_repr(value)} must be a number; "
                                  f"allowed {_describe_range(meta)}")
            if item is str and not isinstance(v, str):
                raise ConfigError(f"{name} = {short_repr(value)} must be a string")
            return
        if item is str:
            raise ConfigError(f"{name} = {short_repr(value)} must be a string")
        if item is int and not isinstance(v, int):
            # 10.0 is not an integer setting: it would reach array sizes and seeds as a float
            raise ConfigError(f"{name} = {short_repr(value)} must be an integer (no decimal point); "
                              f"allowed {_describe_range(meta)}")
        if not math.isfinite(v):
            raise ConfigError(f"{name} = {short_repr(value)} must be finite; allowed {_describe_range(meta)}")
        lo, hi = meta.get("lo"), meta.get("hi")
        below = lo is not None and (v <= lo if meta.get("lo_open") else v < lo)
        above = hi is not None and v > hi
        if below or above:
            raise ConfigError(f"{name} = {short_repr(value)} is out of range; allowed {_describe_range(meta)}")

    # ------------------------------------------------------------------ conversion
    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Self:
        """Build from a (TOML-derived) mapping; unknown keys are an error."""
        data = dict(data or {})
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            names = ", ".join(cls._name(k) for k in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise ConfigError(
                f"unknown key(s) {abbreviate(names, 200)}{more}; "
                f"allowed keys are: {', '.join(sorted(fields))}")
        return cls(**{key: cls._coerce(fields[key], value) for key, value in data.items()})

    @classmethod
    def _coerce(cls, f: dataclasses.Field, value: Any) -> Any:
        """A TOML-style value in the field's own type: a table becomes its section's config, a
        list a tuple, an integer a float where the field is a float (so ``1`` and ``1.0`` give
        the same configuration, JSON and cache key)."""
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if isinstance(default, Config):
            if isinstance(value, Config):
                return value
            if not isinstance(value, Mapping):
                raise ConfigError(f"{cls._name(f.name)} must be a table of settings, got {short_repr(value)}")
            return type(default).from_dict(value)
        if isinstance(default, tuple) and isinstance(value, list):
            return tuple(value)
        if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value

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

    # ------------------------------------------------------------------ dotted paths
    def get_path(self, path: str) -> Any:
        """The value at a dotted path, e.g. ``cfg.get_path("pool.n_units")``.

        Parameters
        ----------
        path
            Field names joined by dots, from this config down (``""`` is the config itself).

        Returns
        -------
        Any
            The field's value (a section's config for a path that ends at a section).

        Raises
        ------
        ConfigError
            If a part of the path is not a field, or a value is addressed as a section.
        """
        node: Any = self
        parts = path.split(".") if path else []
        for depth, part in enumerate(parts):
            node = _child(node, path, parts, depth)
        return node

    def replace_path(self, path: str, value: Any) -> Self:
        """A copy with the field at one dotted path changed, e.g. ``cfg.replace_path("seed", 3)``.

        The same as :meth:`replace_paths` with one entry.
        """
        return self.replace_paths({path: value})

    def replace_paths(self, changes: Mapping[str, Any]) -> Self:
        """A copy with fields at dotted paths changed (scikit-learn's ``set_params``).

        Each section on the way is rebuilt once with all of its changes, so its cross-field
        checks see them together; values are converted as by :meth:`from_dict` (a list becomes
        a tuple, an integer a float for a float field) and validated again.

        Parameters
        ----------
        changes
            ``{dotted path: new value}``, e.g. ``{"pool.n_units": 50, "seed": 2}``.

        Returns
        -------
        Config
            The validated copy (this config itself is unchanged).

        Raises
        ------
        ConfigError
            On an unknown path (naming it and the allowed keys) or an invalid value.
        """
        fields = {f.name: f for f in dataclasses.fields(self)}
        direct: dict[str, Any] = {}
        nested: dict[str, dict[str, Any]] = {}
        for path, value in changes.items():
            head, dot, rest = path.partition(".")
            if head not in fields:
                what = (f"unknown key {self._name(path)!r}: {self._name(head)!r} is not a section of the "
                        "configuration" if dot else f"unknown key(s) {self._name(head)}")
                raise ConfigError(f"{what}; allowed keys are: {', '.join(sorted(fields))}")
            if dot:
                nested.setdefault(head, {})[rest] = value
            else:
                direct[head] = self._coerce(fields[head], value)
        for head, sub in nested.items():
            child = direct.get(head, getattr(self, head))
            if not isinstance(child, Config):
                first = next(iter(sub))
                raise ConfigError(f"unknown key {self._name(head + '.' + first)!r}: "
                                  f"{self._name(head)!r} is a value, not a section")
            direct[head] = child.replace_paths(sub)
        return self.replace(**direct)


def _child(node: Any, path: str, parts: list[str], depth: int) -> Any:
    """Field ``parts[depth]`` of ``node`` while walking ``path`` (for :meth:`Config.get_path`)."""
    where = ".".join(parts[:depth])
    if not isinstance(node, Config):
        raise ConfigError(f"unknown key {path!r}: {where!r} is a value, not a section")
    names = [f.name for f in dataclasses.fields(node)]
    if parts[depth] not in names:
        raise ConfigError(f"unknown key {path!r}: allowed keys{' of ' + where if where else ''} "
                          f"are: {', '.join(sorted(names))}")
    return getattr(node, parts[depth])


def field_ranges(cls: type[Config]) -> dict[str, dict[str, Any]]:
    """The table of declared ranges of a config class: ``{field: metadata}``."""
    return {f.name: dict(f.metadata) for f in dataclasses.fields(cls)
            if not isinstance(f.default_factory() if f.default_factory is not dataclasses.MISSING
                              else f.default, Config)}


def load_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning every reading or decoding problem into :class:`ConfigError`.

    Missing files, folders, unreadable files, bytes that are not UTF-8, TOML syntax errors and
    tables or arrays nested too deeply for the parser all give one line naming the file.
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {str(p)!r} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {str(p)!r} is not UTF-8 text (byte {exc.start}: "
                          f"{exc.object[exc.start:exc.start + 1]!r}); TOML files are UTF-8") from None
    except RecursionError:
        raise ConfigError(f"config file {str(p)!r} nests tables or arrays too deeply to read") from None
    except OSError as exc:
        raise ConfigError(f"config file {str(p)!r} cannot be read: {exc.strerror or exc}") from None
