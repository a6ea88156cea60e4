"""Site inference on synthetic reference libraries whose answer is known by construction.

The library has four sites with distinct mean signatures, two sites with *identical* signatures
(the battery cannot tell them apart), a control with no change, and one pure-noise measure;
replicate noise is Gaussian with a known SD per measure.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings, strategies as st

from scenarios.inference import (Observation, check_library, confusion_matrix,
                                 expected_information_gain, infer, load_observation,
                                 plot_confusion, plot_information_gain, plot_posterior,
                                 posterior_predictive, replicate_sd, run_inference, site_table)
from simulator.config import ConfigError

MEASURES = ["mvc_pct", "vmax_ratio", "h_rest_ratio", "mep_ratio", "delta_f_pps", "silent_period_ms"]
#: Replicate (between-subject) SD of each measure, in its unit.
SD = np.array([2.0, 0.03, 0.05, 0.08, 0.3, 4.0])
#: Mean signature per unit magnitude, in replicate SDs (silent period never changes: pure noise).
SIGNATURES = {
    "corticomotoneuronal": [1, 0, 0, 1, 0, 0],
    "ia_monosynaptic": [0, 1, 1, 0, 0, 0],
    "monoaminergic": [0, 0, 0, 0, 1, 0],
    "muscle_hypertrophy": [1, 0, 0, 0, 0, 0],
    "intracortical_inhibition": [0, 0, 0, 1, 1, 0],
    "corticospinal_interneuron": [0, 0, 0, 1, 1, 0],   # identical to intracortical_inhibition
    "control": [0, 0, 0, 0, 0, 0],
}
TWINS = ("intracortical_inhibition", "corticospinal_interneuron")
DISTINCT = ("corticomotoneuronal", "ia_monosynaptic", "monoaminergic", "muscle_hypertrophy", "control")
MAGNITUDES = (0.2, 0.4, 0.8)
GAIN = 25.0   # signature scale: the smallest magnitude moves a measure by 5 replicate SDs
N_REP = 8


def make_library(seed: int = 0, n_rep: int = N_REP) -> tuple[xr.Dataset, np.ndarray]:
    """Library Dataset and its true means (site, magnitude, measure)."""
    rng = np.random.default_rng(seed)
    sites = list(SIGNATURES)
    mean = np.array([[np.array(SIGNATURES[s]) * m * GAIN * SD for m in MAGNITUDES] for s in sites])
    x = mean[:, :, None, :] + rng.normal(size=(len(sites), len(MAGNITUDES), n_rep, len(MEASURES))) * SD
    ds = xr.Dataset({"change": (("site", "magnitude", "replicate", "measure"), x)},
                    coords={"site": sites, "magnitude": list(MAGNITUDES), "replicate": np.arange(n_rep),
                            "measure": MEASURES}, attrs={"note": "synthetic"})
    return ds, mean


def observe(mean: np.ndarray, site: str, mag_index: int, measures=MEASURES, sd_scale: float = 1.0) -> Observation:
    s = list(SIGNATURES).index(site)
    return Observation({m: (float(mean[s, mag_index, MEASURES.index(m)]), float(SD[MEASURES.index(m)] * sd_scale))
                        for m in measures})


@pytest.fixture(scope="module")
def lib():
    return make_library()


@pytest.fixture(scope="module")
def cm(lib):
    return confusion_matrix(lib[0], seed=1)


# ----------------------------------------------------------------------------- (a) recovery
@pytest.mark.parametrize("site", DISTINCT)
@pytest.mark.parametrize("mag_index", [0, 2])
def test_noiseless_signature_recovers_site_and_magnitude(lib, site, mag_index):
    ds, mean = lib
    res = infer(ds, observe(mean, site, mag_index), pairs=False)
    assert res.map_site == site
    assert float(res.site_posterior.sel(site=site)) > 0.8
    if site != "control":
        assert float(res.magnitude_posterior.sel(site=site).idxmax("magnitude")) == MAGNITUDES[mag_index]


# ----------------------------------------------------------------------------- (b) confusable sites
def test_identical_sites_share_the_posterior(lib):
    ds, mean = lib
    res = infer(ds, observe(mean, TWINS[0], 1), pairs=False)
    post = res.site_posterior
    both = float(post.sel(site=list(TWINS)).sum())
    assert both > 0.95
    for s in TWINS:
        assert 0.25 < float(post.sel(site=s)) < 0.75   # low confidence in either


def test_confusion_matrix_separates_distinct_sites_and_confuses_twins(cm):
    np.testing.assert_allclose(cm.sum("inferred_site"), 1.0)
    for s in DISTINCT:
        assert float(cm.sel(true_site=s, inferred_site=s)) > 0.8
        assert float(cm.true_posterior.sel(true_site=s)) > 0.8
    a, b = TWINS
    for x, y in ((a, b), (b, a)):
        assert float(cm.sel(true_site=x, inferred_site=[a, b]).sum()) > 0.9
        assert 0.25 < float(cm.sel(true_site=x, inferred_site=y)) < 0.75
        assert float(cm.true_posterior.sel(true_site=x)) < 0.7
    assert cm.attrs["accuracy"] > 3 * cm.attrs["chance"]
    assert cm.attrs["n_observations"] == len(SIGNATURES) * len(MAGNITUDES) * N_REP


def test_confusion_matrix_is_reproducible_and_uses_the_noise_given(lib):
    ds, _ = lib
    a = confusion_matrix(ds, measures=["mvc_pct", "mep_ratio"], seed=3)
    b = confusion_matrix(ds, measures=["mvc_pct", "mep_ratio"], seed=3)
    xr.testing.assert_identical(a, b)
    # mvc and mep alone cannot see the Ia or monoaminergic signatures: those fall into control
    assert float(a.sel(true_site="monoaminergic", inferred_site="monoaminergic")) < 0.6
    # huge observation noise drives every site towards chance
    noisy = confusion_matrix(ds, observation_sd={m: 100 * s for m, s in zip(MEASURES, SD)}, seed=3)
    assert noisy.attrs["accuracy"] < 0.5


# ----------------------------------------------------------------------------- (c) invariances
@settings(max_examples=25, deadline=None)
@given(changes=st.lists(st.floats(-30, 30), min_size=6, max_size=6))
def test_posterior_sums_to_one(lib, changes):
    ds, _ = lib
    obs = Observation({m: (c * s, s) for m, c, s in zip(MEASURES, changes, SD)})
    res = infer(ds, obs)
    assert float(res.site_posterior.sum()) == pytest.approx(1.0)
    assert float(res.posterior.sum()) == pytest.approx(1.0)
    np.testing.assert_allclose(res.magnitude_posterior.sum("magnitude"), 1.0)
    assert np.all(res.site_posterior.values >= 0)


@settings(max_examples=20, deadline=None)
@given(order=st.permutations(list(range(len(MEASURES)))), site=st.sampled_from(list(SIGNATURES)),
       offset=st.floats(-3, 3))
def test_posterior_does_not_depend_on_measure_order(lib, order, site, offset):
    ds, mean = lib
    obs = observe(mean, site, 1)
    shuffled = Observation({MEASURES[i]: (obs.change[MEASURES[i]] + offset * SD[i], obs.sd[MEASURES[i]])
                            for i in order})
    plain = Observation({m: (obs.change[m] + offset * SD[i], obs.sd[m]) for i, m in enumerate(MEASURES)})
    a = infer(ds, plain, pairs=False).site_posterior
    b = infer(ds.isel(measure=list(order)), shuffled, pairs=False).site_posterior
    np.testing.assert_allclose(a.values, b.values, rtol=1e-8, atol=1e-12)


@settings(max_examples=20, deadline=None)
@given(scales=st.lists(st.floats(1e-3, 1e3), min_size=6, max_size=6), site=st.sampled_from(list(SIGNATURES)))
def test_posterior_does_not_depend_on_units(lib, scales, site):
    """Changing a measure's unit (library, change and sd together) changes nothing."""
    ds, mean = lib
    obs = observe(mean, site, 0, sd_scale=2.0)
    k = np.array(scales)
    scaled_lib = ds.copy(data={"change": ds["change"].values * k})
    scaled_obs = Observation({m: (obs.change[m] * k[i], obs.sd[m] * k[i]) for i, m in enumerate(MEASURES)})
    a = infer(ds, obs)
    b = infer(scaled_lib, scaled_obs)
    np.testing.assert_allclose(a.site_posterior.values, b.site_posterior.values, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(a.posterior.values, b.posterior.values, rtol=1e-6, atol=1e-10)


# ----------------------------------------------------------------------------- (d) information gain
def test_information_gain_ranks_the_separating_measure_first(lib):
    ds, mean = lib
    # monoaminergic and the twins differ only in the MEP; without it, they are the top candidates
    obs = observe(mean, "monoaminergic", 1, measures=["mvc_pct", "delta_f_pps"])
    before = infer(ds, obs, pairs=False).site_posterior
    assert set(before.to_series().nlargest(3).index) == {"monoaminergic", *TWINS}
    eig = expected_information_gain(ds, obs, n_samples=300, seed=2)
    assert list(eig.measure.values)[0] == "mep_ratio"
    assert set(eig.measure.values) == set(MEASURES) - {"mvc_pct", "delta_f_pps"}
    assert np.all(eig.values >= 0)
    assert np.all(np.diff(eig.values) <= 0)          # sorted, highest first
    assert float(eig.sel(measure="mep_ratio")) > 0.5
    assert float(eig.sel(measure="mep_ratio")) <= eig.attrs["entropy_bits"] + 1e-9
    assert float(eig.sel(measure="silent_period_ms")) < 0.1   # pure noise tells nothing


def test_information_gain_of_explicit_candidates_is_reproducible(lib):
    ds, mean = lib
    obs = observe(mean, "monoaminergic", 1, measures=["mvc_pct", "delta_f_pps"])
    a = expected_information_gain(ds, obs, ["silent_period_ms", "mep_ratio"], n_samples=50, seed=5)
    b = expected_information_gain(ds, obs, ["silent_period_ms", "mep_ratio"], n_samples=50, seed=5)
    xr.testing.assert_identical(a, b)
    assert list(a.measure.values) == ["mep_ratio", "silent_period_ms"]
    with pytest.raises(ConfigError, match="observed already"):
        expected_information_gain(ds, obs, ["mvc_pct"], n_samples=50)


# ----------------------------------------------------------------------------- (e) pairs
def test_sum_of_two_signatures_is_explained_by_the_pair(lib):
    ds, mean = lib
    sites = list(SIGNATURES)
    a, b = sites.index("corticomotoneuronal"), sites.index("ia_monosynaptic")
    y = mean[a, 1] + mean[b, 2]
    obs = Observation({m: (float(y[i]), float(SD[i])) for i, m in enumerate(MEASURES)})
    res = infer(ds, obs, pairs=True)
    assert res.map_hypothesis == "corticomotoneuronal+ia_monosynaptic"
    assert float(res.pair_posterior.sel(pair="corticomotoneuronal+ia_monosynaptic")) > 0.8
    assert float(res.posterior.sum()) == pytest.approx(1.0)
    mp = res.pair_magnitude_posterior.sel(pair="corticomotoneuronal+ia_monosynaptic")
    best = mp.where(mp == mp.max(), drop=True)
    assert (float(best.magnitude_a[0]), float(best.magnitude_b[0])) == (MAGNITUDES[1], MAGNITUDES[2])
    assert float(res.site_involvement.sel(site="corticomotoneuronal")) > 0.8
    assert "corticomotoneuronal+ia_monosynaptic" in res.summary()


def test_a_single_signature_prefers_the_single_site(lib):
    ds, mean = lib
    res = infer(ds, observe(mean, "ia_monosynaptic", 1), pairs=True)
    assert res.map_hypothesis == "ia_monosynaptic"
    assert "control" not in "".join(res.pair_posterior.pair.values)   # control never pairs


# ----------------------------------------------------------------------------- library shapes
def test_absent_cells_and_missing_values(lib):
    ds, mean = lib
    change = ds["change"].copy()
    change.loc[{"site": "control", "magnitude": [0.4, 0.8]}] = np.nan   # control simulated once
    change.loc[{"site": "monoaminergic", "replicate": 0, "measure": "mvc_pct"}] = np.nan
    holes = ds.assign(change=change)
    res = infer(holes, observe(mean, "control", 0))
    assert res.map_site == "control"
    assert np.isnan(res.magnitude_posterior.sel(site="control", magnitude=0.8))
    cm = confusion_matrix(holes, seed=0)
    assert int(cm.n_observations.sel(true_site="control")) == N_REP
    # a present cell that lacks an observed measure cannot be scored
    change.loc[{"site": "monoaminergic", "magnitude": 0.4, "measure": "mep_ratio"}] = np.nan
    with pytest.raises(ConfigError, match="mep_ratio.*monoaminergic.*0.4"):
        infer(ds.assign(change=change), observe(mean, "control", 0))


def test_a_subject_lacking_a_measure_is_scored_on_the_others(lib):
    """The likelihood of an observation with a missing measure is the Gaussian's marginal: the
    same as against a library without that measure; the confusion matrix scores such subjects
    (as labs report a subject without a valid delta-F pair on its other measures)."""
    from scenarios.inference.likelihood import _cell_loglik, _cell_stats
    ds, mean = lib
    da = check_library(ds)
    stats = _cell_stats(da.values, 0.3, da)
    y = mean[2, 1] + SD * 0.5                                   # monoaminergic, second dose
    var = SD ** 2
    keep = [i for i, m in enumerate(MEASURES) if m != "delta_f_pps"]
    partial = y.copy()
    partial[MEASURES.index("delta_f_pps")] = np.nan
    sub = check_library(ds, [MEASURES[i] for i in keep])
    sub_stats = _cell_stats(sub.values, 0.3, sub)
    both = _cell_loglik(stats, np.stack([y, partial]), var)     # two patterns in one call
    assert np.allclose(both[1], _cell_loglik(sub_stats, y[keep], var[keep]), equal_nan=True)
    assert np.allclose(both[0], _cell_loglik(stats, y, var))
    assert np.all(_cell_loglik(stats, np.full(len(MEASURES), np.nan), var) == -np.inf)
    change = ds["change"].copy()
    change.loc[{"replicate": [0, 1], "measure": "delta_f_pps"}] = np.nan
    cm = confusion_matrix(ds.assign(change=change), seed=0)
    assert int(cm.n_observations.sel(true_site="monoaminergic")) == N_REP * len(MAGNITUDES)


def test_replicate_sd_recovers_the_noise(lib):
    ds, _ = lib
    np.testing.assert_allclose(replicate_sd(ds).values, SD, rtol=0.15)


# ----------------------------------------------------------------------------- (f) bad input
def write(tmp_path, text: str, name: str = "obs.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_load_observation_reads_toml(tmp_path):
    p = write(tmp_path, '[measures.mvc_pct]\nchange = 14.1\nsd = 3\n[measures.vmax_ratio]\n'
                        'change = 0.17\nsd = 0.05\n')
    obs = load_observation(p)
    assert obs.measures == ("mvc_pct", "vmax_ratio")
    assert obs.change["mvc_pct"] == 14.1 and obs.sd["mvc_pct"] == 3.0
    assert Observation.from_dict(obs.to_dict()).change == obs.change


@pytest.mark.parametrize("text, pattern", [
    ('[measures.mvc_pct]\nchange = 14.1\n', r"obs\.toml.*measures\.mvc_pct\.sd is missing"),
    ('[measures.mvc_pct]\nsd = 3.0\n', r"obs\.toml.*measures\.mvc_pct\.change is missing"),
    ('[measures.mvc_pct]\nchange = 14.1\nsd = 0\n', r"measures\.mvc_pct\.sd = 0 must be > 0"),
    ('[measures.mvc_pct]\nchange = 14.1\nsd = -2.5\n', r"measures\.mvc_pct\.sd = -2\.5 must be > 0"),
    ('[measures.mvc_pct]\nchange = "big"\nsd = 1.0\n', r"measures\.mvc_pct\.change = 'big' must be a number"),
    ('[measures.mvc_pct]\nchange = 1.0\nsd = 1.0\nunit = "%"\n', r"unknown key\(s\) unit in measures\.mvc_pct"),
    ('[measures]\n', r"no measures"),
    ('description = "x"\n', r"no measures"),
    ('[measure.mvc_pct]\nchange = 1.0\nsd = 1.0\n', r"unknown key\(s\) measure"),
    ('[measures.mvc_pct\n', r"not valid TOML"),
])
def test_bad_observation_files(tmp_path, text, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_observation(write(tmp_path, text))


def test_missing_observation_file(tmp_path):
    with pytest.raises(ConfigError, match=r"observation file .*nope\.toml.* does not exist"):
        load_observation(tmp_path / "nope.toml")


def test_unknown_measure_is_named_with_the_known_ones(lib, tmp_path):
    ds, _ = lib
    obs = load_observation(write(tmp_path, '[measures.mvc_pct]\nchange = 1.0\nsd = 1.0\n'
                                           '[measures.grip_kg]\nchange = 2.0\nsd = 1.0\n'))
    with pytest.raises(ConfigError, match=r"obs\.toml.*'grip_kg'.*known measures: mvc_pct, vmax_ratio"):
        infer(ds, obs)


def test_observation_built_in_code_is_validated():
    with pytest.raises(ConfigError, match=r"measures\.mep_ratio\.sd = 0\.0 must be > 0"):
        Observation({"mep_ratio": (0.2, 0.0)})
    with pytest.raises(ConfigError, match=r"measures\.mep_ratio\.change = nan must be finite"):
        Observation({"mep_ratio": (float("nan"), 1.0)})
    with pytest.raises(ConfigError, match="no measures"):
        Observation({})


def test_bad_libraries(lib):
    ds, mean = lib
    obs = observe(mean, "control", 0, measures=["mvc_pct"])
    with pytest.raises(ConfigError, match="no 'change' variable"):
        infer(ds.rename(change="delta"), obs)
    with pytest.raises(ConfigError, match="missing replicate"):
        infer(ds.isel(replicate=0), obs)
    with pytest.raises(ConfigError, match="1 replicate"):
        infer(ds.isel(replicate=[0]), obs)
    with pytest.raises(ConfigError, match="'spleen' are not adaptation sites"):
        infer(ds.assign_coords(site=["spleen"] + list(SIGNATURES)[1:]), obs)
    with pytest.raises(ConfigError, match="at least 3 replicates"):
        confusion_matrix(ds.isel(replicate=[0, 1]))
    empty = ds.copy(deep=True)
    empty["change"].loc[{"measure": "mvc_pct"}] = np.nan
    with pytest.raises(ConfigError, match="'mvc_pct' have no finite value"):
        infer(empty, obs)
    # "all measures" skips the never-obtained one instead of failing
    assert "mvc_pct" not in confusion_matrix(empty, seed=0).attrs["measures"]
    with pytest.raises(ConfigError, match=r"observation_sd\['mvc_pct'\] = -1"):
        confusion_matrix(ds, observation_sd={"mvc_pct": -1.0})
    with pytest.raises(ConfigError, match="pair_prior = 1"):
        infer(ds, obs, pair_prior=1)
    with pytest.raises(ConfigError, match="shrinkage = 2"):
        infer(ds, obs, shrinkage=2)


def test_fixed_shrinkage_gives_the_same_answer_on_a_clear_case(lib):
    ds, mean = lib
    for lam in (0.0, 0.5, 1.0):
        assert infer(ds, observe(mean, "ia_monosynaptic", 2), shrinkage=lam).map_site == "ia_monosynaptic"
    lib_da = check_library(ds, ["mep_ratio", "mvc_pct"])
    assert list(lib_da.measure.values) == ["mep_ratio", "mvc_pct"]


# ----------------------------------------------------------------------------- figures and files
def test_figures(lib, cm):
    import matplotlib.figure
    ds, mean = lib
    obs = observe(mean, "monoaminergic", 1, measures=["mvc_pct", "delta_f_pps"])
    for fig in (plot_posterior(infer(ds, obs)), plot_posterior(infer(ds, obs, pairs=False)), plot_confusion(cm),
                plot_information_gain(expected_information_gain(ds, obs, n_samples=20))):
        assert isinstance(fig, matplotlib.figure.Figure)
        assert fig.axes


def test_run_inference_writes_results(lib, tmp_path):
    from simulator.io import load_netcdf, save_netcdf
    ds, mean = lib
    save_netcdf(ds, tmp_path / "library.nc")
    obs = observe(mean, "monoaminergic", 1, measures=["mvc_pct", "delta_f_pps"])
    text = "".join(f"[measures.{m}]\nchange = {obs.change[m]!r}\nsd = {obs.sd[m]!r}\n" for m in obs.measures)
    obs_path = write(tmp_path, text)
    out = run_inference(tmp_path / "library.nc", obs_path, tmp_path / "out", n_samples=50)
    assert sorted(p.name for p in out.iterdir()) == ["confusion.png", "coverage.png", "information_gain.png",
                                                     "posterior.nc", "posterior.png", "summary.txt"]
    post = load_netcdf(out / "posterior.nc")
    assert str(post.information_gain.candidate.values[0]) == "mep_ratio"
    assert float(post.site_posterior.sum()) == pytest.approx(1.0)
    assert "monoaminergic" in (out / "summary.txt").read_text()


def test_run_inference_writes_nothing_on_bad_input(lib, tmp_path):
    from simulator.io import save_netcdf
    ds, _ = lib
    save_netcdf(ds, tmp_path / "library.nc")
    bad = write(tmp_path, "[measures.grip_kg]\nchange = 1.0\nsd = 1.0\n")
    with pytest.raises(ConfigError, match="grip_kg"):
        run_inference(tmp_path / "library.nc", bad, tmp_path / "out")
    with pytest.raises(ConfigError, match="missing.nc: no such reference library"):
        run_inference(tmp_path / "missing.nc", bad, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_posterior_predictive_mixes_the_sites_cells(lib):
    """Per measure: mean and variance of the mixture, over the magnitude posterior, of normals
    with each cell's replicate mean and variance plus the observation's variance."""
    ds, mean = lib
    obs = observe(mean, "ia_monosynaptic", 1, measures=["vmax_ratio", "h_rest_ratio", "mvc_pct"])
    res = infer(ds, obs, pairs=False)
    pred = posterior_predictive(ds, res)
    assert pred.attrs["site"] == res.map_site == "ia_monosynaptic"
    x = ds["change"].sel(site="ia_monosynaptic", measure=list(obs.measures)).values   # (M, R, p)
    w = res.magnitude_posterior.sel(site="ia_monosynaptic").values[:, None]
    var = x.var(axis=1, ddof=1) + np.array([obs.sd[m] for m in obs.measures]) ** 2
    mu = x.mean(axis=1)
    m = (w * mu).sum(0)
    np.testing.assert_allclose(pred.predictive_mean.values, m, rtol=1e-10)
    np.testing.assert_allclose(pred.predictive_sd.values, np.sqrt((w * (var + mu ** 2)).sum(0) - m ** 2), rtol=1e-8)
    y = np.array([obs.change[k] for k in obs.measures])
    assert np.all(np.abs(pred.predictive_z.values) < 3)  # the true site explains its own signature
    # a wrong site predicts the observation badly
    far = posterior_predictive(ds, res, site="monoaminergic")
    assert np.max(np.abs((y - far.predictive_mean.values) / far.predictive_sd.values)) > 3


def test_site_table_orders_sites_and_gives_their_magnitudes(lib):
    ds, mean = lib
    res = infer(ds, observe(mean, "monoaminergic", 2), pairs=False)
    rows = site_table(res.site_posterior, res.magnitude_posterior)
    assert [r[0] for r in rows][0] == "monoaminergic" and rows[0][2] == MAGNITUDES[2]
    assert [r[1] for r in rows] == sorted(res.site_posterior.values, reverse=True)
    assert np.isnan(dict((r[0], r[2]) for r in rows)["control"])
    assert res.summary().splitlines()[4].split()[0] == rows[0][0]  # summary.txt lists the same order


def test_bootstrap_interval_brackets_the_posterior(lib):
    ds, mean = lib
    res = infer(ds, observe(mean, TWINS[0], 1), pairs=False, n_bootstrap=40, seed=1)
    iv = res.site_posterior_interval
    assert iv.dims == ("site", "bound")
    assert np.all(iv.sel(bound="p05") <= iv.sel(bound="p95"))
    # the twins' split depends on which replicates were simulated; the distinct sites' zero does not
    assert float(iv.sel(site=TWINS[0], bound="p95") - iv.sel(site=TWINS[0], bound="p05")) > 0.05
    assert float(iv.sel(site="control", bound="p95")) < 1e-3
    again = infer(ds, observe(mean, TWINS[0], 1), pairs=False, n_bootstrap=40, seed=1)
    xr.testing.assert_identical(iv, again.site_posterior_interval)
    assert "site_posterior_interval" in res.to_dataset()
    assert "bootstrap 90 %" in res.summary()
    with pytest.raises(ConfigError, match="n_bootstrap = -1"):
        infer(ds, observe(mean, TWINS[0], 1), n_bootstrap=-1)
