"""``mnpool simulate --emg``: bad EMG settings fail before the simulation; good ones write both."""

from __future__ import annotations

from scenarios.cli import main

SMALL = ("calibration_ramp_s = 2.0\ncalibration_hold_s = 1.0\n[pool]\nn_units = 10\n"
         "[task]\nlevel = 15\nrise_s = 0.5\nplateau_s = 0.5\nfall_s = 0.5\n")


def test_bad_emg_setting_fails_before_simulating(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "o"
    assert main(["simulate", "--config", str(cfg), "--out", str(out), "--emg", "--format",
                 "netcdf,wav", "--quiet"]) == 2
    assert "wav" in capsys.readouterr().err
    assert not out.exists()


def test_simulate_with_emg_writes_activity_and_recording(tmp_path):
    from simulator.io import load_netcdf
    cfg = tmp_path / "c.toml"
    cfg.write_text(SMALL + "[emg]\nsnr_db = 15.0\n")
    out = tmp_path / "o"
    assert main(["simulate", "--config", str(cfg), "--out", str(out), "--emg", "--quiet"]) == 0
    rec = load_netcdf(out / "recording.nc")
    assert rec.attrs["kind"] == "recording" and rec.sizes["unit"] == 10
    assert abs(rec.attrs["snr_measured_db"] - 15.0) < 0.5
    assert (out / "activity.nc").is_file() and (out / "pathways.png").is_file()
