"""Calibration of the site inference (issue 14 item 3-4) on synthetic libraries with known answers.

The libraries are those of ``test_inference`` (Gaussian replicates around known signatures),
built here with a chosen signature gain, so the doses overlap and coverage is a real question.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from scenarios.inference import cohort_power, confusion_matrix, dose_coverage, pair_recovery
from simulator.config import ConfigError
from tests.scenarios.test_inference import DISTINCT, MEASURES, SD, SIGNATURES, TWINS, make_library

MAGNITUDES = (0.2, 0.4, 0.6, 0.8)


def library(gain: float, n_rep: int, seed: int, spread: float = 1.0, sites=None) -> xr.Dataset:
    """Replicates ~ N(signature x magnitude x gain x SD, (spread x SD)^2)."""
    rng = np.random.default_rng(seed)
    sites = list(sites or SIGNATURES)
    mean = np.array([[np.array(SIGNATURES[s]) * m * gain * SD for m in MAGNITUDES] for s in sites])
    x = mean[:, :, None, :] + rng.normal(size=(*mean.shape[:2], n_rep, len(MEASURES))) * SD * spread
    return xr.Dataset({"change": (("site", "magnitude", "replicate", "measure"), x)},
                      coords={"site": sites, "magnitude": list(MAGNITUDES), "replicate": np.arange(n_rep),
                              "measure": MEASURES})


# ----------------------------------------------------------------------------- held-out confusion
def test_held_out_subjects_of_the_same_population_are_recovered():
    lib, _ = make_library(seed=0)
    other, _ = make_library(seed=7)
    cm = confusion_matrix(lib, held_out=other, seed=2)
    assert "held-out" in cm.attrs["method"]
    assert cm.attrs["n_observations"] == other.sizes["replicate"] * len(SIGNATURES) * 3
    for s in DISTINCT:
        assert float(cm.sel(true_site=s, inferred_site=s)) > 0.8
    assert "~".join(TWINS) in cm.attrs["not_identifiable"]
    assert all(TWINS[0] not in p or TWINS[1] in p for p in cm.attrs["not_identifiable"])


def test_a_population_unlike_the_library_is_flagged_by_low_recall():
    lib, _ = make_library(seed=0)
    # a population whose adaptations leave no trace: every site looks like the control
    flat, _ = make_library(seed=3)
    flat["change"] = flat.change * 0 + np.random.default_rng(4).normal(size=flat.change.shape) * SD
    cm = confusion_matrix(lib, held_out=flat, seed=2)
    # every site's observations are inferred as the control (the observation noise added on
    # top of the held-out spread sends some elsewhere)
    for s in ("control", "corticomotoneuronal", "ia_monosynaptic", "monoaminergic"):
        assert float(cm.sel(true_site=s, inferred_site="control")) > 0.75
    for s in ("corticomotoneuronal", "ia_monosynaptic", "monoaminergic"):
        assert float(cm.sel(true_site=s, inferred_site=s)) < 0.1
        assert f"{s}~control" in cm.attrs["not_identifiable"] or f"control~{s}" in cm.attrs["not_identifiable"]


def test_held_out_control_is_scored_when_the_atlases_start_at_other_doses():
    """An atlas stores its untrained control at its first dose only; a held-out atlas whose doses
    start elsewhere (-0.3 vs the library's -0.6) still has its control scored against the
    library's control (it was NaN before: no library cell at that label)."""
    lib, _ = make_library(seed=0)
    other, _ = make_library(seed=7)
    first, second = (float(m) for m in lib.magnitude.values[:2])
    lib["change"] = lib.change.where((lib.site != "control") | (lib.magnitude == first))
    other["change"] = other.change.where((other.site != "control") | (other.magnitude == second))
    cm = confusion_matrix(lib, held_out=other, seed=2)
    assert np.isfinite(float(cm.sel(true_site="control", inferred_site="control")))
    assert float(cm.sel(true_site="control", inferred_site="control")) > 0.5   # untrained changes look like it
    # the library's own leave-one-out is unchanged by the alignment
    assert float(confusion_matrix(lib, seed=2).sel(true_site="control", inferred_site="control")) > 0.5


def test_held_out_library_must_fit_the_library():
    lib, _ = make_library(seed=0)
    other, _ = make_library(seed=1)
    with pytest.raises(ConfigError, match="magnitude"):
        confusion_matrix(lib, held_out=other.assign_coords(magnitude=[0.1, 0.2, 0.3]))
    with pytest.raises(ConfigError, match="held-out library"):
        confusion_matrix(lib, held_out=other.drop_sel(measure="mvc_pct"))


# ----------------------------------------------------------------------------- dose coverage (SBC)
def test_dose_intervals_cover_at_their_nominal_rates_when_the_model_is_right():
    # doses 0.2 apart move a measure by 0.6 replicate SD: the dose posteriors overlap
    lib = library(gain=3.0, n_rep=40, seed=0)
    held = library(gain=3.0, n_rep=25, seed=1)
    cov = dose_coverage(lib, held_out=held, seed=3)
    # the doses' order in the file does not matter (the PIT sorts them)
    flipped = dose_coverage(lib.isel(magnitude=[2, 0, 3, 1]), held_out=held, seed=3)
    np.testing.assert_allclose(flipped.coverage, cov.coverage, atol=0.02)
    assert cov.attrs["n_observations"] == (len(SIGNATURES) - 1) * len(MAGNITUDES) * 25
    # issue 14: nominal rates +- 10 points
    np.testing.assert_allclose(cov.coverage.values, [0.5, 0.9], atol=0.1)
    pit = cov.pit.values[np.isfinite(cov.pit.values)]
    hist, _ = np.histogram(pit, bins=5, range=(0, 1))
    assert hist.min() > 0.6 * hist.mean()  # roughly uniform, not piled at the ends


def test_dose_intervals_of_an_overconfident_library_undercover():
    # the held-out subjects vary 3x more than the library's: intervals too narrow
    lib = library(gain=3.0, n_rep=40, seed=0)
    wide = library(gain=3.0, n_rep=25, seed=1, spread=3.0)
    cov = dose_coverage(lib, held_out=wide, seed=3)
    assert float(cov.coverage.sel(level=0.9)) < 0.75
    # the coverage curve shows it: below the diagonal, through the checked levels
    from scenarios.inference import plot_coverage
    good = dose_coverage(lib, held_out=library(gain=3.0, n_rep=25, seed=1), seed=3)
    fig = plot_coverage({"same spread": good, "3x spread": cov})
    curves = [ln for ln in fig.axes[0].lines if ln.get_label().startswith(("same", "3x"))]
    q, calibrated = curves[0].get_data()
    _, narrow = curves[1].get_data()
    assert np.all(narrow[45:56] < q[45:56] - 0.1) and np.all(np.abs(calibrated[45:56] - q[45:56]) < 0.1)
    at_90 = int(np.argmin(np.abs(q - 0.9)))
    assert narrow[at_90] == pytest.approx(float(cov.coverage.sel(level=0.9)))


def test_dose_coverage_leave_one_out_and_errors():
    lib = library(gain=3.0, n_rep=12, seed=0)
    cov = dose_coverage(lib, levels=(0.8,), seed=1)
    assert cov.coverage.sizes["level"] == 1 and 0.5 < float(cov.coverage[0]) <= 1.0
    assert "leave-one-replicate-out" in cov.attrs["method"]
    with pytest.raises(ConfigError, match="levels"):
        dose_coverage(lib, levels=(1.5,))
    with pytest.raises(ConfigError, match="two or more magnitudes"):
        dose_coverage(lib.isel(magnitude=[0]))


# ----------------------------------------------------------------------------- power
def test_recall_grows_with_cohort_size_and_the_missing_measure_is_found():
    lib = library(gain=3.0, n_rep=60, seed=0, sites=["corticomotoneuronal", "muscle_hypertrophy",
                                                     "monoaminergic", "control"])
    # without the MEP, corticomotoneuronal (MVC + MEP) and hypertrophy (MVC) look alike
    battery = ["mvc_pct", "delta_f_pps", "h_rest_ratio"]
    pw = cohort_power(lib, sizes=(2, 8, 32), measures=battery, n_draws=60, seed=1)
    rec = pw.recall.sel(site="monoaminergic").values
    assert np.all(np.diff(rec) > 0) and rec[-1] > 0.9
    assert float(pw.n_needed.sel(site="monoaminergic")) <= 8
    for twin in ("corticomotoneuronal", "muscle_hypertrophy"):
        assert np.isnan(float(pw.n_needed.sel(site=twin)))
        assert float(pw.recall.sel(site=twin, size=32)) < 0.75
        assert str(pw.best_addition.sel(site=twin).item()) == "mep_ratio"
        # reachable with the MEP (hypertrophy needs more subjects: at its low doses it is still
        # close to the control, which the MEP does not separate)
        assert float(pw.n_needed_with.sel(candidate="mep_ratio", site=twin)) <= 32
    assert float(pw.n_needed_with.sel(candidate="mep_ratio", site="corticomotoneuronal")) <= 8
    # the same draws give the same answer
    again = cohort_power(lib, sizes=(2, 8, 32), measures=battery, n_draws=60, seed=1)
    xr.testing.assert_identical(pw, again)


def test_power_rejects_bad_arguments():
    lib = library(gain=1.0, n_rep=5, seed=0)
    with pytest.raises(ConfigError, match="sizes"):
        cohort_power(lib, sizes=(10, 5))
    with pytest.raises(ConfigError, match="recall"):
        cohort_power(lib, recall=1.0)
    with pytest.raises(ConfigError, match="in the battery already"):
        cohort_power(lib, measures=["mvc_pct"], candidates=["mvc_pct"])
    with pytest.raises(ConfigError, match="extra_sd"):
        cohort_power(lib, extra_sd={"nope": 1.0})


# ----------------------------------------------------------------------------- command
def test_calibrate_cli_writes_recall_coverage_and_power(tmp_path, capsys):
    from scenarios.cli import main
    from simulator.io import load_netcdf, save_netcdf
    save_netcdf(library(gain=3.0, n_rep=12, seed=0), tmp_path / "lib.nc")
    save_netcdf(library(gain=3.0, n_rep=6, seed=1), tmp_path / "held.nc")
    out = tmp_path / "cal"
    assert main(["calibrate", "--library", str(tmp_path / "lib.nc"), "--held-out", str(tmp_path / "held.nc"),
                 "--sizes", "2,8", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "held-out" in text and "Dose coverage (held-out library" in text
    assert "~".join(TWINS) in text  # the twins are reported as not identifiable
    ds = load_netcdf(out / "calibration.nc")
    assert set(ds.recall_loo.site.values) == set(SIGNATURES)
    # single subjects at the lowest dose move delta-F by 0.6 SD: well above chance (1/7), not perfect
    assert ds.held_out_recall.sel(site="monoaminergic") > 2 / 7
    assert ds.coverage.sizes["level"] == 2 and ds.held_out_coverage.sizes["level"] == 2
    assert "Dose coverage (leave-one-replicate-out" in text
    assert "Two sites at once" in text and ds.pair_recall.sizes["pair"] == 15
    for name in ("calibration.txt", "confusion.png", "confusion_held_out.png", "coverage.png", "power.png"):
        assert (out / name).stat().st_size > 0
    # the README's table: one row per site with the Dataset's numbers, and the summary line
    md = (out / "calibration.md").read_text().splitlines()
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in md if line.startswith("| ")}
    for s in SIGNATURES:
        assert rows[s][1] == f"{float(ds.recall_loo.sel(site=s)):.2f}"
        assert rows[s][2] == f"{float(ds.held_out_recall.sel(site=s)):.2f}"
    assert f"{len(ds.attrs['not_identifiable_loo'])} pairs not identifiable on left-out" in md[-1]
    # bad input: one line, exit 2, nothing written
    with pytest.raises(SystemExit) as exc:
        main(["calibrate", "--library", str(tmp_path / "lib.nc"), "--sizes", "8,2", "--out", str(tmp_path / "x")])
    assert exc.value.code == 2 and "increasing integers" in capsys.readouterr().err
    assert main(["calibrate", "--library", str(tmp_path / "nope.nc"), "--out", str(tmp_path / "y")]) == 2
    assert "nope.nc" in capsys.readouterr().err and not (tmp_path / "y").exists()


# ----------------------------------------------------------------------------- pairs
def test_two_sites_at_once_are_recovered_above_chance():
    lib, _ = make_library(seed=0)
    pr = pair_recovery(lib, seed=1)
    n_pairs = (len(SIGNATURES) - 1) * (len(SIGNATURES) - 2) // 2
    assert pr.sizes["pair"] == n_pairs and pr.attrs["chance"] == pytest.approx(1 / n_pairs)
    assert pr.attrs["recall"] > 5 * pr.attrs["chance"]
    # distinct signatures that do not overlap are recovered most of the time
    assert float(pr.sel(pair="ia_monosynaptic+monoaminergic")) > 0.6
    # a pair with one of the twins can be recovered only as often as a coin flip picks the twin
    assert float(pr.sel(pair="ia_monosynaptic+intracortical_inhibition")) < 0.8
    with pytest.raises(ConfigError, match="control"):
        pair_recovery(lib.drop_sel(site="control"))


# ----------------------------------------------------------------------------- atlas outputs
def test_atlas_writes_recall_table_and_coverage_curve(tmp_path):
    """Issue 14 outputs: an atlas of >= 3 subjects writes its confusion matrix, a per-site recall
    table and the dose coverage curve; the table's numbers are the confusion matrix's."""
    from scenarios.atlas import write_identifiability
    from simulator.io import load_netcdf
    lib = library(gain=3.0, n_rep=12, seed=0)
    write_identifiability(lib, tmp_path)
    for name in ("confusion.nc", "confusion.png", "coverage.png", "recall.txt"):
        assert (tmp_path / name).stat().st_size > 0, name
    cm = load_netcdf(tmp_path / "confusion.nc").confusion
    rows = {ln.split()[0]: [float(v) for v in ln.split()[1:]]
            for ln in (tmp_path / "recall.txt").read_text().splitlines()
            if ln.split() and ln.split()[0] in SIGNATURES}
    assert set(rows) == set(SIGNATURES)
    for s, (recall, p_true) in rows.items():
        assert recall == pytest.approx(float(cm.sel(true_site=s, inferred_site=s)), abs=0.0051)  # printed to 2 decimals
        assert p_true == pytest.approx(float(cm.true_posterior.sel(true_site=s)), abs=0.0051)  # printed to 2 decimals
    text = (tmp_path / "recall.txt").read_text()
    assert "Not identifiable: " in text and "Dose coverage (left-out subjects): 50 % interval" in text
    # one dose per site: no coverage curve, the rest as before
    (tmp_path / "one").mkdir()
    write_identifiability(lib.isel(magnitude=[0]), tmp_path / "one")
    assert not (tmp_path / "one" / "coverage.png").exists() and (tmp_path / "one" / "recall.txt").is_file()


# ----------------------------------------------------------------------------- decomposed units
def with_decomposed(lib: xr.Dataset, noise: dict[str, float], seed: int = 5) -> xr.Dataset:
    """Add ``m_dec`` = ``m`` + Gaussian noise of ``noise[m]`` replicate SDs (a decomposition that
    finds fewer, other units measures the same change less precisely)."""
    rng = np.random.default_rng(seed)
    extra = []
    for m, k in noise.items():
        x = lib.change.sel(measure=m)
        extra.append((x + rng.normal(size=x.shape) * k * SD[MEASURES.index(m)]).assign_coords(measure=f"{m}_dec"))
    return xr.Dataset({"change": xr.concat([lib.change, *extra], dim="measure")})


def test_decomposed_unit_measures_cost_what_their_extra_noise_costs():
    from scenarios.inference import decomposition_cost
    lib = with_decomposed(library(gain=6.0, n_rep=24, seed=0), {"delta_f_pps": 4.0, "vmax_ratio": 0.0})
    cost = decomposition_cost(lib, seed=1)
    assert list(cost.battery.values) == ["true units", "decomposed units", "no unit measures"]
    assert cost.attrs["swapped"] == ["vmax_ratio", "delta_f_pps"]
    recall = cost.recall.to_pandas().T
    # monoaminergic drive shows only in delta-F: its recall falls with a delta-F four SDs noisier
    # (0.61-0.72 -> 0.38-0.51 over library seeds 0-3)
    assert recall.loc["monoaminergic", "true units"] > recall.loc["monoaminergic", "decomposed units"] + 0.1
    # the decomposed V-wave is exact: Ia monosynaptic is recalled as well as with the true one
    # (the same seed draws the same observation noise; delta-F still changes some posteriors)
    assert abs(recall.loc["ia_monosynaptic", "true units"] - recall.loc["ia_monosynaptic", "decomposed units"]) < 0.1
    acc = cost.accuracy.to_pandas()
    assert acc["true units"] > acc["decomposed units"] and acc["true units"] > acc["no unit measures"]
    assert (cost.n_observations.values == cost.n_observations.values[0]).all()
    with pytest.raises(ConfigError, match="decomposition = true"):
        decomposition_cost(library(gain=3.0, n_rep=4, seed=0))


def test_calibrate_reports_the_cost_of_decomposed_units(tmp_path, capsys):
    from scenarios.cli import main
    from simulator.io import load_netcdf, save_netcdf
    lib = with_decomposed(library(gain=3.0, n_rep=8, seed=0), {"delta_f_pps": 3.0})
    save_netcdf(lib, tmp_path / "lib.nc")
    out = tmp_path / "cal"
    assert main(["calibrate", "--library", str(tmp_path / "lib.nc"), "--sizes", "2,8", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "decomposed HD-sEMG instead of true units (delta_f_pps -> *_dec" in text
    ds = load_netcdf(out / "calibration.nc")
    assert ds.decomposition_recall.dims == ("battery", "site") and ds.decomposition_accuracy.sizes["battery"] == 3
    assert (out / "decomposition.png").stat().st_size > 0
    md = (out / "calibration.md").read_text()
    acc = [f"{float(ds.decomposition_accuracy.sel(battery=b)):.2f}" for b in ds.battery.values]
    assert "| accuracy | " + " | ".join(acc) + " |" in md
    r = float(ds.decomposition_change_correlation.sel(unit_measure="delta_f_pps"))
    assert f"| delta_f_pps | {r:.2f} | " in md


def test_decomposed_change_agreement_is_measured():
    from scenarios.inference import decomposition_cost
    lib = with_decomposed(library(gain=6.0, n_rep=10, seed=0), {"delta_f_pps": 1.0, "vmax_ratio": 0.0})
    lib["change"].loc[{"measure": "delta_f_pps_dec", "replicate": 0}] = np.nan   # nothing tracked
    cost = decomposition_cost(lib, seed=1)
    assert float(cost.change_correlation.sel(unit_measure="vmax_ratio")) == pytest.approx(1.0)
    assert float(cost.change_bias.sel(unit_measure="vmax_ratio")) == pytest.approx(0.0, abs=1e-12)
    assert 0.5 < float(cost.change_correlation.sel(unit_measure="delta_f_pps")) < 0.99
    assert float(cost.fraction_obtained.sel(unit_measure="delta_f_pps")) == pytest.approx(0.9)
    # the subject without a decomposed delta-F is still scored, on its other measures
    assert int(cost.n_observations.sel(battery="decomposed units")) == int(cost.n_observations.sel(battery="true units"))
