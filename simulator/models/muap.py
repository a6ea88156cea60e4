"""Motor-unit action potentials (MUAPs) on the skin from a layered volume-conductor model.

The muscle is the anisotropic half-space of the planar model of Farina & Merletti (2001, IEEE
Trans Biomed Eng 48:637): muscle (conductivity ``σ_z`` along the fibres, ``σ_x = σ_y`` across and
in depth), under an isotropic fat layer and an isotropic skin layer whose outer face is insulated.
Each muscle fibre carries the intracellular action potential of Rosenfalck (1969),

.. math:: V_m(s) = 96\\, s^3 e^{-s} - 90 \\;\\text{mV}, \\qquad s \\text{ in mm behind the front},

which is generated at the fibre's end-plate, propagates towards both tendons at the unit's
conduction velocity and is extinguished at the fibre ends (Merletti, Lo Conte, Avignone & Guglielminotti
1999, IEEE Trans Biomed Eng 46:810; Dimitrov & Dimitrova 1998 for the generation/extinction
terms). The membrane current is ``σ_i A ∂²V_m/∂z²`` over the fibre, written as the ``z``
derivative of the windowed axial current so that it sums to zero at every instant.

How it is computed (and why it is fast)
---------------------------------------
The 2-D spatial Fourier transform (``k_x`` across, ``k_z`` along the fibres) of the surface
potential of a point current source at depth ``y`` in the muscle is, with the insulated skin
surface and continuity of potential and normal current at the skin/fat and fat/muscle
interfaces (Farina & Merletti 2001, eqs. 2–9, written here as a transfer-matrix recursion),

.. math:: H(k_x, k_z; y) = H_0(k_x, k_z)\\, e^{-k_m (y - d_0)}, \\qquad
          k_m = \\sqrt{(σ_x k_x^2 + σ_z k_z^2)/σ_y},

where ``d_0`` is the skin+fat thickness: below the fat the muscle is a half-space, so depth only
enters through one exponential. A fibre at ``(x_f, y_f)`` with end-plate at ``z_f`` is the line
source of a canonical fibre (end-plate at 0) shifted by ``(x_f, z_f)``, so a whole motor unit is

.. math:: Φ(k_x,k_z,t) = i k_z\\, \\hat J(k_z,t)\\, E(k)\\, H_0 \\sum_f e^{-k_m(y_f-d_0)}
          e^{-i(k_x x_f + k_z z_f)},

with ``\\hat J`` the closed-form Fourier transform of the canonical axial current (a polynomial
times an exponential, integrated exactly) and ``E(k) = 2 J_1(kr)/(kr)`` the spatial filter of a
circular electrode of radius ``r`` (Farina & Merletti 2001, eq. 13). The fibre sum is an exact
non-uniform DFT done as matrix products, depth is interpolated linearly between nodes 0.25 mm
apart, and the inverse transform is evaluated only at the electrodes. 300 units x 64 channels
take seconds; results are cached on disk.

Cylindrical option
------------------
``geometry = "cylindrical"`` replaces the planar layers by the concentric bone / anisotropic
muscle / fat / skin cylinder of Farina, Mesin, Martina & Merletti (2004, IEEE Trans Biomed Eng
51:415): angular harmonics ``n`` take the place of ``k_x``, the radial solutions are modified
Bessel functions ``I_n``, ``K_n`` (log-scaled, with the Debye expansion for high orders), and
the source radius enters through the inner solution instead of one exponential
(:func:`cylinder_transfer`). Arc lengths on the skin (electrodes) and on the muscle surface
(territories) become angles. It tends to the planar model as the limb radius grows
(tests/test_muap.py).

Approximation, stated: every fibre of a unit is the unit's canonical fibre translated along ``z``
by its end-plate offset, so the fibre ends move with the end-plate (tendon-end scatter equals
end-plate scatter, a few mm) rather than being drawn independently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
from scipy.special import ive, j1, kve
from threadpoolctl import threadpool_limits

from ..config import Config, ConfigError, param

__all__ = ["MuapConfig", "UnitGeometry", "MuapTemplates", "rosenfalck_vm_mv", "transfer_function",
           "cylinder_transfer", "fibre_current_spectrum", "place_units", "unit_templates",
           "muap_templates",
           "cache_dir", "TEMPLATE_VERSION"]

#: Bumped whenever the template computation changes, so stale cache entries are never reused.
TEMPLATE_VERSION = "muap-2"

#: Rosenfalck (1969) IAP: amplitude constant (mV/mm^3), length constant (1/mm), rest (mV).
_IAP_A_MV = 96.0
_IAP_LAMBDA_MM = 1.0
_IAP_REST_MV = -90.0
#: Distance behind the front over which the IAP derivative is non-negligible (|V'| < 1e-3 V/m).
_IAP_TAIL_MM = 25.0
#: Depth nodes for interpolating the depth attenuation.
_DEPTH_STEP_MM = 0.25


@dataclasses.dataclass(frozen=True)
class MuapConfig(Config):
    """Volume conductor, muscle geometry and fibre properties of the MUAP model.

    Defaults: conductivities and layer thicknesses of Farina & Merletti (2001); fibre length and
    innervation-zone spread in the range of Jacobson et al. (1992) scaled to a ~12 cm muscle;
    20 fibres/mm² within a territory (Fuglevand, Winter & Patla 1993); fibre diameter 50 µm and
    intracellular conductivity 1.01 S/m (Farina & Merletti 2001). The cylindrical limb (radius
    40 mm, bone 7 mm, bone conductivity 0.02 S/m) follows Farina et al. (2004); PHYSIOLOGY.md
    lists their muscle conductivities (0.09 radial / 0.4 axial) for that geometry.
    """

    section = "emg.muap"

    geometry: str = param("planar", choices=("planar", "cylindrical"),
                          doc="planar (Farina & Merletti 2001) or cylindrical limb (Farina et al. 2004)")
    limb_radius_mm: float = param(40.0, lo=10.0, hi=10_000.0, unit="mm",
                                  doc="skin-surface radius of the cylindrical limb")
    bone_radius_mm: float = param(7.0, lo=0.0, hi=100.0, unit="mm",
                                  doc="bone radius of the cylindrical limb (0 = no bone)")
    bone_conductivity_s_m: float = param(0.02, lo=1e-4, hi=10.0, unit="S/m")
    skin_thickness_mm: float = param(1.0, lo=0.0, hi=5.0, unit="mm")
    fat_thickness_mm: float = param(3.0, lo=0.0, hi=30.0, unit="mm")
    skin_conductivity_s_m: float = param(1.0, lo=1e-3, hi=10.0, unit="S/m", lo_open=True)
    fat_conductivity_s_m: float = param(0.05, lo=1e-3, hi=10.0, unit="S/m")
    muscle_conductivity_long_s_m: float = param(0.5, lo=1e-3, hi=10.0, unit="S/m",
                                                doc="along the fibres")
    muscle_conductivity_trans_s_m: float = param(0.1, lo=1e-3, hi=10.0, unit="S/m",
                                                 doc="across the fibres and in depth")
    muscle_thickness_mm: float = param(20.0, lo=1.0, hi=100.0, unit="mm")
    muscle_width_mm: float = param(60.0, lo=5.0, hi=500.0, unit="mm", doc="across the fibres")
    fibre_length_mm: float = param(120.0, lo=10.0, hi=500.0, unit="mm",
                                   doc="tendon-to-tendon length (the muscle's length on the skin)")
    iz_position_mm: float = param(0.0, lo=-200.0, hi=200.0, unit="mm",
                                  doc="innervation-zone centre along the fibres, from the muscle centre")
    iz_band_mm: float = param(12.0, lo=0.0, hi=100.0, unit="mm",
                              doc="width of the band holding the units' innervation zones (±10%% of length)")
    endplate_spread_mm: float = param(2.0, lo=0.0, hi=20.0, unit="mm",
                                      doc="SD of a unit's fibres' end-plates around its innervation zone")
    fibre_density_mm2: float = param(20.0, lo=1.0, hi=200.0, unit="1/mm2",
                                     doc="fibres of one unit per mm² of its territory")
    fibre_diameter_um: float = param(50.0, lo=10.0, hi=150.0, unit="um")
    intracellular_conductivity_s_m: float = param(1.01, lo=0.1, hi=10.0, unit="S/m")

    def validate(self) -> None:
        if self.geometry == "cylindrical":
            inner = self.limb_radius_mm - self.d0_mm - self.muscle_thickness_mm
            if inner < self.bone_radius_mm:
                raise ConfigError(
                    f"emg.muap.muscle_thickness_mm = {self.muscle_thickness_mm} reaches radius "
                    f"{inner:g} mm, inside the bone (emg.muap.bone_radius_mm = {self.bone_radius_mm}); "
                    f"allowed skin + fat + muscle <= limb_radius_mm - bone_radius_mm = "
                    f"{self.limb_radius_mm - self.bone_radius_mm:g} mm")
            if self.muscle_width_mm > 2 * math.pi * (self.limb_radius_mm - self.d0_mm):
                raise ConfigError(
                    f"emg.muap.muscle_width_mm = {self.muscle_width_mm} is longer than the muscle's "
                    f"circumference {2 * math.pi * (self.limb_radius_mm - self.d0_mm):.1f} mm")
        half = self.fibre_length_mm / 2
        if abs(self.iz_position_mm) + self.iz_band_mm / 2 + 3 * self.endplate_spread_mm >= half - 5:
            raise ConfigError(
                f"emg.muap.iz_position_mm = {self.iz_position_mm} with iz_band_mm = {self.iz_band_mm} "
                f"and endplate_spread_mm = {self.endplate_spread_mm} puts end-plates within 5 mm of a "
                f"tendon of a {self.fibre_length_mm} mm fibre; allowed |iz| + band/2 + 3 SD < "
                f"{half - 5:g} mm")

    @property
    def d0_mm(self) -> float:
        """Depth of the fat/muscle interface below the skin surface (mm)."""
        return self.skin_thickness_mm + self.fat_thickness_mm


@dataclasses.dataclass(frozen=True)
class UnitGeometry:
    """Where each motor unit and each of its fibres lies in the muscle.

    Attributes
    ----------
    x_mm, depth_mm, radius_mm, iz_mm
        Per unit: territory centre across the fibres and below the skin, territory radius,
        innervation-zone position along the fibres (mm).
    l_right_mm, l_left_mm
        Per unit: distance from the innervation zone to the two tendons (mm).
    fibre_unit
        Per fibre: index of its unit (fibres are grouped by unit).
    fibre_x_mm, fibre_depth_mm, fibre_z_mm
        Per fibre: position across, below the skin, and end-plate offset from the unit's IZ (mm).
    """

    x_mm: np.ndarray
    depth_mm: np.ndarray
    radius_mm: np.ndarray
    iz_mm: np.ndarray
    l_right_mm: np.ndarray
    l_left_mm: np.ndarray
    fibre_unit: np.ndarray
    fibre_x_mm: np.ndarray
    fibre_depth_mm: np.ndarray
    fibre_z_mm: np.ndarray


@dataclasses.dataclass(frozen=True)
class MuapTemplates:
    """Monopolar MUAP templates and the geometry that produced them.

    Attributes
    ----------
    muap_uv
        ``(unit, electrode, lag)`` monopolar surface potentials (µV); lag 0 is the activation of
        the end-plates.
    fs_hz
        Sampling rate of the lag axis (Hz).
    geometry
        The :class:`UnitGeometry` used.
    from_cache
        Whether the templates were read from the disk cache.
    """

    muap_uv: np.ndarray
    fs_hz: float
    geometry: UnitGeometry
    from_cache: bool = False

    @property
    def lag_s(self) -> np.ndarray:
        """Lag of each template sample (s)."""
        return np.arange(self.muap_uv.shape[-1]) / self.fs_hz


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


#: Orders from which the Debye expansion replaces scipy's scaled Bessel functions (which
#: underflow when the order is much larger than the argument).
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


def cache_dir() -> Path:
    """Folder of the template cache.

    Returns
    -------
    Path
        ``$MNPOOL_CACHE`` if set, else ``~/.cache/mnpool``. Entries are ``<hash>.npz`` files,
        safe to delete at any time.
    """
    env = os.environ.get("MNPOOL_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "mnpool"


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
        from ..io import atomic_path
        try:
            with atomic_path(path, suffix=".npz") as tmp:
                with open(tmp, "wb") as fh:
                    np.savez(fh, muap_uv=muap, **dataclasses.asdict(geom))
        except OSError:
            pass  # a read-only cache must not stop a simulation
    return MuapTemplates(muap, fs_hz, geom, from_cache=False)
