"""Surface electrode grids and montages for HD-sEMG.

Models the *recording side* of the subject: where the electrodes sit on the skin over the muscle,
in which order the amplifier numbers them, and how monopolar potentials are combined into
single- or double-differential channels (Merletti & Farina 2016, *Surface Electromyography*,
ch. 2; OT Bioelettronica channel maps for GR08MM1305 and GR10MM0808, as used by MUedit and
openhdemg).

Coordinates (mm) are those of the muscle model in :mod:`simulator.models.muap`: ``x`` across the
fibres (0 = muscle mid-line), ``z`` along the fibres (0 = muscle centre, tendons at
``±fibre_length/2``). In the recording Dataset they appear as ``x_mm`` (across) and ``y_mm``
(along the fibres) on the skin plane.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from .config import Config, ConfigError, param

__all__ = ["GridConfig", "Electrodes", "GRIDS", "MONTAGES", "grid_layout", "electrode_positions",
           "montage_matrix", "build_electrodes"]

#: Montage names accepted by :class:`GridConfig`.
MONTAGES = ("monopolar", "single_differential", "double_differential")


def _otb_13x5() -> np.ndarray:
    """OTB GR08MM1305 channel map: ``map[row, col]`` = 0-based channel, -1 = no electrode.

    The amplifier snakes down column 0 (rows 1..12, the corner row 0/col 0 is empty), up column 1,
    down column 2, up column 3 and down column 4 -- the map distributed with MUedit and openhdemg.
    """
    m = -np.ones((13, 5), dtype=int)
    m[1:, 0] = np.arange(0, 12)
    m[::-1, 1] = np.arange(12, 25)
    m[:, 2] = np.arange(25, 38)
    m[::-1, 3] = np.arange(38, 51)
    m[:, 4] = np.arange(51, 64)
    return m


def _otb_8x8() -> np.ndarray:
    """OTB GR10MM0808 channel map (column-major, channel 1 at the bottom of column 0)."""
    m = np.empty((8, 8), dtype=int)
    for c in range(8):
        m[:, c] = c * 8 + 7 - np.arange(8)
    return m


def _column_major(rows: int, cols: int) -> np.ndarray:
    """Generic map: channels numbered down each column, column after column."""
    return np.arange(rows * cols).reshape(cols, rows).T.copy()


#: Named grids: name -> (rows, cols, inter-electrode distance mm, channel-map builder).
GRIDS: dict[str, tuple[int, int, float]] = {
    "GR08MM1305": (13, 5, 8.0),
    "GR10MM0808": (8, 8, 10.0),
    # 10 x 32 at 8 mm (320 channels); not an OTB part number, numbered column-major.
    "GR08MM1032": (10, 32, 8.0),
}


@dataclasses.dataclass(frozen=True)
class GridConfig(Config):
    """An electrode grid placed on the skin over the muscle.

    ``name`` picks a standard grid; ``"custom"`` uses ``rows``, ``cols`` and ``ied_mm``. Rows run
    along the muscle fibres before rotation, so the 13x5 grid has 13 electrodes along the fibres.
    """

    section = "emg.grid"

    name: str = param("GR08MM1305", choices=(*GRIDS, "custom"), doc="electrode grid")
    rows: int = param(13, lo=1, hi=64, doc="rows (along the fibres) of a custom grid")
    cols: int = param(5, lo=1, hi=64, doc="columns (across the fibres) of a custom grid")
    ied_mm: float = param(8.0, lo=1.0, hi=50.0, unit="mm", doc="inter-electrode distance of a custom grid")
    electrode_diameter_mm: float = param(3.0, lo=0.0, hi=20.0, unit="mm",
                                         doc="diameter of each circular electrode (spatial averaging)")
    offset_x_mm: float = param(0.0, lo=-500.0, hi=500.0, unit="mm",
                               doc="grid centre across the fibres, from the muscle mid-line")
    offset_z_mm: float = param(0.0, lo=-500.0, hi=500.0, unit="mm",
                               doc="grid centre along the fibres, from the innervation zone")
    rotation_deg: float = param(0.0, lo=-180.0, hi=180.0, unit="deg",
                                doc="rotation of the grid in the skin plane (0 = rows along fibres)")
    montage: str = param("monopolar", choices=MONTAGES, doc="derivation recorded")

    def validate(self) -> None:
        r, c, _ = self.shape()
        if self.montage == "single_differential" and r < 2:
            raise ConfigError(f"emg.grid.montage = 'single_differential' needs >= 2 rows; grid has {r}")
        if self.montage == "double_differential" and r < 3:
            raise ConfigError(f"emg.grid.montage = 'double_differential' needs >= 3 rows; grid has {r}")

    def shape(self) -> tuple[int, int, float]:
        """``(rows, cols, ied_mm)`` of the selected grid."""
        if self.name == "custom":
            return self.rows, self.cols, self.ied_mm
        return GRIDS[self.name]


def grid_layout(cfg: GridConfig) -> np.ndarray:
    """Channel map of a grid.

    Parameters
    ----------
    cfg
        Grid configuration.

    Returns
    -------
    ndarray of int, shape (rows, cols)
        0-based amplifier channel of the electrode at each (row, col); -1 where there is none.
    """
    rows, cols, _ = cfg.shape()
    if cfg.name == "GR08MM1305":
        return _otb_13x5()
    if cfg.name == "GR10MM0808":
        return _otb_8x8()
    return _column_major(rows, cols)


@dataclasses.dataclass(frozen=True)
class Electrodes:
    """Positions of the recorded channels and the montage that produced them.

    Attributes
    ----------
    x_mm, z_mm
        Position across / along the fibres of each recorded channel (mm; for differential
        channels the centroid of the electrodes involved).
    row, col
        Grid row and column of each recorded channel (for differential channels the row of the
        first electrode of the pair / the centre electrode of the triplet).
    mono_x_mm, mono_z_mm
        Positions of the monopolar electrodes in amplifier order (mm).
    matrix
        ``(n_channels, n_electrodes)`` montage matrix: recorded = matrix @ monopolar.
    """

    x_mm: np.ndarray
    z_mm: np.ndarray
    row: np.ndarray
    col: np.ndarray
    mono_x_mm: np.ndarray
    mono_z_mm: np.ndarray
    matrix: np.ndarray

    @property
    def n_channels(self) -> int:
        """Number of recorded channels."""
        return int(self.matrix.shape[0])


def electrode_positions(cfg: GridConfig, iz_mm: float = 0.0) -> tuple[np.ndarray, np.ndarray,
                                                                         np.ndarray, np.ndarray]:
    """Skin positions of the monopolar electrodes of a placed grid.

    Parameters
    ----------
    cfg
        Grid configuration (shape, offset from the innervation zone, rotation).
    iz_mm
        Position of the muscle's innervation zone along the fibres (mm), over which the grid
        centre is placed before ``offset_z_mm`` is applied.

    Returns
    -------
    x_mm, z_mm, row, col : ndarray
        Across-fibre and along-fibre positions (mm), grid row and column of each electrode,
        indexed by 0-based amplifier channel.
    """
    layout = grid_layout(cfg)
    rows, cols, ied = cfg.shape()
    rr, cc = np.nonzero(layout >= 0)
    order = np.argsort(layout[rr, cc])
    rr, cc = rr[order], cc[order]
    u = (cc - (cols - 1) / 2) * ied   # across the fibres before rotation
    w = (rr - (rows - 1) / 2) * ied   # along the fibres before rotation
    th = math.radians(cfg.rotation_deg)
    x = u * math.cos(th) - w * math.sin(th) + cfg.offset_x_mm
    z = u * math.sin(th) + w * math.cos(th) + cfg.offset_z_mm + iz_mm
    return x, z, rr, cc


def montage_matrix(cfg: GridConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Montage matrix combining monopolar electrodes into recorded channels.

    Differential derivations are taken along the grid rows (the fibre direction for an unrotated
    grid), within each column, where every electrode involved exists.

    Parameters
    ----------
    cfg
        Grid configuration; ``cfg.montage`` selects monopolar, single differential
        (``e[r] - e[r+1]``) or double differential (``e[r] - 2 e[r+1] + e[r+2]``).

    Returns
    -------
    matrix : ndarray, shape (n_channels, n_electrodes)
        Weights applied to monopolar electrodes in amplifier order.
    row, col : ndarray of int
        Grid row (first electrode / centre electrode) and column of each recorded channel.
    """
    layout = grid_layout(cfg)
    n_el = int(layout.max()) + 1
    if cfg.montage == "monopolar":
        _, _, rr, cc = electrode_positions(cfg)
        return np.eye(n_el), rr, cc
    weights = (1.0, -1.0) if cfg.montage == "single_differential" else (1.0, -2.0, 1.0)
    span = len(weights)
    rows_out, r_idx, c_idx = [], [], []
    nrows, ncols = layout.shape
    for c in range(ncols):
        for r in range(nrows - span + 1):
            chans = layout[r:r + span, c]
            if np.any(chans < 0):
                continue
            w = np.zeros(n_el)
            w[chans] = weights
            rows_out.append(w)
            r_idx.append(r if span == 2 else r + 1)
            c_idx.append(c)
    return np.array(rows_out), np.array(r_idx), np.array(c_idx)


def build_electrodes(cfg: GridConfig, iz_mm: float = 0.0) -> Electrodes:
    """Place the grid and build its montage.

    Parameters
    ----------
    cfg
        Grid configuration.
    iz_mm
        Innervation-zone position along the fibres (mm), over which the grid is centred.

    Returns
    -------
    Electrodes
        Recorded-channel positions (mm), grid indices, monopolar positions and montage matrix
        (see :func:`electrode_positions`, :func:`montage_matrix`).
    """
    x, z, _, _ = electrode_positions(cfg, iz_mm)
    m, row, col = montage_matrix(cfg)
    # A differential channel "sits" at the centroid of the electrodes it uses.
    absw = np.abs(m)
    cx = absw @ x / absw.sum(axis=1)
    cz = absw @ z / absw.sum(axis=1)
    return Electrodes(x_mm=cx, z_mm=cz, row=row, col=col, mono_x_mm=x, mono_z_mm=z, matrix=m)

