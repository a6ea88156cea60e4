"""Properties of the ground-truth metrics (PHYSIOLOGY.md, "Decomposition conventions")."""

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.config import ConfigError
from validation.metrics import (agreement_matrix, match_units, pulse_to_noise_ratio, score,
                                silhouette, spike_train_agreement)
from validation.testing import spike_trains

FS = 2048.0
MAX_LAG = int(0.04 * FS)


@settings(max_examples=60, deadline=None)
@given(spike_trains())
def test_train_against_itself_has_roa_one(train):
    a = spike_train_agreement(train, train, fs_hz=FS)
    assert a.roa == 1.0 and a.lag_s == 0.0 and a.fp == a.fn == 0


@settings(max_examples=60, deadline=None)
@given(spike_trains(), st.integers(-MAX_LAG, MAX_LAG))
def test_constant_shift_gives_roa_one_and_the_lag(train, shift):
    a = spike_train_agreement(train + shift + MAX_LAG, train + MAX_LAG, fs_hz=FS)
    assert a.roa == 1.0
    assert a.lag_s == pytest.approx(shift / FS)


@settings(max_examples=60, deadline=None)
@given(spike_trains(), spike_trains(), st.integers(-MAX_LAG, MAX_LAG))
def test_roa_is_symmetric(a, b, shift):
    b = np.sort(np.concatenate([a[::2] + shift + MAX_LAG, b + 3]))
    ab = spike_train_agreement(a + MAX_LAG, b, fs_hz=FS)
    ba = spike_train_agreement(b, a + MAX_LAG, fs_hz=FS)
    assert ab.roa == pytest.approx(ba.roa)
    assert ab.tp == ba.tp


@settings(max_examples=60, deadline=None)
@given(spike_trains(min_spikes=2), st.data())
def test_deleting_k_spikes_gives_sensitivity(train, data):
    n = train.size
    k = data.draw(st.integers(0, n - 1))
    drop = data.draw(st.permutations(range(n)))[:k]
    kept = np.delete(train, drop)
    a = spike_train_agreement(kept, train, fs_hz=FS)
    assert a.sensitivity == pytest.approx((n - k) / n)
    assert a.precision == 1.0


def test_tolerance_is_half_a_millisecond():
    ref = np.arange(10) * 200
    assert spike_train_agreement(ref + 1, ref, fs_hz=FS, max_lag_s=0).roa == 1.0   # 0.49 ms
    assert spike_train_agreement(ref + 2, ref, fs_hz=FS, max_lag_s=0).roa == 0.0   # 0.98 ms


def test_hungarian_matching_is_one_to_one():
    roa = np.array([[0.9, 0.8], [0.95, 0.1], [0.2, 0.25]])
    assert match_units(roa) == [(1, 0), (0, 1)]
    assert match_units(roa, min_roa=0.85) == [(1, 0)]


def test_agreement_matrix_shapes_and_values():
    t = [np.arange(20) * 150, np.arange(15) * 211 + 7]
    m = agreement_matrix(t, t[::-1], fs_hz=FS)
    assert m["roa"].shape == (2, 2)
    assert m["roa"][0, 1] == 1.0 and m["roa"][1, 0] == 1.0


def test_pnr_and_sil_of_a_clean_source():
    rng = np.random.default_rng(0)
    s = rng.normal(0, 0.05, 20000)
    spikes = np.arange(100, 20000, 250)
    s[spikes] += 1.0
    assert pulse_to_noise_ratio(s, spikes) > 25.0
    assert silhouette(s[spikes], rng.normal(0, 0.05, 500) ** 2) > 0.9
    assert np.isnan(pulse_to_noise_ratio(s, np.array([], dtype=int)))


def _truth(trains, fs=FS):
    unit = np.concatenate([np.full(len(t), i) for i, t in enumerate(trains)])
    sample = np.concatenate(trains)
    return xr.Dataset({"spike_unit": ("spike", unit), "spike_sample": ("spike", sample),
                       "depth_mm": ("unit", np.arange(len(trains), dtype=float))},
                      coords={"unit": np.arange(len(trains))}, attrs={"fs_hz": fs})


def test_score_reports_found_missed_and_duplicates():
    true = [np.arange(1, 40) * 100, np.arange(1, 30) * 133 + 5, np.arange(1, 50) * 77 + 11]
    est = [true[1] + 12, true[0], true[0][::2] + 3]      # unit 2 missed, a half duplicate of 0
    sc = score(_truth(est), _truth(true))
    assert sc["matched_estimate"].values.tolist() == [1, 0, -1]
    assert sc["found"].values.tolist() == [True, True, False]
    assert sc["lag_s"].values[1] == pytest.approx(12 / FS)
    assert sc["duplicate"].values.tolist() == [False, False, True]
    assert sc.attrs["n_found"] == 2 and sc.attrs["n_duplicates"] == 1
    assert "depth_mm" in sc


def test_score_rejects_missing_truth_and_mismatched_rates():
    true = _truth([np.arange(1, 40) * 100])
    with pytest.raises(ConfigError, match="no ground truth"):
        score(true, true.drop_vars(["spike_unit", "spike_sample"]))
    with pytest.raises(ConfigError, match="fs_hz = 4096 Hz does not match"):
        score(_truth([np.arange(1, 40) * 100], fs=4096.0), true)
