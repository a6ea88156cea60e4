"""The loading layer: every damaged or wrong input is one ``FILE: what`` error (issue 16).

Hypothesis feeds every loader truncated files, empty files, random bytes, files of the wrong
schema and extreme attribute values; each must either load or raise :class:`InputError` with a
one-line message naming the file -- never another exception.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulator.config import ConfigError
from simulator.io import save_netcdf
from simulator.loading import (InputError, read_activity, read_decomposition_file, read_json,
                               read_netcdf, read_recording, read_toml)
from simulator.testing import synthetic_activity
from validation.testing import toy_recording

# Examples per fuzzer: the hypothesis profile's (conftest: 15 in `make test`, 100 with
# HYPOTHESIS_PROFILE=thorough, as `make test-all` sets it).
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def good_files(tmp_path_factory):
    """One valid file of every kind a command reads."""
    import scipy.io
    d = tmp_path_factory.mktemp("good")
    act = synthetic_activity(6, 1.0, seed=1)
    rec = toy_recording(n_units=3, n_channels=8, duration_s=1.0, grid=(4, 2))
    files = {"activity": save_netcdf(act, d / "activity.nc"),
             "recording": save_netcdf(rec, d / "recording.nc")}
    (d / "dec.csv").write_text("unit,sample\n0,10\n0,200\n1,50\n")
    files["csv"] = d / "dec.csv"
    (d / "dec.json").write_text(json.dumps({"MUPULSES": json.dumps([[1, 5, 9]]), "FSAMP": "2048"}))
    files["json"] = d / "dec.json"
    scipy.io.savemat(d / "dec.mat", {"MUPulses": np.array([[3.0, 7.0, 20.0]]), "fsamp": 2048.0})
    files["mat"] = d / "dec.mat"
    (d / "c.toml").write_text("seed = 1\n[pool]\nn_units = 10\n")
    files["toml"] = d / "c.toml"
    return files


READERS = {
    "activity": read_activity,
    "recording": lambda p: read_recording(p, truth=True),
    "csv": read_decomposition_file,
    "json": read_decomposition_file,
    "mat": read_decomposition_file,
    "toml": read_toml,
}


def _one_line_error(reader, path) -> None:
    """``reader(path)`` loads or raises one ConfigError line naming the file."""
    try:
        reader(path)
    except ConfigError as exc:
        msg = str(exc)
        assert "\n" not in msg and len(msg) < 800, msg
        assert str(path) in msg, msg


@pytest.mark.parametrize("kind", sorted(READERS))
def test_good_files_load(good_files, kind):
    READERS[kind](good_files[kind])


@pytest.mark.parametrize("kind", sorted(set(READERS) - {"toml"}))  # an empty TOML = defaults
def test_empty_file(tmp_path, good_files, kind):
    p = tmp_path / good_files[kind].name
    p.write_bytes(b"")
    with pytest.raises(ConfigError) as exc:
        READERS[kind](p)
    assert str(p) in str(exc.value)


#: In-process readers; MAT files are read in a child process (slow), fuzzed on their own below.
FAST = sorted(set(READERS) - {"mat"})


@pytest.mark.parametrize("kind", FAST)
@FUZZ
@given(frac=st.floats(0.0, 0.999))
def test_truncated_files(tmp_path, good_files, kind, frac):
    data = good_files[kind].read_bytes()
    p = tmp_path / good_files[kind].name
    p.write_bytes(data[:int(len(data) * frac)])
    _one_line_error(READERS[kind], p)


@pytest.mark.parametrize("kind", FAST)
@FUZZ
@given(data=st.binary(min_size=1, max_size=2000))
def test_random_bytes(tmp_path, good_files, kind, data):
    p = tmp_path / good_files[kind].name
    p.write_bytes(data)
    _one_line_error(READERS[kind], p)


@pytest.mark.parametrize("kind", FAST)
@FUZZ
@given(pos=st.floats(0, 1), byte=st.integers(0, 255))
def test_flipped_byte(tmp_path, good_files, kind, pos, byte):
    data = bytearray(good_files[kind].read_bytes())
    data[min(int(pos * len(data)), len(data) - 1)] = byte
    p = tmp_path / good_files[kind].name
    p.write_bytes(bytes(data))
    _one_line_error(READERS[kind], p)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(damage=st.sampled_from(["truncate", "flip", "random"]), pos=st.floats(0, 0.999),
       byte=st.integers(0, 255), data=st.binary(min_size=1, max_size=500))
def test_damaged_mat_files(tmp_path, good_files, damage, pos, byte, data):
    """SciPy's reader crashed the interpreter on one flipped byte: it now runs in a child."""
    raw = bytearray(good_files["mat"].read_bytes())
    if damage == "truncate":
        raw = raw[:int(len(raw) * pos)]
    elif damage == "flip":
        raw[int(pos * len(raw))] = byte
    else:
        raw = bytearray(data)
    p = tmp_path / "dec.mat"
    p.write_bytes(bytes(raw))
    _one_line_error(read_decomposition_file, p)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputError, match="no such"):
        read_recording(tmp_path / "nope.nc")
    with pytest.raises(InputError, match="is not a file"):
        read_netcdf(tmp_path)


