"""NetCDF save/load round-trips an activity Dataset exactly; failed writes leave nothing."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from simulator.io import CONVENTIONS, atomic_path, load_netcdf, save_netcdf


def test_activity_round_trip_is_exact(small_trapezoid, tmp_path):
    path = save_netcdf(small_trapezoid, tmp_path / "a.nc")
    back = load_netcdf(path)
    # an activity has no float32 variable and is fully described: only Conventions is added
    xr.testing.assert_identical(back, small_trapezoid.assign_attrs(Conventions=CONVENTIONS))
    assert back.attrs["config"] == small_trapezoid.attrs["config"]
    assert back.spike_unit.dtype == small_trapezoid.spike_unit.dtype


def test_every_variable_is_cf_described(small_trapezoid, tmp_path):
    import h5py
    path = save_netcdf(small_trapezoid, tmp_path / "a.nc")
    with h5py.File(path) as f:
        assert f.attrs["Conventions"] == CONVENTIONS
        names = [k for k in f.keys() if isinstance(f[k], h5py.Dataset)]
        for k in names:
            if k in small_trapezoid.variables:
                assert {"units", "long_name"} <= set(f[k].attrs), k
                assert f[k].compression == "gzip" or f[k].ndim == 0 or f[k].size == 0, k


def test_attrs_and_provenance(small_trapezoid):
    a = small_trapezoid.attrs
    for key in ("config", "seed", "engine", "mnpool_version", "brian2_version", "mvc_n", "fs_force_hz"):
        assert key in a
    assert a["kind"] == "activity"
    assert small_trapezoid.force.attrs["units"] == "N"
    assert small_trapezoid.force_mvc.attrs["units"] == "%MVC"


def test_failed_write_leaves_no_file(tmp_path):
    target = tmp_path / "out.nc"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("partial")
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_load_missing_file():
    with pytest.raises(FileNotFoundError, match="no such Dataset"):
        load_netcdf("/nonexistent/x.nc")


def test_spikes_sorted_and_within_duration(small_trapezoid):
    t = small_trapezoid.spike_time.values
    assert np.all(np.diff(t) >= 0)
    assert t.min() >= 0 and t.max() <= small_trapezoid.attrs["duration_s"]


def test_string_attributes_with_nul_round_trip(tmp_path):
    """HDF5 cannot store a NUL inside a string attribute; such strings are stored encoded and load
    back unchanged (found by the attribute fuzzer of test_loading.py)."""
    from simulator.io import load_netcdf, save_netcdf
    ds = xr.Dataset({"x": ("t", np.arange(3.0))}, attrs={"a": "\x00", "b": "ok\x00z", "c": "plain"})
    back = load_netcdf(save_netcdf(ds, tmp_path / "a.nc"))
    assert {k: back.attrs[k] for k in "abc"} == {"a": "\x00", "b": "ok\x00z", "c": "plain"}
