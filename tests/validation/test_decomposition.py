"""Convolutive FastICA decomposition recovers the units of synthetic recordings."""


import numpy as np
import pytest

from simulator.config import ConfigError
from validation.decomposition import ChannelExclusionWarning, DecompositionConfig, decompose, extend
from validation.metrics import score
from validation.testing import toy_recording


@pytest.fixture(scope="module")
def small():
    rec = toy_recording(6, 64, 8.0, 20.0, seed=3)
    return rec, decompose(rec)


def test_recovers_every_unit_of_a_short_recording(small):
    rec, dec = small
    sc = score(dec, rec)
    assert sc.attrs["n_found"] == 6
    assert sc["roa"].min() >= 0.95
    assert sc.attrs["n_duplicates"] == 0 and dec.sizes["unit"] == 6


def test_decomposition_dataset_schema(small):
    rec, dec = small
    assert dec.attrs["kind"] == "decomposition" and dec.attrs["fs_hz"] == 2048.0
    assert dec["source"].dims == ("unit", "time") and dec.sizes["time"] == rec.sizes["time"]
    assert dec["separation"].dims == ("unit", "channel", "extension")
    # ceil(1500 / 64) = 24 delays, capped at 20 samples per extended row on this 8 s recording
    assert dec.attrs["extension_factor"] == min(24, rec.sizes["time"] // (20 * 64)) == 12
    assert (dec["sil"] >= 0.9).all() and (dec["n_spikes"] >= 10).all()
    np.testing.assert_allclose(dec["spike_time"], dec["spike_sample"] / 2048.0)
    assert DecompositionConfig.from_dict(dec.attrs["config"]) == DecompositionConfig()


def test_extension_rows_are_delayed_channels():
    x = np.arange(12.0).reshape(2, 6)
    xe = extend(x, 3)
    np.testing.assert_array_equal(xe[1], [0, 0, 1, 2, 3, 4])
    np.testing.assert_array_equal(xe[5], [0, 0, 6, 7, 8, 9])


def test_deterministic_for_a_seed():
    rec = toy_recording(3, 16, 4.0, 20.0, seed=5)
    cfg = DecompositionConfig(n_iterations=8)
    a, b = decompose(rec, cfg, seed=11), decompose(rec, cfg, seed=11)
    np.testing.assert_array_equal(a["spike_sample"], b["spike_sample"])
    np.testing.assert_array_equal(a["source"], b["source"])


def test_nan_and_flat_channels_are_excluded_and_listed():
    rec = toy_recording(3, 16, 4.0, 20.0, seed=5)
    emg = rec["emg"].values.copy()
    emg[100:200, 2] = np.nan
    emg[:, 7] = 3.0
    rec["emg"].values[:] = emg
    with pytest.warns(ChannelExclusionWarning, match=r"2 \(non-finite\), 7 \(flat\)"):
        dec = decompose(rec, DecompositionConfig(n_iterations=5))
    assert dec.attrs["excluded_channels"] == [2, 7]
    assert dec.attrs["excluded_reasons"] == ["non-finite", "flat"]
    assert not dec["channel_used"].values[[2, 7]].any()
    assert (dec["separation"].values[:, [2, 7]] == 0).all()


@pytest.mark.parametrize("kwargs, match", [
    ({"band_hz": (20.0, 1500.0)}, "Nyquist"),
])
def test_bad_band_is_refused_before_work(kwargs, match):
    rec = toy_recording(2, 8, 2.0, 20.0, seed=1)
    with pytest.raises(ConfigError, match=match):
        decompose(rec, DecompositionConfig(**kwargs))


@pytest.mark.parametrize("field, value", [("sil_threshold", 1.5), ("contrast", "tanh"),
                                          ("extension_factor", -1), ("band_hz", (500.0, 20.0))])
def test_config_ranges(field, value):
    with pytest.raises(ConfigError, match=f"decomposition.{field}"):
        DecompositionConfig(**{field: value})


def test_unusable_recordings_are_refused():
    rec = toy_recording(2, 8, 2.0, 20.0, seed=1)
    with pytest.raises(ConfigError, match="no 'emg'"):
        decompose(rec.drop_vars("emg"))
    bad = rec.copy()
    bad.attrs["fs_hz"] = 0.0
    with pytest.raises(ConfigError, match="fs_hz"):
        decompose(bad)
    with pytest.raises(ConfigError, match="samples"):
        decompose(rec.isel(time=slice(0, 500)))


def test_logcosh_contrast_finds_units():
    rec = toy_recording(3, 32, 5.0, 20.0, seed=2)
    # Without peel-off: on this 5 s, 32-channel recording the symmetric log-cosh contrast,
    # once the first unit is peeled, overlearns single-sample noise spikes (benchmarks/README.md,
    # known limitation); the skewness default finds every unit here with peel-off.
    cfg = DecompositionConfig(contrast="logcosh", n_iterations=15, peel_off=False)
    sc = score(decompose(rec, cfg), rec)
    assert sc.attrs["n_found"] >= 2


def test_kurtosis_contrast_accepts_only_clean_sources():
    rec = toy_recording(3, 32, 5.0, 20.0, seed=2)
    dec = decompose(rec, DecompositionConfig(contrast="kurtosis", n_iterations=6))
    assert (dec["sil"] >= 0.9).all()


@pytest.mark.slow
def test_ten_units_20db_all_recovered():
    rec = toy_recording(10, 64, 20.0, 20.0, seed=2)
    sc = score(decompose(rec), rec)
    assert sc.attrs["n_found"] == 10
    assert float(sc["roa"].min()) >= 0.95
    assert sc.attrs["n_duplicates"] == 0 and sc.attrs["n_estimated"] == 10


@pytest.mark.slow
def test_ten_units_10db_at_least_nine_recovered():
    rec = toy_recording(10, 64, 20.0, 10.0, seed=2)
    sc = score(decompose(rec), rec)
    # Issue 5 target; measured 9 of 10 (decomposition seed 0; seeds 1-2 also 9, seed 3 gives 8:
    # the tenth unit sits at RoA ~0.8, benchmarks/README.md).
    assert sc.attrs["n_found"] >= 9
    assert sc.attrs["n_duplicates"] == 0


@pytest.mark.slow
def test_default_pool_30_percent_mvc():
    from validation.benchmark import simulated_recording
    rec = simulated_recording({"n_units": 200, "contraction_mvc": 30.0, "duration_s": 20.0,
                               "grid": "13x5", "snr_db": 20.0, "fs_hz": 2048.0}, 0)
    sc = score(decompose(rec), rec)
    assert int((sc["roa"] >= 0.9).sum()) >= 12
    found = sc["found"].values
    # Recovery biased to large, superficial units, as in real recordings.
    assert sc["muap_ptp_uv"].values[found].mean() > sc["muap_ptp_uv"].values[~found].mean()
    assert sc["depth_mm"].values[found].mean() < sc["depth_mm"].values[~found].mean()
