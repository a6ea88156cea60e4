"""Conduction velocity, corticomuscular coherence, brace height and voluntary activation, on
hand-built signals with known answers and on small synthetic recordings/simulations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from simulator import measures as M


# ------------------------------------------------------------------ conduction velocity
def _wave(t_s: np.ndarray, width_s: float = 1.5e-3) -> np.ndarray:
    """A smooth biphasic wave (first derivative of a Gaussian)."""
    return -t_s / width_s * np.exp(-0.5 * (t_s / width_s) ** 2)


def _propagating_templates(cv_m_s, *, rows=11, cols=2, ied_mm=5.0, fs_hz=2048.0, iz_row=3,
                           n_lag=160, t0_s=0.02):
    """Monopolar templates of waves leaving the innervation zone (row ``iz_row``) both ways at
    exactly ``cv_m_s``; column 1 is a weaker copy of column 0."""
    lag = np.arange(n_lag) / fs_hz
    ch_row, ch_col, ch_y = [], [], []
    muap = np.zeros((len(cv_m_s), rows * cols, n_lag))
    for c in range(cols):
        for r in range(rows):
            ch = c * rows + r
            ch_row.append(r)
            ch_col.append(c)
            ch_y.append((r - iz_row) * ied_mm)
            for u, cv in enumerate(cv_m_s):
                delay = abs(r - iz_row) * ied_mm * 1e-3 / cv
                muap[u, ch] = (1.0 if c == 0 else 0.3) * _wave(lag - t0_s - delay)
    return muap, np.array(ch_row), np.array(ch_col), np.array(ch_y), fs_hz


def test_cv_of_pure_delayed_templates_is_exact():
    truth = np.array([2.5, 3.0, 4.0, 5.0, 6.0])
    muap, row, col, y, fs = _propagating_templates(truth)
    est = M.conduction_velocity(muap, row, col, y, fs)  # measured: error < 1e-4
    assert np.all(np.abs(est / truth - 1) < 0.02), est
    # the same grid read as single-differential signals (differences of consecutive rows)
    sd_chan = [np.flatnonzero((col == c) & (row == r)) for c in (0, 1) for r in range(10)]
    muap_sd = np.stack([muap[:, np.flatnonzero((col == c) & (row == r + 1))[0]]
                        - muap[:, np.flatnonzero((col == c) & (row == r))[0]]
                        for c in (0, 1) for r in range(10)], axis=1)
    idx = np.array([s[0] for s in sd_chan])
    est_sd = M.conduction_velocity(muap_sd, row[idx], col[idx], y[idx] + 2.5, fs,
                                   montage="single_differential")
    assert np.all(np.abs(est_sd / truth - 1) < 0.02), est_sd


def test_cv_is_nan_without_enough_propagating_channels():
    """A standing (non-propagating) potential gives no propagating run; too few rows give NaN."""
    muap, row, col, y, fs = _propagating_templates([4.0], rows=4, iz_row=0)
    assert np.isnan(M.conduction_velocity(muap, row, col, y, fs, min_channels=3)[0])
    standing = np.repeat(_wave(np.arange(160) / fs - 0.02)[None, None], 11, axis=1)
    row2, col2 = np.arange(11), np.zeros(11, int)
    assert np.isnan(M.conduction_velocity(standing, row2, col2, 5.0 * row2, fs)[0])


@pytest.mark.parametrize("montage", ["monopolar", "single_differential"])
def test_cv_from_synthetic_recordings_tracks_the_truth(montage):
    """30 units at 20 % excitation, GR08MM1305 over a 120-mm muscle: Spearman > 0.8 and median
    absolute relative error < 10 % (measured: 0.97 and 3.3 %)."""
    from simulator.electrodes import GridConfig
    from simulator.emg import EmgConfig, synthesize
    from simulator.testing import synthetic_activity
    act = synthetic_activity(30, 0.5, 0, profile="constant", peak_excitation=0.2)
    rec = synthesize(act, EmgConfig(grid=GridConfig(montage=montage)), seed=1)
    est = M.conduction_velocity_from_recording(rec)
    truth = rec["fibre_cv_m_s"].values
    ok = np.isfinite(est.values)
    assert ok.sum() >= 25
    rel = np.abs(est.values[ok] / truth[ok] - 1)
    assert stats.spearmanr(est.values[ok], truth[ok])[0] > 0.8
    assert np.median(rel) < 0.10
    assert est.dims == ("unit",) and est.attrs["units"] == "m/s"


@pytest.mark.parametrize("kwargs, match", [
    (dict(fs_hz=0.0), "fs_hz"), (dict(ied_mm=-1.0), "ied_mm"), (dict(min_channels=1), "min_channels"),
    (dict(montage="tripolar"), "montage"), (dict(min_correlation=1.5), "min_correlation"),
    (dict(cv_range_m_s=(5.0, 2.0)), "cv_range_m_s")])
def test_cv_rejects_bad_parameters(kwargs, match):
    muap, row, col, y, fs = _propagating_templates([4.0])
    args = dict(fs_hz=fs)
    args.update(kwargs)
    fs_arg = args.pop("fs_hz")
    with pytest.raises(ValueError, match=match):
        M.conduction_velocity(muap, row, col, y, fs_arg, **args)
    with pytest.raises(ValueError, match="row"):
        M.conduction_velocity(muap, row[:-1], col, y, fs)


# ------------------------------------------------------------------ coherence
def test_shared_20_hz_sinusoid_gives_a_coherence_peak_at_20_hz():
    fs, n = 1000.0, 60_000
    rng = np.random.default_rng(3)
    t = np.arange(n) / fs
    common = np.sin(2 * np.pi * 20.0 * t)
    a = common + 2.0 * rng.standard_normal(n)
    b = common + 2.0 * rng.standard_normal(n)
    f, coh = M.corticomuscular_coherence(a, b, fs, nperseg=1000)
    peak_f, peak = M.beta_band_peak(f, coh)
    assert peak_f == pytest.approx(20.0)
    cl = M.coherence_confidence_limit(n // 1000)
    assert peak > 0.5 > cl
    assert np.median(coh[(f > 40) & (f < 400)]) < cl
    # EEG-like noise lowers the coherence; a seeded default keeps it deterministic
    _, noisy = M.corticomuscular_coherence(a, b, fs, nperseg=1000, eeg_noise_sd=5.0)
    _, again = M.corticomuscular_coherence(a, b, fs, nperseg=1000, eeg_noise_sd=5.0)
    assert cl < noisy[f == 20.0][0] < 0.75 * coh[f == 20.0][0]
    np.testing.assert_array_equal(noisy, again)


def test_coherence_confidence_limit_formula():
    assert M.coherence_confidence_limit(11) == pytest.approx(1 - 0.05 ** 0.1)
    with pytest.raises(ValueError, match="n_segments"):
        M.coherence_confidence_limit(1)
    with pytest.raises(ValueError, match="alpha"):
        M.coherence_confidence_limit(10, alpha=1.0)


def test_coherence_and_beta_peak_reject_bad_input():
    x = np.zeros(100)
    with pytest.raises(ValueError, match="samples"):
        M.corticomuscular_coherence(x, x[:50], 1000.0, nperseg=50)
    with pytest.raises(ValueError, match="nperseg"):
        M.corticomuscular_coherence(x, x, 1000.0, nperseg=200)
    with pytest.raises(ValueError, match="eeg_noise_sd"):
        M.corticomuscular_coherence(x, x, 1000.0, nperseg=50, eeg_noise_sd=-1.0)
    with pytest.raises(ValueError, match="fs_hz"):
        M.corticomuscular_coherence(x, x, 0.0, nperseg=50)
    with pytest.raises(ValueError, match="band"):
        M.beta_band_peak(np.arange(10.0), np.zeros(10))
    with pytest.raises(ValueError, match="band"):
        M.beta_band_peak(np.arange(50.0), np.zeros(50), band=(30, 15))


@pytest.fixture(scope="module")
def beta_contraction():
    """30 units, 11 s at 18 % constant excitation (open loop): the cortical signal and the
    cumulative spike train of the units active from 1 to 11 s."""
    from simulator.simulation import simulate
    from tests.conftest import small_config
    cfg = small_config(30, shape="constant", control="excitation", level=18.0, rest_s=0.0,
                       rise_s=0.0, plateau_s=11.0, fall_s=0.0, rest_after_s=0.0)
    ds = simulate(cfg)
    fs = float(ds.attrs["fs_force_hz"])
    t = ds["time"].values
    trains = M.spike_trains(ds)
    active = np.array([u for u, s in trains.items() if np.sum((s >= 1.0) & (s < 11.0)) >= 20])
    assert active.size >= 5
    cst = M.cumulative_spike_train(trains, active, 1.0, 11.0, fs)
    cortical = ds["cortical_signal"].values[(t >= 1.0) & (t < 11.0)][:cst.size]
    return cortical, cst, fs


@pytest.mark.slow
def test_corticomuscular_coherence_of_a_simulated_contraction(beta_contraction):
    """Coherence between the simulated cortical signal and the cumulative spike train peaks at
    15–30 Hz above the 95 % confidence limit (Conway et al. 1995; PHYSIOLOGY.md, Coherence)."""
    cortical, cst, fs = beta_contraction
    nperseg = 500
    f, coh = M.corticomuscular_coherence(cortical, cst, fs, nperseg=nperseg)
    cl = M.coherence_confidence_limit(cst.size // nperseg)
    peak_f, peak = M.beta_band_peak(f, coh)
    assert 15.0 <= peak_f <= 30.0
    assert peak > cl
    assert peak > 3 * np.median(coh[(f > 40.0) & (f < 200.0)])  # well above the gamma-band floor


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "known deviation (issue 12): with EEG-like noise 12x the cortical signal the beta peak is "
    "0.25 on the default 30-unit config (0.11-0.29 over seeds 0-1 and levels 18-25 %), above "
    "the published 0.02-0.1; the noise factor was chosen against an earlier body and is not "
    "re-tuned to pass"))
def test_corticomuscular_coherence_with_eeg_noise(beta_contraction):
    """With EEG-like noise (SD 12x the cortical signal) the beta peak falls to ~0.02–0.1, as
    measured between EEG and EMG (PHYSIOLOGY.md, Coherence)."""
    cortical, cst, fs = beta_contraction
    f, noisy = M.corticomuscular_coherence(cortical, cst, fs, nperseg=500, eeg_noise_sd=12.0)
    assert 0.02 <= M.beta_band_peak(f, noisy)[1] <= 0.1


# ------------------------------------------------------------------ brace height
def test_brace_height_of_a_linear_ramp_is_zero():
    t = np.linspace(0, 5, 501)
    bh = M.brace_height(8.0 + 3.0 * t, t, recruitment_index=0, peak_index=500)
    assert bh.distance == pytest.approx(0.0, abs=1e-9)
    assert bh.normalised == pytest.approx(0.0, abs=1e-9)
    assert bh.acceleration_slope == pytest.approx(3.0) or math.isnan(bh.acceleration_slope)
    assert bh.attenuation_slope == pytest.approx(3.0)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.5, 3.0), st.floats(2.0, 20.0), st.floats(0.0, 3.0), st.floats(4.0, 10.0))
def test_brace_height_of_a_knee_is_the_geometric_distance(t_knee, rise, extra, r0):
    """Rate rises from (0, r0) to the knee (t_knee, r0 + rise), then more slowly to the peak
    (t_knee + 2, r0 + rise + extra): the brace is the knee, at the point-to-line distance."""
    assume(rise / t_knee > 1.2 * extra / 2.0)  # a real knee, not a straight line
    t = np.r_[np.linspace(0.0, t_knee, 1001), np.linspace(t_knee, t_knee + 2.0, 1001)[1:]]
    rate = np.interp(t, [0.0, t_knee, t_knee + 2.0], [r0, r0 + rise, r0 + rise + extra])
    knee = 1000
    t_k, r_k = t[knee], rate[knee]
    p0, p1 = np.array([0.0, r0]), np.array([t[-1], rate[-1]])
    d = p1 - p0
    expected = abs(d[0] * (r_k - p0[1]) - d[1] * (t_k - p0[0])) / np.hypot(*d)
    triangle = abs(d[0] * d[1]) / np.hypot(*d)  # height of the right triangle on the hypotenuse
    bh = M.brace_height(rate, t, recruitment_index=0, peak_index=t.size - 1)
    assert bh.index == knee
    assert bh.distance == pytest.approx(expected, rel=1e-9)
    assert bh.normalised == pytest.approx(100 * expected / triangle, rel=1e-9)
    assert bh.acceleration_slope == pytest.approx(rise / t_knee, rel=1e-3)
    assert bh.attenuation_slope == pytest.approx(extra / 2.0, rel=1e-3, abs=1e-3)


def test_brace_height_rejects_bad_input():
    t = np.linspace(0, 1, 11)
    with pytest.raises(ValueError, match="peak_index"):
        M.brace_height(t, t, recruitment_index=5, peak_index=5)
    with pytest.raises(ValueError, match="peak rate"):
        M.brace_height(1.0 - t, t, recruitment_index=0, peak_index=10)
    with pytest.raises(ValueError, match="shape"):
        M.brace_height(t[:-1], t, recruitment_index=0, peak_index=5)


# ------------------------------------------------------------------ voluntary activation
@settings(max_examples=50, deadline=None)
@given(st.floats(1e-3, 1e3), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
def test_voluntary_activation_is_100_at_no_twitch_and_decreases(rt, a, b):
    assert M.voluntary_activation(0.0, rt) == 100.0
    lo, hi = sorted((a * rt, b * rt))
    assert M.voluntary_activation(lo, rt) >= M.voluntary_activation(hi, rt)
    assert M.voluntary_activation(hi, rt) == pytest.approx(100 * (1 - hi / rt))


@pytest.mark.parametrize("sit, rt, match", [(1.0, 0.0, "resting_twitch"), (1.0, -2.0, "resting_twitch"),
                                            (1.0, math.nan, "resting_twitch"),
                                            (-1.0, 2.0, "superimposed_twitch")])
def test_voluntary_activation_rejects_bad_input(sit, rt, match):
    with pytest.raises(ValueError, match=match):
        M.voluntary_activation(sit, rt)
