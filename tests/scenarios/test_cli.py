"""The ``mnpool`` command line: clear errors before work, nothing written on failure."""

from __future__ import annotations

import pytest

from scenarios.cli import main
from tests.report_html import close, number, read_report


def test_bad_config_value_exits_2_and_writes_nothing(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[pool]\nn_units = 5000\n")
    out = tmp_path / "out"
    assert main(["simulate", "--config", str(cfg), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "pool.n_units = 5000 is out of range; allowed [1, 2000]" in err
    assert not out.exists()


def test_unknown_key_exits_2(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[task]\nlevl = 20\n")
    assert main(["simulate", "--config", str(cfg), "--out", str(tmp_path / "o")]) == 2
    assert "unknown key(s) task.levl" in capsys.readouterr().err


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "simulate" in out and "demo" in out


def test_simulate_writes_dataset_and_figure(tmp_path):
    from simulator.io import load_netcdf
    cfg = tmp_path / "c.toml"
    cfg.write_text("calibration_ramp_s = 2.0\ncalibration_hold_s = 1.0\n[pool]\nn_units = 12\n"
                   "[task]\nshape = 'trapezoid'\nlevel = 15\nrise_s = 1\nplateau_s = 1\nfall_s = 1\n")
    out = tmp_path / "run"
    assert main(["simulate", "--config", str(cfg), "--out", str(out), "--seed", "3", "--quiet"]) == 0
    ds = load_netcdf(out / "activity.nc")
    assert ds.attrs["seed"] == 3 and ds.sizes["unit"] == 12
    assert (out / "activity.png").stat().st_size > 10_000
    assert (out / "config.toml").is_file()


def test_evoked_experiment_cli(tmp_path, capsys):
    from simulator.io import load_netcdf
    cfg = tmp_path / "c.toml"
    cfg.write_text("calibration_ramp_s = 2.0\ncalibration_hold_s = 1.0\n[pool]\nn_units = 20\n"
                   "[cmep]\nrepeats = 1\n")
    assert main(["experiment", "cmep", "--config", str(cfg), "--out", str(tmp_path / "o"),
                 "--save-activity"]) == 0
    ds = load_netcdf(tmp_path / "o" / "experiment.nc")
    assert ds.attrs["experiment"] == "cmep" and float(ds.cmep) > 0
    trials = sorted((tmp_path / "o" / "activity").glob("trial_*.nc"))  # every stimulated run kept
    assert trials and load_netcdf(trials[0]).attrs["kind"] == "activity"
    assert (tmp_path / "o" / "experiment.png").is_file()
    assert "cmep_latency" in capsys.readouterr().out
    cfg.write_text("[cmep]\nintensity_pct = 150\n")
    assert main(["experiment", "cmep", "--config", str(cfg), "--out", str(tmp_path / "p")]) == 2
    assert "cmep.intensity_pct = 150" in capsys.readouterr().err and not (tmp_path / "p").exists()


def _startle_observation(path):
    """A cohort of 10 whose MVC and startle changed as the shipped library's reticulospinal
    motoneuron cell at +30 % predicts (startle is that site's private measure)."""
    from scenarios.training import LIBRARY
    from simulator.io import load_netcdf
    cell = load_netcdf(LIBRARY / "reference_library.nc").change.sel(site="reticulospinal_motoneuron", magnitude=0.3)
    mean = cell.mean("replicate")
    path.write_text("n_subjects = 10\n" + "".join(
        f"[measures.{m}]\nchange = {float(mean.sel(measure=m)):.4g}\n" for m in ("mvc", "startle")))


def test_infer_cli_on_the_shipped_library(tmp_path, capsys):
    from scenarios.training import LIBRARY
    obs = tmp_path / "obs.toml"
    _startle_observation(obs)
    out = tmp_path / "inf"
    assert main(["infer", "--library", str(LIBRARY / "reference_library.nc"), "--observed", str(obs),
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "reticulospinal_motoneuron" in text.split("\n")[4]  # MAP site: startle is its private measure
    for name in ("posterior.nc", "summary.txt", "posterior.png", "information_gain.png", "confusion.png",
                 "coverage.png", "report.html"):
        assert (out / name).is_file()
    # how far to trust it: the library's recall of each site with these two measures
    summary = (out / "summary.txt").read_text()
    assert "How far to trust this" in summary and "a cohort of 10" in summary
    assert "Dose coverage (left-out subjects)" in summary
    _check_infer_report(out)
    from tests.simulator.test_report import CHROMIUM, render
    if CHROMIUM is not None:  # and it renders, every figure loaded, in a real browser
        dom, log = render(out / "report.html", tmp_path)
        assert 'data-images-loaded="4/4"' in dom, log[-2000:]
    obs.write_text("[measures.grip]\nchange = 1.0\nsd = 1.0\n")
    assert main(["infer", "--library", str(LIBRARY / "reference_library.nc"), "--observed", str(obs),
                 "--out", str(tmp_path / "bad")]) == 2
    assert "grip" in capsys.readouterr().err and not (tmp_path / "bad").exists()


def _check_infer_report(out):
    """report.html shows the observation beside the posterior predictive of the best site and the
    top sites, with the numbers of posterior.nc, and both figures decode."""
    from scenarios.inference import site_table
    from simulator.io import load_netcdf
    post = load_netcdf(out / "posterior.nc")
    page = read_report(out / "report.html")
    assert page.title == "mnpool infer" and len(page.figures) == 4
    assert all(f.ndim == 3 and min(f.shape[:2]) > 100 for f in page.figures)
    assert {"posterior.nc", "summary.txt"} <= set(page.links)
    best = post.attrs["predictive_site"]
    assert best == post.attrs["map_site"] == "reticulospinal_motoneuron"
    rows = page.table(f"Observation and posterior predictive given {best}")
    assert [r["measure"] for r in rows] == ["mvc", "startle"]
    for r in rows:
        m = r["measure"]
        for column, var in (("observed change", "observed_change"), ("observed SD", "observed_sd"),
                            ("predicted mean", "predictive_mean"), ("predictive SD", "predictive_sd")):
            assert close(r[column], float(post[var].sel(measure=m))), (m, column)
    # the observation (3.7 ± 1 %, 60 ± 10 %) lies well inside the best site's predictive
    assert all(abs(number(r["z = (observed - predicted) / SD"])) < 2 for r in rows)
    sites = page.table("Sites by posterior probability")
    expected = site_table(post.site_posterior, post.magnitude_posterior)[:len(sites)]
    assert [r["site"] for r in sites] == [e[0] for e in expected]
    assert all(close(r["posterior"], e[1]) and close(r["MAP magnitude"], e[2]) for r, e in zip(sites, expected))
    # the recall column is the library's, with the observed measures (startle is the private
    # measure of the reticulospinal motoneuron synapse: it is recovered more often than chance)
    assert all(close(r["recall by these measures"], float(post.library_recall.sel(site=r["site"])))
               for r in sites)
    assert float(post.library_recall.sel(site="reticulospinal_motoneuron")) > 1 / post.sizes["site"]


def test_train_cli_rejects_bad_scenarios_before_work(tmp_path, capsys):
    bad = tmp_path / "s.toml"
    bad.write_text("name = 'x'\n[adaptation]\ncerebellum = 0.2\n")
    assert main(["train", str(bad), "--out", str(tmp_path / "o"), "--serial"]) == 2
    assert "unknown site 'cerebellum'" in capsys.readouterr().err and not (tmp_path / "o").exists()
    assert main(["atlas", "--out", str(tmp_path / "a"), "--sites", "nowhere", "--serial"]) == 2
    assert "unknown site" in capsys.readouterr().err


# slow: a 45-s contraction; test_evoked_experiment_cli checks --save-activity in make test, and
# tests/simulator/test_cli_emg.py turns a simulated activity into a recording
@pytest.mark.slow
def test_triangle_keeps_its_activity_for_mnpool_emg(tmp_path):
    # --save-activity: the triangle's spikes and force become a recording with 'mnpool emg'
    from simulator.io import load_netcdf
    cfg = tmp_path / "c.toml"
    cfg.write_text("calibration_ramp_s = 2.0\ncalibration_hold_s = 1.0\n[pool]\nn_units = 12\n"
                   "[triangle]\nlevel = 15\nramp_s = 1.5\n")
    out = tmp_path / "tri"
    assert main(["experiment", "triangle", "--config", str(cfg), "--out", str(out), "--quiet",
                 "--save-activity"]) == 0
    act = load_netcdf(out / "activity.nc")
    summary = load_netcdf(out / "experiment.nc")
    assert act.attrs["kind"] == "activity" and act.sizes["unit"] == 12
    assert act.attrs["seed"] == summary.attrs["seed"] and act.sizes["spike"] > 0
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 1 and 'href="activity.nc"' in page
    assert main(["emg", "--activity", str(out / "activity.nc"), "--out", str(tmp_path / "rec"),
                 "--format", "netcdf", "--quiet"]) == 0
    rec = load_netcdf(tmp_path / "rec" / "recording.nc")
    assert rec.attrs["kind"] == "recording"
    assert rec.sizes["spike"] == act.sizes["spike"] - int((act.spike_time.values >= rec.time.values[-1]
                                                           + 0.5 / rec.attrs["fs_hz"]).sum())
