"""Configuration validation: one clear error naming field, value and allowed range."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.config import ConfigError, field_ranges, load_toml
from simulator.inputs.drive import DriveConfig
from simulator.models.motoneuron import MotoneuronConfig
from simulator.models.pool import PoolConfig
from simulator.simulation import SimulationConfig
from simulator.task import TaskConfig

CLASSES = [PoolConfig, MotoneuronConfig, DriveConfig, TaskConfig]


def _bounded_fields():
    for cls in CLASSES:
        for name, meta in field_ranges(cls).items():
            if meta.get("lo") is not None or meta.get("hi") is not None:
                yield cls, name, meta


BOUNDED = list(_bounded_fields())


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(BOUNDED), st.floats(min_value=1.0, max_value=1e6), st.booleans())
def test_out_of_range_value_is_rejected_with_field_value_and_range(item, excess, above):
    cls, name, meta = item
    lo, hi = meta["lo"], meta["hi"]
    if above and hi is None or (not above and lo is None):
        return
    value = (hi + excess) if above else (lo - excess)
    with pytest.raises(ConfigError) as exc:
        cls(**{name: value})
    msg = str(exc.value)
    assert name in msg and "allowed" in msg and repr(value) in msg


@pytest.mark.parametrize("bad", [math.nan, math.inf, "ten", None])
def test_non_finite_or_non_numeric_rejected(bad):
    with pytest.raises(ConfigError, match="n_units"):
        PoolConfig(n_units=bad)


def test_categorical_choices():
    with pytest.raises(ConfigError, match=r"task.shape = 'square' is not allowed; expected one of"):
        TaskConfig(shape="square")


def test_unknown_toml_key_is_an_error():
    with pytest.raises(ConfigError, match=r"unknown key\(s\) pool.n_unit"):
        SimulationConfig.from_dict({"pool": {"n_unit": 10}})


def test_cross_field_check():
    with pytest.raises(ConfigError, match="v_reset_mv"):
        MotoneuronConfig(v_reset_mv=-40.0, v_threshold_mv=-50.0)


def test_round_trip_through_dict_and_toml(tmp_path):
    from simulator.commands import _to_toml
    cfg = SimulationConfig(seed=7, pool=PoolConfig(n_units=33), task=TaskConfig(level=12.5))
    assert SimulationConfig.from_dict(cfg.to_dict()) == cfg
    path = tmp_path / "c.toml"
    path.write_text(_to_toml(cfg.to_dict()))
    assert SimulationConfig.from_dict(load_toml(path)) == cfg


def test_missing_and_malformed_toml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("pool = [")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_toml(bad)


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=2000))
def test_any_pool_size_in_range_is_accepted(n):
    assert PoolConfig(n_units=n).n_units == n


def test_configs_are_frozen():
    cfg = PoolConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.n_units = 3  # type: ignore[misc]


# ----------------------------------------------------------------------------- dotted paths
def test_get_path_reads_nested_fields_and_sections():
    cfg = SimulationConfig(seed=7, pool=PoolConfig(n_units=33))
    assert cfg.get_path("pool.n_units") == 33
    assert cfg.get_path("seed") == 7
    assert cfg.get_path("pool") == PoolConfig(n_units=33)
    assert cfg.get_path("") is cfg


@pytest.mark.parametrize("path, message", [
    ("pool.n_unit", r"unknown key 'pool.n_unit': allowed keys of pool are: .*n_units"),
    ("pol.n_units", r"unknown key 'pol.n_units': allowed keys are: .*pool"),
    ("seed.x", r"unknown key 'seed.x': 'seed' is a value, not a section"),
])
def test_get_path_names_the_bad_part(path, message):
    with pytest.raises(ConfigError, match=message):
        SimulationConfig().get_path(path)


def test_replace_paths_equals_building_the_same_mapping():
    base = SimulationConfig(seed=3)
    changed = base.replace_paths({"pool.n_units": 40, "task.level": 25, "seed": 9})
    data = base.to_dict()
    data["pool"]["n_units"], data["task"]["level"], data["seed"] = 40, 25, 9
    assert changed == SimulationConfig.from_dict(data)
    # values take the field's own type, as from TOML: the JSON (and so every cache key) agrees
    assert isinstance(changed.task.level, float)
    assert changed.to_json() == SimulationConfig.from_dict(data).to_json()
    assert base.seed == 3 and base.pool.n_units == PoolConfig().n_units  # the original is unchanged
    assert base.replace_path("pool.n_units", 40) == base.replace_paths({"pool.n_units": 40})


def test_replace_paths_validates_each_section_with_all_its_changes():
    # one change alone breaks the cross-field check, both together satisfy it
    mn = MotoneuronConfig()
    ok = SimulationConfig().replace_paths({"motoneuron.v_threshold_mv": mn.v_reset_mv - 5.0,
                                           "motoneuron.v_reset_mv": mn.v_reset_mv - 10.0})
    assert ok.motoneuron.v_reset_mv == mn.v_reset_mv - 10.0
    with pytest.raises(ConfigError, match="v_reset_mv"):
        SimulationConfig().replace_path("motoneuron.v_threshold_mv", mn.v_reset_mv - 5.0)


@pytest.mark.parametrize("changes, message", [
    ({"pool.n_unit": 5}, r"unknown key\(s\) pool.n_unit; allowed keys are: .*n_units"),
    ({"pol.n_units": 5}, r"unknown key 'pol.n_units': 'pol' is not a section"),
    ({"pol": 5}, r"unknown key\(s\) pol; allowed keys are: .*pool"),
    ({"seed.x": 1}, r"unknown key 'seed.x': 'seed' is a value, not a section"),
    ({"pool": 5}, r"pool must be a table of settings"),
    ({"pool.n_units": -1}, r"pool.n_units = -1 is out of range"),
])
def test_replace_paths_rejects_bad_paths_and_values(changes, message):
    with pytest.raises(ConfigError, match=message):
        SimulationConfig().replace_paths(changes)
