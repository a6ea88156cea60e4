"""Observations that are a cohort's mean change (``n_subjects``), on synthetic libraries whose
answer is known by construction.

Two sites (monoaminergic and intrinsic motoneuron, here synthetic) whose mean signatures differ by half a between-subject SD per measure cannot be told
apart from one subject's change, but can from the mean of 20 subjects: the likelihood must
scale the cells' spread by 1/n (plus the library's own 1/R), and keep a published standard error
that exceeds the model's as a floor.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from scenarios.inference import Observation, infer, load_observation, posterior_predictive
from scenarios.inference.likelihood import _observation_cov
from simulator.config import ConfigError

MEASURES = ["mvc", "discharge_rate", "mep_mmax", "delta_f"]
SD = np.array([8.0, 1.5, 20.0, 0.6])          # between-subject SD of each change, its unit
SHIFT = 0.5                                    # site B differs from A by this many SDs per measure
N_REP = 40


def make_library(seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    means = {"control": np.zeros(4), "monoaminergic": np.array([1.0, 1.0, 0.0, 0.0]) * SD,
             "intrinsic_motoneuron": (np.array([1.0, 1.0, 0.0, 0.0]) + SHIFT * np.array([1, -1, 1, 1])) * SD}
    sites = list(means)
    x = np.stack([means[s] + rng.normal(size=(N_REP, 4)) * SD for s in sites])[:, None]  # one dose
    return xr.Dataset({"change": (("site", "magnitude", "replicate", "measure"), x)},
                      coords={"site": sites, "magnitude": [0.3], "replicate": np.arange(N_REP),
                              "measure": MEASURES})


def cohort_mean(lib: xr.Dataset, site: str, n: int, seed: int) -> np.ndarray:
    """Mean change of ``n`` new subjects of ``site`` (drawn like the library's replicates)."""
    rng = np.random.default_rng(seed)
    mu = lib.change.sel(site=site).isel(magnitude=0).mean("replicate").values
    return mu + rng.normal(size=(n, 4)).mean(axis=0) * SD


@pytest.fixture(scope="module")
def lib():
    return make_library()


def test_cohort_mean_is_told_apart_where_one_subject_is_not(lib):
    """The same cohort mean: scored as one subject it is ambiguous, as 20 subjects it is not."""
    n, hits_cohort, hits_single = 20, [], []
    for seed in range(20):
        y = cohort_mean(lib, "intrinsic_motoneuron", n, seed)
        se = SD / np.sqrt(n)
        pairs = {m: (float(v), float(s)) for m, v, s in zip(MEASURES, y, se)}
        cohort = infer(lib, Observation(pairs, n_subjects=n), pairs=False)
        single = infer(lib, Observation(pairs), pairs=False)
        hits_cohort.append(float(cohort.site_posterior.sel(site="intrinsic_motoneuron")))
        hits_single.append(float(single.site_posterior.sel(site="intrinsic_motoneuron")))
    assert np.mean(hits_cohort) > 0.9
    assert np.mean(hits_single) < 0.75
    assert np.mean(hits_cohort) > np.mean(hits_single) + 0.2


def test_cohort_mean_of_untrained_subjects_is_recovered_as_control(lib):
    post = []
    for seed in range(20):
        y = cohort_mean(lib, "control", 15, 100 + seed)
        obs = Observation({m: (float(v), float(s / np.sqrt(15))) for m, v, s in zip(MEASURES, y, SD)},
                          n_subjects=15)
        post.append(float(infer(lib, obs, pairs=False).site_posterior.sel(site="control")))
    assert np.mean(post) > 0.9


def test_a_published_error_larger_than_the_model_widens_the_likelihood(lib):
    """A real cohort 4x more variable than the virtual one: its standard error is the floor, so
    the posterior is less certain than with the model's own standard error."""
    n = 20
    y = cohort_mean(lib, "intrinsic_motoneuron", n, 7)
    tight = Observation({m: (float(v), float(s / np.sqrt(n))) for m, v, s in zip(MEASURES, y, SD)},
                        n_subjects=n)
    wide = Observation({m: (float(v), float(4 * s / np.sqrt(n))) for m, v, s in zip(MEASURES, y, SD)},
                       n_subjects=n)
    p_tight = float(infer(lib, tight, pairs=False).site_posterior.sel(site="intrinsic_motoneuron"))
    p_wide = float(infer(lib, wide, pairs=False).site_posterior.sel(site="intrinsic_motoneuron"))
    assert p_wide < p_tight
    pred_t = posterior_predictive(lib, infer(lib, tight, pairs=False), "intrinsic_motoneuron").predictive_sd.values
    pred_w = posterior_predictive(lib, infer(lib, wide, pairs=False), "intrinsic_motoneuron").predictive_sd.values
    np.testing.assert_allclose(pred_w, np.sqrt(16 * SD ** 2 / n + SD ** 2 / N_REP), rtol=0.25)
    assert np.all(pred_w > 2 * pred_t)


def test_observation_covariance_formula():
    cov = np.diag([4.0, 9.0])
    cov[0, 1] = cov[1, 0] = 3.0
    var = np.array([0.01, 1.0])          # first below the model's S/n = 0.4, second above 0.9
    got = _observation_cov(cov, var, 10, cov / 20)
    expect = cov * (1 / 10 + 1 / 20) + np.diag([0.0, 1.0 - 0.9])
    np.testing.assert_allclose(got, expect)
    np.testing.assert_allclose(_observation_cov(cov, var), cov + np.diag(var))   # one subject


def test_a_measure_missing_in_some_replicates_costs_only_its_own_mean():
    """The uncertainty of a cell's mean counts each measure's own replicates: a measure missing
    in 14 of 20 subjects (delta-F where units are not recruited) leaves the others' at S/20."""
    from scenarios.inference.likelihood import _cell_stats
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 1, 20, 3)) * np.array([1.0, 2.0, 3.0])
    x[0, 0, 6:, 2] = np.nan
    where = xr.DataArray(x, dims=("site", "magnitude", "replicate", "measure"),
                         coords={"site": ["a"], "magnitude": [0.3], "measure": ["p", "q", "r"]})
    st = _cell_stats(x, 0.0, where)
    mc, cov = st.mean_cov[0, 0], st.cov[0, 0]
    np.testing.assert_allclose(mc[:2, :2], cov[:2, :2] / 20)      # complete measures: S / R
    np.testing.assert_allclose(mc[2, 2], cov[2, 2] / 6)           # the gappy one: its 6 values
    np.testing.assert_allclose(mc[0, 2], cov[0, 2] * 6 / (20 * 6))   # n_ij / (n_i n_j)


