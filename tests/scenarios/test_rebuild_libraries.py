"""``make libraries``: the steps it runs agree with the commands the library files document."""

from __future__ import annotations

import re

import pytest

from scenarios import rebuild_libraries as R


def test_replace_block_replaces_only_the_named_block():
    text = "a\n<!-- x.md -->\nold\n<!-- /x.md -->\n<!-- y.md -->\nkeep\n<!-- /y.md -->\n"
    assert R.replace_block(text, "x.md", "new\n") == text.replace("old", "new")
    with pytest.raises(ValueError, match="no <!-- z.md -->"):
        R.replace_block(text, "z.md", "")


def test_every_readme_block_the_rebuild_writes_exists():
    text = R.README.read_text()
    for name in ("calibration.md", "calibration_dec.md", "designs.md"):
        assert R.replace_block(text, name, "") != text


@pytest.mark.parametrize("lib", R.LIBRARIES, ids=lambda lib: lib.name)
def test_atlas_of_each_library_is_the_command_its_toml_documents(lib):
    """The TOML's 'Built by' comment and the rebuild's atlas take the same subjects and doses."""
    comment = " ".join(line.lstrip("# ").strip() for line in (R.REPO / lib.config).read_text().splitlines()
                       if line.startswith("#")).replace("\\ ", "")
    documented = re.search(r"mnpool atlas .*?--subjects (\d+) --magnitudes ((?:-?[0-9.]+\s*)+)", comment)
    assert documented, f"{lib.config} documents no 'mnpool atlas' command"
    assert int(documented.group(1)) == lib.subjects
    assert tuple(float(m) for m in documented.group(2).split()) == lib.magnitudes
    assert f"--config {lib.config}" in comment


def test_dry_run_lists_every_step_in_order(tmp_path, capsys):
    R.main(["--out", str(tmp_path / "build"), "--dry-run"])
    lines = capsys.readouterr().out.splitlines()
    atlases = [ln for ln in lines if ln.startswith("mnpool atlas")]
    assert len(atlases) == 3 and all("--subjects" in ln for ln in atlases)
    kinds = [ln.split()[1] if ln.startswith("mnpool") else ln.split()[0] for ln in lines]
    assert kinds == ["atlas", "copy", "atlas", "copy", "atlas", "copy", "calibrate", "README.md:",
                     "calibrate", "README.md:", "designs", "README.md:"]
    assert not (tmp_path / "build").exists()  # a dry run writes nothing


# ---------------------------------------------------------------- staged builds of a candidate body
@pytest.fixture
def staging(tmp_path, monkeypatch):
    """A repository of one tiny library (TOML, shipped path) with its staging folder."""
    repo = tmp_path / "repo"
    (repo / "scenarios" / "library" / "next").mkdir(parents=True)
    (repo / "scenarios" / "library" / "tiny.toml").write_text("[pool]\nn_units = 7\n")
    lib = R.Library("tiny", "scenarios/library/tiny.toml", "scenarios/library/tiny.nc", 2, (0.3,))
    monkeypatch.setattr(R, "REPO", repo)
    monkeypatch.setattr(R, "NEXT_DIR", repo / "scenarios" / "library" / "next")
    monkeypatch.setattr(R, "BODY", R.NEXT_DIR / "body.toml")
    monkeypatch.setattr(R, "LANDING_PATCH", R.NEXT_DIR / "landing.patch")
    monkeypatch.setattr(R, "LIBRARIES", (lib,))
    monkeypatch.setattr(R, "_figures", lambda out, dry_run: None)
    return repo, lib


