"""Virtual cohorts: reproducible draws, ranges respected, sessions and control groups."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from scenarios.cohort import (SESSION_VARIED, VARIED, CohortConfig, Subject, cohort_dataset,
                              control_group, draw_cohort, electrode_offset_mm, load_cohort, session)
from simulator.config import ConfigError, field_ranges
from simulator.simulation import SimulationConfig

BASE = SimulationConfig()
CV_FIELDS = tuple(VARIED)
ZERO = {f: 0.0 for f in CV_FIELDS}


def value(cfg: SimulationConfig, path: str):
    section, field = path.split(".")
    return getattr(getattr(cfg, section), field)


def without_seed(cfg: SimulationConfig) -> SimulationConfig:
    return cfg.replace(seed=0)


def test_same_seed_same_cohort_other_seed_other_cohort():
    c = CohortConfig(n_subjects=12, seed=7, n_units_cv=0.1)
    a, b = draw_cohort(BASE, c), draw_cohort(BASE, c)
    assert [s.config for s in a] == [s.config for s in b]
    other = draw_cohort(BASE, c.replace(seed=8))
    for path in VARIED.values():
        assert [value(s.config, path) for s in a] != [value(s.config, path) for s in other]
    assert len({s.config.seed for s in a} & {s.config.seed for s in other}) == 0


def test_a_subject_does_not_depend_on_the_cohort_size_or_the_other_cvs():
    small = draw_cohort(BASE, CohortConfig(n_subjects=3, seed=1))
    large = draw_cohort(BASE, CohortConfig(n_subjects=30, seed=1))
    assert [s.config for s in small] == [s.config for s in large[:3]]
    # switching one spread off leaves the others' draws alone
    fewer = draw_cohort(BASE, CohortConfig(n_subjects=3, seed=1, twitch_scale_cv=0.0))
    for s, f in zip(small, fewer):
        assert f.config.muscle.twitch_scale == BASE.muscle.twitch_scale
        assert f.config.afferent == s.config.afferent and f.config.corticospinal == s.config.corticospinal


def test_zero_cvs_give_copies_of_the_base_with_distinct_seeds():
    subjects = draw_cohort(BASE, CohortConfig(n_subjects=20, seed=3, **ZERO))
    assert all(without_seed(s.config) == without_seed(BASE) for s in subjects)
    assert len({s.config.seed for s in subjects}) == 20
    assert [s.id for s in subjects] == list(range(20))
    assert subjects[4].label == "train-004"


def test_spread_has_the_requested_mean_and_cv():
    cv = 0.3
    c = CohortConfig(n_subjects=400, seed=11, **{**ZERO, "cm_weight_cv": cv, "monosynaptic_weight_cv": cv})
    for path in ("corticospinal.cm_weight", "afferent.monosynaptic_weight"):
        x = np.array([value(s.config, path) for s in draw_cohort(BASE, c)])
        base = value(BASE, path)
        assert x.mean() == pytest.approx(base, rel=0.06)
        assert x.std() / x.mean() == pytest.approx(cv, rel=0.15)
        assert np.all(x > 0)


def test_n_units_kept_unless_its_cv_is_positive():
    same = draw_cohort(BASE, CohortConfig(n_subjects=10, seed=0))
    assert {s.config.pool.n_units for s in same} == {BASE.pool.n_units}
    varied = draw_cohort(BASE, CohortConfig(n_subjects=10, seed=0, n_units_cv=0.3))
    sizes = [s.config.pool.n_units for s in varied]
    assert all(isinstance(n, int) for n in sizes) and len(set(sizes)) > 5


@settings(max_examples=15, deadline=None)
@given(cvs=st.fixed_dictionaries({f: st.floats(0.0, 1.0) for f in CV_FIELDS}),
       seed=st.integers(0, 2**32 - 1))
def test_drawn_values_stay_in_their_allowed_ranges(cvs, seed):
    # a base at the top of several ranges: a wide spread must be clipped, not rejected
    base = BASE.replace(reticulospinal=BASE.reticulospinal.replace(share=0.95),
                        drive=BASE.drive.replace(independent_sd=0.9),
                        pool=BASE.pool.replace(n_units=1900))
    subjects = draw_cohort(base, CohortConfig(n_subjects=8, seed=seed, **cvs))
    for s in subjects:
        for path, drawn in s.parameters.items():
            section, field = path.split(".")
            meta = field_ranges(type(getattr(BASE, section)))[field]
            assert meta["lo"] <= value(s.config, path) <= meta["hi"]
            assert value(s.config, path) == drawn
        assert isinstance(s.config.pool.n_units, int)
        assert 0 <= s.config.seed <= 2**32 - 1


def test_control_group_is_another_stream_of_the_same_population():
    c = CohortConfig(n_subjects=6, seed=2)
    train, ctrl = draw_cohort(BASE, c), control_group(BASE, c)
    assert len(ctrl) == 6 and {s.group for s in ctrl} == {"control"}
    assert all(t.config != k.config for t, k in zip(train, ctrl))
    assert control_group(BASE, c)[0].config == ctrl[0].config
    assert ctrl[0].label == "control-000"


def test_sessions_without_day_to_day_variability():
    c = CohortConfig(n_subjects=2, seed=5, session_excitability_cv=0.0)
    s = draw_cohort(BASE, c)[0]
    assert session(s, 0, c) == s.config
    post = session(s, 1, c)
    # another day: new noise (session), same subject and anatomy (seed)
    assert post.seed == s.config.seed and post.session == 1
    assert post.replace(session=0) == s.config


def test_sessions_with_day_to_day_variability():
    c = CohortConfig(n_subjects=1, seed=5, session_excitability_cv=0.1)
    s = draw_cohort(BASE, c)[0]
    pre, post = session(s, 0, c), session(s, 1, c)
    assert pre == session(s, 0, c) and post == session(s, 1, c)      # reproducible
    assert pre.seed == s.config.seed
    for path in SESSION_VARIED:
        assert value(pre, path) != value(post, path) != value(s.config, path)
    # nothing else changes from day to day
    untouched = {p.split(".")[0] for p in SESSION_VARIED}
    for f in dataclasses.fields(SimulationConfig):
        if f.name not in untouched and f.name != "seed":
            assert getattr(pre, f.name) == getattr(s.config, f.name)
    ratios = np.array([value(session(s, k, c), "neuromodulation.level") for k in range(300)])
    ratios /= value(s.config, "neuromodulation.level")
    assert ratios.mean() == pytest.approx(1.0, abs=0.02)
    assert ratios.std() == pytest.approx(0.1, rel=0.2)


def test_electrode_offsets_are_carried_and_drawn_per_session():
    c = CohortConfig(n_subjects=1, seed=0, electrode_shift_mm=3.0)
    s = draw_cohort(BASE, c)[0]
    assert s.electrode_shift_mm == 3.0
    assert electrode_offset_mm(s, 0, c) == (0.0, 0.0)
    assert electrode_offset_mm(s, 2, c) == electrode_offset_mm(s, 2, c) != electrode_offset_mm(s, 1, c)
    d = np.array([electrode_offset_mm(s, k, c) for k in range(1, 400)])
    assert d.std() == pytest.approx(3.0, rel=0.12)


def test_cohort_dataset():
    c = CohortConfig(n_subjects=4, seed=1)
    ds = cohort_dataset(draw_cohort(BASE, c) + control_group(BASE, c), c)
    assert ds.sizes["subject"] == 8
    assert set(VARIED.values()) <= set(ds.data_vars)
    assert ds.attrs["cohort"]["n_subjects"] == 4


@pytest.mark.parametrize("kwargs, pattern", [
    ({"n_subjects": 0}, r"cohort\.n_subjects = 0 is out of range; allowed \[1, 1000\]"),
    ({"n_subjects": 1001}, r"cohort\.n_subjects = 1001 is out of range"),
    ({"cm_weight_cv": -0.1}, r"cohort\.cm_weight_cv = -0\.1 is out of range"),
    ({"electrode_shift_mm": 50.0}, r"cohort\.electrode_shift_mm = 50\.0 is out of range; allowed \[0, 20\] mm"),
    ({"seed": 1.5}, r"cohort\.seed = 1\.5 must be an integer"),
])
def test_bad_cohort_settings(kwargs, pattern):
    with pytest.raises(ConfigError, match=pattern):
        CohortConfig(**kwargs)


def test_bad_cohort_input(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) cohort\.size"):
        CohortConfig.from_dict({"size": 3})
    c = CohortConfig(n_subjects=1)
    with pytest.raises(ConfigError, match="base must be a SimulationConfig"):
        draw_cohort({"pool": {}}, c)
    s = draw_cohort(BASE, c)[0]
    with pytest.raises(ConfigError, match=r"session index = -1"):
        session(s, -1, c)
    with pytest.raises(ConfigError, match="must be a Subject"):
        session(s.config, 0, c)
    with pytest.raises(ConfigError, match="does not exist"):
        load_cohort(tmp_path / "none.toml")
    p = tmp_path / "c.toml"
    p.write_text("[cohort]\nn_subjects = 5\nseed = 9\n[pool]\nn_units = 50\n")
    assert load_cohort(p) == CohortConfig(n_subjects=5, seed=9)
    assert isinstance(s, Subject)
