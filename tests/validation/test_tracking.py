"""Units are tracked across sessions by their grid MUAPs, also after a grid shift."""

import numpy as np
import pytest

from simulator.config import ConfigError
from validation.metrics import score, spike_trains_from_dataset
from validation.testing import toy_recording
from validation.tracking import template_similarity, track_decompositions, track_units


@pytest.fixture(scope="module")
def sessions():
    a = toy_recording(10, 64, 20.0, 20.0, seed=1, anatomy_seed=7)
    b = toy_recording(10, 64, 20.0, 20.0, seed=2, anatomy_seed=7, grid_shift_mm=(2.0, 0.0))
    return a, b


def test_same_anatomy_gives_same_units(sessions):
    a, b = sessions
    np.testing.assert_allclose(a["depth_mm"], b["depth_mm"])
    assert not np.allclose(a["muap"], b["muap"])          # the grid moved


def test_tracking_with_a_2mm_shift(sessions):
    a, b = sessions
    tr = track_units(a, spike_trains_from_dataset(a), b, spike_trains_from_dataset(b))
    correct = (tr["match_b"].values == np.arange(10)).mean()
    assert correct >= 0.95
    wrong = (tr["match_b"].values >= 0) & (tr["match_b"].values != np.arange(10))
    assert not wrong.any()


def test_whole_electrode_shift_is_found():
    rng = np.random.default_rng(0)
    t = rng.normal(size=(2, 6, 5, 30))
    moved = np.full_like(t, np.nan)
    moved[:, 1:] = t[:, :-1]                                 # grid moved by one row
    sim = template_similarity(t, moved, max_shift=1)
    assert sim["similarity"][0, 0] == pytest.approx(1.0)
    assert sim["shift_row"][0, 0] == 1 and sim["shift_col"][0, 0] == 0


def test_bad_threshold_and_rates(sessions):
    a, b = sessions
    tr = spike_trains_from_dataset(a)
    with pytest.raises(ConfigError, match="threshold"):
        track_units(a, tr, b, tr, threshold=1.5)
    c = b.copy()
    c.attrs["fs_hz"] = 4096.0
    with pytest.raises(ConfigError, match="sampling rate"):
        track_units(a, tr, c, tr)


@pytest.mark.slow
def test_tracking_decomposed_sessions(sessions):
    from validation.decomposition import decompose
    a, b = sessions
    da, db = decompose(a), decompose(b)
    tr = track_decompositions(a, da, b, db)
    ma = score(da, a)["matched_unit"].values               # estimate -> true unit
    mb = score(db, b)["matched_unit"].values
    pairs = [(ma[i], mb[j]) for i, j in enumerate(tr["match_b"].values) if j >= 0]
    assert len(pairs) >= 9
    assert np.mean([x == y for x, y in pairs]) >= 0.95
