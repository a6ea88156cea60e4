"""The synthetic activity builder used in place of the Brian2 simulator by downstream tests."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import _schema as S
from simulator.testing import synthetic_activity


def test_valid_activity_dataset():
    act = synthetic_activity(30, 5.0, seed=1, profile="trapezoid", peak_excitation=0.7)
    assert act.attrs["kind"] == "activity" and act.attrs["fs_force_hz"] == 1000.0
    for name in (S.SPIKE_TIME, S.SPIKE_UNIT, "force", "force_mvc", "target", "excitation",
                 *S.UNIT_PROPERTIES):
        assert name in act, name
    st = act[S.SPIKE_TIME].values
    assert np.all(np.diff(st) >= 0) and st.min() >= 0 and st.max() < 5.0
    assert act.sizes["time"] == 5000
    assert act["force"].values.max() > 0 and act.attrs["mvc_n"] > act["force"].values.max()


def test_rates_follow_fuglevand():
    # Constant excitation: every recruited unit fires between 8 and 35 Hz (Fuglevand et al. 1993),
    # earlier-recruited units faster (onion skin), with ISI CV near the requested 0.15.
    act = synthetic_activity(20, 10.0, seed=2, profile="constant", peak_excitation=0.5)
    st, su = act[S.SPIKE_TIME].values, act[S.SPIKE_UNIT].values
    rates, cvs = [], []
    for u in np.unique(su):
        isi = np.diff(st[su == u])
        rates.append(1 / isi.mean())
        cvs.append(isi.std() / isi.mean())
    assert 8 <= min(rates) and max(rates) <= 35
    assert rates[0] > rates[-1]
    assert np.median(cvs) == pytest.approx(0.15, abs=0.04)
    recruited = act["recruitment_excitation"].values < 0.5
    assert set(np.unique(su)) == set(np.nonzero(recruited)[0])


def test_reproducible():
    a = synthetic_activity(10, 2.0, seed=7)
    b = synthetic_activity(10, 2.0, seed=7)
    assert a.identical(b)


def test_bad_arguments():
    with pytest.raises(ValueError, match="profile"):
        synthetic_activity(5, 1.0, profile="zigzag")
    with pytest.raises(ValueError, match="isi_cv"):
        synthetic_activity(5, 1.0, isi_cv=1.5)
