"""Placing the units' fibres in the muscle and computing (and caching) their MUAP templates at
the electrodes: an exact non-uniform DFT of the fibre sum, depth interpolated between nodes."""


from __future__ import annotations

import dataclasses
import hashlib
import json
import math

import numpy as np
from scipy.special import j1
from threadpoolctl import threadpool_limits

from ...cache import cache_dir
from ...config import ConfigError
from .config import (
    _DEPTH_STEP_MM,
    _IAP_TAIL_MM,
    TEMPLATE_VERSION,
    MuapConfig,
    MuapTemplates,
    UnitGeometry,
)
from .cylinder import cylinder_transfer
from .planar import transfer_function
from .source import fibre_current_spectrum

__all__ = ["place_units", "unit_templates", "muap_templates"]


def _reflect(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Mirror values beyond ``[lo, hi]`` back inside (once), then clip what is still outside."""
    v = np.where(v < lo, 2 * lo - v, v)
    v = np.where(v > hi, 2 * hi - v, v)
    return np.clip(v, lo, hi)


def place_units(n_fibres: np.ndarray, cfg: MuapConfig, rng: np.random.Generator) -> UnitGeometry:
    """Scatter motor-unit territories and their fibres in the muscle cross-section.

    Territory centres are uniform over the muscle cross-section (units are intermingled;
    Buchthal & Schmalbruch 1980); a territory is a disc of area ``n_fibres / fibre_density``
    (larger units have larger territories) holding its fibres uniformly, mirrored inside the
    muscle at its borders.
    Each unit's innervation zone is uniform in a band of width ``iz_band_mm``; each fibre's
    end-plate is normal around it with SD ``endplate_spread_mm``.

    Parameters
    ----------
    n_fibres
        Innervation number of each unit (from :func:`simulator.models.pool.unit_properties`).
    cfg
        Muscle geometry.
    rng
        Random generator (placement is the only random part of the templates).

    Returns
    -------
    UnitGeometry
    """
    n_fibres = np.asarray(n_fibres, dtype=int)
    n_units = n_fibres.size
    half_w, d0, thick = cfg.muscle_width_mm / 2, cfg.d0_mm, cfg.muscle_thickness_mm
    radius = np.sqrt(n_fibres / (math.pi * cfg.fibre_density_mm2))
    lim_x = np.maximum(half_w - radius, 0.0)
    lim_y = np.maximum(thick / 2 - radius, 0.0)
    cx = rng.uniform(-1, 1, n_units) * lim_x
    cy = d0 + thick / 2 + rng.uniform(-1, 1, n_units) * lim_y
    iz = cfg.iz_position_mm + rng.uniform(-0.5, 0.5, n_units) * cfg.iz_band_mm
    half_len = cfg.fibre_length_mm / 2
    fx, fy, fz, fu = [], [], [], []
    for u in range(n_units):
        n = int(n_fibres[u])
        r = radius[u] * np.sqrt(rng.uniform(0, 1, n))
        th = rng.uniform(0, 2 * math.pi, n)
        # Fibres of a territory wider than the muscle are mirrored back inside at its border
        # (keeps the density uniform instead of piling fibres on the fascia).
        x = _reflect(cx[u] + r * np.cos(th), -half_w, half_w)
        y = _reflect(cy[u] + r * np.sin(th), d0, d0 + thick)
        fx.append(x)
        fy.append(y)
        fz.append(rng.normal(0.0, cfg.endplate_spread_mm, n))
        fu.append(np.full(n, u))
    cat = (lambda parts, dt=float: np.concatenate(parts).astype(dt) if parts else np.zeros(0, dt))
    return UnitGeometry(x_mm=cx, depth_mm=cy, radius_mm=radius, iz_mm=iz,
                        l_right_mm=half_len - iz, l_left_mm=half_len + iz,
                        fibre_unit=cat(fu, int), fibre_x_mm=cat(fx), fibre_depth_mm=cat(fy),
                        fibre_z_mm=cat(fz))


def _lattice(cfg: MuapConfig, ex: np.ndarray, ez: np.ndarray,
             k_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Spatial-frequency lattice: periods long enough that periodic images are >= 120 mm away.

    The discrete inverse transform sums periodic copies of the muscle; at 120 mm they change the
    potential by ~0.4 % (tests/test_muap.py compares with the direct half-space solution).
    """
    lx = np.max(np.abs(ex)) + cfg.muscle_width_mm / 2 + 120.0
    lz = np.max(np.abs(ez)) + cfg.fibre_length_mm / 2 + abs(cfg.iz_position_mm) \
        + cfg.iz_band_mm + 6 * cfg.endplate_spread_mm + 120.0
    dkx, dkz = 2 * math.pi / lx, 2 * math.pi / lz
    # The shallowest fibre lies at d0 below the skin; components with k d0 > 8 are attenuated
    # by more than e^-8 and dropped (checked against a wider band in tests/test_muap.py).
    k_max = k_scale * 8.0 / max(cfg.d0_mm, 0.5)
    nkx = int(k_max / dkx)
    nkz = int(k_max / dkz)
    kx = np.arange(-nkx, nkx + 1) * dkx
    kz = np.arange(1, nkz + 1) * dkz  # k_z > 0 only: the field is real (Hermitian symmetry)
    return kx, kz, lx, lz


def unit_templates(geom: UnitGeometry, cv_m_s: np.ndarray, cfg: MuapConfig, ex_mm: np.ndarray,
                   ez_mm: np.ndarray, fs_hz: float, n_lags: int,
                   electrode_diameter_mm: float = 0.0, progress: bool = False,
                   k_scale: float = 1.0) -> np.ndarray:
    """Monopolar surface MUAPs of every unit at given electrode positions.

    Parameters
    ----------
    geom
        Unit and fibre placement (:func:`place_units`).
    cv_m_s
        Muscle-fibre conduction velocity of each unit (m/s).
    cfg
        Volume conductor and fibre parameters.
    ex_mm, ez_mm
        Electrode positions across / along the fibres (mm), muscle coordinates.
    fs_hz
        Sampling rate of the templates (Hz).
    n_lags
        Number of samples per template, from end-plate activation.
    electrode_diameter_mm
        Diameter of the circular electrodes (mm); 0 for point electrodes.
    progress
        Show a progress bar.
    k_scale
        Multiplies the spatial-frequency band kept (numerical convergence checks only).

    Returns
    -------
    ndarray, shape (n_units, n_electrodes, n_lags)
        Surface potentials (µV).
    """
    ex = np.asarray(ex_mm, dtype=float)
    ez = np.asarray(ez_mm, dtype=float)
    kx, kz, lx, lz = _lattice(cfg, ex, ez, k_scale)
    area = lx * lz
    node_y = cfg.d0_mm + np.arange(0, cfg.muscle_thickness_mm + _DEPTH_STEP_MM, _DEPTH_STEP_MM)
    if cfg.geometry == "planar":
        KX, KZ = np.meshgrid(kx, kz, indexing="ij")
        h0, km = transfer_function(KX, KZ, cfg)
        q = 1j * KZ * h0
        # Depth attenuation below the fat at every node, computed once.
        att = np.exp(-km[None] * (node_y - cfg.d0_mm)[:, None, None]).astype(np.float32)
        electrode_t = ex                               # transverse coordinate: x (mm)
        fibre_scale = 1.0
    else:
        # Angular harmonics n replace k_x; arc lengths map to angles at the skin (electrodes)
        # and at the muscle surface (fibres, so the muscle width is its arc there).
        r_skin = cfg.limb_radius_mm
        n_max = int(math.ceil(kx[-1] * r_skin))
        kx = np.arange(-n_max, n_max + 1, dtype=float)
        KX, KZ = np.meshgrid(kx, kz, indexing="ij")
        half = cylinder_transfer(np.arange(n_max + 1)[:, None], kz[None, :], r_skin - node_y, cfg)
        att = np.concatenate([half[:, :0:-1], half], axis=1).astype(np.float32)  # Φ(-n) = Φ(n)
        q = 1j * KZ + 0j
        area = 2 * math.pi * lz
        electrode_t = ex / r_skin                      # transverse coordinate: angle (rad)
        fibre_scale = 1.0 / (r_skin - cfg.d0_mm)
        KX = KX / r_skin                               # tangential spatial frequency at the skin
    if electrode_diameter_mm > 0:
        kr = np.hypot(KX, KZ) * electrode_diameter_mm / 2
        q = q * np.where(kr > 1e-12, 2 * j1(kr) / np.maximum(kr, 1e-12), 1.0)
    # Inverse transform evaluated only at the electrodes: e^{i kx x_e}, e^{i kz z_e}.
    px = np.exp(1j * np.outer(electrode_t, kx))        # (E, Kx)
    pz = np.exp(1j * np.outer(ez, kz))                 # (E, Kz)
    t = np.arange(n_lags) / fs_hz
    n_units = geom.x_mm.size
    out = np.zeros((n_units, ex.size, n_lags))
    bounds = np.searchsorted(geom.fibre_unit, np.arange(n_units + 1))
    iterator = range(n_units)
    if progress:
        from tqdm import tqdm
        iterator = tqdm(iterator, desc="MUAP templates", unit="unit")
    # The per-unit products are small: multi-threaded BLAS gains nothing on them and, on a
    # machine whose cores are busy, its spinning threads made this loop >10x slower (measured).
    with threadpool_limits(limits=1, user_api="blas"):
        for u in iterator:
            _one_unit(u, out, geom, bounds, cv_m_s, cfg, node_y, att, q, kx, kz, px, pz, t, area,
                      fibre_scale)
    return out


def _one_unit(u: int, out: np.ndarray, geom: UnitGeometry, bounds: np.ndarray, cv_m_s: np.ndarray,
              cfg: MuapConfig, node_y: np.ndarray, att: np.ndarray, q: np.ndarray, kx: np.ndarray,
              kz: np.ndarray, px: np.ndarray, pz: np.ndarray, t: np.ndarray, area: float,
              fibre_scale: float) -> None:
    """Template of unit ``u`` into ``out[u]`` (see :func:`unit_templates` for the method)."""
    sl = slice(bounds[u], bounds[u + 1])
    if bounds[u] == bounds[u + 1]:
        return
    fx = geom.fibre_x_mm[sl] * fibre_scale
    fz = geom.fibre_z_mm[sl] + geom.iz_mm[u]
    # Linear interpolation of the depth attenuation between nodes _DEPTH_STEP_MM apart.
    pos = (geom.fibre_depth_mm[sl] - cfg.d0_mm) / _DEPTH_STEP_MM
    i0 = np.clip(np.floor(pos).astype(int), 0, node_y.size - 2)
    w1 = pos - i0
    # Single precision for the fibre sums (the bulk of the work): ~1e-6 relative error.
    exf = np.exp(-1j * np.outer(kx, fx)).astype(np.complex64)   # (Kx, F)
    ezf = np.exp(-1j * np.outer(fz, kz)).astype(np.complex64)   # (F, Kz)
    k_unit = np.zeros(q.shape, dtype=np.complex128)
    for node in np.unique(np.concatenate([i0, i0 + 1])):
        w = np.where(i0 == node, 1 - w1, 0.0) + np.where(i0 + 1 == node, w1, 0.0)
        sel = w > 0
        if not sel.any():
            continue
        k_unit += att[node] * ((exf[:, sel] * w[sel].astype(np.float32)) @ ezf[sel])
    k_unit *= q
    b = (px @ k_unit) * pz                          # (E, Kz)
    jhat = fibre_current_spectrum(kz, t, float(cv_m_s[u]), float(geom.l_right_mm[u]),
                                  float(geom.l_left_mm[u]), cfg)   # (T, Kz)
    # 2 Re(...) for the k_z < 0 half; 1/(Lx Lz) (planar) or 1/(2π Lz) (cylinder) for the
    # discrete inverse transform; V -> µV.
    out[u] = (2e6 / area) * np.real(b @ jhat.T)


def _cache_key(payload: dict) -> str:
    blob = json.dumps(payload, sort_keys=True, default=lambda a: np.asarray(a).tolist())
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def muap_templates(n_fibres: np.ndarray, cv_m_s: np.ndarray, cfg: MuapConfig, ex_mm: np.ndarray,
                   ez_mm: np.ndarray, fs_hz: float, *, seed: int | None,
                   electrode_diameter_mm: float = 0.0, cache: bool = True,
                   progress: bool = False) -> MuapTemplates:
    """Place the units and compute (or load from the cache) their monopolar MUAP templates.

    Parameters
    ----------
    n_fibres
        Innervation number of each unit.
    cv_m_s
        Muscle-fibre conduction velocity of each unit (m/s).
    cfg
        MUAP model configuration.
    ex_mm, ez_mm
        Electrode positions across / along the fibres (mm).
    fs_hz
        Template sampling rate (Hz).
    seed
        Seed of the placement generator (``numpy.random.default_rng(seed)``).
    electrode_diameter_mm
        Electrode diameter (mm).
    cache
        Read/write the on-disk cache (:func:`cache_dir`), keyed by a hash of every input and
        :data:`TEMPLATE_VERSION`.
    progress
        Show a progress bar while computing.

    Returns
    -------
    MuapTemplates
    """
    n_fibres = np.asarray(n_fibres, dtype=int)
    cv = np.asarray(cv_m_s, dtype=float)
    if n_fibres.shape != cv.shape:
        raise ConfigError(f"n_fibres has {n_fibres.size} units but cv_m_s has {cv.size}")
    if np.any(cv <= 0) or not np.all(np.isfinite(cv)):
        raise ConfigError(f"fibre conduction velocities must be finite and > 0 m/s; got min {cv.min()}")
    longest = cfg.fibre_length_mm / 2 + abs(cfg.iz_position_mm) + cfg.iz_band_mm / 2
    duration_s = (longest + _IAP_TAIL_MM) / (cv.min() * 1e3) if cv.size else 0.0
    n_lags = int(math.ceil(duration_s * fs_hz)) + 1
    payload = {"version": TEMPLATE_VERSION, "cfg": cfg.to_dict(), "ex": ex_mm, "ez": ez_mm,
               "fs": fs_hz, "seed": seed, "n_fibres": n_fibres, "cv": cv,
               "diam": electrode_diameter_mm}
    path = cache_dir() / f"{_cache_key(payload)}.npz"
    if cache and path.is_file():
        try:
            with np.load(path) as z:
                geom = UnitGeometry(**{f.name: z[f.name] for f in dataclasses.fields(UnitGeometry)})
                return MuapTemplates(z["muap_uv"], fs_hz, geom, from_cache=True)
        except (OSError, KeyError, ValueError):
            pass  # unreadable entry: recompute and overwrite
    geom = place_units(n_fibres, cfg, np.random.default_rng(seed))
    muap = unit_templates(geom, cv, cfg, ex_mm, ez_mm, fs_hz, n_lags, electrode_diameter_mm,
                          progress=progress)
    if cache:
        from ...io import atomic_path
        try:
            with atomic_path(path, suffix=".npz") as tmp:
                with open(tmp, "wb") as fh:
                    np.savez(fh, muap_uv=muap, **dataclasses.asdict(geom))
        except OSError:
            pass  # a read-only cache must not stop a simulation
    return MuapTemplates(muap, fs_hz, geom, from_cache=False)
