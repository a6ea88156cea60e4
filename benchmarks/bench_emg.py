"""HD-sEMG throughput: MUAP templates (cold / cached) and synthesis (DESIGN.md "Performance").

Reports throughput in ``extra_info``; never asserts on time. Run with ``make bench`` or
``pytest benchmarks/bench_emg.py --benchmark-only``.
"""

from __future__ import annotations

import pytest

from simulator.electrodes import GridConfig, build_electrodes
from simulator.emg import EmgConfig, clean_emg, synthesize
from simulator.models.muap import MuapConfig, muap_templates
from simulator.models.pool import PoolConfig, unit_properties
from simulator.testing import synthetic_activity

N_UNITS, DURATION_S, FS = 300, 30.0, 2048.0


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("muap_cache")
        mp.setenv("MNPOOL_CACHE", str(path))
        yield path


@pytest.fixture(scope="module")
def template_args():
    props = unit_properties(PoolConfig(n_units=N_UNITS))
    el = build_electrodes(GridConfig())
    return props["n_fibres"], props["fibre_cv_m_s"], MuapConfig(), el.mono_x_mm, el.mono_z_mm, FS


def test_templates_cold(benchmark, template_args):
    out = benchmark.pedantic(lambda: muap_templates(*template_args, seed=1, electrode_diameter_mm=3.0,
                                                    cache=False), rounds=1, iterations=1)
    benchmark.extra_info.update(units=N_UNITS, channels=out.muap_uv.shape[1],
                                fibres=int(template_args[0].sum()), lags=out.muap_uv.shape[2])


def test_templates_cached(benchmark, template_args, cache):
    muap_templates(*template_args, seed=1, electrode_diameter_mm=3.0)  # fill the cache
    out = benchmark(lambda: muap_templates(*template_args, seed=1, electrode_diameter_mm=3.0))
    assert out.from_cache


@pytest.fixture(scope="module")
def activity():
    return synthetic_activity(N_UNITS, DURATION_S, seed=1, profile="trapezoid", peak_excitation=0.7)


def test_synthesis_clean(benchmark, activity, cache):
    rec = synthesize(activity, EmgConfig(), seed=1)
    muap = rec["muap"].values
    ss, su = rec["spike_sample"].values, rec["spike_unit"].values
    n = rec.sizes["time"]
    benchmark.pedantic(lambda: clean_emg(muap, ss, su, n), rounds=3, iterations=1)
    work = N_UNITS * muap.shape[1] * DURATION_S
    benchmark.extra_info.update(unit_channel_seconds=work, spikes=int(ss.size), lags=muap.shape[2],
                                unit_channel_s_per_s=work / benchmark.stats.stats.mean)


def test_synthesize_full_cached_templates(benchmark, activity, cache):
    synthesize(activity, EmgConfig(), seed=2)  # templates into the cache
    benchmark.pedantic(lambda: synthesize(activity, EmgConfig(), seed=2), rounds=2, iterations=1)
    work = N_UNITS * 64 * DURATION_S
    benchmark.extra_info.update(unit_channel_s_per_s=work / benchmark.stats.stats.mean)
