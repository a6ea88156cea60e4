"""The ``mnpool`` command line: clear errors before work, nothing written on failure."""

from __future__ import annotations

import pytest

from simulator.cli import main


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
