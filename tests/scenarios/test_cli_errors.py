"""Every command: one error line and exit 2 on bad input, ``--out`` checked before work, nothing
half-written, nothing overwritten silently (issue 16; one test per reproduction)."""

from __future__ import annotations

import contextlib
import io
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scenarios.cli import main
from simulator.io import CONVENTIONS, load_netcdf, save_netcdf
from simulator.staging import MARKER
from simulator.testing import synthetic_activity
from validation.testing import toy_recording

SMALL = ("calibration_ramp_s = 2.0\ncalibration_hold_s = 1.0\n[pool]\nn_units = 10\n"
         "[task]\nlevel = 15\nrise_s = 0.5\nplateau_s = 0.5\nfall_s = 0.5\n")


def run(argv):
    """``main(argv)`` -> (status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()


def assert_one_line_error(status, err, *needles):
    assert status == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("mnpool: error: "), err
    assert len(lines[0]) < 800
    for n in needles:
        assert n in lines[0], lines[0]


def files_under(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    act = synthetic_activity(6, 1.0, seed=1)
    rec = toy_recording(n_units=3, n_channels=8, duration_s=1.0, grid=(4, 2))
    return {"activity": save_netcdf(act, d / "activity.nc"), "recording": save_netcdf(rec, d / "rec.nc"),
            "dir": d}


@pytest.fixture
def no_simulation(monkeypatch):
    """Fail the test if a command starts simulating (the check must come first)."""
    import importlib

    import simulator.simulation as sim
    # modules that bind ``simulate`` at import must bind the real one, not the stand-in below
    for name in ("scenarios.evoked", "scenarios.experiments", "scenarios.training"):
        importlib.import_module(name)

    def boom(*a, **k):
        raise AssertionError("the simulation started before the input was checked")
    monkeypatch.setattr(sim, "simulate", boom)


# ---------------------------------------------------------------- 1. configs that crashed
@pytest.mark.parametrize("content, needle", [
    (b"seed = 1\n\xff\xfe\x00\x89PNG", "is not UTF-8 text"),
    (("x = " + "[" * 3000 + "]" * 3000 + "\n").encode(), "too deeply"),
    (("x = " + "{a=" * 3000 + "1" + "}" * 3000 + "\n").encode(), "too deeply"),
    (b"seed = 1.0\n", "seed = 1.0 must be an integer"),
    (b"[pool]\nn_units = 10.0\n", "pool.n_units = 10.0 must be an integer"),
    (b"[cortex]\ni_wave_amplitudes = 5\n", "must be a list of numbers"),
    (("[cortex]\ni_wave_amplitudes = [" + ", ".join(["-1.0"] * 200_000) + "]\n").encode(),
     "200000 items"),
])
def test_bad_configs_are_one_line(tmp_path, no_simulation, content, needle):
    cfg = tmp_path / "c.toml"
    cfg.write_bytes(content)
    assert_one_line_error(*run(["simulate", "--config", cfg, "--out", tmp_path / "o"])[::2], needle)
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- 2. --out checked before work
def test_out_under_a_file_fails_before_any_work(tmp_path, inputs, no_simulation):
    (tmp_path / "afile").write_text("x")
    bad = tmp_path / "afile" / "sub"
    cfg = tmp_path / "c.toml"
    cfg.write_text(SMALL)
    dec = tmp_path / "dec.csv"
    dec.write_text("unit,sample\n0,10\n0,400\n")
    for argv in (["simulate", "--config", cfg], ["emg", "--activity", inputs["activity"]],
                 ["decompose", "--recording", inputs["recording"]],
                 ["score", "--recording", inputs["recording"], "--decomposition", dec]):
        status, _, err = run([*argv, "--out", bad])
        assert_one_line_error(status, err, "is a file, not a folder")
    assert files_under(tmp_path) == ["afile", "c.toml", "dec.csv"]


@pytest.mark.parametrize("variable, value, needle", [
    ("MNPOOL_ENGINE", "gpu", "MNPOOL_ENGINE = 'gpu' is not allowed"),
    ("MNPOOL_SCRATCH", "/nonexistent/scratch", "MNPOOL_SCRATCH = '/nonexistent/scratch' is not a writable"),
])
def test_bad_environment_is_one_line_before_any_work(tmp_path, no_simulation, monkeypatch,
                                                     variable, value, needle):
    monkeypatch.setenv(variable, value)
    cfg = tmp_path / "c.toml"
    cfg.write_text(SMALL)
    assert_one_line_error(*run(["simulate", "--config", cfg, "--out", tmp_path / "o"])[::2], needle)
    assert not (tmp_path / "o").exists()


# ---------------------------------------------------------------- 3./4. partial output, overwrite
def test_emg_failure_half_way_leaves_nothing(tmp_path, inputs, monkeypatch):
    import simulator.plotting as plotting

    def broken(*a, **k):
        raise RuntimeError("figure failed")
    monkeypatch.setattr(plotting, "emg_figures", broken)
    with pytest.raises(RuntimeError, match="figure failed"):
        run(["emg", "--activity", inputs["activity"], "--out", tmp_path / "o", "--quiet"])
    assert files_under(tmp_path) == []


def test_second_run_needs_overwrite_and_replaces_stale_files(tmp_path, inputs):
    out = tmp_path / "o"
    argv = ["emg", "--activity", inputs["activity"], "--out", out, "--quiet", "--no-figures"]
    assert run(argv)[0] == 0
    first = files_under(out)
    assert "recording.nc" in first and MARKER in first
    (out / "score.nc").write_text("stale")  # a leftover of an earlier, different run
    status, _, err = run(argv)
    assert_one_line_error(status, err, "is not empty", "--overwrite")
    assert (out / "score.nc").exists()
    assert run([*argv, "--overwrite"])[0] == 0
    assert files_under(out) == first  # the stale file did not survive
    assert files_under(tmp_path) == sorted(["o", *[f"o/{f}" for f in first]])


def test_overwrite_never_replaces_a_foreign_folder(tmp_path, inputs):
    (tmp_path / "mine.txt").write_text("keep")
    status, _, err = run(["emg", "--activity", inputs["activity"], "--out", tmp_path, "--quiet",
                          "--overwrite"])
    assert_one_line_error(status, err, "mnpool did not write")
    assert files_under(tmp_path) == ["mine.txt"]


# ---------------------------------------------------------------- 5. path traversal
def test_benchmark_manifest_cannot_write_outside_out(tmp_path):
    from validation import benchmark as bm
    suite = tmp_path / "suite"
    bm.make_suite(suite, bm.SuiteConfig(snr_db=(20.0,), contraction_mvc=(10.0,), n_units=(30,),
                                         duration_s=1.0), factory=bm.toy_factory)
    man = json.loads((suite / bm.MANIFEST).read_text())
    man["recordings"][0]["id"] = "../../x"
    (suite / bm.MANIFEST).write_text(json.dumps(man))
    before = files_under(tmp_path)
    status, _, err = run(["benchmark", "run", "--suite", suite, "--out", tmp_path / "a" / "b"])
    assert_one_line_error(status, err, "must be a plain name")
    assert files_under(tmp_path) == before


# ---------------------------------------------------------------- 6. damaged inputs
@pytest.mark.parametrize("command", ["emg", "decompose", "score"])
@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_damaged_netcdf_is_one_line_naming_the_file(tmp_path, inputs, command, damage):
    src = inputs["activity" if command == "emg" else "recording"]
    bad = tmp_path / "bad.nc"
    data = src.read_bytes()
    bad.write_bytes({"empty": b"", "truncated": data[:len(data) // 2],
                     "garbage": bytes(range(256)) * 20}[damage])
    argv = {"emg": ["emg", "--activity", bad],
            "decompose": ["decompose", "--recording", bad],
            "score": ["score", "--recording", bad, "--decomposition", inputs["recording"]]}[command]
    status, _, err = run([*argv, "--out", tmp_path / "o"])
    assert_one_line_error(status, err, str(bad))
    assert not (tmp_path / "o").exists()


def _altered(path, tmp_path, change):
    ds = load_netcdf(path)
    change(ds)
    return save_netcdf(ds, tmp_path / f"altered_{path.name}")


@pytest.mark.parametrize("change, needle", [
    (lambda ds: ds.attrs.update(fs_force_hz="fast"), "must be a number of Hz"),
    (lambda ds: ds.attrs.update(duration_s=-2.0), "finite positive"),
    (lambda ds: ds.attrs.update(duration_s=float("nan")), "finite positive"),
    (lambda ds: ds.attrs.update(duration_s=1e15), "at most 3600 s"),
    (lambda ds: ds["spike_time"].values.__setitem__(0, np.nan), "outside the recording"),
    (lambda ds: ds["spike_time"].values.__setitem__(0, -1.0), "outside the recording"),
    (lambda ds: ds["spike_time"].values.__setitem__(0, 50.0), "outside the recording"),
])
def test_bad_activity_attributes_are_refused_by_emg(tmp_path, inputs, change, needle):
    bad = _altered(inputs["activity"], tmp_path, change)
    status, _, err = run(["emg", "--activity", bad, "--out", tmp_path / "o", "--quiet"])
    assert_one_line_error(status, err, needle)
    assert not (tmp_path / "o").exists()


def test_zero_duration_activity_is_refused(tmp_path, inputs):
    def empty(ds):
        ds.attrs["duration_s"] = 0.0
    bad = _altered(inputs["activity"], tmp_path, empty)
    status, _, err = run(["emg", "--activity", bad, "--out", tmp_path / "o", "--quiet"])
    assert_one_line_error(status, err, "finite positive")


@pytest.mark.parametrize("change, needle", [
    (lambda ds: ds.attrs.pop("fs_hz"), "no attrs['fs_hz']"),
    (lambda ds: ds.attrs.update(fs_hz=1000.0), "mismatched sampling rates"),
])
def test_bad_recordings_are_refused_by_decompose_and_score(tmp_path, inputs, change, needle):
    bad = _altered(inputs["recording"], tmp_path, change)
    for argv in (["decompose", "--recording", bad, "--out", tmp_path / "o"],
                 ["score", "--recording", bad, "--decomposition", tmp_path / "x.csv"]):
        (tmp_path / "x.csv").write_text("unit,sample\n0,1\n")
        assert_one_line_error(*run(argv)[::2], needle)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("name, content, needle", [
    ("d.csv", b"", "is empty"),
    ("d.json", b"\x00garbage{", "is not an openhdemg JSON file"),
    ("d.mat", b"MATLAB 5.0 MAT-file garbage", "not a readable decomposition"),
])
def test_garbage_decompositions_to_score(tmp_path, inputs, name, content, needle):
    p = tmp_path / name
    p.write_bytes(content)
    status, _, err = run(["score", "--recording", inputs["recording"], "--decomposition", p,
                          "--out", tmp_path / "o"])
    assert_one_line_error(status, err, str(p), needle)
    assert not (tmp_path / "o").exists()


def test_score_refuses_a_recording_as_decomposition(tmp_path, inputs):
    status, _, err = run(["score", "--recording", inputs["recording"], "--decomposition",
                          inputs["recording"]])
    assert_one_line_error(status, err, "not a decomposition")


def test_infer_extreme_and_binary_observations(tmp_path):
    from scenarios.training import LIBRARY
    lib = LIBRARY / "reference_library.nc"
    obs = tmp_path / "obs.toml"
    obs.write_text("[measures.mvc]\nchange = 1e308\nsd = 1e-308\n")
    assert_one_line_error(*run(["infer", "--library", lib, "--observed", obs, "--out", tmp_path / "o"])[::2],
                          "out of range")
    obs.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff")
    assert_one_line_error(*run(["infer", "--library", lib, "--observed", obs, "--out", tmp_path / "o"])[::2],
                          "not UTF-8")
    obs.write_text("[measures.mvc]\nchange = 1e6\nsd = 1.0\n")
    status, out, err = run(["infer", "--library", lib, "--observed", obs, "--out", tmp_path / "o"])
    assert status == 0
    assert [ln for ln in err.splitlines() if ln.strip()] == [
        ln for ln in err.splitlines() if ln.startswith("mnpool: warning: the observation is far")]
    assert "WARNING: no library entry explains" in (tmp_path / "o" / "summary.txt").read_text()


def test_infer_and_calibrate_refuse_a_library_of_another_model(tmp_path):
    """Issue 14, bad input: a library simulated by another body (its model fingerprint) is one
    clear error naming the file and the rebuild command, before any inference; the flag
    --allow-other-model accepts it on purpose."""
    from scenarios.training import LIBRARY
    lib = load_netcdf(LIBRARY / "reference_library.nc")
    lib.attrs["model_fingerprint"] = "0123456789abcdef"
    stale = save_netcdf(lib, tmp_path / "stale.nc")
    obs = tmp_path / "obs.toml"
    obs.write_text("[measures.mvc]\nchange = 5.0\nsd = 2.0\n")
    for args in (["infer", "--library", stale, "--observed", obs], ["calibrate", "--library", stale]):
        status, _, err = run([*args, "--out", tmp_path / "o"])
        assert_one_line_error(status, err, "stale.nc was simulated by another model")
        assert "0123456789abcdef" in err and "mnpool atlas --config" in err
        assert not (tmp_path / "o").exists()
    status, _, _ = run(["infer", "--library", stale, "--observed", obs, "--allow-other-model",
                        "--out", tmp_path / "o"])
    assert status == 0 and (tmp_path / "o" / "posterior.nc").is_file()


# ---------------------------------------------------------------- 7. accepted silently
def test_json_prefixed_string_attributes_stay_strings(tmp_path):
    import xarray as xr
    ds = xr.Dataset({"x": ("t", [1.0])}, attrs={"note": 'json:{"a": 1}'})
    ds.to_netcdf(tmp_path / "foreign.nc", engine="h5netcdf")  # not written by mnpool
    assert load_netcdf(tmp_path / "foreign.nc").attrs["note"] == 'json:{"a": 1}'
    ours = save_netcdf(xr.Dataset(attrs={"cfg": {"a": 1}, "note": "json:[1"}), tmp_path / "ours.nc")
    back = load_netcdf(ours)
    assert back.attrs == {"cfg": {"a": 1}, "note": "json:[1", "Conventions": CONVENTIONS}


def test_simulate_no_figures_writes_no_png(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "o"
    assert run(["simulate", "--config", cfg, "--out", out, "--quiet", "--no-figures"])[0] == 0
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "activity.nc", "config.toml",
                                                     "report.html"]
    assert "data:image/png" not in (out / "report.html").read_text()


# ---------------------------------------------------------------- 9. sweep functions run code
def test_sweep_help_says_the_function_runs_code():
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf), pytest.raises(SystemExit):
        main(["sweep", "--help"])
    text = " ".join(buf.getvalue().split())
    assert "runs code" in text and "current folder" in text


# ---------------------------------------------------------------- fuzz every loader via the CLI
FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(data=st.binary(max_size=3000), command=st.sampled_from(["emg", "decompose", "score-rec",
                                                                 "score-dec", "infer"]))
def test_fuzz_inputs_exit_2_one_line_nothing_written(tmp_path_factory, inputs, data, command):
    d = tmp_path_factory.mktemp("fuzz")
    bad = d / {"infer": "obs.toml", "score-dec": "d.json"}.get(command, "x.nc")
    bad.write_bytes(data)
    from scenarios.training import LIBRARY
    argv = {"emg": ["emg", "--activity", bad],
            "decompose": ["decompose", "--recording", bad],
            "score-rec": ["score", "--recording", bad, "--decomposition", inputs["recording"]],
            "score-dec": ["score", "--recording", inputs["recording"], "--decomposition", bad],
            "infer": ["infer", "--library", LIBRARY / "reference_library.nc", "--observed", bad]}[command]
    status, _, err = run([*argv, "--out", d / "o"])
    assert_one_line_error(status, err)
    assert files_under(d) == [bad.name]
