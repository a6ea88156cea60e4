"""Iso-strength doses (scenarios/iso_strength.py) and the iso-strength atlas (issue 14 item 1)."""

from __future__ import annotations

import math
import numpy as np
import pytest

from scenarios import iso_strength as S
from simulator.config import ConfigError
from simulator.simulation import SimulationConfig
from simulator.sites import MIN_CHANGE

BASE = SimulationConfig()


@pytest.mark.parametrize("slope, target, dose", [(20.0, 10.0, 0.5), (-15.0, 10.0, -2 / 3), (20.0, -5.0, -0.25)])
def test_search_finds_the_dose_on_the_right_side(slope, target, dose):
    """A site whose increase weakens (negative slope) needs a negative dose for a gain."""
    got = S.find_dose(BASE, "monoaminergic", target, mvc_change=lambda d: slope * d, tolerance_pct=0.01)
    assert got.evaluations == 3  # linear: the first regula falsi step is exact
    assert got.reachable
    assert got.dose == pytest.approx(dose, abs=0.01 / abs(slope) * 2)
    assert got.achieved_pct == pytest.approx(target, abs=0.01)
    assert got.evaluations <= 16


def test_unreachable_site_reports_its_largest_change():
    got = S.find_dose(BASE, "ia_monosynaptic", 10.0, mvc_change=lambda d: 1.0 * d)
    assert not got.reachable and np.isnan(got.dose)
    assert got.achieved_pct == pytest.approx(2.0)  # at MAX_CHANGE = +200 %
    assert "max +2.0 % MVC" in got.describe() and "unreachable" in got.describe()
    assert got.evaluations == 2


def test_closest_dose_when_the_tolerance_is_not_met():
    got = S.find_dose(BASE, "monoaminergic", 10.0, mvc_change=lambda d: 40 * (1 - np.exp(-d)),
                      tolerance_pct=1e-9, max_evaluations=4)
    assert got.reachable and got.evaluations == 4
    assert abs(got.achieved_pct - 10.0) < 5.0


def test_curved_response_converges():
    """A saturating dose-response (as most sites give): the Illinois steps reach the tolerance."""
    got = S.find_dose(BASE, "monoaminergic", 10.0, mvc_change=lambda d: 40 * (1 - np.exp(-d)),
                      tolerance_pct=0.01)
    assert got.dose == pytest.approx(-np.log(0.75), abs=1e-3) and got.evaluations <= 10


def test_supported_end_stays_inside_the_parameter_ranges():
    """intrinsic_motoneuron divides leak_scale by (1 + change): MIN_CHANGE would leave its range."""
    end = S._supported_end(BASE, "intrinsic_motoneuron", MIN_CHANGE)
    assert MIN_CHANGE < end < 0
    from simulator.sites import apply_adaptation
    apply_adaptation(BASE, {"intrinsic_motoneuron": end})


@pytest.mark.parametrize("site, target, match", [("cerebellum", 10.0, "unknown site"),
                                                  ("monoaminergic", 0.0, "non-zero"),
                                                  ("monoaminergic", float("nan"), "non-zero")])
def test_bad_requests_are_refused(site, target, match):
    with pytest.raises(ConfigError, match=match):
        S.find_dose(BASE, site, target, mvc_change=lambda d: d)


@pytest.mark.slow  # the iso atlas test below checks the same dose end to end (also slow)
def test_hypertrophy_dose_equals_the_strength_gain():
    """Muscle hypertrophy scales every twitch, so MVC +10 % needs twitch_scale x1.10: the search
    through real calibrations must land on dose 0.10."""
    base = SimulationConfig.from_dict({"pool": {"n_units": 20}, "calibration_ramp_s": 2.0,
                                       "calibration_hold_s": 1.0})
    got = S.find_dose(base, "muscle_hypertrophy", 10.0, tolerance_pct=0.2)
    assert got.reachable
    assert got.dose == pytest.approx(0.10, abs=0.004)
    assert S.mvc_change_pct(base, "muscle_hypertrophy", got.dose) == pytest.approx(got.achieved_pct)


