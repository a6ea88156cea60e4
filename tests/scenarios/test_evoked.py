"""Evoked responses: stimulus volleys, axon collision inside Brian2, evoked EMG and protocols.

Fast tests use a 40-unit subject; the physiology checks against PHYSIOLOGY.md ("Evoked responses
at baseline") run on a 100-unit subject and are marked ``slow``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from hypothesis import given, settings
from hypothesis import strategies as st

from scenarios import evoked as E
from simulator import evoked as EV
from simulator.config import ConfigError
from simulator.inputs import stimulation as S
from simulator.models.pool import PoolConfig
from simulator.simulation import SimulationConfig, simulate, unit_table
from simulator.task import TaskConfig

SMALL = SimulationConfig(pool=PoolConfig(n_units=40), calibration_ramp_s=2.0, calibration_hold_s=1.0)


def _rest_task(duration: float) -> TaskConfig:
    return TaskConfig(shape="constant", control="excitation", level=0.0, rest_s=0.0,
                      plateau_s=duration, rest_after_s=0.0)


# ----------------------------------------------------------------------------- volleys
def test_tms_waves_recruit_in_order_and_sici_icf_act_on_i_waves():
    cfg = S.CortexConfig()
    t = np.arange(0, 0.06, 1e-4)
    travel = cfg.cortical_delay_ms * 1e-3 + cfg.tract_length_m / cfg.tract_cv_m_s
    low, _ = S.tms_volley(t, ((0.01, 50.0),), cfg, 1.0, 1.0)
    high, inh = S.tms_volley(t, ((0.01, 100.0),), cfg, 1.0, 1.0)
    d_time = (t >= 0.01 + travel) & (t < 0.01 + travel + 1.0e-3)
    # a D-wave only at high intensity (Di Lazzaro & Rothwell 2014)
    assert high[d_time].max() > 5 * low[d_time].max()
    assert inh.max() > 1.0 and inh[t < 0.01 + travel].max() == 0.0
    test, _ = S.tms_volley(t, ((0.02, 60.0),), cfg, 1.0, 1.0)
    sici, _ = S.tms_volley(t, ((0.0175, 33.0), (0.02, 60.0)), cfg, 1.0, 1.0)
    icf, _ = S.tms_volley(t, ((0.008, 33.0), (0.02, 60.0)), cfg, 1.0, 1.0)
    after = t >= 0.02
    assert sici[after].sum() < 0.7 * test[after].sum()
    assert icf[after].sum() > 1.1 * test[after].sum()
    # more intracortical inhibition deepens SICI; the conditioning pulse alone gives no I-waves
    deeper, _ = S.tms_volley(t, ((0.0175, 33.0), (0.02, 60.0)), cfg, 1.0, 1.5)
    assert deeper[after].sum() < sici[after].sum()
    alone, _ = S.tms_volley(t, ((0.0175, 33.0),), cfg, 1.0, 1.0)
    assert alone.max() < 0.05 * test.max()


def test_direct_volley_bypasses_the_cortex():
    """CMEP volleys depend on the tract only: no cortical gate, no GABA-A level."""
    cfg = S.CortexConfig()
    t = np.arange(0, 0.03, 1e-4)
    a = S.direct_cst_volley(t, 0.01, 100.0, cfg)
    assert a.max() == pytest.approx(cfg.direct_volley_gain, rel=1e-2)
    assert S.direct_cst_volley(t, 0.01, 40.0, cfg).max() < a.max()


@settings(max_examples=25, deadline=None)
@given(st.floats(0.0, 60.0), st.floats(0.0, 60.0))
def test_ia_volley_grows_with_intensity(i1, i2):
    cfg = S.NerveConfig()
    thr = S.ia_thresholds_ma(cfg, np.random.default_rng(0))
    t = np.arange(0, 0.05, 1e-4)

    def size(i):
        return S.ia_volley(t, 0.005, i, thr, cfg, path_m=0.65, cv_m_s=65.0, central_delay_s=1e-3,
                           rng=np.random.default_rng(1)).sum()
    lo, hi = sorted((i1, i2))
    assert size(lo) <= size(hi) + 1e-12
    if lo < thr.min():
        assert size(lo) == 0.0


def test_long_pulses_favour_ia_afferents():
    """Sensory axons: lower rheobase, longer strength-duration time constant (Mogyoros 1996)."""
    long_pulse = S.NerveConfig(pulse_width_ms=1.0)
    short_pulse = S.NerveConfig(pulse_width_ms=0.1)
    size = np.linspace(0, 1, 200)

    def ratio(cfg):
        rng = np.random.default_rng(0)
        return np.median(S.ia_thresholds_ma(cfg, rng)) / np.median(S.axon_thresholds_ma(size, cfg, rng))
    assert ratio(long_pulse) < 0.7
    assert ratio(long_pulse) < ratio(short_pulse) - 0.1


def test_reflex_latency_of_soleus_geometry():
    """Soleus H-reflex 28-31 ms (PHYSIOLOGY.md): afferent + central + efferent + distal + NMJ."""
    lat = unit_table(SimulationConfig(pool=PoolConfig(n_units=100)))["reflex_latency_ms"]
    # small units, recruited first by the Ia volley, have the slowest axons: they set the onset
    assert 28.0 <= lat[0] <= 31.0
    assert 25.0 <= lat.min() and lat[0] == lat.max()


@pytest.mark.parametrize("stimulus, match", [
    (S.Stimulus(nerve_time_s=0.5, nerve_ma=10.0), "nerve_time_s"),
    (S.Stimulus(nerve_time_s=0.01, nerve_ma=500.0), "nerve_ma"),
    (S.Stimulus(tms=((0.01, 120.0),)), "intensity"),
    (S.Stimulus(tms=((0.01, 30.0), (0.01002, 50.0))), "inter-stimulus interval"),
])
def test_bad_stimuli_fail_before_any_simulation(stimulus, match):
    cfg = SMALL.replace(task=_rest_task(0.1))
    with pytest.raises(ConfigError, match=match):
        simulate(cfg, stimulus=stimulus)


def test_protocol_guards():
    with pytest.raises(ConfigError, match="h_reflex.repeats"):
        E.HReflexProtocol(repeats=0)
    with pytest.raises(ConfigError, match="mep.intensities_pct"):
        E.MEPProtocol(intensities_pct=(30.0, 130.0))
    with pytest.raises(ConfigError, match="exceeds the limit"):
        E._check_budget("h_reflex", 10_000, 1.0)


# ----------------------------------------------------------------------------- Brian2 collision
@pytest.fixture(scope="module")
def stimulated_pair():
    """Supramaximal nerve pulse at rest and during a strong contraction (40 units)."""
    rest = simulate(SMALL.replace(task=_rest_task(0.08)), stimulus=S.Stimulus(nerve_time_s=0.01, nerve_ma=60.0))
    task = TaskConfig(shape="constant", control="excitation", level=80.0, rest_s=0.0, plateau_s=0.8,
                      rest_after_s=0.0)
    active = simulate(SMALL.replace(task=task), stimulus=S.Stimulus(nerve_time_s=0.6, nerve_ma=60.0))
    return rest, active


def test_supramaximal_pulse_at_rest_blocks_the_reflex(stimulated_pair):
    rest, _ = stimulated_pair
    assert rest.axon_orthodromic.values.all()
    collided = np.isfinite(rest.axon_collision_time.values)
    # every axon's antidromic spike either invaded the soma or met the reflex discharge
    assert np.array_equal(rest.axon_antidromic.values, ~collided) and collided.any()
    t, u = EV.muscle_arrivals(rest)
    m = t < 0.01 + rest.distal_delay_s.values.max() + 1e-9
    assert np.array_equal(np.sort(u[m]), np.arange(40))  # one M arrival per axon
    # of the reflex, only discharges leaving the soma after the antidromic spike passed remain
    late = rest.spike_time.values[~np.isin(rest.spike_time.values, rest.axon_collision_time.values)]
    assert (~m).sum() == late.size


def test_collisions_during_contraction_cancel_voluntary_discharges(stimulated_pair):
    _, active = stimulated_pair
    coll = active.axon_collision_time.values
    hit = np.isfinite(coll)
    assert hit.sum() >= 10  # units firing at ~20-30 pps collide with p ~ 2 d_prox f
    prox = active.proximal_delay_s.values
    assert np.all(np.abs(coll[hit] - 0.6) < prox[hit] + 1e-9)  # inside the collision window
    assert not np.any(active.axon_antidromic.values & hit)  # collided spikes never reach the soma
    t_all = active.spike_time.values
    t_arr, _ = EV.muscle_arrivals(active)
    n_orth = int(active.axon_orthodromic.values.sum())
    assert t_arr.size == t_all.size - hit.sum() + n_orth


def test_evoked_emg_is_linear_in_arrivals(stimulated_pair):
    rest, _ = stimulated_pair
    tpl = EV.bipolar_templates(rest)
    t, emg = EV.evoked_emg(rest, tpl, 10_000.0)
    assert emg.shape == t.shape and np.ptp(emg) > 0
    m_only = rest.isel(spike=slice(0, 0))
    _, m = EV.evoked_emg(m_only, tpl, 10_000.0)
    reflex = emg - m
    assert EV.peak_to_peak(t, m, 0.0, 0.03) > 10 * EV.peak_to_peak(t, reflex, 0.0, 0.03)


def _emg_level(spans):
    """A smoothed rectified EMG on a 1-kHz grid: ``[(from_s, to_s, level), ...]`` over a base of 1."""
    t = np.arange(0.0, 0.5, 1e-3)
    x = np.ones_like(t)
    for a, b, v in spans:
        x[(t >= a) & (t < b)] = v
    return t, x


def test_silence_end_waits_for_the_silence_after_a_long_response():
    """A response whose tail outlasts its window (to 0.06 s, window ends at 0.05 s) is not the
    return of the EMG: the silence (0.06-0.14 s) ends at 0.14 s. This case read as an
    immediate return (a ~22 ms silent period) in 13 % of the shipped library's sessions."""
    t, x = _emg_level([(0.02, 0.06, 8.0), (0.06, 0.14, 0.0)])
    assert EV.silence_end(t, x, after_s=0.05, threshold=0.5) == pytest.approx(0.14)
    t, x = _emg_level([(0.02, 0.04, 8.0), (0.04, 0.2, 0.1)])
    assert EV.silence_end(t, x, after_s=0.05, threshold=0.5) == pytest.approx(0.2)