EXTREME = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-2**63, 2**63 - 1),
                    st.text(max_size=10), st.booleans(), st.just(1e308), st.just(-1e-308))


@FUZZ
@given(attr=st.sampled_from(["fs_force_hz", "duration_s"]), value=EXTREME)
def test_activity_attributes_are_validated(tmp_path, good_files, attr, value):
    from simulator.io import load_netcdf
    ds = load_netcdf(good_files["activity"])
    ds.attrs[attr] = value
    p = save_netcdf(ds, tmp_path / "a.nc")
    try:
        out = read_activity(p)
    except InputError as exc:
        assert "\n" not in str(exc) and str(p) in str(exc)
    else:  # accepted only if it agrees with the file's own time axis
        n = out.sizes["time"]
        assert np.isclose(float(out.attrs["fs_force_hz"]), 1000.0)
        assert abs(float(out.attrs["duration_s"]) - n / 1000.0) <= 2e-3


@pytest.mark.parametrize("change, message", [
    (lambda ds: ds.attrs.update(fs_force_hz="fast"), "must be a number of Hz"),
    (lambda ds: ds.attrs.update(duration_s=-1.0), "finite positive"),
    (lambda ds: ds.attrs.update(duration_s=float("nan")), "finite positive"),
    (lambda ds: ds.attrs.update(duration_s=1e12), "at most 3600 s"),
    (lambda ds: ds.attrs.update(duration_s=30.0), "disagrees with its time axis"),
    (lambda ds: ds.attrs.update(fs_force_hz=2000.0), "mismatched sampling rates"),
    (lambda ds: ds.attrs.pop("fs_force_hz"), "no attrs['fs_force_hz']"),
    (lambda ds: ds["spike_time"].values.__setitem__(0, np.nan), "outside the recording"),
    (lambda ds: ds["spike_time"].values.__setitem__(0, -0.5), "outside the recording"),
    (lambda ds: ds["spike_time"].values.__setitem__(0, 99.0), "outside the recording"),
    (lambda ds: ds.attrs.update(kind="recording"), "expected 'activity'"),
])
def test_activity_reproductions(tmp_path, good_files, change, message):
    from simulator.io import load_netcdf
    ds = load_netcdf(good_files["activity"])
    change(ds)
    p = save_netcdf(ds, tmp_path / "a.nc")
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        read_activity(p)


def test_empty_activity_is_rejected(tmp_path, good_files):
    from simulator.io import load_netcdf
    ds = load_netcdf(good_files["activity"]).isel(time=slice(0, 0))
    ds.attrs["duration_s"] = 0.0
    p = save_netcdf(ds, tmp_path / "a.nc")
    with pytest.raises(InputError, match="finite positive|no samples"):
        read_activity(p)


@pytest.mark.parametrize("change, message", [
    (lambda ds: ds.attrs.pop("fs_hz"), "no attrs['fs_hz']"),
    (lambda ds: ds.attrs.update(fs_hz=4096.0), "mismatched sampling rates"),
    (lambda ds: ds.attrs.update(fs_hz="fast"), "must be a number of Hz"),
])
def test_recording_reproductions(tmp_path, good_files, change, message):
    from simulator.io import load_netcdf
    ds = load_netcdf(good_files["recording"])
    change(ds)
    p = save_netcdf(ds, tmp_path / "r.nc")
    with pytest.raises(InputError, match=message.replace("[", r"\[")):
        read_recording(p)


def test_recording_given_as_decomposition(good_files):
    with pytest.raises(InputError, match="kind 'recording', not a decomposition"):
        read_decomposition_file(good_files["recording"])


@pytest.mark.parametrize("name, content", [
    ("d.csv", b""), ("d.csv", b"unit,sample\n"), ("d.csv", b"a,b\n1,2\n"), ("d.csv", b"unit,sample\n0,x\n"),
    ("d.json", b"{not json"), ("d.json", b"[1, 2]"), ("d.json", b'{"MUPULSES": "[[1, -3]]"}'),
    ("d.json", gzip.compress(b"\xff\xfe", mtime=0)), ("d.json", b"[" * 100_000),
    ("d.mat", b"MATLAB 5.0 garbage"), ("d.mat", b"\x89HDF\r\n\x1a\n" + b"\x00" * 100),
])
def test_garbage_decompositions(tmp_path, name, content):
    p = tmp_path / name
    p.write_bytes(content)
    try:
        read_decomposition_file(p)
    except InputError as exc:
        assert "\n" not in str(exc) and str(p) in str(exc)
    else:
        assert name == "d.csv" and content == b"unit,sample\n"  # a header alone: no units


def test_json_rejects_nan_and_deep_nesting(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"a": NaN}')
    with pytest.raises(InputError, match="NaN is not valid JSON"):
        read_json(p)
    p.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(InputError, match="nested too deeply"):
        read_json(p)