@pytest.mark.slow  # 50-140 s on 2 cores; the fast suite keeps the search, CLI-value and library checks
def test_iso_atlas_runs_each_site_at_its_own_dose(tmp_path, capsys):
    """``mnpool atlas --iso-mvc 10`` on the tiny subject of test_training: the cohort's MVC rises
    10 % at the hypertrophy dose; an unreachable site is reported and not run; the report lists
    the doses."""
    from scenarios.cli import main
    from simulator.io import load_netcdf
    from tests.report_html import read_report
    from tests.scenarios.test_training import QUIET_COHORT, TINY_BATTERY, TINY_SUBJECT, _toml
    config = _toml(tmp_path, "atlas.toml", {**TINY_SUBJECT, "cohort": QUIET_COHORT, "battery": TINY_BATTERY})
    out = tmp_path / "iso"
    assert main(["atlas", "--config", config, "--out", str(out), "--sites", "muscle_hypertrophy",
                 "ia_interneuron", "--iso-mvc", "10", "--subjects", "2", "--serial", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "muscle_hypertrophy: dose +0.1" in printed
    lib = load_netcdf(out / "library.nc")
    assert list(lib.magnitude.values) == [0.1]
    assert "iso" in lib.attrs["magnitude_kind"]
    assert np.isnan(float(lib["dose"].sel(site="control", magnitude=0.1)))
    # hypertrophy scales every twitch: +10 % MVC needs dose 0.10 (within the 0.5-point tolerance)
    assert float(lib["dose"].sel(site="muscle_hypertrophy", magnitude=0.1)) == pytest.approx(0.10, abs=0.006)
    mvc = lib["change"].sel(magnitude=0.1, measure="mvc")
    # every subject's force scales with its twitches: exactly the reference's +10 %
    assert float(mvc.sel(site="muscle_hypertrophy").mean()) == pytest.approx(10.0, abs=1.0)
    # Ia interneurons cannot give +10 % (README table: max +0.6 % in the default subject)
    assert np.isnan(float(lib["dose"].sel(site="ia_interneuron", magnitude=0.1)))
    assert np.isnan(mvc.sel(site="ia_interneuron").values).all()
    assert "ia_interneuron: max" in printed
    rows = read_report(out / "report.html").table("Iso-strength doses")
    assert [r["site"] for r in rows] == ["muscle_hypertrophy", "ia_interneuron"]
    assert [r["reachable"] for r in rows] == ["yes", "no"]


@pytest.mark.parametrize("value", ["ten", "0", "10,,20", "500"])
def test_iso_mvc_bad_values_exit_2(value, tmp_path, capsys):
    from scenarios.cli import main
    with pytest.raises(SystemExit) as e:
        main(["atlas", "--out", str(tmp_path / "o"), "--iso-mvc", value])
    assert e.value.code == 2
    assert "--iso-mvc" in capsys.readouterr().err


def test_usable_measures_ignore_cells_that_were_not_simulated():
    """An unreachable site's all-NaN row (and the control beyond its one magnitude) must not
    remove every measure from the confusion matrix; a measure missing in a simulated cell must."""
    import xarray as xr

    from scenarios.atlas import usable_measures
    change = np.ones((3, 2, 3, 2))
    change[1] = np.nan                 # site 'b' unreachable at every magnitude
    change[0, 1] = np.nan              # control simulated at the first magnitude only
    lib = xr.Dataset({"change": (("site", "magnitude", "replicate", "measure"), change)},
                     coords={"site": ["control", "b", "c"], "magnitude": [0.1, 0.2],
                             "replicate": [0, 1, 2], "measure": ["mvc", "sici"]})
    assert usable_measures(lib) == ["mvc", "sici"]
    lib["change"][2, 0, 1, 1] = np.nan  # one replicate of a simulated cell lacks SICI
    assert usable_measures(lib) == ["mvc"]
    # with more subjects a measure a few lack stays (they are scored on their other measures),
    # as long as every simulated cell keeps >= 3 subjects with it for a variance
    big = xr.Dataset({"change": (lib.change.dims, np.ones((3, 2, 6, 2)))},
                     coords={**{k: lib[k] for k in ("site", "magnitude", "measure")}, "replicate": np.arange(6)})
    big["change"][1] = np.nan
    big["change"][0, 1] = np.nan
    big["change"][2, 0, :3, 1] = np.nan
    assert usable_measures(big) == ["mvc", "sici"]
    big["change"][2, 0, 3, 1] = np.nan
    assert usable_measures(big) == ["mvc"]


def test_fit_scale_finds_the_common_scale_of_a_two_site_design():
    """One number fitted for a design whose sites and proportions are stated beforehand."""
    from scenarios.iso_strength import MAX_SCALE, fit_scale
    base = SimulationConfig()
    got = fit_scale(base, {"corticoreticular": 0.8, "monoaminergic": 0.1}, 18.5,
                    mvc_change=lambda k: 30.0 * (1 - math.exp(-k)))      # saturating, root 0.9163
    assert got.reachable and got.site == "corticoreticular+monoaminergic"
    assert abs(30.0 * (1 - math.exp(-got.dose)) - 18.5) <= 0.5
    assert got.evaluations <= 8
    weak = fit_scale(base, {"ia_interneuron": 0.5}, 10.0, mvc_change=lambda k: 0.5 * k)
    assert not weak.reachable and math.isnan(weak.dose) and weak.achieved_pct <= 0.5 * MAX_SCALE
    with pytest.raises(ConfigError, match="direction"):
        fit_scale(base, {"spinal_cord": 1.0}, 10.0, mvc_change=lambda k: k)
