"""The fibre as a current source: Rosenfalck's (1969) intracellular action potential, generated
at the end-plate and extinguished at the fibre ends, and the closed-form Fourier transform of its
axial current (Merletti et al. 1999 IEEE Trans Biomed Eng 46:810; Dimitrov & Dimitrova 1998)."""


from __future__ import annotations

import math

import numpy as np

from .config import _IAP_A_MV, _IAP_LAMBDA_MM, _IAP_REST_MV, MuapConfig

__all__ = ["rosenfalck_vm_mv", "fibre_current_spectrum"]


def rosenfalck_vm_mv(s_mm: np.ndarray) -> np.ndarray:
    """Rosenfalck (1969) intracellular action potential in space.

    Parameters
    ----------
    s_mm
        Distance behind the depolarisation front (mm); the fibre is at rest ahead of it (s < 0).

    Returns
    -------
    ndarray
        Transmembrane potential (mV): ``96 s³ e^{-s} - 90`` for ``s >= 0``, -90 otherwise.
    """
    s = np.asarray(s_mm, dtype=float)
    sp = np.maximum(s, 0.0)
    return np.where(s >= 0, _IAP_A_MV * sp**3 * np.exp(-_IAP_LAMBDA_MM * sp), 0.0) + _IAP_REST_MV


def _poly_exp_integral(a: np.ndarray, s0: np.ndarray, s1: np.ndarray) -> np.ndarray:
    """Exact ``∫_{s0}^{s1} (3s² - s³) e^{a s} ds`` (vectorised, complex ``a`` with Re a < 0)."""
    def antider(s: np.ndarray) -> np.ndarray:
        # ∫ p e^{as} = e^{as} Σ_n (-1)^n p^{(n)}(s) / a^{n+1};  p = 3s²-s³, p' = 6s-3s², p'' = 6-6s, p''' = -6
        return np.exp(a * s) * ((3 * s**2 - s**3) / a - (6 * s - 3 * s**2) / a**2
                                + (6 - 6 * s) / a**3 + 6 / a**4)
    return antider(s1) - antider(s0)


def fibre_current_spectrum(kz: np.ndarray, t_s: np.ndarray, cv_m_s: float, l_right_mm: float,
                           l_left_mm: float, cfg: MuapConfig) -> np.ndarray:
    """Spatial Fourier transform of the axial current of a fibre with its end-plate at ``z = 0``.

    The two action potentials start at the end-plate at ``t = 0`` and travel to the tendons at
    ``+l_right`` and ``-l_left`` (Merletti et al. 1999). The axial current
    ``σ_i A ∂V_m/∂z`` is windowed to the fibre, so its ``z`` derivative (the membrane current)
    contains the generation and extinction terms and integrates to zero.

    Parameters
    ----------
    kz
        Spatial angular frequencies along the fibre (rad/mm), shape ``(K,)``.
    t_s
        Times after end-plate activation (s), shape ``(T,)``.
    cv_m_s
        Conduction velocity (m/s = mm/ms).
    l_right_mm, l_left_mm
        End-plate-to-tendon distances (mm).
    cfg
        Fibre diameter and intracellular conductivity.

    Returns
    -------
    ndarray, complex, shape (T, K)
        ``∫ J(z, t) e^{-i k_z z} dz`` in A·mm.
    """
    kz = np.asarray(kz, dtype=float)[None, :]
    vt = (cv_m_s * np.asarray(t_s, dtype=float) * 1e3)[:, None]  # mm travelled
    # sigma_i [S/mm] * cross-section [mm²] * V'[mV/mm = V/m -> 1e-3 V/mm]
    scale = (cfg.intracellular_conductivity_s_m * 1e-3 * math.pi
             * (cfg.fibre_diameter_um * 1e-3 / 2) ** 2 * _IAP_A_MV * 1e-3)
    vt_pos = np.maximum(vt, 0.0)
    # right half: -e^{-ik vt} ∫_{max(0, vt-L1)}^{vt} V'(s) e^{iks} ds
    right = -np.exp(-1j * kz * vt) * _poly_exp_integral(1j * kz - _IAP_LAMBDA_MM,
                                                          np.maximum(vt - l_right_mm, 0.0), vt_pos)
    # left half: +e^{ik vt} ∫_{max(0, vt-L2)}^{vt} V'(s) e^{-iks} ds
    left = np.exp(1j * kz * vt) * _poly_exp_integral(-1j * kz - _IAP_LAMBDA_MM,
                                                      np.maximum(vt - l_left_mm, 0.0), vt_pos)
    return scale * (right + left)
