"""Pathways into the pool and the sites of adaptation (issue 3).

Each site's knob must change what it should and nothing upstream of it. The checks run the same
subject open loop (a fixed cortical command), so every upstream signal is reproduced exactly
with the same seed and any change is caused by the knob.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator import measures as M
from simulator.config import ConfigError
from simulator.inputs.afferent import AfferentConfig
from simulator.inputs.corticospinal import CorticospinalConfig
from simulator.inputs.reticulospinal import ReticulospinalConfig
from simulator.models.interneurons import InterneuronConfig
from simulator.models.pool import PoolConfig
from simulator.simulation import Calibration, SimulationConfig, simulate
from simulator.sites import MAX_CHANGE, MIN_CHANGE, SITES, apply_adaptation, site_table
from simulator.task import TaskConfig

OPEN_LOOP = TaskConfig(shape="constant", control="excitation", level=30.0, rest_s=0.2,
                       plateau_s=1.8, rest_after_s=0.0)
UNIT_CAL = Calibration(1.0, np.array([0.0, 1.0]), np.array([0.0, 1.0]))
SIGNALS = ("corticospinal_output", "reticulospinal_output", "interneuron_activity", "ia_activity",
           "monoaminergic_drive")


def _run(cfg):
    return simulate(cfg, calibration=UNIT_CAL)


@pytest.fixture(scope="module")
def base_cfg():
    return SimulationConfig(pool=PoolConfig(n_units=20), task=OPEN_LOOP)


@pytest.fixture(scope="module")
def base(base_cfg):
    return _run(base_cfg)


# ----------------------------------------------------------------------------- registry
def test_registry_has_twelve_documented_sites():
    letters = [s.letter for s in SITES.values()]
    assert letters == list("ABCDEFGHIJKL")
    cfg = SimulationConfig()
    for site in SITES.values():
        assert site.description and site.reference
        for path, exponent in site.parameters:
            section, field = path.split(".")
            assert hasattr(getattr(cfg, section), field), path
            assert exponent in (1.0, -1.0)
    assert len(site_table()) == 12


def test_unknown_site_and_impossible_change_are_clear_errors():
    with pytest.raises(ConfigError, match="unknown site 'spindle'"):
        apply_adaptation(SimulationConfig(), {"spindle": 0.1})
    with pytest.raises(ConfigError, match=r"outside the supported relative change \[-0.9, 2\]"):
        apply_adaptation(SimulationConfig(), {"corticomotoneuronal": 5.0})
    with pytest.raises(ConfigError, match="not supported by the model"):
        apply_adaptation(SimulationConfig().replace(
            reticulospinal=ReticulospinalConfig(reciprocal_weight=0.8)), {"reticular_reciprocal": 0.5})


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(SITES)), st.floats(MIN_CHANGE, MAX_CHANGE))
def test_any_supported_change_gives_a_valid_config_or_a_clear_error(name, change):
    try:
        cfg = apply_adaptation(SimulationConfig(), {name: change})
    except ConfigError as exc:
        assert name in str(exc)
        return
    for path, exponent in SITES[name].parameters:
        section, field = path.split(".")
        before = getattr(getattr(SimulationConfig(), section), field)
        assert getattr(getattr(cfg, section), field) == pytest.approx(before * (1 + change) ** exponent)


# ----------------------------------------------------------------------------- one knob per site
#: site -> (signals that must change, signals that must not change, pathway current that rises)
EXPECTED = {
    "intracortical_inhibition": ({"corticospinal_output": -1}, ("ia_activity", "reticulospinal_output"), None),
    "corticomotoneuronal": ({}, SIGNALS, "current_corticomotoneuronal"),
    "corticospinal_interneuron": ({"interneuron_activity": +1}, ("corticospinal_output", "ia_activity"), None),
    "corticoreticular": ({"reticulospinal_output": +1}, ("corticospinal_output", "ia_activity"), None),
    "reticular_reciprocal": ({"reticulospinal_output": +1}, ("corticospinal_output", "ia_activity"), None),
    "reticulospinal_interneuron": ({"interneuron_activity": +1}, ("reticulospinal_output", "ia_activity"), None),
    "reticulospinal_motoneuron": ({}, SIGNALS, "current_reticulospinal"),
    "monoaminergic": ({"monoaminergic_drive": +1}, SIGNALS[:4], None),
    "intrinsic_motoneuron": ({}, SIGNALS, None),
    "ia_monosynaptic": ({}, SIGNALS, "current_ia"),
    "ia_interneuron": ({"interneuron_activity": +1}, ("ia_activity", "corticospinal_output"), None),
    "muscle_hypertrophy": ({}, SIGNALS, None),
}


@pytest.mark.parametrize("site", sorted(SITES))
def test_each_site_changes_its_target_and_nothing_upstream(site, base_cfg, base):
    adapted = _run(apply_adaptation(base_cfg, {site: 0.5}))
    changed, unchanged, current = EXPECTED[site]
    for sig in unchanged:
        np.testing.assert_array_equal(adapted[sig].values, base[sig].values, err_msg=sig)
    on = base.time.values > 0.5
    for sig, sign in changed.items():
        diff = adapted[sig].values[on].mean() - base[sig].values[on].mean()
        assert sign * diff > 1e-3, f"{site}: {sig} did not change as expected ({diff:+.4f})"
    if current is not None:
        assert (adapted[current].values[:, on].mean() > 1.05 * base[current].values[:, on].mean())
    if site == "muscle_hypertrophy":  # peripheral: identical spikes, more force
        np.testing.assert_array_equal(adapted.spike_time.values, base.spike_time.values)
        assert adapted.force.values[on].mean() == pytest.approx(1.5 * base.force.values[on].mean(), rel=1e-6)
    else:  # every neural site that increases its effect raises the pool's output here
        sign = -1 if site == "intracortical_inhibition" else +1
        assert sign * (adapted.sizes["spike"] - base.sizes["spike"]) > 0, site


# ----------------------------------------------------------------------------- pathway properties
def test_reticulospinal_input_recruits_high_threshold_units_relatively_more():
    """Equal total descending drive (same command, same mean weight) delivered by the RST
    recruits more high-threshold units than by the CST (Ziemann 1999; Glover & Baker 2020)."""
    def run(share):
        cfg = SimulationConfig(pool=PoolConfig(n_units=40), task=OPEN_LOOP.replace(level=35.0),
                               reticulospinal=ReticulospinalConfig(share=share),
                               interneurons=InterneuronConfig(interneuron_fraction=0.0))
        ds = _run(cfg)
        counts = np.bincount(ds.spike_unit.values, minlength=40)
        return counts, ds.size_index.values
    cst, size = run(0.0)
    rst, _ = run(1.0)
    high, low = size > 0.6, size < 0.2
    assert np.sum(rst[high] > 5) > np.sum(cst[high] > 5)
    assert rst[high].sum() / rst.sum() > cst[high].sum() / cst.sum()
    assert rst[low].sum() < cst[low].sum()


def test_monosynaptic_ia_epsp_decreases_with_motoneuron_size():
    """Steady Ia depolarisation of isolated motoneurons falls with size (Burke 1968;
    Heckman & Binder 1988): EPSP ~ g_Ia / G_in with g_Ia growing less than G_in."""
    units = (0, 5, 10, 15, 19)
    def run(rate):
        cfg = SimulationConfig(pool=PoolConfig(n_units=20), task=OPEN_LOOP.replace(level=0.0),
                               afferent=AfferentConfig(resting_rate_hz=rate, fusimotor_gain_hz=0.0),
                               interneurons=InterneuronConfig(reciprocal_inhibition=0.0,
                                                              ia_to_interneuron=0.0))
        return simulate(cfg, calibration=UNIT_CAL, voltage_units=units)
    rest, ia = run(0.0), run(30.0)
    late = rest.vtime.values > 1.0
    epsp = (ia.v_s.values[:, late].mean(axis=1) - rest.v_s.values[:, late].mean(axis=1))
    assert ia.sizes["spike"] == 0
    assert np.all(epsp > 0)
    assert np.all(np.diff(epsp) < 0), epsp
    assert epsp[0] / epsp[-1] > 2.0


def _coherence(beta_cv, plateau_s):
    cfg = SimulationConfig(pool=PoolConfig(n_units=60),
                           corticospinal=CorticospinalConfig(beta_cv=beta_cv),
                           task=TaskConfig(shape="trapezoid", level=20.0, rest_s=0.2, rise_s=1.5,
                                           plateau_s=plateau_s, fall_s=0.5, rest_after_s=0.1))
    ds = simulate(cfg)
    f, c = M.pooled_coherence(M.spike_trains(ds), 2.2, 2.0 + plateau_s)
    return f, c


@pytest.mark.slow
def test_beta_common_input_gives_beta_coherence():
    """Beta-band common input produces pooled motor-unit coherence peaking in 15–30 Hz
    (Conway 1995; Baker 1997; Negro & Farina 2011); removing it removes the peak.

    Beta-band coherence was > 2x the 40-80 Hz band before the PICs were re-fitted across the
    pool (issue 12); now 1.7x (0.094 vs 0.056; 0.063 without beta input): larger PICs in
    higher-threshold units make discharge less linear in the common input. The bound is 1.5x,
    and the input's own effect (beta coherence with vs without it) is checked as well."""
    f, c = _coherence(0.06, 10.0)
    beta, high = (f >= 15) & (f <= 30), (f >= 40) & (f <= 80)
    search = (f >= 10) & (f <= 60)
    assert 15.0 <= f[search][np.argmax(c[search])] <= 30.0
    assert c[beta].mean() > 1.5 * c[high].mean()
    f0, c0 = _coherence(0.0, 10.0)
    assert c0[beta].mean() < 1.3 * c0[high].mean()
    assert c[beta].mean() > 1.3 * c0[beta].mean()