def test_silence_end_is_nan_without_a_silence_or_without_a_return():
    t, x = _emg_level([(0.02, 0.06, 8.0)])
    assert np.isnan(EV.silence_end(t, x, after_s=0.05, threshold=0.5))   # never silent
    t, x = _emg_level([(0.02, 0.06, 8.0), (0.2, 0.25, 0.0)])
    assert np.isnan(EV.silence_end(t, x, after_s=0.05, threshold=0.5))   # a late dip only
    t, x = _emg_level([(0.02, 0.06, 8.0), (0.06, 0.5, 0.0)])
    assert np.isnan(EV.silence_end(t, x, after_s=0.05, threshold=0.5))   # never returns


def test_h_reflex_protocol_on_a_small_subject():
    ds = E.run(SMALL, E.HReflexProtocol(intensities_ma=(5.0, 8.0, 11.0, 40.0), repeats=1), seed=2)
    assert ds.attrs["experiment"] == "h_reflex" and ds.attrs["seed"] == 2
    m = ds.m_wave.values
    assert m[-1] == pytest.approx(float(ds.mmax)) and m[0] < 0.05 * m[-1]
    assert np.all(np.diff(m) >= -0.02 * m[-1])
    assert ds.h_reflex.values[-1] < ds.h_reflex.max()  # collision at supramaximal intensity
    assert ds.trace.dims == ("intensity", "lag") and ds.lag.attrs["units"] == "ms"


