"""HD-sEMG synthesis: linearity, noise at the requested SNR, force-RMS relation, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings, HealthCheck

from simulator.config import ConfigError
from simulator.electrodes import GridConfig
from simulator.emg import EmgConfig, check_activity, clean_emg, synthesize, snr_db
from simulator.models.muap import MuapConfig
from simulator.testing import invalid_field_values, spike_sets, synthetic_activity


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MNPOOL_CACHE", str(tmp_path_factory.mktemp("muap_cache")))
        yield


@pytest.fixture(scope="module")
def activity():
    return synthetic_activity(25, 4.0, seed=11, profile="trapezoid", peak_excitation=0.6)


@pytest.fixture(scope="module")
def recording(activity):
    return synthesize(activity, EmgConfig(), seed=5)


RNG_TEMPLATES = np.random.default_rng(0).normal(size=(4, 3, 17))


@settings(max_examples=40, deadline=None)
@given(a=spike_sets(4, 300), b=spike_sets(4, 300))
def test_clean_emg_is_linear(a, b):
    n = 300
    ea = clean_emg(RNG_TEMPLATES, *a, n)
    eb = clean_emg(RNG_TEMPLATES, *b, n)
    both = clean_emg(RNG_TEMPLATES, np.concatenate([a[0], b[0]]), np.concatenate([a[1], b[1]]), n)
    np.testing.assert_allclose(both, ea + eb, atol=1e-12)


def test_clean_emg_places_template_at_spike():
    out = clean_emg(RNG_TEMPLATES, np.array([10, 290]), np.array([2, 0]), 300)
    np.testing.assert_allclose(out[10:27], RNG_TEMPLATES[2].T)
    np.testing.assert_allclose(out[290:300], RNG_TEMPLATES[0, :, :10].T)  # truncated at the end
    assert np.all(out[:10] == 0)


def test_recording_schema(recording, activity):
    rec = recording
    assert rec.attrs["kind"] == "recording" and rec.attrs["fs_hz"] == 2048.0
    assert rec["emg"].dims == ("time", "channel") and rec.sizes["channel"] == 64
    assert rec["muap"].dims == ("unit", "channel", "lag")
    for name in ("row", "col", "x_mm", "y_mm"):
        assert rec[name].dims == ("channel",)
    for name in ("fibre_cv_m_s", "size_index", "recruitment_excitation", "n_fibres", "depth_mm",
                 "territory_radius_mm", "innervation_zone_mm", "muap_ptp_uv"):
        assert rec[name].dims == ("unit",)
    np.testing.assert_array_equal(rec["spike_sample"].values,
                                  np.round(rec["spike_time"].values * 2048).astype(int))
    assert rec.sizes["time"] == 4 * 2048
    assert rec["force"].values.max() == pytest.approx(activity["force"].values.max(), rel=0.01)
    for key in ("snr_db", "grid", "montage", "config", "seed", "duration_s", "mvc_n", "engine"):
        assert key in rec.attrs


def test_emg_is_the_templates_plus_noise(recording):
    rec = recording
    clean = clean_emg(rec["muap"].values, rec["spike_sample"].values, rec["spike_unit"].values,
                      rec.sizes["time"])
    noise = rec["emg"].values - clean
    # Requested 20 dB: the issue allows 0.5 dB.
    assert snr_db(clean, noise) == pytest.approx(20.0, abs=0.5)
    assert rec.attrs["snr_measured_db"] == pytest.approx(20.0, abs=0.5)


@pytest.mark.parametrize("snr", [0.0, 10.0, 30.0])
def test_requested_snr_is_measured(activity, snr):
    rec = synthesize(activity, EmgConfig(snr_db=snr, powerline_uv=0.0), seed=5)
    clean = clean_emg(rec["muap"].values, rec["spike_sample"].values, rec["spike_unit"].values,
                      rec.sizes["time"])
    assert snr_db(clean, rec["emg"].values - clean) == pytest.approx(snr, abs=0.5)


def test_zero_spikes_gives_noise_only(activity):
    silent = activity.isel(spike=slice(0, 0))
    rec = synthesize(silent, EmgConfig(), seed=5)
    assert rec.sizes["spike"] == 0
    rms = np.sqrt(np.mean(rec["emg"].values ** 2))
    assert rms == pytest.approx(EmgConfig().noise_floor_uv, rel=1e-6)


def test_reproducible_with_seed():
    small = synthetic_activity(6, 1.0, seed=3, profile="constant")
    a = synthesize(small, EmgConfig(), seed=9)
    b = synthesize(small, EmgConfig(), seed=9, cache=False)
    c = synthesize(small, EmgConfig(), seed=10)
    np.testing.assert_array_equal(a["emg"].values, b["emg"].values)
    assert not np.array_equal(a["emg"].values, c["emg"].values)


def test_rms_rises_with_force_in_a_ramp():
    act = synthetic_activity(40, 8.0, seed=2, profile="ramp", peak_excitation=0.8)
    rec = synthesize(act, EmgConfig(snr_db=30.0), seed=1)
    emg = rec["emg"].values
    windows = np.array_split(np.arange(emg.shape[0]), 8)
    rms = [np.sqrt(np.mean(emg[w] ** 2)) for w in windows]
    force = [rec["force"].values[w].mean() for w in windows]
    assert np.all(np.diff(force) > 0)
    assert np.all(np.diff(rms) > 0), rms


def test_any_sampling_rate_and_montage(activity):
    rec = synthesize(activity, EmgConfig(fs_hz=3000.0, lowpass_hz=700.0,
                                         grid=GridConfig(montage="single_differential")), seed=1)
    assert rec.sizes["time"] == 4 * 3000 and rec.sizes["channel"] == 59
    assert rec["lag"].values[1] == pytest.approx(1 / 3000)


def test_powerline_adds_a_50_hz_line(activity):
    rec = synthesize(activity, EmgConfig(powerline_uv=50.0), seed=1)
    spec = np.abs(np.fft.rfft(rec["emg"].values[:, 0]))
    f = np.fft.rfftfreq(rec.sizes["time"], 1 / 2048)
    assert f[np.argmax(spec)] == pytest.approx(50.0, abs=0.3)


# ---------------------------------------------------------------------- bad input
@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(bad=invalid_field_values(EmgConfig))
def test_out_of_range_emg_config_rejected(bad):
    field, value = bad
    with pytest.raises(ConfigError) as err:
        EmgConfig(**{field: value})
    assert f"emg.{field}" in str(err.value)


@settings(max_examples=40)
@given(bad=invalid_field_values(MuapConfig))
def test_out_of_range_muap_config_rejected(bad):
    field, value = bad
    with pytest.raises(ConfigError, match=f"emg.muap.{field}"):
        MuapConfig(**{field: value})


@pytest.mark.parametrize("snr", [math.nan, math.inf, -math.inf, "20"])
def test_snr_must_be_finite_number(snr):
    with pytest.raises(ConfigError, match="emg.snr_db"):
        EmgConfig(snr_db=snr)


def test_grid_that_does_not_fit_is_rejected():
    with pytest.raises(ConfigError, match=r"does not fit over the muscle.*muscle_width_mm"):
        EmgConfig(grid=GridConfig(name="GR08MM1032"))
    with pytest.raises(ConfigError, match="does not fit"):
        EmgConfig(grid=GridConfig(offset_z_mm=30.0))
    # the same grid fits once the muscle is large enough
    EmgConfig(grid=GridConfig(name="GR08MM1032", rotation_deg=90.0),
              muap=MuapConfig(fibre_length_mm=300.0, muscle_width_mm=100.0))


def test_lowpass_above_nyquist_rejected():
    with pytest.raises(ConfigError, match="emg.lowpass_hz"):
        EmgConfig(fs_hz=800.0)


def test_mismatched_sampling_rates_rejected(activity):
    bad = activity.assign_coords(time=activity["time"].values * 2)
    with pytest.raises(ConfigError, match="mismatched sampling rates"):
        check_activity(bad)
    with pytest.raises(ConfigError, match="kind"):
        check_activity(xr.Dataset(attrs={"kind": "recording"}))


@pytest.mark.slow
def test_full_size_recording():
    # 300 units, 30 s, the benchmark workload: amplitudes, SNR and force-RMS at full scale.
    act = synthetic_activity(300, 30.0, seed=1, profile="trapezoid", peak_excitation=0.7)
    rec = synthesize(act, EmgConfig(), seed=1)
    ptp = rec["muap_ptp_uv"].values
    assert 10 <= np.median(ptp) <= 300
    clean = clean_emg(rec["muap"].values, rec["spike_sample"].values, rec["spike_unit"].values,
                      rec.sizes["time"])
    assert snr_db(clean, rec["emg"].values - clean) == pytest.approx(20.0, abs=0.5)
    rising = np.array_split(np.arange(int(7.5 * 2048)), 5)  # first quarter: excitation rises
    rms = [np.sqrt(np.mean(rec["emg"].values[w] ** 2)) for w in rising]
    assert np.all(np.diff(rms) > 0)


@pytest.mark.slow
def test_320_channel_grid_on_a_large_muscle():
    act = synthetic_activity(60, 2.0, seed=3, profile="constant")
    cfg = EmgConfig(grid=GridConfig(name="GR08MM1032", rotation_deg=90.0),
                    muap=MuapConfig(fibre_length_mm=300.0, muscle_width_mm=100.0, iz_band_mm=20.0))
    rec = synthesize(act, cfg, seed=2)
    assert rec.sizes["channel"] == 320
    assert np.ptp(rec["y_mm"].values) == pytest.approx(31 * 8.0)
    assert np.isfinite(rec["emg"].values).all() and rec["muap_ptp_uv"].values.max() > 10


def test_same_seed_same_dataset(activity):
    # Whether templates came from the cache must not show in the result.
    a = synthesize(activity, EmgConfig(), seed=21, cache=False)
    b = synthesize(activity, EmgConfig(), seed=21)
    c = synthesize(activity, EmgConfig(), seed=21)
    assert a.identical(b) and b.identical(c)
