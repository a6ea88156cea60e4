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


def test_unknown_definitions_are_refused():
    with pytest.raises(ValueError, match="'openhdemg', 'main_train'|openhdemg, main_train"):
        M.thresholds(regular(10, 0, 1), np.linspace(0, 1, 11), np.zeros(11), method="otb")


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
    df = M.delta_f({0: ctrl, 1: test}, t, window_s=1.0, method="main_train")
    expected = float(rate(3.0) - rate(9.0))
    assert df[1] == pytest.approx(expected, abs=0.4)
    assert 0 not in df  # the control unit has no lower-threshold partner


@pytest.mark.parametrize("method", M.DEFINITIONS)
def test_delta_f_rejects_pairs_recruited_too_close(method):
    t = np.linspace(0, 10, 2001)
    a, b = regular(10, 1.0, 9.0), regular(9, 1.5, 8.0)
    assert M.delta_f({0: a, 1: b}, t, method=method) == {}


def test_smoothed_rate_is_the_direct_hann_convolution():
    """The FFT convolution gives the direct (np.convolve) Hann smoothing to rounding."""
    rng = np.random.default_rng(1)
    s = np.cumsum(rng.uniform(0.04, 0.12, 150))
    t = np.arange(0.0, s[-1] + 1.0, 1e-3)
    r = M.smoothed_rate(s, t, window_s=2.0)
    idx = np.searchsorted(s, t, side="right") - 1
    active = (idx >= 0) & (idx < s.size - 1)
    raw = np.where(active, 1.0 / np.diff(s)[np.clip(idx, 0, s.size - 2)], 0.0)
    w = np.hanning(2001)
    direct = np.convolve(raw, w, mode="same")[active] / np.convolve(active * 1.0, w, mode="same")[active]
    assert np.isnan(r[~active]).all()
    np.testing.assert_allclose(r[active], direct, rtol=1e-10)


def test_smoothed_rate_on_a_record_shorter_than_the_window():
    """A 1 s record with the default 2 s window still gives one rate per sample."""
    t = np.arange(0.0, 1.0, 1e-3)
    r = M.smoothed_rate(regular(10, 0.1, 0.9), t, window_s=2.0)
    assert r.shape == t.shape
    assert np.nanmean(r) == pytest.approx(10.0, rel=1e-6)


@settings(max_examples=40, deadline=None)
@given(st.floats(0.02, 0.2), st.floats(0.02, 0.2), st.integers(5, 40))
def test_isi_cov_of_alternating_intervals(a, b, n_pairs):
    """ISIs alternating a, b: mean (a+b)/2, population SD |a-b|/2, so CoV = |a-b|/(a+b) (main
    train); openhdemg's sample SD is larger by sqrt(N/(N-1)) for N intervals."""
    s = np.r_[0.0, np.cumsum(np.tile([a, b], n_pairs))]
    cov = abs(a - b) / (a + b)
    assert M.isi_cov(s, method="main_train") == pytest.approx(cov, rel=1e-6, abs=1e-9)
    n = 2 * n_pairs
    assert M.isi_cov(s) == pytest.approx(cov * np.sqrt(n / (n - 1)), rel=1e-6, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.floats(5, 15), st.floats(20, 40), st.floats(1.0, 3.0))
def test_peak_rate_finds_a_faster_burst(slow, fast, burst_s):
    """A train at ``slow`` Hz with a ``burst_s`` burst at ``fast`` Hz: the peak rate is the burst
    rate to within the window quantisation (one discharge per 0.5 s window)."""
    b = regular(fast, 3, 3 + burst_s)
    s = np.r_[regular(slow, 0, 3 - 1 / slow + 1e-9), b, regular(slow, b[-1] + 1 / slow, 6 + burst_s)]
    assert abs(M.peak_rate(s) - fast) <= 1 / 0.5 + 1e-9


@settings(max_examples=40, deadline=None)
@given(st.floats(0.5, 20), st.floats(-5, 5), st.floats(0.5, 4), st.floats(6, 20))
def test_thresholds_on_any_linear_ramp(slope, offset, t_on, rate):
    """Force ``offset + slope t``: thresholds are the force at the first and last discharge."""
    t = np.linspace(0, 10, 2001)
    s = regular(rate, t_on, t_on + 4)
    rec, derec = M.thresholds(s, t, offset + slope * t, method="main_train")  # interpolated
    assert rec == pytest.approx(offset + slope * s[0], abs=1e-9)
    assert derec == pytest.approx(offset + slope * s[-1], abs=1e-9)
    # openhdemg reads the force at the discharge's sample (nearest sample of the 5-ms grid)
    k = np.round(s[[0, -1]] / 0.005).astype(int)
    rec, derec = M.thresholds(s, t, offset + slope * t)
    assert rec == pytest.approx(offset + slope * t[k[0]], abs=1e-9)
    assert derec == pytest.approx(offset + slope * t[k[1]], abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.floats(15, 40), st.floats(6, 12), st.integers(1, 6))
def test_rate_at_recruitment_averages_the_first_intervals(initial, steady, n_first):
    """Two initial ISIs at ``initial`` Hz then ``steady`` Hz: the mean of the first ``n_first``
    instantaneous rates is known exactly."""
    s = np.r_[0.0, 1 / initial, 2 / initial, 2 / initial + np.arange(1, 30) / steady]
    rates = np.r_[initial, initial, np.full(28, steady)]
    assert M.rate_at_recruitment(s, n_first=n_first, method="main_train") == \
        pytest.approx(rates[:n_first].mean(), rel=1e-9)
    # openhdemg: the first n_first discharges, i.e. n_first - 1 rates (none for n_first = 1)
    got = M.rate_at_recruitment(s, n_first=n_first)
    assert np.isnan(got) if n_first == 1 else got == pytest.approx(rates[:n_first - 1].mean(), rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(0, 1.999), max_size=60), st.lists(st.floats(0, 1.999), max_size=60))
def test_cumulative_spike_train_counts_every_discharge_in_the_window(a, b):
    trains = {0: np.sort(np.array(a)), 1: np.sort(np.array(b))}
    cst = M.cumulative_spike_train(trains, np.array([0, 1]), 0.0, 2.0, fs_hz=1000.0)
    assert cst.shape == (2000,) and cst.sum() == len(a) + len(b)


def test_rate_force_gain_of_a_rate_linear_in_force():
    """Rate 8 + 2 t pps while force 4 t %MVC rises: gain 0.5 pps/%MVC."""
    t = np.linspace(0, 10, 5001)
    out, x = [], 1.0
    while x < 10:
        out.append(x)
        x += 1 / (8 + 2 * x)
    gain = M.rate_force_gain(np.array(out), t, 4 * t, window_s=0.5)
    assert gain == pytest.approx(0.5, rel=0.05)
