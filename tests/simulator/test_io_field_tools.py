"""Exports opened by the field's own tools: openhdemg, MUedit's data structure, DEMUSE, mne-bids
and the BIDS validator (each tool's test skips where it is not installed)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import warnings
from io import StringIO

import numpy as np
import pandas as pd
import pytest
import scipy.io

from simulator import measures
from simulator.emg import EmgConfig, synthesize
from simulator.io import (MIN_DISCHARGES_OPENHDEMG, export_openhdemg,
                          openhdemg_unit_ids, read_demuse_mat, write_recording)
from simulator.testing import synthetic_activity


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MNPOOL_CACHE", str(tmp_path_factory.mktemp("muap_cache")))
        act = synthetic_activity(12, 3.0, seed=4, profile="trapezoid", peak_excitation=0.5)
        rec = synthesize(act, EmgConfig(), seed=3)
    # the last recruited unit keeps a single discharge: openhdemg cannot smooth it, so the
    # export leaves it out
    su = rec["spike_unit"].values
    lone = np.flatnonzero(su == su.max())
    assert lone.size >= 2
    return rec.isel(spike=np.setdiff1d(np.arange(su.size), lone[1:]))


def _lone(rec) -> int:
    return int(rec["spike_unit"].values.max())


@pytest.fixture(scope="module")
def written(recording, tmp_path_factory):
    out = tmp_path_factory.mktemp("export")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return write_recording(recording, out, "openhdemg,mat,demuse,bids")


def _truth(rec) -> dict[int, np.ndarray]:
    su, ss = rec["spike_unit"].values, rec["spike_sample"].values
    return {u: np.sort(ss[su == u]) for u in range(rec.sizes["unit"])}


def _emgfile(path) -> dict:
    """The fields of an openhdemg JSON emgfile, read as ``emg_from_json`` reads them."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        raw = json.load(fh)
    out = {k: json.loads(raw[k]) for k in ("MUPULSES", "FSAMP", "NUMBER_OF_MUS", "EMG_LENGTH")}
    for k in ("REF_SIGNAL", "BINARY_MUS_FIRING", "EXTRAS"):
        out[k] = pd.read_json(StringIO(raw[k]), orient="split")
    return out


def test_openhdemg_leaves_out_units_below_two_discharges(recording, tmp_path):
    lone = _lone(recording)
    with pytest.warns(UserWarning, match=rf"unit\(s\) {lone} discharge fewer than 2"):
        path = export_openhdemg(recording, tmp_path / "r.json")
    f = _emgfile(path)
    truth = _truth(recording)
    kept = [u for u, p in truth.items() if p.size >= MIN_DISCHARGES_OPENHDEMG]
    assert f["NUMBER_OF_MUS"] == len(kept) == len(f["MUPULSES"])
    ex = f["EXTRAS"]
    assert list(ex["unit"]) == list(range(recording.sizes["unit"]))
    assert not ex["exported"][lone] and ex["emgfile_index"][lone] == -1
    assert ex["n_discharges"][lone] == 1
    assert np.allclose(ex["mvc_n"], recording.attrs["mvc_n"])
    for j, u in enumerate(kept):
        np.testing.assert_array_equal(f["MUPULSES"][j], truth[u])
        assert ex["emgfile_index"][u] == j


def test_openhdemg_unit_ids_survive_deleting_and_sorting(recording, written):
    f = _emgfile(written["openhdemg"])
    ids = openhdemg_unit_ids(f["MUPULSES"], f["EXTRAS"])
    assert ids == [u for u, p in _truth(recording).items() if p.size >= 2]
    # what openhdemg's delete_mus and sort_mus leave: a subset of the trains, reordered
    keep = [4, 0, 2]
    assert openhdemg_unit_ids([f["MUPULSES"][k] for k in keep], f["EXTRAS"]) == [ids[k] for k in keep]
    assert openhdemg_unit_ids([[1, 5, 9]], f["EXTRAS"]) == [-1]  # an edited train matches none


def test_muedit_editing_fields(recording, written):
    sig = scipy.io.loadmat(written["mat"], simplify_cells=True)["signal"]
    n = recording.sizes["time"]
    np.testing.assert_allclose(sig["data"], recording["emg"].values.T * 1e-3)  # mV, as MUedit
    fired = [u for u, p in _truth(recording).items() if p.size]
    assert sig["Pulsetrain"].shape == (len(fired), n)
    assert sig["EMGmask"].shape == (64,) and not sig["EMGmask"].any()
    assert sig["ngrid"] == 1 and sig["emgtype"] == 1 and sig["IED"] == 8.0
    for j, u in enumerate(fired):
        want = _truth(recording)[u]
        got = np.atleast_1d(sig["Dischargetimes"][j]).astype(int)
        np.testing.assert_array_equal(got, want + 1)  # MATLAB is 1-based
        # MUedit plots Pulsetrain at Dischargetimes: the ground truth must sit on its peaks
        np.testing.assert_array_equal(np.flatnonzero(sig["Pulsetrain"][j]), want)


