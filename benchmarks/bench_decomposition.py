"""Throughput of the decomposition: seconds of 64-channel, 2048 Hz EMG decomposed per wall second.

Run with ``make bench`` (pytest-benchmark). Nothing here asserts on time; the figures go to
``benchmarks/README.md``.
"""

import pytest

from validation.decomposition import decompose
from validation.metrics import score
from validation.testing import toy_recording


@pytest.mark.parametrize("duration_s", [10.0, 30.0])
def test_decomposition_throughput(benchmark, duration_s):
    rec = toy_recording(10, 64, duration_s, 20.0, seed=2)
    dec = benchmark.pedantic(decompose, args=(rec,), rounds=1, iterations=1)
    sc = score(dec, rec)
    wall = benchmark.stats.stats.mean
    benchmark.extra_info.update({
        "emg_s_per_wall_s": duration_s / wall, "units_found": sc.attrs["n_found"],
        "units_estimated": dec.sizes["unit"], "channels": 64, "fs_hz": 2048.0})
