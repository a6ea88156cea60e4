"""The README's inference figures are what ``mnpool calibrate`` computes from the shipped files.

The blocks between ``<!-- calibration.md -->`` and ``<!-- calibration_dec.md -->`` markers were
pasted from ``calibration.md``; these slow tests re-run the command on the shipped libraries
(and the shipped held-out population) and compare the text, so a library rebuilt without
regenerating the README fails here. Each takes one to three minutes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scenarios import training as T
from scenarios.rebuild_libraries import read_block

README = Path(__file__).resolve().parents[2] / "README.md"


def _block(name: str) -> str:
    return read_block(README.read_text(), name)


@pytest.mark.slow
@pytest.mark.parametrize("block, library, held_out", [
    ("calibration.md", "reference_library.nc", "populations/held_out.nc"),
    ("calibration_dec.md", "reference_library_dec.nc", None),
])
def test_readme_inference_block_is_the_calibration_of_the_shipped_library(tmp_path, block, library,
                                                                          held_out):
    from scenarios.inference.report import run_calibration
    out = run_calibration(T.LIBRARY / library, tmp_path / "cal",
                          held_out_path=None if held_out is None else T.LIBRARY / held_out)
    assert (out / "calibration.md").read_text() == _block(block), (
        f"regenerate the README's {block} block: mnpool calibrate --library "
        f"scenarios/library/{library}" + ("" if held_out is None else
                                          f" --held-out scenarios/library/{held_out}"))
