"""ABC-SMC cross-check of the site inference (issue 14 item 6).

The emulator and the missing-dependency paths run everywhere; the ABC runs themselves need the
optional pyabc (``pip install 'mnpool[abc]'``) and skip without it. The synthetic library is
that of ``test_inference`` (Gaussian replicates around known signatures, two twin sites).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import xarray as xr

from scenarios.cli import main
from scenarios.inference import Observation, infer
from scenarios.inference.abc import (INSTALL_HINT, MissingExtraError, abc_confusion_matrix, abc_site_posterior,
                                     abc_summary, approach_confusion, require_pyabc)
from scenarios.inference.emulator import LibraryEmulator
from simulator.config import ConfigError
from simulator.io import save_netcdf
from tests.scenarios.test_cli_errors import assert_one_line_error, run
from tests.scenarios.test_inference import MEASURES, TWINS, make_library, observe

#: Small ABC runs: enough to separate the synthetic sites, a few seconds each.
FAST = dict(population_size=200, max_populations=4)


@pytest.fixture(scope="module")
def lib():
    return make_library(seed=0)


@pytest.fixture
def no_pyabc(monkeypatch):
    """Make ``import pyabc`` fail, whether or not it is installed."""
    monkeypatch.setitem(sys.modules, "pyabc", None)


@pytest.fixture(scope="module")
def pyabc():
    return pytest.importorskip("pyabc")


# ----------------------------------------------------------------------------- emulator (numpy only)
def toy_library() -> xr.Dataset:
    """Two measures, 3 subjects; doses deliberately unsorted; subject 2 lacks a value at 0.8."""
    x = np.full((2, 3, 3, 2), np.nan)
    doses = [0.4, 0.2, 0.8]
    for j, d in enumerate(doses):
        for r in range(3):
            x[0, j, r] = [10 * d + r, -d * (r + 1)]
    x[0, 2, 2, 1] = np.nan
    x[1, 1, :, :] = [[0.5, 0.1], [0.7, -0.1], [0.9, 0.0]]        # control at dose 0.2 only
    return xr.Dataset({"change": (("site", "magnitude", "replicate", "measure"), x)},
                      coords={"site": ["monoaminergic", "control"], "magnitude": doses,
                              "replicate": [0, 1, 2], "measure": ["a", "b"]})


def test_emulator_interpolates_one_subject_between_the_bracketing_doses():
    emu = LibraryEmulator(toy_library())
    np.testing.assert_array_equal(emu.doses("monoaminergic"), [0.2, 0.4, 0.8])
    # subject 2 lacks measure b at dose 0.8: never drawn for that site
    assert emu.n_subjects("monoaminergic") == 2
    for subject in (0, 1):
        # 0.3 lies halfway between 0.2 and 0.4; 0.5 a quarter of the way from 0.4 to 0.8
        for dose, w_lo, lo, hi in ((0.3, 0.5, 0.2, 0.4), (0.5, 0.75, 0.4, 0.8)):
            expected = [w_lo * (10 * lo + subject) + (1 - w_lo) * (10 * hi + subject),
                        -(w_lo * lo + (1 - w_lo) * hi) * (subject + 1)]
            np.testing.assert_allclose(emu.interpolate("monoaminergic", dose, subject), expected)
        # the simulated doses themselves are reproduced exactly, ends included
        np.testing.assert_allclose(emu.interpolate("monoaminergic", 0.8, subject),
                                   [8 + subject, -0.8 * (subject + 1)])
        np.testing.assert_allclose(emu.interpolate("monoaminergic", 0.2, subject),
                                   [2 + subject, -0.2 * (subject + 1)])
    # a single-dose site ignores the dose
    np.testing.assert_array_equal(emu.interpolate("control", None, 1), [0.7, -0.1])
    with pytest.raises(ConfigError, match=r"outside the simulated range \[0.2, 0.8\]"):
        emu.interpolate("monoaminergic", 0.9, 0)
    with pytest.raises(ConfigError, match="not in the library"):
        emu.interpolate("ia_monosynaptic", 0.3, 0)


def test_emulator_never_draws_a_left_out_subject():
    emu = LibraryEmulator(toy_library(), keep=np.array([True, False, True]))
    assert emu.n_subjects("control") == 2
    rng = np.random.default_rng(0)
    draws = np.array([emu.sample("control", None, rng) for _ in range(200)])
    assert {tuple(d) for d in draws} == {(0.5, 0.1), (0.9, 0.0)}
    # measurement noise is added on top of the subject
    noisy = np.array([emu.sample("control", None, rng, noise_sd=np.array([1.0, 1.0])) for _ in range(400)])
    assert 0.8 < noisy[:, 0].std() < 1.3
    # a cohort's mean: two subjects drawn with replacement from {0, 2}
    means = {round(float(emu.sample("control", None, rng, n_subjects=2)[0]), 9) for _ in range(200)}
    assert means == {0.5, 0.7, 0.9}
    with pytest.raises(ConfigError, match="no virtual subject"):
        LibraryEmulator(toy_library(), keep=np.array([False, False, True]))   # subject 2 incomplete


# ----------------------------------------------------------------------------- missing pyabc
def test_missing_pyabc_names_the_extra(no_pyabc, lib):
    with pytest.raises(MissingExtraError, match=r"pip install 'mnpool\[abc\]'") as info:
        require_pyabc()
    assert isinstance(info.value, ConfigError) and isinstance(info.value, ImportError)
    ds, mean = lib
    with pytest.raises(MissingExtraError):
        abc_site_posterior(ds, observe(mean, "monoaminergic", 1))
    with pytest.raises(MissingExtraError):
        abc_confusion_matrix(ds)


def test_cli_abc_without_pyabc_is_one_line_before_any_work(no_pyabc, lib, tmp_path, capsys):
    path = tmp_path / "lib.nc"
    save_netcdf(lib[0], path)
    status, _, err = run(["calibrate", "--library", path, "--abc", "--out", tmp_path / "cal"])
    assert_one_line_error(status, err, INSTALL_HINT)
    assert not (tmp_path / "cal").exists()
    # argparse reports a bad value itself (one usage line and one error line, exit 2)
    with pytest.raises(SystemExit) as info:
        main(["calibrate", "--library", str(path), "--abc", "--abc-per-cell", "0", "--out", str(tmp_path / "cal")])
    assert info.value.code == 2
    assert "--abc-per-cell: '0': give an integer from 1 to 1000" in capsys.readouterr().err


# ----------------------------------------------------------------------------- ABC runs (pyabc)
@pytest.mark.parametrize("site, mag_index", [("ia_monosynaptic", 1), ("monoaminergic", 2), ("control", 0)])
def test_abc_puts_most_mass_on_the_true_site_and_agrees_with_the_gaussian(pyabc, lib, site, mag_index):
    ds, mean = lib
    obs = observe(mean, site, mag_index)
    post = abc_site_posterior(ds, obs, seed=3, **FAST)
    assert post.dims == ("site",) and list(post.site.values) == list(ds.site.values)
    np.testing.assert_allclose(float(post.sum()), 1.0)
    assert float(post.sel(site=site)) > 0.7
    assert str(post.idxmax("site").item()) == infer(ds, obs, pairs=False).map_site == site
    dose = float(post.dose_mean.sel(site=site))
    if mag_index == 1:
        # true dose 0.4, inside the prior's range 0.2-0.8 (prior mean 0.5)
        assert abs(dose - 0.4) < 0.1
    elif mag_index == 2:
        # true dose 0.8, the prior's upper end: the truncated posterior's mean lies below it
        # (0.65 here after 4 generations), but the data must pull it above the prior mean
        assert 0.6 < dose <= 0.8
    else:
        assert np.isnan(dose)


def test_abc_infers_a_cohort_mean(pyabc, lib):
    ds, mean = lib
    # a 10-subject cohort's mean at the smallest dose, no published error (sd 0)
    obs = Observation({m: (float(v), None) for m, v in zip(MEASURES, mean[2, 0])}, n_subjects=10)
    post = abc_site_posterior(ds, obs, seed=2, **FAST)
    assert str(post.idxmax("site").item()) == infer(ds, obs, pairs=False).map_site == "monoaminergic"
    assert float(post.sel(site="monoaminergic")) > 0.7


def test_abc_cannot_separate_twin_sites(pyabc, lib):
    ds, mean = lib
    post = abc_site_posterior(ds, observe(mean, TWINS[0], 1), seed=4, **FAST)
    twins = post.sel(site=list(TWINS)).values
    # the twins share a signature: together they hold the mass, neither takes it all
    assert twins.sum() > 0.8
    assert twins.min() > 0.15


def test_abc_is_reproducible_and_leaves_numpy_global_state_alone(pyabc, lib):
    ds, mean = lib
    obs = observe(mean, "muscle_hypertrophy", 1)
    np.random.seed(123)
    before = np.random.rand()
    np.random.seed(123)
    a = abc_site_posterior(ds, obs, seed=5, **FAST)
    assert np.random.rand() == before
    b = abc_site_posterior(ds, obs, seed=5, **FAST)
    xr.testing.assert_identical(a, b)
    c = abc_site_posterior(ds, obs, seed=6, **FAST)
    assert not np.array_equal(a.values, c.values)


def test_abc_settings_are_checked(pyabc, lib):
    ds, mean = lib
    obs = observe(mean, "monoaminergic", 1)
    with pytest.raises(ConfigError, match="population_size"):
        abc_site_posterior(ds, obs, population_size=10)
    with pytest.raises(ConfigError, match="max_per_cell"):
        abc_confusion_matrix(ds, max_per_cell=0)
    with pytest.raises(ConfigError, match="not in the library"):
        abc_site_posterior(ds, Observation({"nope": (1.0, 1.0)}))


def test_confusion_scores_both_methods_on_the_same_observations(pyabc, lib):
    ds, _ = lib
    sub = ds.sel(site=["ia_monosynaptic", "monoaminergic", "control"])
    check = abc_confusion_matrix(sub, max_per_cell=1, seed=1, **FAST)
    n_cells = 2 * 3 + 3                       # control's cells all simulated here
    assert int(check.n_observations.sum()) == check.sizes["observation"] == n_cells
    # the Gaussian numbers are infer() on the very same noisy observation and library subset
    for k in (0, n_cells - 1):
        r = int(check.obs_replicate[k])
        y = check.observed[k].values
        obs = Observation({m: (float(v), float(s)) for m, v, s in zip(MEASURES, y, check.attrs["observation_sd"])})
        expected = infer(sub.isel(replicate=[i for i in range(sub.sizes["replicate"]) if i != r]), obs,
                         pairs=False).site_posterior.values
        np.testing.assert_allclose(check.posterior.sel(approach="gaussian")[k], expected)
    # scores recomputed from the stored posteriors
    truth = [list(sub.site.values).index(s) for s in check.obs_site.values]
    for approach in ("abc_smc", "gaussian"):
        p = check.posterior.sel(approach=approach).values
        brier = ((p - np.eye(3)[truth]) ** 2).sum(axis=1).mean()
        np.testing.assert_allclose(float(check.brier.sel(approach=approach)), brier)
        np.testing.assert_allclose(float(check.mean_true_posterior.sel(approach=approach)),
                                   p[np.arange(n_cells), truth].mean())
    # three distinct signatures 5+ SDs apart: both methods recover every subject
    assert (check.recall.values == 1).all()
    assert float(check.mean_true_posterior.sel(approach="abc_smc")) > 0.7
    cm = approach_confusion(check)
    assert cm.dims == ("true_site", "inferred_site") and cm.attrs["accuracy"] == 1.0
    text = abc_summary(check)
    assert "ABC-SMC cross-check" in text and "Brier score ABC - Gaussian" in text and "monoaminergic" in text


@pytest.mark.slow
def test_cli_calibrate_abc_writes_the_cross_check(pyabc, lib, tmp_path):
    path = tmp_path / "lib.nc"
    save_netcdf(lib[0].sel(site=["ia_monosynaptic", "monoaminergic", "control"]), path)
    status, out, err = run(["calibrate", "--library", path, "--abc", "--abc-per-cell", "1",
                            "--sizes", "2,4", "--out", tmp_path / "cal"])
    assert status == 0, err
    assert "ABC-SMC cross-check" in (tmp_path / "cal" / "calibration.txt").read_text()
    assert (tmp_path / "cal" / "confusion_abc.png").stat().st_size > 0
    with xr.open_dataset(tmp_path / "cal" / "calibration.nc") as ds:
        assert set(ds.approach.values) == {"abc_smc", "gaussian"}
        assert ds.abc_recall.sel(approach="abc_smc").dims == ("site",)