# ----------------------------------------------------------------------------- physiology
SUBJECT = SimulationConfig(pool=PoolConfig(n_units=100))


@pytest.fixture(scope="module")
def session():
    return E.Session(SUBJECT)


@pytest.mark.slow
def test_h_m_recruitment_curve(session, record_property):
    """Hmax/Mmax ~0.3-0.5 and H latency ~28-31 ms (soleus, PHYSIOLOGY.md); H falls as M rises."""
    ds = E.run(SUBJECT, E.HReflexProtocol(intensities_ma=(6, 7, 8, 9, 10, 11, 12, 14, 20, 40), repeats=2),
               session=session)
    record_property("hmax_mmax", round(float(ds.hmax_mmax), 3))
    assert 0.25 <= float(ds.hmax_mmax) <= 0.55
    assert 27.0 <= float(ds.h_latency) <= 31.5
    k = int(np.argmax(ds.h_reflex.values))
    assert ds.h_reflex.values[-1] < 0.2 * ds.h_reflex.values[k]
    assert ds.m_wave.values[k] < 0.6 * float(ds.mmax)


@pytest.mark.slow
def test_v_wave_at_mvc_and_rest(session, record_property):
    """V/Mmax ~0.31 at MVC in untrained soleus (Aagaard 2002), ~0 at rest (collision)."""
    ds = E.run(SUBJECT, E.VWaveProtocol(repeats=3), session=session)
    record_property("v_msup", round(float(ds.v_msup), 3))
    record_property("voluntary_activation_pct", round(float(ds.voluntary_activation), 1))
    assert 0.15 <= float(ds.v_msup) <= 0.45
    assert float(ds.v_rest_mmax) < 0.05
    assert float(ds.superimposed_twitch) < float(ds.resting_twitch)