def test_demuse_round_trip(recording, written, tmp_path):
    back = read_demuse_mat(written["demuse"])
    truth = _truth(recording)
    fired = [u for u, p in truth.items() if p.size]
    mat = scipy.io.loadmat(written["demuse"], simplify_cells=True)
    assert list(np.atleast_1d(mat["mnpool_unit"]).astype(int)) == fired
    assert back.attrs["fs_hz"] == recording.attrs["fs_hz"]
    for j, u in enumerate(fired):
        np.testing.assert_array_equal(back["spike_sample"].values[back["spike_unit"].values == j],
                                      truth[u])
    assert np.asarray(mat["IPTs"]).shape == (len(fired), recording.sizes["time"])
    np.testing.assert_allclose(np.ravel(mat["SIG"][3]), recording["emg"].values[:, 3])


def test_bids_layout_and_sidecars(recording, written):
    emg_dir = written["bids"].parent
    root = emg_dir.parents[1]
    desc = json.loads((root / "dataset_description.json").read_text())
    assert desc["BIDSVersion"] == "1.11.0"
    assert (root / "README.md").read_text().startswith("# mnpool")
    sidecar = json.loads((emg_dir / "sub-01_task-synthetic_emg.json").read_text())
    assert sidecar["RecordingType"] == "continuous"
    defs = json.loads((emg_dir / "sub-01_electrodes.json").read_text())
    assert {"row", "col"} <= set(defs)
    events = pd.read_csv(emg_dir / "sub-01_task-synthetic_events.tsv", sep="\t")
    np.testing.assert_array_equal(events["unit"], recording["spike_unit"].values)
    assert all(t == f"motor_unit_spike/{u}" for t, u in zip(events["trial_type"], events["unit"]))


def _validator() -> str | None:
    return os.environ.get("MNPOOL_BIDS_VALIDATOR") or shutil.which("bids-validator-deno")


@pytest.mark.skipif(_validator() is None, reason="needs bids-validator-deno (PyPI) on PATH or "
                    "MNPOOL_BIDS_VALIDATOR")
def test_bids_validator_reports_no_error(written):
    root = written["bids"].parents[2]
    proc = subprocess.run([_validator(), str(root), "--format", "json"], capture_output=True,
                          text=True, timeout=600)
    issues = json.loads(proc.stdout)["issues"]["issues"]
    errors = [(i["code"], i.get("subCode"), i.get("location")) for i in issues
              if i["severity"] == "error"]
    assert errors == []


def test_mne_bids_reads_emg_channels_and_unit_events(recording, written):
    mne_bids = pytest.importorskip("mne_bids")
    import mne
    path = mne_bids.BIDSPath(subject="01", task="synthetic", datatype="emg", suffix="emg",
                             extension=".bdf", root=written["bids"].parents[2])
    raw = mne_bids.read_raw_bids(path, verbose="error")
    types = raw.get_channel_types()
    assert types[:64] == ["emg"] * 64 and types[64] == "misc"
    np.testing.assert_allclose(raw.get_data(picks=[5])[0][:recording.sizes["time"]] * 1e6,
                               recording["emg"].values[:, 5], atol=2e-3 * np.abs(recording["emg"].values[:, 5]).max())
    _, ids = mne.events_from_annotations(raw, verbose="error")
    assert set(ids) == {f"motor_unit_spike/{u}" for u in np.unique(recording["spike_unit"].values)}


def test_openhdemg_opens_edits_and_measures_the_export(recording, written):
    # openhdemg is not a dependency; where it is installed (checked with 0.1.2) its loader,
    # smoothing, delta-F, deleting and sorting run on the export, and its measures equal mnpool's
    emg = pytest.importorskip("openhdemg.library")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = emg.emg_from_json(str(written["openhdemg"]))
        svr = emg.compute_svr(f)
        emg.compute_deltaf(f, svr["gensvr"])
        th = emg.compute_thresholds(f, event_="rt_dert", type_="rel")
        dr = emg.compute_dr(f, event_="rec_derec")
        edited = emg.sort_mus(emg.delete_mus(f, [0, 2]))
    ids = openhdemg_unit_ids(f["MUPULSES"], f["EXTRAS"])
    assert sorted(openhdemg_unit_ids(edited["MUPULSES"], edited["EXTRAS"])) == \
        sorted(i for k, i in enumerate(ids) if k not in (0, 2))
    # same spikes on the recording's own samples: openhdemg's values exactly
    t = recording["time"].values
    trains = {u: recording["spike_time"].values[recording["spike_unit"].values == u] for u in ids}
    force = recording["force_mvc"].values
    for j, u in enumerate(ids):
        rt, dert = measures.thresholds(trains[u], t, force)
        assert rt == pytest.approx(th["rel_RT"][j]) and dert == pytest.approx(th["rel_DERT"][j])
        # mnpool uses spike times, openhdemg sample differences: one sample's time per interval
        tol = 2.0 / recording.attrs["fs_hz"] * dr["DR_rec"][j] ** 2
        assert measures.rate_at_recruitment(trains[u]) == pytest.approx(dr["DR_rec"][j], abs=tol)