def test_pairs_use_the_cohort_covariance(lib):
    y = cohort_mean(lib, "monoaminergic", 30, 3)
    obs = Observation({m: (float(v), float(s / np.sqrt(30))) for m, v, s in zip(MEASURES, y, SD)},
                      n_subjects=30)
    res = infer(lib, obs, pairs=True)
    assert res.map_hypothesis == "monoaminergic"
    assert "cohort of 30" in res.summary()
    assert res.to_dataset().attrs["observation"]["n_subjects"] == 30


@pytest.mark.parametrize("bad", [0, -3, 1.5, True, "12", 10 ** 6])
def test_bad_n_subjects_is_one_clear_error(bad):
    with pytest.raises(ConfigError, match="n_subjects"):
        Observation({"mvc": (1.0, 1.0)}, n_subjects=bad)


def test_toml_reads_n_subjects_and_round_trips(tmp_path):
    p = tmp_path / "obs.toml"
    p.write_text('n_subjects = 14\n[measures.mvc]\nchange = 14.1\nsd = 3.0\n')
    obs = load_observation(p)
    assert obs.n_subjects == 14
    assert Observation.from_dict(obs.to_dict()).n_subjects == 14
    assert obs.with_measure("delta_f", 0.5, 0.2).n_subjects == 14
    p.write_text('n_subjects = 0\n[measures.mvc]\nchange = 14.1\nsd = 3.0\n')
    with pytest.raises(ConfigError, match=r"obs\.toml.*n_subjects = 0"):
        load_observation(p)


def test_information_gain_of_a_cohort_uses_the_cohort_spread(lib):
    """With one measure observed, adding the one that separates the sites gains more for a
    cohort of 30 (its mean is 30x less spread) than for one subject."""
    y = cohort_mean(lib, "intrinsic_motoneuron", 30, 5)
    from scenarios.inference import expected_information_gain
    one = {"mvc": (float(y[0]), float(SD[0] / np.sqrt(30)))}
    g_cohort = expected_information_gain(lib, Observation(one, n_subjects=30), ["mep_mmax"], n_samples=300)
    g_single = expected_information_gain(lib, Observation(one), ["mep_mmax"], n_samples=300)
    assert float(g_cohort.sel(measure="mep_mmax")) > float(g_single.sel(measure="mep_mmax")) + 0.2
    np.testing.assert_allclose(float(g_cohort.sd.sel(measure="mep_mmax")),
                               float(lib.change.sel(measure="mep_mmax").std("replicate", ddof=1).median()) / np.sqrt(30),
                               rtol=0.3)


def test_a_cohort_without_published_errors_is_scored_with_the_model_spread(lib, tmp_path):
    y = cohort_mean(lib, "intrinsic_motoneuron", 20, 11)
    bare = Observation({m: (float(v), None) for m, v in zip(MEASURES, y)}, n_subjects=20)
    assert all(v == 0.0 for v in bare.sd.values())
    p = float(infer(lib, bare, pairs=False).site_posterior.sel(site="intrinsic_motoneuron"))
    assert p > 0.9
    with pytest.raises(ConfigError, match="sd"):
        Observation({"mvc": (1.0, None)})               # one subject: the error is required
    f = tmp_path / "o.toml"
    f.write_text('n_subjects = 20\n[measures.mvc]\nchange = 14.1\n')
    assert load_observation(f).sd["mvc"] == 0.0
    assert "sd" not in load_observation(f).to_dict()["measures"]["mvc"]
    f.write_text('[measures.mvc]\nchange = 14.1\n')
    with pytest.raises(ConfigError, match="sd is missing"):
        load_observation(f)


def test_cohort_without_errors_scores_a_library_with_absent_cells(lib):
    """The control is simulated at one dose only: its absent cells have no spread at all, and a
    cohort observation without published errors must still score (no zero variance)."""
    two = xr.concat([lib, lib.assign_coords(magnitude=[0.6])], "magnitude")
    two["change"].loc[dict(site="control", magnitude=0.6)] = np.nan
    y = cohort_mean(lib, "monoaminergic", 10, 2)
    res = infer(two, Observation({m: (float(v), None) for m, v in zip(MEASURES, y)}, n_subjects=10))
    assert np.isfinite(res.site_posterior.values).all() and res.map_site == "monoaminergic"
