"""Planar layered volume conductor (anisotropic muscle half-space under fat and skin; Farina &
Merletti 2001 IEEE Trans Biomed Eng 48:637, eqs. 2-9 as a transfer-matrix recursion)."""


from __future__ import annotations

import math

import numpy as np

from .config import MuapConfig

__all__ = ["transfer_function"]


def transfer_function(kx: np.ndarray, kz: np.ndarray, cfg: MuapConfig) -> tuple[np.ndarray, np.ndarray]:
    """Layered planar volume conductor in the spatial-frequency domain (Farina & Merletti 2001).

    Parameters
    ----------
    kx, kz
        Spatial angular frequencies across and along the fibres (rad/mm), broadcastable;
        ``(0, 0)`` is excluded (infinite for a point source, and multiplied by ``k_z = 0``
        for a fibre).
    cfg
        Conductor parameters.

    Returns
    -------
    h0 : ndarray
        Transform of the skin-surface potential per unit current of a point source at the
        fat/muscle interface (Ω·mm²).
    km : ndarray
        Depth decay rate in the muscle (1/mm): the source at depth ``y`` gives
        ``h0 * exp(-km * (y - d0))``.
    """
    kx = np.asarray(kx, dtype=float)
    kz = np.asarray(kz, dtype=float)
    s_mm = 1e-3  # S/m -> S/mm, so that lengths are in mm throughout
    sx = sy = cfg.muscle_conductivity_trans_s_m * s_mm
    sz = cfg.muscle_conductivity_long_s_m * s_mm
    k = np.hypot(kx, kz)
    km = np.sqrt((sx * kx**2 + sz * kz**2) / sy)
    gm = sy * km  # normal "admittance" of the muscle half-space
    # State (potential, normal current) propagated from the insulated skin (current 0) down to the
    # muscle, tracked as the ratio r = current/potential (bounded) and the log of the potential
    # gain (which grows like e^{k h}), so nothing overflows at high k or thick layers.
    r = np.zeros(np.broadcast(kx, kz).shape)
    log_gain = np.zeros_like(r)
    for thick, sig in ((cfg.skin_thickness_mm, cfg.skin_conductivity_s_m * s_mm),
                       (cfg.fat_thickness_mm, cfg.fat_conductivity_s_m * s_mm)):
        if thick == 0:
            continue
        g = sig * k
        th = np.tanh(k * thick)
        # cosh(kh) * (1 + r tanh/g), in logs; log cosh x = x + log1p(e^{-2x}) - log 2
        x = k * thick
        log_gain += x + np.log1p(np.exp(-2 * x)) - math.log(2.0) + np.log1p(r * th / g)
        r = (g * th + r) / (1 + r * th / g)
    h0 = np.exp(-log_gain) / (gm + r)
    return h0, km
