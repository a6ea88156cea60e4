"""Refactors keep the numbers: spikes and force equal arrays stored from an earlier version.

The stored file ``data/reference_activity.npz`` holds, for one small subject on each engine, the
spikes and force of an open-loop excitation ramp (spikes independent of the muscle model) and of
a closed-loop force trapezoid. A change of the *model* (not of the code's structure) that alters
them must regenerate the file on purpose and say so in CHANGELOG.md::

    MNPOOL_CACHE=$(mktemp -d) python -m tests.simulator.test_reference --regenerate
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from simulator.simulation import simulate
from tests.conftest import small_config

DATA = Path(__file__).parent / "data" / "reference_activity.npz"
CASES = {
    "open_loop": dict(shape="ramp", control="excitation", level=60.0, rest_s=0.1, rise_s=1.5,
                      rest_after_s=0.1),
    "closed_loop": dict(shape="trapezoid", level=20.0, rest_s=0.2, rise_s=0.8, plateau_s=0.6,
                        fall_s=0.8, rest_after_s=0.2),
}


def _run(case: str, engine: str):
    cfg = small_config(n_units=20, **CASES[case]).replace(engine=engine, seed=7)
    return simulate(cfg)


def _regenerate() -> None:
    arrays = {}
    for case in CASES:
        for engine in ("runtime", "standalone"):
            ds = _run(case, engine)
            arrays[f"{case}_{engine}_spike_time"] = ds.spike_time.values
            arrays[f"{case}_{engine}_spike_unit"] = ds.spike_unit.values
            arrays[f"{case}_{engine}_force"] = ds.force.values
    DATA.parent.mkdir(exist_ok=True)
    np.savez_compressed(DATA, **arrays)


@pytest.mark.parametrize("case", sorted(CASES))
def test_same_numbers_as_stored(case, engine):
    ref = np.load(DATA)
    ds = _run(case, engine)
    key = f"{case}_{engine}"
    np.testing.assert_array_equal(ds.spike_unit.values, ref[f"{key}_spike_unit"])
    np.testing.assert_allclose(ds.spike_time.values, ref[f"{key}_spike_time"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ds.force.values, ref[f"{key}_force"], rtol=1e-9, atol=1e-12)


if __name__ == "__main__" and "--regenerate" in sys.argv:
    _regenerate()
