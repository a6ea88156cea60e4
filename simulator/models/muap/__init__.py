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
(tests/simulator/test_muap.py).

Approximation, stated: every fibre of a unit is the unit's canonical fibre translated along ``z``
by its end-plate offset, so the fibre ends move with the end-plate (tendon-end scatter equals
end-plate scatter, a few mm) rather than being drawn independently.

Modules: :mod:`.config` (parameters), :mod:`.source` (fibre current), :mod:`.planar` and
:mod:`.cylinder` (volume conductors), :mod:`.templates` (placement, templates, cache).
"""

from __future__ import annotations

from .config import TEMPLATE_VERSION, MuapConfig, MuapTemplates, UnitGeometry
from .cylinder import _log_bessel, cylinder_transfer  # noqa: F401  (_log_bessel is tested directly)
from .planar import transfer_function
from .source import fibre_current_spectrum, rosenfalck_vm_mv
from .templates import muap_templates, place_units, unit_templates

__all__ = ["MuapConfig", "UnitGeometry", "MuapTemplates", "rosenfalck_vm_mv", "transfer_function",
           "cylinder_transfer", "fibre_current_spectrum", "place_units", "unit_templates",
           "muap_templates", "TEMPLATE_VERSION"]
