"""Size-principle gradients: monotonic in recruitment rank, ranges as configured (Fuglevand 1993)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.models.motoneuron import MotoneuronConfig, passive_properties
from simulator.models.pool import PoolConfig, size_index, unit_properties


def _props(cfg: PoolConfig):
    p = unit_properties(cfg)
    p.update(passive_properties(p, MotoneuronConfig()))
    return p


pools = st.builds(
    PoolConfig,
    n_units=st.integers(2, 600),
    recruitment_range=st.floats(1.5, 100),
    twitch_range=st.floats(1.5, 500),
    membrane_area_range=st.floats(1.0, 10),
    contraction_time_range=st.floats(1.0, 5),
)


@settings(max_examples=40, deadline=None)
@given(pools)
def test_gradients_are_monotonic_in_rank(cfg):
    p = _props(cfg)
    assert np.all(np.diff(p["size_index"]) > 0)
    for name in ("membrane_area_mm2", "recruitment_excitation", "twitch_n", "input_conductance_us",
                 "rheobase_na", "soma_diameter_um", "axon_cv_m_s", "fibre_cv_m_s"):
        assert np.all(np.diff(p[name]) >= 0), name
    for name in ("ahp_tau_ms", "contraction_time_ms"):
        assert np.all(np.diff(p[name]) <= 0), name
    assert np.all(np.diff(p["n_fibres"]) >= 0)


@settings(max_examples=40, deadline=None)
@given(pools)
def test_ranges_match_configuration(cfg):
    p = _props(cfg)
    assert p["twitch_n"][-1] / p["twitch_n"][0] == pytest.approx(cfg.twitch_range)
    assert p["recruitment_excitation"][-1] / p["recruitment_excitation"][0] == pytest.approx(
        cfg.recruitment_range)
    assert p["contraction_time_ms"][0] == pytest.approx(cfg.contraction_time_max_ms)
    assert p["contraction_time_ms"][0] / p["contraction_time_ms"][-1] == pytest.approx(
        cfg.contraction_time_range)


def test_default_pool_matches_fuglevand_1993():
    """Fuglevand 1993: 30x recruitment range, 100x twitch range, 90 ms longest CT, 3x range,
    most units small (exponential distribution)."""
    p = _props(PoolConfig(n_units=120))
    assert p["recruitment_excitation"][-1] / p["recruitment_excitation"][0] == pytest.approx(30)
    assert p["twitch_n"][-1] / p["twitch_n"][0] == pytest.approx(100)
    assert p["contraction_time_ms"].max() == pytest.approx(90)
    assert p["contraction_time_ms"].max() / p["contraction_time_ms"].min() == pytest.approx(3)
    median_rec = np.median(p["recruitment_excitation"])
    assert median_rec < 0.3 * p["recruitment_excitation"].max()


def test_input_resistance_and_rheobase_in_motoneuron_range():
    """Input resistance ~0.5–5 MΩ and rheobase ~2–40 nA (cat; Zengel 1985, Cormery 2005)."""
    p = _props(PoolConfig())
    r_in = 1.0 / p["input_conductance_us"]  # MΩ
    assert 2.0 < r_in[0] < 8.0 and 0.4 < r_in[-1] < 1.5
    assert 2.0 < p["rheobase_na"][0] < 10.0 and 10.0 < p["rheobase_na"][-1] < 40.0


def test_single_unit_pool():
    assert size_index(1).tolist() == [0.0]
    p = _props(PoolConfig(n_units=1))
    assert p["twitch_n"].shape == (1,)
    with pytest.raises(ValueError, match="n_units"):
        size_index(0)
