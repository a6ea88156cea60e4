"""MUAP templates: volume-conductor limits, numerics, and the PHYSIOLOGY.md surface-EMG targets."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
from scipy.signal import resample

from simulator.electrodes import GridConfig, build_electrodes
from simulator.models.muap import (MuapConfig, fibre_current_spectrum, muap_templates, place_units,
                                   rosenfalck_vm_mv, transfer_function, unit_templates)
from simulator.models.pool import PoolConfig, unit_properties

FS = 2048.0


def test_rosenfalck_iap_shape():
    # Rosenfalck 1969: 96 z^3 e^-z - 90 mV, peak at z = 3 mm; rest ahead of the front.
    s = np.linspace(-5, 30, 3501)
    vm = rosenfalck_vm_mv(s)
    assert s[np.argmax(vm)] == pytest.approx(3.0, abs=0.01)
    assert vm.max() == pytest.approx(96 * 27 * math.exp(-3) - 90, rel=1e-9)
    assert np.all(vm[s < 0] == -90.0)


def test_uniform_layers_reduce_to_half_space():
    # Equal conductivities everywhere: surface potential of a point source at depth y in an
    # insulated half-space is I/(2 pi sigma R), whose 2-D transform is e^{-k y}/(sigma k).
    cfg = MuapConfig(skin_conductivity_s_m=0.2, fat_conductivity_s_m=0.2,
                     muscle_conductivity_long_s_m=0.2, muscle_conductivity_trans_s_m=0.2)
    kx, kz = np.meshgrid(np.linspace(-2, 2, 9), np.linspace(0.05, 2, 7))
    h0, km = transfer_function(kx, kz, cfg)
    k = np.hypot(kx, kz)
    depth = cfg.d0_mm + 3.0
    expected = np.exp(-k * depth) / (0.2e-3 * k)
    np.testing.assert_allclose(h0 * np.exp(-km * 3.0), expected, rtol=1e-12)


def test_no_skin_no_fat_is_anisotropic_half_space():
    cfg = MuapConfig(skin_thickness_mm=0.0, fat_thickness_mm=0.0)
    kx, kz = np.meshgrid(np.linspace(-2, 2, 9), np.linspace(0.05, 2, 7))
    h0, km = transfer_function(kx, kz, cfg)
    sx, sz = 0.1e-3, 0.5e-3
    np.testing.assert_allclose(h0, 1 / np.sqrt(sx * (sx * kx**2 + sz * kz**2)), rtol=1e-12)
    np.testing.assert_allclose(km, np.sqrt((sx * kx**2 + sz * kz**2) / sx), rtol=1e-12)


def test_fat_attenuates_and_spreads():
    # A thicker insulating fat layer lowers the surface potential (Farina & Merletti 2001 Fig. 4).
    k = np.array([0.1, 0.3, 1.0])
    thin, _ = transfer_function(k, k, MuapConfig(fat_thickness_mm=1.0))
    thick, _ = transfer_function(k, k, MuapConfig(fat_thickness_mm=6.0))
    assert np.all(thick < thin)
    assert thick[-1] / thin[-1] < thick[0] / thin[0]  # high spatial frequencies lost first


def test_fibre_current_spectrum_matches_quadrature():
    cfg = MuapConfig()
    kz = np.array([0.05, 0.3, 1.0])
    t = np.array([0.0, 2e-3, 8e-3, 16e-3])
    cv, l1, l2 = 4.0, 50.0, 70.0
    got = fibre_current_spectrum(kz, t, cv, l1, l2, cfg)
    z = np.linspace(-l2, l1, 400_001)
    dz = z[1] - z[0]
    scale = cfg.intracellular_conductivity_s_m * 1e-3 * math.pi * (cfg.fibre_diameter_um * 1e-3 / 2) ** 2
    for i, ti in enumerate(t):
        vt = cv * ti * 1e3
        s = np.where(z >= 0, vt - z, vt + z)  # distance behind each front
        dvm = np.gradient(rosenfalck_vm_mv(s), dz) * 1e-3  # V/mm
        expected = np.sum(scale * dvm[None, :] * np.exp(-1j * np.outer(kz, z)), axis=1) * dz
        np.testing.assert_allclose(got[i], expected, rtol=2e-3, atol=1e-14)


def _templates(n_fibres, cv, grid=GridConfig(), geom_edit=None, n_lags=90, cfg=MuapConfig(), seed=0):
    el = build_electrodes(grid, cfg.iz_position_mm)
    geom = place_units(np.asarray(n_fibres), cfg, np.random.default_rng(seed))
    if geom_edit:
        geom = geom_edit(geom)
    mono = unit_templates(geom, np.asarray(cv, float), cfg, el.mono_x_mm, el.mono_z_mm, FS, n_lags,
                          grid.electrode_diameter_mm)
    return np.einsum("ce,uel->ucl", el.matrix, mono), el, geom


def test_spatial_band_is_converged():
    cfg = MuapConfig()
    el = build_electrodes(GridConfig())
    geom = place_units(np.array([40, 400]), cfg, np.random.default_rng(1))
    args = (geom, np.array([3.5, 4.5]), cfg, el.mono_x_mm, el.mono_z_mm, FS, 70, 3.0)
    a = unit_templates(*args)
    b = unit_templates(*args, k_scale=1.6)
    assert np.max(np.abs(a - b)) < 1e-4 * np.max(np.abs(b))


@pytest.fixture(scope="module")
def pool_templates():
    props = unit_properties(PoolConfig(n_units=60))
    cfg = MuapConfig()
    el = build_electrodes(GridConfig())
    t = muap_templates(props["n_fibres"], props["fibre_cv_m_s"], cfg, el.mono_x_mm, el.mono_z_mm, FS,
                       seed=7, electrode_diameter_mm=3.0, cache=False)
    return t, props


def test_amplitudes_tens_to_hundreds_of_uv(pool_templates):
    # PHYSIOLOGY.md "Surface EMG": surface MUAPs ~26 -> 69 uV from threshold to 40% MVC units
    # (McNeil 2005); the issue asks for tens to hundreds of uV on a 13x5 grid.
    t, _ = pool_templates
    ptp = np.ptp(t.muap_uv, axis=2).max(axis=1)
    assert 10 <= np.median(ptp) <= 300
    assert np.percentile(ptp, 90) <= 1500
    assert np.percentile(ptp, 90) >= 50


def test_duration_10_to_20_ms(pool_templates):
    # Buchthal & Rosenfalck 1955: needle MUAP durations ~9-12 ms; surface MUAPs, which also carry
    # the travel to the tendons, last ~10-20 ms.
    t, props = pool_templates
    durs = []
    for m in t.muap_uv:
        ch = m[np.argmax(np.ptp(m, axis=1))]
        above = np.nonzero(np.abs(ch) > 0.05 * np.abs(ch).max())[0]
        durs.append((above[-1] - above[0]) / FS * 1e3)
    assert 8 <= np.median(durs) <= 25


def test_larger_and_more_superficial_units_are_bigger():
    def at(depth):
        def edit(g):
            shift = depth - g.depth_mm
            return dataclasses.replace(g, depth_mm=g.depth_mm + shift,
                                       fibre_depth_mm=g.fibre_depth_mm + np.repeat(shift, np.bincount(g.fibre_unit)),
                                       x_mm=0 * g.x_mm, fibre_x_mm=g.fibre_x_mm - np.repeat(g.x_mm, np.bincount(g.fibre_unit)))
        return edit
    small_big, _, _ = _templates([60, 600], [4.0, 4.0], geom_edit=at(12.0))
    ptp = np.ptp(small_big, axis=2).max(axis=1)
    assert ptp[1] > 3 * ptp[0]
    shallow, _, _ = _templates([300], [4.0], geom_edit=at(9.0))
    deep, _, _ = _templates([300], [4.0], geom_edit=at(16.0))
    assert np.ptp(shallow, axis=2).max() > 1.5 * np.ptp(deep, axis=2).max()


@pytest.mark.parametrize("cv", [3.0, 4.2, 5.5])
def test_conduction_velocity_recovered_from_templates(cv):
    # Double-differential channels along the column over the unit, between innervation zone and
    # tendon; delay by upsampled cross-correlation (Farina & Merletti 2004 J Electromyogr Kinesiol).
    grid = GridConfig(montage="double_differential")

    def centred(g):
        return dataclasses.replace(g, iz_mm=np.zeros(1), l_right_mm=np.array([60.0]),
                                   l_left_mm=np.array([60.0]))
    dd, el, geom = _templates([300], [cv], grid=grid, geom_edit=centred)
    xs = np.unique(el.x_mm)
    col_x = xs[np.argmin(np.abs(xs - geom.x_mm[0]))]
    sel = np.nonzero((np.abs(el.x_mm - col_x) < 1e-9) & (el.z_mm >= 10) & (el.z_mm <= 42))[0]
    sel = sel[np.argsort(el.z_mm[sel])]
    up = 20
    sig = resample(dd[0, sel], dd.shape[2] * up, axis=1)
    delays = [(np.argmax(np.correlate(b, a, "full")) - (sig.shape[1] - 1)) / (FS * up)
              for a, b in zip(sig[:-1], sig[1:])]
    estimate = 8e-3 / np.mean(delays)
    assert estimate == pytest.approx(cv, rel=0.10)


def test_cache_is_keyed_and_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("MNPOOL_CACHE", str(tmp_path))
    cfg = MuapConfig()
    el = build_electrodes(GridConfig())
    args = (np.array([30, 80, 200]), np.array([3.2, 4.0, 5.0]), cfg, el.mono_x_mm, el.mono_z_mm, FS)
    cold = muap_templates(*args, seed=3)
    t0 = time.perf_counter()
    warm = muap_templates(*args, seed=3)
    assert time.perf_counter() - t0 < 5.0  # generous: the point is "no recomputation"
    assert not cold.from_cache and warm.from_cache
    np.testing.assert_array_equal(cold.muap_uv, warm.muap_uv)
    other = muap_templates(*args, seed=4)
    assert not other.from_cache and not np.array_equal(other.muap_uv, cold.muap_uv)
    assert len(list(tmp_path.glob("*.npz"))) == 2


def test_placement_reproducible_and_inside_muscle():
    cfg = MuapConfig()
    nf = np.array([20, 500, 3000])
    a = place_units(nf, cfg, np.random.default_rng(5))
    b = place_units(nf, cfg, np.random.default_rng(5))
    np.testing.assert_array_equal(a.fibre_x_mm, b.fibre_x_mm)
    assert a.fibre_x_mm.size == nf.sum()
    assert np.all(np.abs(a.fibre_x_mm) <= cfg.muscle_width_mm / 2)
    assert np.all((a.fibre_depth_mm >= cfg.d0_mm) & (a.fibre_depth_mm <= cfg.d0_mm + cfg.muscle_thickness_mm))
    assert np.all(np.diff(a.radius_mm) > 0)  # territory grows with innervation number


def test_single_fibre_matches_direct_half_space_solution():
    # End-to-end check of the spectral pipeline (lattice, fibre sum, closed-form current
    # transform, inverse at the electrodes, units) against a direct integral in an isotropic
    # half-space: surface potential of a point current I at distance R is I/(2 pi sigma R), and a
    # fibre's potential is the axial current J = sigma_i A dVm/dz convolved with its z derivative.
    sigma = 0.1
    cfg = MuapConfig(skin_conductivity_s_m=sigma, fat_conductivity_s_m=sigma,
                     muscle_conductivity_long_s_m=sigma, muscle_conductivity_trans_s_m=sigma)
    depth, xf, zf, l1, l2, cv = 9.0, 2.0, 1.5, 45.0, 55.0, 4.0
    geom = place_units(np.array([1]), cfg, np.random.default_rng(0))
    geom = dataclasses.replace(geom, iz_mm=np.array([zf]), l_right_mm=np.array([l1]),
                               l_left_mm=np.array([l2]), fibre_x_mm=np.array([xf]),
                               fibre_depth_mm=np.array([depth]), fibre_z_mm=np.zeros(1))
    ex, ez = np.array([0.0, 6.0, -4.0]), np.array([0.0, 20.0, -30.0])
    n_lags = 40
    got = unit_templates(geom, np.array([cv]), cfg, ex, ez, FS, n_lags)[0]

    z = np.linspace(-l2, l1, 200_001)
    dz = z[1] - z[0]
    area = math.pi * (cfg.fibre_diameter_um * 1e-3 / 2) ** 2
    sig_i, sig_e = cfg.intracellular_conductivity_s_m * 1e-3, sigma * 1e-3  # S/mm
    expected = np.zeros_like(got)
    for k, t in enumerate(np.arange(n_lags) / FS):
        vt = cv * t * 1e3
        vm = rosenfalck_vm_mv(np.where(z >= 0, vt - z, vt + z)) * 1e-3  # V
        j_axial = sig_i * area * np.gradient(vm, dz)                  # A
        for e in range(ex.size):
            u = ez[e] - (zf + z)
            r = np.sqrt((ex[e] - xf) ** 2 + depth**2 + u**2)
            dh = -u / (2 * math.pi * sig_e * r**3)                    # d/du of 1/(2 pi sigma R)
            expected[e, k] = np.sum(j_axial * dh) * dz * 1e6          # µV
    # The spectral sum is periodic (images >= 120 mm away), worth ~0.4 % here.
    np.testing.assert_allclose(got, expected, atol=6e-3 * np.abs(expected).max())


# ---------------------------------------------------------------------- cylindrical option
def test_log_bessel_matches_scipy():
    from scipy.special import iv, kv

    from simulator.models.muap import _log_bessel
    n, x = np.meshgrid([0, 3, 29, 30, 45, 90], [0.3, 2.0, 25.0, 120.0])
    li, lk = _log_bessel(n, x)
    np.testing.assert_allclose(li, np.log(iv(n, x)), rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(lk, np.log(kv(n, x)), rtol=1e-7, atol=1e-7)


def test_cylinder_layer_boundaries_invisible_when_uniform():
    # Same conductivity everywhere: moving the skin/fat/muscle interfaces changes nothing.
    from simulator.models.muap import cylinder_transfer
    common = dict(geometry="cylindrical", limb_radius_mm=40.0, bone_radius_mm=0.0,
                  skin_conductivity_s_m=0.2, fat_conductivity_s_m=0.2,
                  muscle_conductivity_long_s_m=0.2, muscle_conductivity_trans_s_m=0.2)
    a = cylinder_transfer(np.arange(0, 40, 7)[:, None], np.array([0.05, 0.4, 1.5])[None],
                          np.array([30.0, 20.0]), MuapConfig(**common))
    b = cylinder_transfer(np.arange(0, 40, 7)[:, None], np.array([0.05, 0.4, 1.5])[None],
                          np.array([30.0, 20.0]), MuapConfig(**common, skin_thickness_mm=2.0,
                                                             fat_thickness_mm=5.0))
    np.testing.assert_allclose(a, b, rtol=1e-9)
    assert np.all(a > 0)


def test_cylinder_tends_to_planar_as_radius_grows():
    # Farina et al. 2004: the planar model is the large-radius limit of the cylindrical one;
    # the difference shrinks like depth/radius.
    from simulator.models.muap import cylinder_transfer
    kx, kz = np.meshgrid([0.0, 0.1, 0.3], [0.05, 0.2, 0.5], indexing="ij")
    errors = []
    for radius in (300.0, 1200.0):
        cfg = MuapConfig(geometry="cylindrical", limb_radius_mm=radius, bone_radius_mm=0.0)
        h0, km = transfer_function(kx, kz, cfg)
        planar = h0 * np.exp(-km * 4.0)
        cyl = cylinder_transfer(np.round(kx * radius), kz, np.array([radius - cfg.d0_mm - 4.0]), cfg)[0]
        errors.append(np.max(np.abs(cyl * radius / planar - 1)))
    assert errors[1] < 0.02
    assert errors[0] / errors[1] == pytest.approx(4.0, rel=0.3)


def test_cylindrical_templates_plausible():
    cfg = MuapConfig(geometry="cylindrical", limb_radius_mm=40.0, bone_radius_mm=7.0,
                     muscle_thickness_mm=12.0)
    planar, _, _ = _templates([100, 600], [4.0, 4.5], cfg=MuapConfig(muscle_thickness_mm=12.0), seed=2)
    cyl, _, _ = _templates([100, 600], [4.0, 4.5], cfg=cfg, seed=2)
    ratio = np.ptp(cyl, axis=2).max(axis=1) / np.ptp(planar, axis=2).max(axis=1)
    assert np.all((ratio > 0.7) & (ratio < 1.5))  # same order; curvature changes details only


@pytest.mark.slow
def test_cylindrical_templates_converge_to_planar():
    planar, _, _ = _templates([100, 600], [4.0, 4.5], cfg=MuapConfig(muscle_thickness_mm=12.0), seed=2)
    errs = []
    for radius in (100.0, 400.0):
        cfg = MuapConfig(geometry="cylindrical", limb_radius_mm=radius, bone_radius_mm=0.0,
                         muscle_thickness_mm=12.0)
        cyl, _, _ = _templates([100, 600], [4.0, 4.5], cfg=cfg, seed=2)
        errs.append(np.max(np.abs(cyl - planar)) / np.max(np.abs(planar)))
    assert errs[1] < 0.03 and errs[0] / errs[1] > 3
