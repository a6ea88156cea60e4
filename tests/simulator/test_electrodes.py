"""Electrode grids: OTB channel maps, placement, montages."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from simulator.config import ConfigError
from simulator.electrodes import GridConfig, build_electrodes, grid_layout, montage_matrix
from simulator.testing import valid_configs


def test_gr08mm1305_matches_otb_map():
    # MUedit/openhdemg map (1-based): column 0 holds 1..12 below an empty corner, column 1 runs
    # 13..25 upwards, column 2 26..38 downwards, column 3 39..51 up, column 4 52..64 down.
    lay = grid_layout(GridConfig())
    assert lay.shape == (13, 5) and lay[0, 0] == -1
    assert sorted(lay[lay >= 0]) == list(range(64))
    assert lay[1, 0] == 0 and lay[12, 0] == 11
    assert lay[12, 1] == 12 and lay[0, 1] == 24
    assert lay[0, 2] == 25 and lay[12, 4] == 63


def test_gr10mm0808_matches_otb_map():
    lay = grid_layout(GridConfig(name="GR10MM0808"))
    assert lay[7, 0] == 0 and lay[0, 0] == 7 and lay[0, 7] == 63


@pytest.mark.parametrize("name,n", [("GR08MM1305", 64), ("GR10MM0808", 64), ("GR08MM1032", 320)])
def test_channel_counts_and_spacing(name, n):
    cfg = GridConfig(name=name)
    el = build_electrodes(cfg)
    assert el.n_channels == n
    _, _, ied = cfg.shape()
    d = np.hypot(np.subtract.outer(el.x_mm, el.x_mm), np.subtract.outer(el.z_mm, el.z_mm))
    np.fill_diagonal(d, np.inf)
    np.testing.assert_allclose(d.min(axis=1), ied)


def test_custom_grid_and_rotation():
    el = build_electrodes(GridConfig(name="custom", rows=4, cols=2, ied_mm=5.0, rotation_deg=90.0,
                                     offset_x_mm=3.0))
    assert el.n_channels == 8
    assert np.ptp(el.x_mm) == pytest.approx(15.0)  # rows now run across the fibres
    assert np.ptp(el.z_mm) == pytest.approx(5.0)
    assert el.x_mm.mean() == pytest.approx(3.0)


def test_montages():
    sd, rows, _ = montage_matrix(GridConfig(montage="single_differential"))
    dd, _, _ = montage_matrix(GridConfig(montage="double_differential"))
    assert sd.shape == (59, 64) and dd.shape == (54, 64)  # column 0 has 12 electrodes
    np.testing.assert_allclose(sd.sum(axis=1), 0)
    np.testing.assert_allclose(dd.sum(axis=1), 0)
    assert set(np.abs(dd).sum(axis=1)) == {4.0}


def test_montage_needs_rows():
    with pytest.raises(ConfigError, match="double_differential"):
        GridConfig(name="custom", rows=2, cols=4, montage="double_differential")


@settings(max_examples=60, deadline=None)
@given(cfg=valid_configs(GridConfig))
def test_any_valid_grid_places_every_electrode(cfg):
    el = build_electrodes(cfg)
    rows, cols, ied = cfg.shape()
    n_el = int((grid_layout(cfg) >= 0).sum())
    assert el.mono_x_mm.size == n_el and el.matrix.shape[1] == n_el
    assert np.all(np.isfinite(el.x_mm)) and np.all(np.isfinite(el.z_mm))
    np.testing.assert_allclose(el.matrix.sum(axis=1), 1.0 if cfg.montage == "monopolar" else 0.0,
                               atol=1e-12)
    assert GridConfig.from_dict(cfg.to_dict()) == cfg
