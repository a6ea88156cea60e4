"""Strict configuration types and short messages (issue 16, reproduction 1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.config import ConfigError, load_toml, short_repr
from simulator.simulation import SimulationConfig, load_config


def _load(tmp_path, text: str | bytes):
    p = tmp_path / "c.toml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return load_config(str(p))


def test_binary_toml_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match="is not UTF-8 text") as exc:
        _load(tmp_path, b"seed = 1\n\xff\xfe\x00garbage\x89PNG")
    assert "\n" not in str(exc.value)


def test_deeply_nested_toml_is_one_line(tmp_path):
    for text in ("x = " + "[" * 3000 + "]" * 3000 + "\n", "x = " + "{a=" * 3000 + "1" + "}" * 3000 + "\n"):
        with pytest.raises(ConfigError, match="nests tables or arrays too deeply") as exc:
            _load(tmp_path, text)
        assert "\n" not in str(exc.value)


@pytest.mark.parametrize("text, message", [
    ("seed = 1.0\n", "seed = 1.0 must be an integer"),
    ("[pool]\nn_units = 10.0\n", "pool.n_units = 10.0 must be an integer"),
    ("[cortex]\ni_wave_amplitudes = 5\n", "cortex.i_wave_amplitudes = 5 must be a list of numbers"),
    ("[cortex]\ni_wave_amplitudes = [1.0, 'a']\n", "must be a number"),
    ("seed = true\n", "seed = True must be a number"),
    ("[task]\nshape = 3\n", "task.shape = 3 is not allowed"),
    ("[task]\nshape = ['trapezoid']\n", "is not allowed"),
])
def test_wrong_types_are_rejected_at_validation(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        _load(tmp_path, text)


def test_integers_still_accepted_where_floats_are_expected(tmp_path):
    cfg = _load(tmp_path, "seed = 3\n[task]\nlevel = 20\n")
    assert cfg.seed == 3 and isinstance(cfg.task.level, float)


def test_huge_value_is_abbreviated(tmp_path):
    text = "[cortex]\ni_wave_amplitudes = [" + ", ".join(["-1.0"] * 200_000) + "]\n"
    with pytest.raises(ConfigError) as exc:
        _load(tmp_path, text)
    msg = str(exc.value)
    assert len(msg) < 400 and "200000 items" in msg and "\n" not in msg


def test_many_unknown_keys_are_abbreviated(tmp_path):
    text = "".join(f"k{i} = 1\n" for i in range(5000))
    with pytest.raises(ConfigError, match="unknown key") as exc:
        _load(tmp_path, text)
    assert len(str(exc.value)) < 2000 and "4995 more" in str(exc.value)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_give_a_dict_or_one_config_error(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("toml") / "fuzz.toml"
    p.write_bytes(data)
    try:
        load_toml(p)
    except ConfigError as exc:
        assert "\n" not in str(exc) or "is not valid TOML" in str(exc)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**70, 2**70),
                 st.text(max_size=20), st.lists(st.integers(), max_size=5), st.booleans()))
def test_any_seed_value_is_accepted_or_one_line(value):
    try:
        cfg = SimulationConfig.from_dict({"seed": value})
    except ConfigError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400
    else:
        assert isinstance(cfg.seed, int) and not isinstance(cfg.seed, bool)


def test_short_repr_keeps_short_values():
    assert short_repr([1, 2]) == "[1, 2]"
    assert short_repr("x" * 1000).endswith("(1002 characters)")