def _staged_library(lib, config, **attrs):
    """A library Dataset as the staged atlas of ``lib`` built from ``config`` records it."""
    import numpy as np
    import xarray as xr

    from scenarios.atlas import atlas_inputs
    from simulator.io import save_netcdf
    from simulator.network import model_equations_hash
    base, cohort, battery = atlas_inputs(config, subjects=lib.subjects)
    ds = xr.Dataset({"change": (("site", "measure"), np.zeros((1, 1)))})
    ds.attrs = {"base_config": base.to_dict(), "cohort": cohort.to_dict(), "battery": battery.to_dict(),
                "model_equations": model_equations_hash(), "model_fingerprint": "0" * 16,
                "build_command": "mnpool atlas --config library-build/next/tiny.toml", **attrs}
    save_netcdf(ds, lib.staged)


def test_body_mismatches_name_what_the_defaults_lack(staging):
    from simulator.models.pool import PoolConfig
    R.BODY.write_text(f"[pool]\nrecruitment_range = 41.5\nn_units = {PoolConfig().n_units}\n")
    assert R._body_mismatches() == [f"pool.recruitment_range = 41.5 (default {PoolConfig().recruitment_range!r})"]
    with pytest.raises(SystemExit, match="not the staged body's yet: pool.recruitment_range") as err:
        R.land(staging[0] / "build")
    assert "git am" not in str(err.value)
    R.LANDING_PATCH.write_text("From 0 Mon Sep 17 00:00:00 2001\n")  # a prepared change is named
    with pytest.raises(SystemExit, match="git am scenarios/library/next/landing.patch"):
        R.land(staging[0] / "build")


def test_land_stamps_the_staged_library_and_moves_it_with_its_toml(staging):
    from simulator.io import load_netcdf
    from simulator.simulation import model_fingerprint
    repo, lib = staging
    R.BODY.write_text("[pool]\nn_units = 200\n")   # the defaults already: nothing to apply
    lib.next_config.write_text("[pool]\nn_units = 9\n")  # the library's TOML changes with the body
    _staged_library(lib, lib.next_config)
    R.land(repo / "build")
    shipped = load_netcdf(repo / lib.shipped)
    assert shipped.attrs["model_fingerprint"] == model_fingerprint()
    assert shipped.attrs["build_command"] == lib.command == (
        "mnpool atlas --config scenarios/library/tiny.toml --out tiny --subjects 2 --magnitudes 0.3")
    assert (repo / lib.config).read_text() == "[pool]\nn_units = 9\n"
    assert not lib.staged.exists() and not lib.next_config.exists()


@pytest.mark.parametrize("attr, value", [("model_equations", "f" * 16), ("base_config", {"seed": 1})])
def test_land_refuses_a_library_of_another_body_and_moves_nothing(staging, attr, value):
    repo, lib = staging
    R.BODY.write_text("[pool]\nn_units = 200\n")
    _staged_library(lib, repo / lib.config, **{attr: value})
    with pytest.raises(SystemExit, match=f"simulated with another {attr} than scenarios/library/tiny.toml"):
        R.land(repo / "build")
    assert lib.staged.exists() and not (repo / lib.shipped).exists()


def test_land_names_a_library_not_staged(staging):
    R.BODY.write_text("[pool]\nn_units = 200\n")
    with pytest.raises(SystemExit, match=r"next/tiny.nc is not built \(--stage --only tiny\)"):
        R.land(staging[0] / "build")


def test_stage_writes_the_toml_over_the_body(staging, monkeypatch):
    repo, lib = staging
    R.BODY.write_text("[pool]\nrecruitment_range = 37.5\nn_units = 50\n[neuromodulation]\neffort_gain = 0.5\n")
    runs = []
    monkeypatch.setattr(R, "_mnpool", lambda args, dry_run: runs.append(args))
    with pytest.raises(FileNotFoundError):  # the stand-in atlas writes no library.nc to copy
        R.stage(repo / "build")
    config = runs[0][runs[0].index("--config") + 1]
    from simulator.config import load_toml
    assert load_toml(repo / config) == {"pool": {"recruitment_range": 37.5, "n_units": 7},
                                        "neuromodulation": {"effort_gain": 0.5}}
