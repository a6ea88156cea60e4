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
