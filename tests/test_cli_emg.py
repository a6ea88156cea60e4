"""``mnpool emg`` end to end, and its bad-input contract (one error line, exit 2, nothing written)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.cli import main
from simulator.io import load_netcdf, save_netcdf
from simulator.testing import synthetic_activity


@pytest.fixture(scope="module")
def activity_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("act") / "activity.nc"
    save_netcdf(synthetic_activity(8, 1.0, seed=2, profile="constant"), path)
    return path


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MNPOOL_CACHE", str(tmp_path / "cache"))


def test_emg_command_writes_every_format(activity_file, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["emg", "--activity", str(activity_file), "--grid", "GR08MM1305", "--snr", "25",
               "--out", str(out), "--format", "netcdf,openhdemg,mat,bids", "--seed", "4", "--quiet"])
    assert rc == 0
    for name in ("recording.nc", "recording_openhdemg.json", "recording_muedit.mat",
                 "recording_emg.png", "recording_rms_map.png", "recording_muap_grid.png"):
        assert (out / name).is_file(), name
    assert list((out / "bids").rglob("*_emg.bdf"))
    rec = load_netcdf(out / "recording.nc")
    assert rec.attrs["snr_db"] == 25.0 and rec.attrs["seed"] == 4
    assert np.isfinite(rec["emg"].values).all()


def test_emg_config_from_toml(activity_file, tmp_path):
    cfg = tmp_path / "emg.toml"
    cfg.write_text("[emg]\nsnr_db = 15\nfs_hz = 4096\nlowpass_hz = 900\n"
                   "[emg.grid]\nname = 'GR10MM0808'\nmontage = 'single_differential'\n"
                   "[emg.muap]\nmuscle_width_mm = 80\n")
    out = tmp_path / "out"
    assert main(["emg", "--activity", str(activity_file), "--config", str(cfg), "--out", str(out),
                 "--quiet", "--no-figures"]) == 0
    rec = load_netcdf(out / "recording.nc")
    assert rec.attrs["fs_hz"] == 4096 and rec.attrs["grid"] == "GR10MM0808"
    assert rec.sizes["channel"] == 56


@pytest.mark.parametrize("args,message", [
    (["--snr", "nan"], "emg.snr_db = nan must be finite"),
    (["--format", "netcdf,xlsx"], "'xlsx' is not allowed"),
    (["--grid", "GR08MM1032"], "does not fit over the muscle"),
    (["--fs", "800"], "emg.lowpass_hz"),
    (["--montage", "double_differential", "--format", "mat"], "monopolar"),
    (["--fs", "2000.5", "--format", "bids"], "integer sampling rate"),
])
def test_bad_input_one_error_nothing_written(activity_file, tmp_path, capsys, args, message):
    out = tmp_path / "out"
    rc = main(["emg", "--activity", str(activity_file), "--out", str(out), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and err[0].startswith("mnpool: error: ") and message in err[0]
    assert not out.exists()


def test_missing_activity(tmp_path, capsys):
    rc = main(["emg", "--activity", str(tmp_path / "none.nc"), "--out", str(tmp_path / "out")])
    assert rc == 2 and "no such Dataset file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
