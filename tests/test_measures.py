"""Motor-unit measures on hand-built spike trains with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import measures as M


def regular(rate, t0, t1):
    return np.arange(t0, t1, 1.0 / rate)


@settings(max_examples=40, deadline=None)
@given(st.floats(4, 50), st.floats(0, 5), st.floats(2, 10))
def test_rates_of_a_regular_train(rate, t0, dur):
    s = regular(rate, t0, t0 + dur)
    if s.size < 6:
        return
    assert M.rate_at_recruitment(s) == pytest.approx(rate, rel=1e-6)
    assert M.isi_cov(s) == pytest.approx(0.0, abs=1e-6)
    assert abs(M.peak_rate(s) - rate) <= 2.0 / 0.5 + 1e-9  # window quantisation of 0.5 s


def test_main_train_ignores_isolated_discharges():
    s = np.r_[0.1, 1.0, regular(10, 3.0, 5.0)]
    m = M.main_train(s)
    assert m[0] == pytest.approx(3.0) and m.size == 20


def test_thresholds_read_force_at_first_and_last_discharge():
    t = np.linspace(0, 10, 1001)
    force = 2.0 * t  # %MVC
    s = regular(10, 2.0, 6.0)
    rec, derec = M.thresholds(s, t, force)
    assert rec == pytest.approx(4.0) and derec == pytest.approx(2 * s[-1])


def test_smoothed_rate_of_constant_train_is_constant():
    t = np.linspace(0, 10, 2001)
    r = M.smoothed_rate(regular(12.5, 1, 9), t, 2.0)
    inside = (t > 1.5) & (t < 8.5)
    assert np.allclose(r[inside], 12.5)
    assert np.isnan(r[t < 0.9]).all()


def test_delta_f_of_a_known_pair():
    """Control unit rate rises linearly 8→18→8 pps; test unit on at t=3 and off at t=9 (later
    in the descending phase): delta-F = rate(3) - rate(9)."""
    t = np.linspace(0, 12, 6001)
    rate = lambda x: np.where(x < 6, 8 + 10 * x / 6, 18 - 10 * (x - 6) / 6)  # noqa: E731
    def train(r_of_t, t0, t1):
        out, x = [], t0
        while x < t1:
            out.append(x)
            x += 1.0 / r_of_t(x)
        return np.array(out)
    ctrl = train(rate, 0.0, 12.0)
    test = train(lambda x: rate(x) - 3.0, 3.0, 9.0)
    df = M.delta_f({0: ctrl, 1: test}, t, window_s=1.0)
    expected = float(rate(3.0) - rate(9.0))
    assert df[1] == pytest.approx(expected, abs=0.4)
    assert 0 not in df  # the control unit has no lower-threshold partner


def test_delta_f_rejects_pairs_recruited_too_close():
    t = np.linspace(0, 10, 2001)
    a, b = regular(10, 1.0, 9.0), regular(9, 1.5, 8.0)
    assert M.delta_f({0: a, 1: b}, t) == {}


def test_smoothed_rate_on_a_record_shorter_than_the_window():
    """A 1 s record with the default 2 s window still gives one rate per sample."""
    t = np.arange(0.0, 1.0, 1e-3)
    r = M.smoothed_rate(regular(10, 0.1, 0.9), t, window_s=2.0)
    assert r.shape == t.shape
    assert np.nanmean(r) == pytest.approx(10.0, rel=1e-6)
