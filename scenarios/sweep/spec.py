"""A sweep's specification: the grid of dotted configuration keys and the tasks it expands to."""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Iterator, Mapping
from typing import Any

from scenarios.tasks import CallFunction, Task, _describe, _plain, task_id
from simulator.config import ConfigError, load_toml
from simulator.simulation import SimulationConfig

__all__ = ["DEFAULT_FUNCTION", "Sweep", "load_sweep"]


#: Task function used when a sweep names none.
DEFAULT_FUNCTION = "scenarios.sweep:summarize"


_FILE_KEYS = ("sweep", "zip", "function")


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A grid of configuration overrides and the task function applied to every point.

    Parameters
    ----------
    grid
        ``((dotted key, (value, ...)), ...)`` in file order; e.g. ``(("pool.n_units", (50, 100)),)``.
    zip
        Groups of keys whose values advance together (equal lengths); other keys form a product.
    function
        Task function as ``"module:function"`` (see :data:`TaskFunction`).

    Raises
    ------
    ConfigError
        On an empty grid, a key given twice, an empty or non-list value, a ``zip`` group naming an
        unknown key or of unequal lengths, or a malformed ``function``.
    """

    grid: tuple[tuple[str, tuple[Any, ...]], ...]
    zip: tuple[tuple[str, ...], ...] = ()
    function: str = DEFAULT_FUNCTION

    def __post_init__(self) -> None:
        if not self.grid:
            raise ConfigError("the sweep is empty: give at least one key with a list of values "
                              "in the [sweep] table")
        keys = [k for k, _ in self.grid]
        doubled = sorted({k for k in keys if keys.count(k) > 1})
        if doubled:
            raise ConfigError(f"sweep key(s) given twice: {', '.join(doubled)}")
        for key, values in self.grid:
            if not isinstance(values, tuple) or not values:
                raise ConfigError(f"sweep key {key!r} must have a non-empty list of values, "
                                  f"got {values!r}")
        lengths = dict((k, len(v)) for k, v in self.grid)
        seen: set[str] = set()
        for group in self.zip:
            for key in group:
                if key not in lengths:
                    raise ConfigError(f"zip names {key!r}, which is not a key of the [sweep] table")
                if key in seen:
                    raise ConfigError(f"zip names {key!r} in more than one group")
                seen.add(key)
            if len({lengths[k] for k in group}) > 1:
                sizes = ", ".join(f"{k} has {lengths[k]}" for k in group)
                raise ConfigError(f"zipped keys need equally many values: {sizes}")
        if self.function.count(":") != 1 or not all(self.function.split(":")):
            raise ConfigError(f"function = {self.function!r} must be 'module:function'")

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Sweep:
        """Build from a sweep file's mapping (``[sweep]`` table, optional ``zip``, ``function``).

        Keys of ``[sweep]`` may be quoted (``"pool.n_units" = [...]``) or TOML dotted keys
        (``pool.n_units = [...]``, i.e. nested tables); both mean the same configuration key.
        """
        unknown = sorted(set(data) - set(_FILE_KEYS))
        if unknown:
            raise ConfigError(f"unknown key(s) {', '.join(unknown)} in the sweep file; "
                              f"allowed keys are: {', '.join(_FILE_KEYS)}")
        table = data.get("sweep")
        if not isinstance(table, Mapping):
            raise ConfigError("the sweep file needs a [sweep] table of configuration keys -> lists")
        grid: list[tuple[str, tuple[Any, ...]]] = []
        for key, values in _flatten(table):
            if not isinstance(values, list):
                raise ConfigError(f"sweep key {key!r} must have a list of values, got {values!r}")
            grid.append((key, tuple(tuple(v) if isinstance(v, list) else v for v in values)))
        keys = [k for k, _ in grid]
        zipped = data.get("zip", [])
        if zipped is True:
            groups = (tuple(keys),)
        elif zipped is False:
            groups = ()
        elif isinstance(zipped, list) and all(isinstance(g, list) and g and
                                              all(isinstance(k, str) for k in g) for g in zipped):
            groups = tuple(tuple(g) for g in zipped)
        else:
            raise ConfigError(f"zip = {zipped!r} must be true, false or a list of lists of "
                              "sweep keys, e.g. [[\"neuromodulation.level\", \"seed\"]]")
        function = data.get("function", DEFAULT_FUNCTION)
        if not isinstance(function, str):
            raise ConfigError(f"function = {function!r} must be a 'module:function' string")
        return cls(grid=tuple(grid), zip=groups, function=function)

    def to_dict(self) -> dict[str, Any]:
        """Plain mapping in the sweep-file layout (JSON/TOML-ready)."""
        return {"sweep": {k: [list(v) if isinstance(v, tuple) else v for v in vals]
                          for k, vals in self.grid},
                "zip": [list(g) for g in self.zip], "function": self.function}

    @property
    def keys(self) -> tuple[str, ...]:
        """The swept configuration keys, in file order."""
        return tuple(k for k, _ in self.grid)

    # ------------------------------------------------------------------ expansion
    def combinations(self) -> list[dict[str, Any]]:
        """Every point of the sweep as ``{key: value}`` (the last axis varies fastest)."""
        values = dict(self.grid)
        group_of = {k: g for g in self.zip for k in g}
        axes: list[tuple[str, ...]] = []
        for key in self.keys:
            axis = group_of.get(key, (key,))
            if axis not in axes:
                axes.append(axis)
        points = [[dict(zip(axis, row)) for row in zip(*(values[k] for k in axis))] for axis in axes]
        out = []
        for combo in itertools.product(*points):
            merged: dict[str, Any] = {}
            for part in combo:
                merged.update(part)
            out.append({k: merged[k] for k in self.keys})
        return out

    def tasks(self, base: SimulationConfig) -> list[Task]:
        """Validated tasks of the sweep applied to ``base``.

        Each key and value is first checked alone on ``base`` (so an error names the key), then
        every combination is built (cross-field checks name the combination).

        Raises
        ------
        ConfigError
            On an unknown key, a value out of range, an invalid combination or duplicate tasks.
        """
        for key, values in self.grid:
            for value in values:
                try:
                    base.replace_path(key, value)
                except ConfigError as exc:
                    raise ConfigError(f"sweep key {key!r} = {_plain(value)!r}: {exc}") from None
        tasks = []
        for params in self.combinations():
            try:
                cfg = base.replace_paths(params)
            except ConfigError as exc:
                raise ConfigError(f"sweep task {_describe(params)}: {exc}") from None
            tasks.append(Task(task_id(cfg, self.function), params, cfg, CallFunction(self.function)))
        ids = [t.id for t in tasks]
        if len(set(ids)) < len(ids):
            twice = next(t for t in tasks if ids.count(t.id) > 1)
            raise ConfigError(f"the sweep has duplicate tasks (same full configuration), e.g. "
                              f"{_describe(twice.params)}; remove repeated values")
        return tasks


def _flatten(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            yield from _flatten(value, name + ".")
        else:
            yield name, value


def load_sweep(path: str | os.PathLike) -> Sweep:
    """Read a sweep file (TOML; see the module docstring).

    Parameters
    ----------
    path
        The sweep TOML file.

    Raises
    ------
    ConfigError
        If the file is missing, not TOML, or not a valid sweep.
    """
    return Sweep.from_dict(load_toml(path))