@pytest.mark.slow
def test_voluntary_activation_with_potentiation(record_property):
    """Twitch interpolation at MVC as labs measure it: 90-98 % (Gandevia 2001 Physiol Rev
    81:1725), with muscle.potentiation_max = 0.85, the value fitted to it (off by default,
    validation/ledger.toml); the resting twitch after the contraction is potentiated."""
    from simulator.models.muscle import MuscleConfig
    subject = SUBJECT.replace(muscle=MuscleConfig(potentiation_max=0.85))
    ds = E.run(subject, E.VWaveProtocol(repeats=3))
    record_property("voluntary_activation_pct", round(float(ds.voluntary_activation), 1))
    assert 90.0 <= float(ds.voluntary_activation) <= 98.0
    assert float(ds.resting_twitch) > float(ds.resting_twitch_unpotentiated)


@pytest.mark.slow
def test_superimposed_twitch_falls_linearly_with_force(session, record_property):
    """Prediction: the superimposed twitch falls near-linearly with voluntary force from ~25 to
    100 %MVC (Merton 1954; Herbert & Gandevia 1999 J Neurophysiol 82:2271): linear fit r^2 >= 0.9
    and a negative slope."""
    levels = np.array([25.0, 50.0, 75.0, 100.0])
    sit = np.array([float(E.run(SUBJECT, E.VWaveProtocol(repeats=2, level_pct=lv), session=session)
                          .superimposed_twitch) for lv in levels])
    slope, _, r, _, _ = stats.linregress(levels, sit)
    record_property("r_squared", round(float(r * r), 3))
    record_property("superimposed_twitch_n", " ".join(f"{x:.1f}" for x in sit))
    assert slope < 0 and r * r >= 0.9, f"superimposed twitch {sit} N, r^2 = {r * r:.2f}"


@pytest.mark.slow
def test_mep_latency_follows_conduction(session):
    """MEP latency = cortex + tract + I1 + efferent conduction (Butler 2007-style reasoning)."""
    ds = E.run(SUBJECT, E.MEPProtocol(intensities_pct=(40, 55, 70, 85), repeats=1), session=session)
    c = SUBJECT.cortex
    props = unit_table(SUBJECT)
    expected = 1e3 * (c.cortical_delay_ms * 1e-3 + c.tract_length_m / c.tract_cv_m_s
                      + (props["proximal_delay_s"] + props["distal_delay_s"]).min())
    assert expected <= float(ds.mep_latency) <= expected + 6.0
    assert np.all(np.diff(ds.mep.values) > 0)
    far = SUBJECT.replace(cortex=c.replace(tract_length_m=c.tract_length_m + 0.2))
    ds_far = E.run(far, E.MEPProtocol(intensities_pct=(85,), repeats=1))
    assert float(ds_far.mep_latency) - float(ds.mep_latency) == pytest.approx(1e3 * 0.2 / c.tract_cv_m_s, abs=1.0)


@pytest.mark.slow
def test_sici_and_icf(session, record_property):
    """Conditioned MEP ~40-60 % of test at 2-3 ms ISI; facilitation at 10-15 ms (Kujirai 1993)."""
    ds = E.run(SUBJECT, E.SICIProtocol(isis_ms=(2.0, 3.0, 10.0, 12.0, 15.0), repeats=3), session=session)
    record_property("sici", round(float(ds.sici), 3))
    record_property("icf", round(float(ds.icf), 3))
    assert 0.35 <= float(ds.sici) <= 0.7
    assert float(ds.icf) > 1.05


@pytest.mark.slow
def test_silent_period_duration(session, record_property):
    """Cortical silent period ~100-250 ms (Orth & Rothwell 2004)."""
    ds = E.run(SUBJECT, E.SilentPeriodProtocol(repeats=2), session=session)
    record_property("silent_period_ms", round(float(ds.silent_period), 1))
    assert 100.0 <= float(ds.silent_period) <= 250.0


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "known deviation since the PIC re-fit (issue 12): at the default monoaminergic drive the "
    "PICs restart the units before cortical drive returns, so the silent period (125 ms) ends "
    "independently of GABA-B (124 ms at 2x); at drive 0.5 it is 164 -> 226 ms. A faster PIC "
    "deactivation (50 ms) restores the dependence but needs PICs too large for the silent period"))
