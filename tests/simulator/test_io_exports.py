"""Exports of a recording, each read back with the reader a user would use."""

from __future__ import annotations

import gzip
import json
from io import StringIO

import numpy as np
import pandas as pd
import pyedflib
import pytest
import scipy.io

from simulator.config import ConfigError
from simulator.electrodes import GridConfig
from simulator.emg import EmgConfig, synthesize
from simulator.io import CONVENTIONS, load_netcdf, stored_form, write_recording
from simulator.testing import synthetic_activity


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MNPOOL_CACHE", str(tmp_path_factory.mktemp("muap_cache")))
        act = synthetic_activity(12, 2.0, seed=4, profile="constant", peak_excitation=0.4)
        return synthesize(act, EmgConfig(), seed=3)


@pytest.fixture(scope="module")
def written(recording, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    return write_recording(recording, out, "netcdf,openhdemg,mat,bids")


def _truth(rec):
    su, ss = rec["spike_unit"].values, rec["spike_sample"].values
    return {int(u): np.sort(ss[su == u]) for u in np.unique(su)}


def test_netcdf_round_trip_is_exact(recording, written):
    back = load_netcdf(written["netcdf"])
    stored = stored_form(recording)
    assert back.identical(stored)  # bit for bit what is stored
    assert back.attrs == stored.attrs and back.attrs["Conventions"] == CONVENTIONS
    for name in recording.variables:
        want = np.float32 if name in ("emg", "muap") else recording[name].dtype
        assert back[name].dtype == want
        assert {"units", "long_name"} <= set(back[name].attrs), name
    # float32 rounding of the EMG: at most 2^-24 of each value (the stated error)
    err = np.abs(back["emg"].values.astype(float) - recording["emg"].values)
    assert np.all(err <= 2.0 ** -24 * np.abs(recording["emg"].values) + 1e-30)
    # and it is smaller: float32 + zlib take less than half of float64 on disk
    assert written["netcdf"].stat().st_size < 0.55 * (recording["emg"].nbytes + recording["muap"].nbytes)


def openhdemg_reader(path):
    """What ``openhdemg.library.emg_from_json`` does for a CUSTOMCSV-source file."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        raw = json.load(fh)
    out = {k: json.loads(raw[k]) for k in ("SOURCE", "FILENAME", "MUPULSES", "FSAMP", "IED",
                                            "EMG_LENGTH", "NUMBER_OF_MUS")}
    for k in ("RAW_SIGNAL", "REF_SIGNAL", "ACCURACY", "IPTS", "BINARY_MUS_FIRING", "EXTRAS"):
        out[k] = pd.read_json(StringIO(raw[k]), orient="split")
    for k in ("RAW_SIGNAL", "REF_SIGNAL", "ACCURACY", "IPTS", "BINARY_MUS_FIRING"):
        out[k].columns = out[k].columns.astype(int)
        out[k].index = out[k].index.astype(int)
    out["MUPULSES"] = [np.array(p) for p in out["MUPULSES"]]
    return out


def test_openhdemg_emgfile(recording, written):
    emg = openhdemg_reader(written["openhdemg"])
    assert emg["SOURCE"] in ("DEMUSE", "OTB", "CUSTOMCSV", "DELSYS")
    assert emg["FSAMP"] == 2048.0 and emg["IED"] == 8.0
    assert emg["EMG_LENGTH"] == recording.sizes["time"]
    np.testing.assert_allclose(emg["RAW_SIGNAL"].to_numpy(), recording["emg"].values, rtol=1e-9, atol=1e-9)
    truth = {u: p for u, p in _truth(recording).items() if p.size >= 2}  # openhdemg needs 2
    assert emg["NUMBER_OF_MUS"] == len(truth)
    extras = emg["EXTRAS"]
    units = extras["unit"].to_numpy()[extras["exported"].to_numpy(bool)]
    for j, u in enumerate(units):
        np.testing.assert_array_equal(emg["MUPULSES"][j], truth[u])
        np.testing.assert_array_equal(np.nonzero(emg["BINARY_MUS_FIRING"][j].to_numpy())[0], truth[u])
    assert emg["REF_SIGNAL"].shape == (recording.sizes["time"], 1)


def test_muedit_mat(recording, written):
    sig = scipy.io.loadmat(written["mat"], simplify_cells=True)["signal"]
    assert sig["data"].shape == (64, recording.sizes["time"])
    np.testing.assert_allclose(sig["data"], recording["emg"].values.T * 1e-3)  # mV, as MUedit
    assert sig["fsamp"] == 2048 and sig["nChan"] == 64 and sig["ngrid"] == 1
    assert sig["gridname"] == "GR08MM1305" and isinstance(sig["muscle"], str)
    truth = list(_truth(recording).values())
    for got, want in zip(sig["Dischargetimes"], truth):
        np.testing.assert_array_equal(np.atleast_1d(got), want + 1)  # MATLAB is 1-based


def test_bids_emg(recording, written):
    bdf = written["bids"]
    emg_dir = bdf.parent
    stem = bdf.name.replace("_emg.bdf", "")
    with pyedflib.EdfReader(str(bdf)) as reader:
        labels = reader.getSignalLabels()
        assert labels[:2] == ["EMG1", "EMG2"] and labels[-1] == "FORCE"
        assert reader.getSampleFrequency(0) == 2048
        sig = reader.readSignal(5)[: recording.sizes["time"]]
    emg5 = recording["emg"].values[:, 5]
    assert np.max(np.abs(sig - emg5)) < 1e-3 * np.max(np.abs(emg5))  # 24-bit quantisation
    channels = pd.read_csv(emg_dir / f"{stem}_channels.tsv", sep="\t")
    assert list(channels["type"][:64]) == ["EMG"] * 64 and channels["units"][0] == "uV"
    electrodes = pd.read_csv(emg_dir / "sub-01_electrodes.tsv", sep="\t")
    np.testing.assert_allclose(electrodes["x"], recording["x_mm"].values)
    events = pd.read_csv(emg_dir / f"{stem}_events.tsv", sep="\t")
    assert all(t == f"motor_unit_spike/{u}" for t, u in zip(events["trial_type"], events["unit"]))
    np.testing.assert_array_equal(events["sample"], recording["spike_sample"].values)
    np.testing.assert_allclose(events["onset"], recording["spike_time"].values, atol=1e-8)
    sidecar = json.loads((emg_dir / f"{stem}_emg.json").read_text())
    assert sidecar["SamplingFrequency"] == 2048 and sidecar["EMGChannelCount"] == 64
    assert json.loads((bdf.parents[2] / "dataset_description.json").read_text())["BIDSVersion"]


def test_unknown_format_writes_nothing(recording, tmp_path):
    with pytest.raises(ConfigError, match="'xlsx' is not allowed"):
        write_recording(recording, tmp_path / "out", "netcdf,xlsx")
    assert not (tmp_path / "out").exists()


def test_mismatched_rates_write_nothing(recording, tmp_path):
    bad = recording.assign_attrs(fs_hz=1000.0)
    with pytest.raises(ConfigError, match="mismatched sampling rates"):
        write_recording(bad, tmp_path / "out", "netcdf")
    assert not (tmp_path / "out").exists()


def test_muedit_needs_monopolar(tmp_path):
    act = synthetic_activity(3, 0.5, seed=1)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MNPOOL_CACHE", str(tmp_path / "cache"))
        rec = synthesize(act, EmgConfig(grid=GridConfig(montage="single_differential")), seed=1)
    with pytest.raises(ConfigError, match="monopolar"):
        write_recording(rec, tmp_path / "out", "netcdf,mat")
    assert not (tmp_path / "out").exists()


def test_opens_in_openhdemg_when_installed(recording, written):
    # openhdemg is not a dependency; where it is installed, its own loader and analyses must run
    # on the export (checked with openhdemg 0.1.2).
    emg = pytest.importorskip("openhdemg.library")
    f = emg.emg_from_json(str(written["openhdemg"]))
    assert f["NUMBER_OF_MUS"] == sum(p.size >= 2 for p in _truth(recording).values())
    assert emg.compute_dr(f, event_="rec_derec").shape[0] == f["NUMBER_OF_MUS"]
    sorted_emg = emg.sort_rawemg(f, code="GR08MM1305", orientation=180)
    assert len(emg.sta(f, sorted_emg, firings="all", timewindow=50)) == f["NUMBER_OF_MUS"]
