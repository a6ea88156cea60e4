"""Cylindrical volume conductor (bone / anisotropic muscle / fat / skin; Farina, Mesin, Martina &
Merletti 2004 IEEE Trans Biomed Eng 51:415) with log-scaled modified Bessel functions and the
Debye expansion for high orders."""


from __future__ import annotations

import math

import numpy as np
from scipy.special import ive, kve

from .config import MuapConfig

__all__ = ["cylinder_transfer"]


_DEBYE_ORDER = 30


def _log_bessel(n: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log I_n(x)`` and ``log K_n(x)`` for integer ``n >= 0`` and ``x > 0``, without underflow.

    Low orders use ``scipy.special.ive``/``kve``; orders >= 30 the uniform (Debye) expansion to
    third order (Abramowitz & Stegun 9.7.7–9.7.8), relative error < 1e-6 there.
    """
    n = np.asarray(n, dtype=float)
    x = np.asarray(x, dtype=float)
    low = n < _DEBYE_ORDER
    with np.errstate(divide="ignore", invalid="ignore"):
        li_low = np.log(ive(n, x)) + x
        lk_low = np.log(kve(n, x)) - x
        nu = np.where(low, _DEBYE_ORDER, n)
        z = x / nu
        sq = np.sqrt(1 + z * z)
        eta = sq + np.log(z / (1 + sq))
        t = 1 / sq
        u1 = (3 * t - 5 * t**3) / 24
        u2 = (81 * t**2 - 462 * t**4 + 385 * t**6) / 1152
        u3 = (30375 * t**3 - 369603 * t**5 + 765765 * t**7 - 425425 * t**9) / 414720
        base = -0.25 * np.log1p(z * z)
        li_hi = nu * eta - 0.5 * np.log(2 * math.pi * nu) + base + np.log1p(u1 / nu + u2 / nu**2 + u3 / nu**3)
        lk_hi = -nu * eta + 0.5 * np.log(math.pi / (2 * nu)) + base + np.log1p(-u1 / nu + u2 / nu**2 - u3 / nu**3)
    return np.where(low, li_low, li_hi), np.where(low, lk_low, lk_hi)


def _log_derivatives(n: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``I_n'(x)/I_n(x)`` and ``K_n'(x)/K_n(x)`` (recurrences ``I_n' = I_{n+1} + n I_n/x``,
    ``K_n' = -K_{n+1} + n K_n/x``)."""
    li0, lk0 = _log_bessel(n, x)
    li1, lk1 = _log_bessel(n + 1, x)
    return np.exp(li1 - li0) + n / x, -np.exp(lk1 - lk0) + n / x


def _radial_step(n: np.ndarray, k: np.ndarray, sigma: float, r_from: float | np.ndarray,
                 r_to: float | np.ndarray, y_from: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Carry the admittance ``Y = σ_r ∂Φ/∂r / Φ`` across a layer from ``r_from`` to ``r_to``.

    The layer solution is ``A I_n(kr) + B K_n(kr)``, written in Bessel functions normalised at
    ``r_from`` so that nothing overflows. Returns ``(Y(r_to), Φ(r_to)/Φ(r_from))``.
    """
    xf, xt = k * r_from, k * r_to
    i_f, k_f = _log_derivatives(n, xf)
    i_t, k_t = _log_derivatives(n, xt)
    a = (y_from / (sigma * k) - k_f) / (i_f - k_f)
    b = 1.0 - a
    li_f, lk_f = _log_bessel(n, xf)
    li_t, lk_t = _log_bessel(n, xt)
    i_hat = np.exp(li_t - li_f)
    k_hat = np.exp(lk_t - lk_f)
    phi = a * i_hat + b * k_hat
    q = sigma * k * (a * i_hat * i_t + b * k_hat * k_t)
    return q / phi, phi


def cylinder_transfer(n: np.ndarray, kz: np.ndarray, r_mm: np.ndarray, cfg: MuapConfig) -> np.ndarray:
    """Layered cylindrical volume conductor (bone, anisotropic muscle, fat, skin; Farina et al. 2004).

    Parameters
    ----------
    n
        Angular harmonics (integers), broadcastable with ``kz``.
    kz
        Spatial angular frequencies along the fibres (rad/mm), > 0.
    r_mm
        Radii of the point sources in the muscle (mm), shape ``(R,)``.
    cfg
        Layer radii and conductivities.

    Returns
    -------
    ndarray, shape (R, *broadcast(n, kz).shape)
        Skin-surface potential per unit current (Ω·mm, the angular-series/``k_z`` transform):
        ``φ(θ, z) = (1/2π) Σ_n (1/2π) ∫ Φ e^{i(nθ + k_z z)} dk_z``. It follows from the source
        jump ``σ_r [∂Φ/∂r] = -1/r_0`` between the inner solution (regular in the bone) and the
        outer one (insulated skin): ``Φ_s = (U(R_s)/U(r_0)) / (r_0 (Y_in - Y_out))``.
    """
    s_mm = 1e-3
    n, kz = np.broadcast_arrays(np.abs(np.asarray(n, dtype=float)), np.asarray(kz, dtype=float))
    st, sl = cfg.muscle_conductivity_trans_s_m * s_mm, cfg.muscle_conductivity_long_s_m * s_mm
    km = kz * math.sqrt(sl / st)
    r_skin = cfg.limb_radius_mm
    r_fat = r_skin - cfg.skin_thickness_mm
    r_mus = r_fat - cfg.fat_thickness_mm
    # Outer solution: insulated skin (Y = 0) carried inwards through skin and fat.
    y_out = np.zeros(n.shape)
    gain = np.ones(n.shape)  # U(R_s) / U(r)
    for r_a, r_b, sig in ((r_skin, r_fat, cfg.skin_conductivity_s_m * s_mm),
                          (r_fat, r_mus, cfg.fat_conductivity_s_m * s_mm)):
        if r_a > r_b:
            y_out, ratio = _radial_step(n, kz, sig, r_a, r_b, y_out)
            gain = gain / ratio
    out = np.empty((len(r_mm),) + n.shape)
    for i, r0 in enumerate(np.asarray(r_mm, dtype=float)):
        y_o, ratio = _radial_step(n, km, st, r_mus, r0, y_out) if r0 < r_mus else (y_out, 1.0)
        if cfg.bone_radius_mm > 0:
            i_b, _ = _log_derivatives(n, kz * cfg.bone_radius_mm)
            y_bone = cfg.bone_conductivity_s_m * s_mm * kz * i_b
            y_i, _ = _radial_step(n, km, st, cfg.bone_radius_mm, r0, y_bone)
        else:
            i_0, _ = _log_derivatives(n, km * r0)
            y_i = st * km * i_0
        out[i] = gain / ratio / (r0 * (y_i - y_o))
    return out
