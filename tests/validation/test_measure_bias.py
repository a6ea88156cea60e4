"""The same measure on decomposed spikes, reported with its bias against the truth (issue 6)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.emg import EmgConfig, synthesize
from simulator.simulation import simulate
from tests.conftest import small_config
from validation.decomposition import decompose
from validation.metrics import BIAS_MEASURES, measure_bias


@pytest.fixture(scope="module")
def recording():
    act = simulate(small_config(n_units=12, level=25.0, rise_s=1.5, plateau_s=4.0, fall_s=1.5))
    return synthesize(act, EmgConfig(snr_db=25.0), seed=3)


def test_truth_against_itself_has_zero_bias(recording):
    truth_as_decomposition = recording[["spike_time", "spike_unit"]].assign_coords(
        unit=np.arange(recording.sizes["unit"]))
    b = measure_bias(truth_as_decomposition, recording)
    assert b.sizes["pair"] == int(np.sum(np.bincount(recording.spike_unit.values,
                                                     minlength=recording.sizes["unit"]) > 0))
    finite = np.isfinite(b["bias"].values)
    assert finite.any() and np.allclose(b["bias"].values[finite], 0.0)


def test_decomposed_measures_are_close_to_truth(recording):
    dec = decompose(recording)
    b = measure_bias(dec, recording)
    assert b.attrs["n_found"] >= 2
    assert list(b["measure"].values) == list(BIAS_MEASURES)
    thr = b["mean_abs_error"].sel(measure="recruitment_threshold").item()
    assert np.isfinite(thr) and thr < 5.0  # %MVC
    assert np.all(b["n_pairs"].values <= b.sizes["pair"])


def test_needs_a_force_trace(recording):
    with pytest.raises(ValueError, match="force"):
        measure_bias(recording[["spike_time", "spike_unit"]], recording.drop_vars("force_mvc"))
