"""Readers of external decompositions, scoring files, and benchmark suites end to end."""

import gzip
import json

import numpy as np
import pandas as pd
import pytest
import scipy.io

from scenarios.cli import main
from simulator.config import ConfigError
from simulator.io import load_netcdf, read_decomposition, save_netcdf
from validation import benchmark as bm
from validation.metrics import spike_trains_from_dataset
from validation.testing import toy_recording


@pytest.fixture(scope="module")
def rec():
    return toy_recording(4, 16, 3.0, 20.0, seed=4)


@pytest.fixture
def rec_file(rec, tmp_path):
    return save_netcdf(rec, tmp_path / "rec.nc")


def _trains(rec):
    return [t.tolist() for t in spike_trains_from_dataset(rec)]


def write_openhdemg(path, rec):
    doc = {"SOURCE": json.dumps("CUSTOMCSV"), "FSAMP": json.dumps(rec.attrs["fs_hz"]),
           "MUPULSES": json.dumps(_trains(rec)), "NUMBER_OF_MUS": json.dumps(rec.sizes["unit"])}
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(doc, fh)


def write_muedit(path, rec):
    cells = np.empty((1, rec.sizes["unit"]), dtype=object)
    for u, t in enumerate(_trains(rec)):
        cells[0, u] = np.asarray(t, dtype=float) + 1        # MATLAB: 1-based
    scipy.io.savemat(path, {"signal": {"Dischargetimes": cells, "fsamp": rec.attrs["fs_hz"]}})


def write_demuse(path, rec):
    cells = np.empty((1, rec.sizes["unit"]), dtype=object)
    for u, t in enumerate(_trains(rec)):
        cells[0, u] = np.asarray(t, dtype=float) + 1
    scipy.io.savemat(path, {"MUPulses": cells, "fsamp": rec.attrs["fs_hz"]})


def write_csv(path, rec):
    pd.DataFrame({"unit": rec["spike_unit"].values, "sample": rec["spike_sample"].values}).to_csv(
        path, index=False)


@pytest.mark.parametrize("name, writer", [("d.json", write_openhdemg), ("d.mat", write_muedit),
                                          ("x.mat", write_demuse), ("d.csv", write_csv)])
def test_external_formats_score_roa_one(rec, rec_file, tmp_path, name, writer):
    path = tmp_path / name
    writer(path, rec)
    dec = read_decomposition(path)
    assert dec.sizes["unit"] == rec.sizes["unit"]
    sc = bm.score_file(rec_file, path)
    assert (sc["roa"].values == 1.0).all() and (sc["lag_s"].values == 0).all()


def test_exports_from_the_emg_branch_score_roa_one(rec, rec_file, tmp_path):
    io = pytest.importorskip("simulator.io")
    for export, name in ((io.export_openhdemg, "truth.json"), (io.export_muedit, "truth.mat")):
        path = export(rec, tmp_path / name)
        sc = bm.score_file(rec_file, path)
        assert sc.sizes["unit"] > 0
        assert (sc["roa"].values == 1.0).all()


def test_reader_errors(rec, tmp_path):
    with pytest.raises(FileNotFoundError):
        read_decomposition(tmp_path / "missing.json")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ConfigError, match="'unit' and 'sample'"):
        read_decomposition(tmp_path / "bad.csv")
    scipy.io.savemat(tmp_path / "other.mat", {"foo": 1})
    with pytest.raises(ConfigError, match="Dischargetimes"):
        read_decomposition(tmp_path / "other.mat")
    write_csv(tmp_path / "d.csv", rec)
    with pytest.raises(ConfigError, match="format"):
        read_decomposition(tmp_path / "d.csv", "excel")


def test_score_cli_errors(rec, tmp_path, capsys):
    nogt = save_netcdf(rec.drop_vars(["spike_unit", "spike_sample", "spike_time"]),
                       tmp_path / "nogt.nc")
    write_csv(tmp_path / "d.csv", rec)
    assert main(["score", "--recording", str(nogt), "--decomposition",
                 str(tmp_path / "d.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "no ground truth" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_mismatched_rates_are_refused(rec, rec_file, tmp_path, capsys):
    write_openhdemg(tmp_path / "d.json", rec.assign_attrs(fs_hz=4096.0))
    assert main(["score", "--recording", str(rec_file), "--decomposition",
                 str(tmp_path / "d.json")]) == 2
    assert "does not match" in capsys.readouterr().err


def test_suite_config_ranges():
    with pytest.raises(ConfigError, match="benchmark.grid"):
        bm.SuiteConfig(grid=("13by5",))
    with pytest.raises(ConfigError, match="benchmark.snr_db"):
        bm.SuiteConfig(snr_db=(200.0,))
    assert len(bm.conditions(bm.SuiteConfig())) == 9


def test_suite_make_run_score_end_to_end(tmp_path, capsys):
    toml = tmp_path / "suite.toml"
    toml.write_text("[benchmark]\nsnr_db = [20.0]\ncontraction_mvc = [10.0]\nn_units = [30]\n"
                    "grid = ['13x5']\nduration_s = 6.0\n[decomposition]\nn_iterations = 20\n")
    suite = tmp_path / "suite"
    assert main(["benchmark", "make", "--toy", "--config", str(toml), "--out", str(suite),
                 "--quiet"]) == 0
    man = json.loads((suite / "manifest.json").read_text())
    assert [r["id"] for r in man["recordings"]] == ["rec_000"]
    assert main(["benchmark", "run", "--suite", str(suite), "--config", str(toml),
                 "--out", str(tmp_path / "dec"), "--quiet"]) == 0
    assert main(["benchmark", "score", "--suite", str(suite), "--decompositions",
                 str(tmp_path / "dec"), "--tool", "mnpool", "--out", str(tmp_path / "scores")]) == 0
    units = pd.read_csv(tmp_path / "scores" / "units.csv")
    assert units["found"].sum() >= 2 and set(units["tool"]) == {"mnpool"}
    summary = load_netcdf(tmp_path / "scores" / "summary.nc")
    assert summary.sizes["recording"] == 1
    for f in ("units_found_vs_snr.png", "roa_distribution.png", "detectability.png"):
        assert (tmp_path / "scores" / f).is_file()


def test_decompose_cli_writes_dataset_and_figures(tmp_path, rec_file):
    assert main(["decompose", "--recording", str(rec_file), "--out", str(tmp_path / "d"),
                 "--quiet", "--seed", "3"]) == 0
    dec = load_netcdf(tmp_path / "d" / "decomposition.nc")
    assert dec.attrs["seed"] == 3 and dec.attrs["kind"] == "decomposition"
    for f in ("sources.png", "raster.png", "score.nc"):
        assert (tmp_path / "d" / f).is_file()
