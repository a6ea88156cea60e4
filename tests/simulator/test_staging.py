"""Output folders: checked before work, published whole or not at all (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from simulator.config import ConfigError
from simulator.staging import MARKER, check_out, read_marker, staged_output


def _leftovers(parent):
    return sorted(p.name for p in parent.iterdir() if ".mnpool-" in p.name)


def test_out_under_a_file_is_rejected(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match="'afile' is a file|is a file, not a folder"):
        check_out(tmp_path / "afile" / "sub")
    with pytest.raises(ConfigError, match="exists and is not a folder"):
        check_out(tmp_path / "afile")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_unwritable_parent_is_rejected(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(ConfigError, match="no write permission"):
            check_out(ro / "out")
    finally:
        ro.chmod(0o700)


def test_non_empty_folder_needs_overwrite_and_a_marker(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="is not empty .*--overwrite"):
        check_out(out)
    with pytest.raises(ConfigError, match="mnpool did not write"):
        check_out(out, overwrite=True)
    check_out(tmp_path / "empty")  # missing: fine
    (tmp_path / "empty").mkdir()
    check_out(tmp_path / "empty")  # empty: fine


def test_publish_whole_and_replace_stale_files(tmp_path):
    out = tmp_path / "deep" / "out"
    with staged_output(out, command="t") as tmp:
        (tmp / "decomposition.nc").write_text("new")
        (tmp / "score.nc").write_text("new")
        assert not out.exists()
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "decomposition.nc", "score.nc"]
    assert read_marker(out)["command"] == "t"
    with pytest.raises(ConfigError, match="not empty"):
        check_out(out)
    check_out(out, overwrite=True)
    with staged_output(out, command="t", overwrite=True) as tmp:
        (tmp / "decomposition.nc").write_text("newer")
    # the stale score.nc of the first run does not survive beside the new decomposition
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "decomposition.nc"]
    assert (out / "decomposition.nc").read_text() == "newer"
    assert _leftovers(out.parent) == []


def test_failure_leaves_nothing(tmp_path):
    out = tmp_path / "a" / "b" / "out"
    with pytest.raises(RuntimeError):
        with staged_output(out, command="t") as tmp:
            (tmp / "recording.nc").write_text("half")
            raise RuntimeError("figure failed")
    assert not (tmp_path / "a").exists()  # the parents this run created are gone too
    existing = tmp_path / "kept"
    existing.mkdir()
    (existing / "old.nc").write_text("old")
    (existing / MARKER).write_text('{"command": "t"}')
    with pytest.raises(KeyboardInterrupt):
        with staged_output(existing, command="t", overwrite=True) as tmp:
            (tmp / "new.nc").write_text("half")
            raise KeyboardInterrupt
    assert sorted(p.name for p in existing.iterdir()) == [MARKER, "old.nc"]
    assert _leftovers(tmp_path) == []


def test_temporaries_of_killed_runs_are_removed(tmp_path):
    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / ".out.mnpool-abc.tmp"
    stale.mkdir()
    (stale / ".pid").write_text(dead)
    (stale / "activity.nc").write_text("partial")
    live = tmp_path / ".out.mnpool-def.tmp"
    live.mkdir()
    (live / ".pid").write_text(str(os.getpid()))
    check_out(out)
    assert not stale.exists() and live.exists()
