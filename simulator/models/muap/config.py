"""Parameters of the volume conductor and the motor-unit territories, and the containers
of unit geometry and templates."""


from __future__ import annotations

import dataclasses
import math

import numpy as np

from ...config import Config, ConfigError, param

__all__ = ["MuapConfig", "UnitGeometry", "MuapTemplates", "TEMPLATE_VERSION"]


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
