"""The ledger of fitted constants and predictions agrees with the code and the README."""

from __future__ import annotations

from pathlib import Path

from validation import ledger as L

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- ledger:start -->", "<!-- ledger:end -->"


def test_ledger_matches_the_code():
    """Every fitted/input constant is the code's default; every prediction names its test."""
    book = L.load()
    assert book["fitted"] and book["predicted"]
    assert L.problems(book) == []


def test_every_body_part_has_a_fast_prediction():
    """Each body part has at least one prediction re-measured in the default (not slow) suite."""
    rows = L.load()["predicted"]
    assert {row["part"] for row in rows} == set(L.PARTS)
    assert {row["part"] for row in rows if L.is_fast(row)} == set(L.PARTS)


def test_readme_shows_the_ledger():
    """The README's ledger section is the rendering of validation/ledger.toml (regenerate with
    ``python -m validation.ledger README.md``)."""
    text = (ROOT / "README.md").read_text()
    block = text.split(START, 1)[1].split(END, 1)[0]
    assert block.strip() == L.render_markdown(L.load()).strip()


def test_problems_are_found(tmp_path):
    bad = tmp_path / "ledger.toml"
    bad.write_text('[[fitted]]\nname = "muscle.troponin_km"\nvalue = 0.5\ntarget = "x"\nsource = "y"\n'
                   '[[predicted]]\nquantity = "q"\npart = "liver"\nunit = "1"\npublished = 1\nlow = 0\n'
                   'high = 2\nsimulated = 3\nsource = "s"\ntest = "tests/none.py::test_none"\n')
    found = L.problems(L.load(bad), ROOT)
    assert any("troponin_km" in p for p in found)
    assert any("liver" in p for p in found)
    assert any("not found" in p for p in found)
    assert not L.passes(L.load(bad)["predicted"][0])


def test_recorded_values_are_read_from_a_junit_report(tmp_path):
    """The values a test records (``record_property``) come back keyed by ``path::function``."""
    import subprocess
    import sys
    test = tmp_path / "test_rec.py"
    test.write_text("def test_a(record_property):\n    record_property('v_msup', 0.4)\n\n"
                    "def test_b():\n    pass\n")
    xml = tmp_path / "r.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                    f"--rootdir={tmp_path}", str(test), f"--junitxml={xml}"], check=True,
                   capture_output=True, cwd=tmp_path)
    assert L.recorded(xml) == {"test_rec.py::test_a": {"v_msup": "0.4"}}
