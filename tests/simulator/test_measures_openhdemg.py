"""openhdemg's definitions of the motor-unit measures, checked on hand-built trains."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.measures import openhdemg as O
from simulator.measures.svr import fit_svr

FS = 1000.0


def grid(duration_s: float) -> np.ndarray:
    return np.arange(int(round(duration_s * FS)) + 1) / FS


def train_from_rate(rate, t0: float, t1: float) -> np.ndarray:
    """Discharge times [s] of a unit whose rate [pps] follows ``rate(t)`` from t0 to t1."""
    out = [t0]
    while True:
        nxt = out[-1] + 1.0 / rate(out[-1])
        if nxt > t1:
            return np.round(np.array(out) * FS) / FS
        out.append(nxt)


def test_thresholds_count_an_isolated_first_discharge():
    # openhdemg takes the force at the first and last discharge whatever the ISI: a discharge
    # 0.7 s before the regular train sets the threshold (the main-train variant ignores it).
    t = grid(10.0)
    force = 2.0 * t
    s = np.concatenate([[0.3], np.arange(1.0, 6.0, 0.1), [8.0]])
    assert O.thresholds(s, t, force) == (pytest.approx(0.6), pytest.approx(16.0))


def test_rates_at_recruitment_and_derecruitment_use_three_intervals():
    isi = np.array([0.2, 0.15, 0.125, 0.1, 0.1, 0.1, 0.08, 0.125, 0.25])
    s = np.concatenate([[1.0], 1.0 + np.cumsum(isi)])
    assert O.rate_at_recruitment(s) == pytest.approx(np.mean(1 / isi[:3]))
    assert O.rate_at_derecruitment(s) == pytest.approx(np.mean(1 / isi[-3:]))
    assert O.discharge_rate(s) == pytest.approx(np.mean(1 / isi))
    assert O.isi_cov(s) == pytest.approx(np.std(isi, ddof=1) / np.mean(isi))
    assert np.isnan(O.rate_at_recruitment(s[:3])) and np.isnan(O.rate_at_derecruitment(s[:3]))


def test_svr_rate_of_a_constant_train_and_its_undefined_samples():
    p = np.arange(500, 8001, 100)  # 10 pps from 0.5 s to 8 s, sampled at 1 kHz
    r = O.svr_rate(p, FS, 10_000)
    inside = np.arange(p[1], p[-1] + 1)
    np.testing.assert_allclose(r[inside], 10.0, atol=1e-2)  # within LIBSVM's tolerance
    assert np.isnan(r[: p[1]]).all() and np.isnan(r[p[-1] + 1:]).all()


def test_svr_rate_breaks_at_a_silence_longer_than_one_second():
    p = np.concatenate([np.arange(500, 3001, 100), np.arange(4600, 8001, 100)])
    r = O.svr_rate(p, FS, 10_000)
    assert np.isnan(r[3000:4599]).all()  # the silence, up to the sample before the next discharge
    assert np.isfinite(r[600:3000]).all() and np.isfinite(r[4599:7999]).all()
    # openhdemg 0.1.2's index arithmetic after a silence stops the fit two samples short of the
    # last discharge (checked against its compute_svr: same undefined samples on 40 random trains)
    assert np.isnan(r[7999:]).all()


def test_svr_matches_scikit_learn_when_installed():
    svm = pytest.importorskip("sklearn.svm")
    rng = np.random.default_rng(3)
    x = np.sort(rng.uniform(0, 15, 200))
    y = 9 + 4 * np.sin(x / 3) + rng.normal(0, 0.8, x.size)
    w = np.ones(x.size)
    w[:4] = w[-4:] = 5
    ours = fit_svr(x, y, gamma=1 / 1.6, c=1 / 0.37, epsilon=0.3, sample_weight=w)
    ref = svm.SVR(kernel="rbf", gamma=1 / 1.6, C=1 / 0.37, epsilon=0.3).fit(x[:, None], y,
                                                                            sample_weight=w)
    g = np.linspace(0, 15, 500)
    # both stop at a KKT gap of 1e-3: the fits agree to that order, not to rounding
    np.testing.assert_allclose(ours.predict(g), ref.predict(g[:, None]), atol=5e-3)


@pytest.mark.parametrize("n", [3, 50, 999, 15001])
def test_svr_on_a_regular_grid_is_the_exact_evaluation(n):
    """predict_regular (exact on every ~20th sample, cubic spline between) agrees with the exact
    sum of Gaussians to far below the fit's tolerance (1e-3), on grids of any length."""
    rng = np.random.default_rng(4)
    x = np.sort(rng.uniform(0, 15, 200))
    y = 9 + 4 * np.sin(x / 3) + rng.normal(0, 0.8, x.size)
    fit = fit_svr(x, y, gamma=1 / 1.6, c=1 / 0.37, epsilon=0.3)
    exact = fit.predict(0.2 + np.arange(n) / FS)
    np.testing.assert_allclose(fit.predict_regular(0.2, 1 / FS, n), exact, rtol=0, atol=1e-6)