def test_silent_period_lengthens_with_gaba_b(session):
    """The later part of the cortical silent period is cortical (GABA-B): more GABA-B, longer
    silent period (Orth & Rothwell 2004; Werhahn et al. 1999)."""
    ds = E.run(SUBJECT, E.SilentPeriodProtocol(repeats=2), session=session)
    more = SUBJECT.replace(cortex=SUBJECT.cortex.replace(gaba_b_strength=2 * SUBJECT.cortex.gaba_b_strength))
    ds_more = E.run(more, E.SilentPeriodProtocol(repeats=2))
    assert float(ds_more.silent_period) > float(ds.silent_period) + 15.0


@pytest.mark.slow
def test_cmep_ignores_intracortical_inhibition_mep_does_not(session):
    """Changing only intracortical inhibition changes the MEP but not the CMEP (Taylor 2006)."""
    less = SUBJECT.replace(corticospinal=SUBJECT.corticospinal.replace(intracortical_inhibition=0.5))
    cmep = [float(E.run(s, E.CMEPProtocol(intensity_pct=60.0, repeats=2)).cmep) for s in (SUBJECT, less)]
    mep = [float(E.run(s, E.MEPProtocol(intensities_pct=(60.0,), repeats=2)).mep[0]) for s in (SUBJECT, less)]
    assert cmep[1] == pytest.approx(cmep[0], rel=0.1)
    assert mep[1] > 1.15 * mep[0]


@pytest.mark.slow
def test_stimulated_runs_are_identical_on_both_engines():
    """Collision bookkeeping and volleys give the same spikes and axon states in runtime and
    cpp_standalone (everything random is drawn in NumPy)."""
    task = TaskConfig(shape="constant", control="excitation", level=60.0, rest_s=0.0, plateau_s=0.7,
                      rest_after_s=0.0)
    stim = S.Stimulus(nerve_time_s=0.5, nerve_ma=60.0, tms=((0.55, 70.0),))
    a = simulate(SMALL.replace(task=task), stimulus=stim, trial=1)
    b = simulate(SMALL.replace(task=task, engine="standalone"), stimulus=stim, trial=1)
    np.testing.assert_allclose(a.spike_time.values, b.spike_time.values, atol=1e-9)
    np.testing.assert_array_equal(a.spike_unit.values, b.spike_unit.values)
    for v in ("axon_orthodromic", "axon_antidromic", "axon_refractory"):
        np.testing.assert_array_equal(a[v].values, b[v].values)
    np.testing.assert_allclose(a.axon_collision_time.values, b.axon_collision_time.values, atol=1e-9)


# ----------------------------------------------------------------------------- batched trials
def _one_network_per_trial(*args, **kwargs):
    """`simulate` behind another name: a Session given it runs every trial as its own network."""
    return simulate(*args, **kwargs)


@pytest.mark.parametrize("protocol", [
    E.HReflexProtocol(intensities_ma=(5.0, 9.0, 12.0, 40.0), repeats=2),
    # MEP and SICI repeat the comparison on cortical volleys: slow (one network per trial is what
    # batching saves)
    pytest.param(E.MEPProtocol(intensities_pct=(55.0, 80.0), repeats=2), marks=pytest.mark.slow),
    pytest.param(E.SICIProtocol(isis_ms=(2.5, 12.0), repeats=2), marks=pytest.mark.slow),
], ids=["h_reflex", "mep", "sici"])
def test_batched_trials_equal_one_network_per_trial(protocol):
    """All trials of a protocol in one network run (state reset between trial segments) give the
    H/M curve, MEP and SICI of one network per trial. Each trial keeps its own noise, so the
    outcomes agree closely; they are not bit-identical because the run time of a later segment
    rounds differently (a near-threshold discharge may move by one 0.1-ms step), hence the 5 %
    tolerance on amplitudes and 0.2 ms on latencies."""
    batched = E.Session(SMALL.replace(seed=3))
    single = E.Session(SMALL.replace(seed=3), simulator=_one_network_per_trial)
    a = E.run(batched.subject, protocol, session=batched)
    b = E.run(single.subject, protocol, session=single)
    for name in ("m_wave", "h_reflex", "mep", "conditioned_mep", "test_mep", "mmax"):
        if name in a:
            np.testing.assert_allclose(a[name].values, b[name].values, rtol=0.05,
                                       atol=0.02 * float(a[name].max()), err_msg=name)
    for name in ("h_latency", "mep_latency"):
        if name in a:
            assert abs(float(a[name]) - float(b[name])) <= 0.2, name
    if "sici" in a:  # a ratio of two amplitudes that each agree within 5 %
        assert float(a.sici) == pytest.approx(float(b.sici), rel=0.1)