#: The 5-HT2 antagonist's dose as the fraction of monoaminergic drive it removes: fitted so that
#: delta-F falls by Goodlich et al.'s mean 0.875 pps (7.5 % gives -0.89 pps; the 10 % assumed
#: before gave -1.31), as issue 12 words the check: "a monoaminergic reduction giving delta-F
#: -0.75 to -1.0 pps"; validation/ledger.toml.
GOODLICH_DOSE = 0.075


@pytest.mark.slow
def test_serotonin_antagonist_matches_goodlich_2023(record_property):
    """A 5-HT2 antagonist (cyproheptadine) dosed to lower delta-F by ~0.75–1.0 pps (the fit) lowers
    discharge rate by ~1 pps, raises derecruitment threshold by ~1.2 %MVC and changes MVC by less
    than 3 % (Goodlich et al. 2023 J Physiol): those three are predictions; rate and derecruitment
    bounds are the published changes widened by their spread."""
    from simulator.inputs.neuromodulation import NeuromodulationConfig
    from simulator.simulation import calibrate
    task = TaskConfig(shape="triangle", level=20.0, rise_s=10.0, fall_s=10.0, rest_s=0.5, rest_after_s=1.5)

    def measure(level):
        cfg = SimulationConfig(pool=PoolConfig(n_units=100), task=task,
                               neuromodulation=NeuromodulationConfig(level=level))
        cal = calibrate(cfg)
        ds = simulate(cfg, calibration=cal)
        s = M.unit_summary(ds)
        rt, df = s.recruitment_threshold.values, s.delta_f.values
        sel = (rt > 1) & (rt < 10) & np.isfinite(df)
        trains, t = M.spike_trains(ds), ds.time.values
        peak = [np.nanmax(M.smoothed_rate(M.main_train(trains[u]), t))
                for u in trains if M.main_train(trains[u]).size]
        return cal.mvc_n, np.median(df[sel]), np.mean(peak), np.nanmean(s.derecruitment_threshold.values)

    mvc0, df0, rate0, der0 = measure(1.0)
    mvc1, df1, rate1, der1 = measure(1.0 - GOODLICH_DOSE)
    for name, value in [("delta_f_change_pps", df1 - df0), ("rate_change_pps", rate1 - rate0),
                        ("derecruitment_change_pct_mvc", der1 - der0),
                        ("mvc_change_pct", 100 * (mvc1 / mvc0 - 1))]:
        record_property(name, round(float(value), 2))
    assert -1.0 <= df1 - df0 <= -0.75, "the fitted dose no longer gives Goodlich's delta-F change"
    assert -2.0 <= rate1 - rate0 <= -0.2
    assert 0.2 <= der1 - der0 <= 2.5
    assert abs(mvc1 / mvc0 - 1) < 0.03