def _pair(test_on: float, test_off: float, ctrl_off: float = 19.0):
    """Control and test units whose rates rise 1 pps/s to 10 s and fall 1 pps/s after."""
    def rate(t):
        return 8.0 + min(t, 10.0) - max(t - 10.0, 0.0)
    ctrl = train_from_rate(rate, 1.0, ctrl_off)
    test = train_from_rate(lambda t: rate(t) - 2.0, test_on, test_off)
    return ctrl, test


def test_delta_f_of_a_known_pair():
    # the test unit's *second* discharge is its recruitment: control rate there ~ 8 + 5.1 pps;
    # at its derecruitment (16 s) the control fires at 8 + 4 pps, so delta-F ~ 1.04 pps. The SVR
    # ignores deviations inside its epsilon tube (IQR/11 of the rates), so each of the two rates
    # read may sit up to epsilon off the rate line: the bound is 2 epsilon (~0.9 pps), not tighter
    ctrl, test = _pair(5.0, 16.0)
    eps = float(np.subtract(*np.percentile(1 / np.diff(ctrl), [75, 25]))) / 11
    t = grid(21.0)
    df = O.delta_f({0: ctrl, 1: test}, t)
    r_ctrl = O.svr_rate(np.unique(O.sample_index(ctrl, t)), FS, t.size)
    k_on, k_off = O.sample_index(test[[1, -1]], t)
    assert set(df) == {1}
    assert df[1] == pytest.approx(r_ctrl[k_on] - r_ctrl[k_off], abs=1e-12)  # the definition
    assert df[1] == pytest.approx((8 + test[1]) - (8 + 20 - test[-1]), abs=2 * eps)
    assert df[1] > 0


def test_delta_f_control_stopping_first_moves_the_test_derecruitment():
    ctrl, test = _pair(5.0, 18.0, ctrl_off=16.0)
    t = grid(21.0)
    r_ctrl = O.svr_rate(np.unique(O.sample_index(ctrl, t)), FS, t.size)
    k_on = O.sample_index(test[1:2], t)[0]
    k_off = O.sample_index(ctrl[-1:], t)[0]
    assert O.delta_f({0: ctrl, 1: test}, t)[1] == pytest.approx(r_ctrl[k_on] - r_ctrl[k_off])


def test_delta_f_rejects_pairs_recruited_within_a_second():
    ctrl, test = _pair(1.5, 16.0)
    assert O.delta_f({0: ctrl, 1: test}, grid(21.0)) == {}


def test_delta_f_of_chosen_test_units_is_unchanged_and_smooths_only_what_it_needs(monkeypatch):
    # five units recruited 1.5 s apart on a 10-s rise: restricting the tests to units 2 and 3
    # gives their delta-F exactly, and never smooths unit 4 (neither a test nor their control)
    def rate(t):
        return 8.0 + (t if t < 10 else 20.0 - t)
    trains = {k: train_from_rate(lambda t, k=k: rate(t) - 1.5 * k, 1.0 + 1.5 * k, 19.0 - 1.5 * k)
              for k in range(5)}
    t = grid(21.0)
    full = O.delta_f(trains, t)
    assert {2, 3} <= set(full)
    calls = []
    svr = O.svr_rate
    monkeypatch.setattr(O, "svr_rate", lambda p, *a, **k: calls.append(p[0]) or svr(p, *a, **k))
    some = O.delta_f(trains, t, tests=[2, 3])
    assert some == {u: full[u] for u in (2, 3)}
    smoothed = {k for k, s in trains.items() if O.sample_index(s[:1], t)[0] in calls}
    assert smoothed == {0, 1, 2, 3}
