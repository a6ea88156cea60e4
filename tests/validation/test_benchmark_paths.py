"""Paths built from a suite manifest stay inside their folders (issue 16, reproduction 5)."""

from __future__ import annotations

import json

import pytest

from simulator.loading import InputError
from validation import benchmark as bm


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    d = tmp_path_factory.mktemp("suite") / "suite"
    cfg = bm.SuiteConfig(snr_db=(20.0,), contraction_mvc=(10.0,), n_units=(30,), duration_s=1.0)
    bm.make_suite(d, cfg, factory=bm.toy_factory)
    return d


def _tamper(suite, tmp_path, **changes):
    copy = tmp_path / "suite"
    copy.mkdir()
    man = json.loads((suite / bm.MANIFEST).read_text())
    for name in {r["file"] for r in man["recordings"]}:
        (copy / name).write_bytes((suite / name).read_bytes())
    man["recordings"][0].update(changes)
    (copy / bm.MANIFEST).write_text(json.dumps(man))
    return copy


@pytest.mark.parametrize("changes, message", [
    ({"id": "../../x"}, "must be a plain name"),
    ({"id": "/tmp/x"}, "must be a plain name"),
    ({"id": "a*"}, "must be a plain name"),
    ({"id": 7}, "must be a plain name"),
    ({"file": "../outside.nc"}, "must be a relative path inside the suite folder"),
    ({"file": "/etc/passwd"}, "must be a relative path inside the suite folder"),
    ({"file": None}, "must be a non-empty string"),
    ({"seed": -1}, "must be an integer >= 0"),
])
def test_hostile_manifest_is_rejected_before_any_write(suite, tmp_path, changes, message):
    bad = _tamper(suite, tmp_path, **changes)
    out = tmp_path / "a" / "b" / "out"
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(InputError, match=message):
        bm.run_suite(bad, out)
    with pytest.raises(InputError, match=message):
        bm.score_suite(bad, tmp_path)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written anywhere


def test_symlink_leading_outside_is_rejected(suite, tmp_path):
    bad = _tamper(suite, tmp_path)
    (tmp_path / "elsewhere.nc").write_text("x")
    (bad / "link").symlink_to(tmp_path)
    man = json.loads((bad / bm.MANIFEST).read_text())
    man["recordings"][0]["file"] = "link/elsewhere.nc"
    (bad / bm.MANIFEST).write_text(json.dumps(man))
    with pytest.raises(InputError, match="leads outside the suite folder"):
        bm.run_suite(bad, tmp_path / "out")


def test_garbage_manifest_is_one_line(tmp_path):
    (tmp_path / bm.MANIFEST).write_bytes(b"\x00\xff not json")
    with pytest.raises(InputError, match="is not a valid benchmark manifest"):
        bm.run_suite(tmp_path, tmp_path / "out")
    (tmp_path / bm.MANIFEST).write_text('{"recordings": 3}')
    with pytest.raises(InputError, match="needs an object"):
        bm.run_suite(tmp_path, tmp_path / "out")