def test_intrinsic_threshold_shift_changes_recruitment(base_cfg):
    """A lower spike threshold (intrinsic factor, kept out of the efficacy calibration) recruits
    units earlier on the same command ramp (at a lower excitation) and no fewer of them; upstream
    signals are untouched. A ramp, because with PICs the number of units recruited at one
    constant command moves in PIC-sized steps that a few mV of threshold need not cross."""
    ramp = base_cfg.replace(task=TaskConfig(shape="ramp", control="excitation", level=30.0,
                                            rest_s=0.2, rise_s=1.8, rest_after_s=0.0))
    base = _run(ramp)
    ds = _run(ramp.replace(motoneuron=ramp.motoneuron.replace(threshold_shift_mv=-3.0)))
    for sig in SIGNALS:
        np.testing.assert_array_equal(ds[sig].values, base[sig].values)

    def first_spikes(d):
        return {int(u): float(d.spike_time.values[d.spike_unit.values == u].min())
                for u in np.unique(d.spike_unit.values)}
    before, after = first_spikes(base), first_spikes(ds)
    assert len(after) >= len(before) > 3
    assert all(after[u] < before[u] for u in before)
    assert ds.sizes["spike"] > base.sizes["spike"]


def test_sites_cli_lists_every_site(capsys):
    from scenarios.cli import main
    assert main(["sites"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in SITES)
