"""Figures (PNG) written beside the data by the CLI: HD-sEMG traces, RMS maps, MUAPs over the grid."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

__all__ = ["plot_emg_channels", "plot_rms_map", "plot_muap_grid", "emg_figures"]


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # figures are files; never open a window
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    from .io import atomic_path
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    _pyplot().close(fig)
    return Path(path)


def plot_emg_channels(rec: xr.Dataset, path: str | os.PathLike, *, n_channels: int = 6,
                      window_s: tuple[float, float] | None = None) -> Path:
    """EMG of a few channels (µV) over a window of the recording, with force below.

    Parameters
    ----------
    rec
        Recording Dataset.
    path
        PNG file.
    n_channels
        Channels shown, spread evenly over the grid.
    window_s
        ``(start, stop)`` in s; default the last second (usually the strongest contraction).
    """
    plt = _pyplot()
    t = rec["time"].values
    if window_s is None:
        window_s = (max(0.0, t[-1] - 1.0), t[-1]) if t.size else (0.0, 1.0)
    sel = (t >= window_s[0]) & (t <= window_s[1])
    chans = np.unique(np.linspace(0, rec.sizes["channel"] - 1, n_channels).astype(int))
    fig, axes = plt.subplots(len(chans) + 1, 1, figsize=(8, 1.2 * (len(chans) + 1)), sharex=True)
    for ax, c in zip(axes, chans):
        ax.plot(t[sel], rec["emg"].values[sel, c], lw=0.5, color="k")
        ax.set_ylabel(f"ch {c}\n(µV)", fontsize=7)
    if "force" in rec:
        axes[-1].plot(t[sel], rec["force"].values[sel], color="C1")
        axes[-1].set_ylabel("force (N)", fontsize=7)
    axes[-1].set_xlabel("time (s)")
    fig.suptitle(f"{rec.attrs.get('grid')} {rec.attrs.get('montage')}, SNR {rec.attrs.get('snr_db')} dB")
    fig.tight_layout()
    return _save(fig, path)


def _grid_image(rec: xr.Dataset, values: np.ndarray) -> np.ndarray:
    rows, cols = rec["row"].values, rec["col"].values
    img = np.full((rows.max() + 1, cols.max() + 1), np.nan)
    img[rows, cols] = values
    return img


def plot_rms_map(rec: xr.Dataset, path: str | os.PathLike) -> Path:
    """RMS (µV) of every channel laid out on the grid (rows along the fibres)."""
    plt = _pyplot()
    rms = np.sqrt(np.mean(rec["emg"].values ** 2, axis=0))
    fig, ax = plt.subplots(figsize=(4, 6))
    im = ax.imshow(_grid_image(rec, rms), origin="lower", cmap="viridis", aspect="equal")
    fig.colorbar(im, ax=ax, label="RMS (µV)")
    ax.set_xlabel("column (across fibres)")
    ax.set_ylabel("row (along fibres)")
    ax.set_title("EMG RMS over the grid")
    fig.tight_layout()
    return _save(fig, path)


def plot_muap_grid(rec: xr.Dataset, path: str | os.PathLike, unit: int | None = None) -> Path:
    """MUAP of one unit on every channel, drawn at the channel's place on the grid.

    Parameters
    ----------
    rec
        Recording Dataset.
    path
        PNG file.
    unit
        Unit shown (default: the one with the largest MUAP).
    """
    plt = _pyplot()
    if unit is None:
        unit = int(np.argmax(rec["muap_ptp_uv"].values))
    muap = rec["muap"].values[unit]
    lag_ms = rec["lag"].values * 1e3
    rows, cols = rec["row"].values, rec["col"].values
    scale = np.max(np.abs(muap)) or 1.0
    fig, ax = plt.subplots(figsize=(5, 8))
    width = lag_ms[-1] if lag_ms.size else 1.0
    for c in range(muap.shape[0]):
        ax.plot(cols[c] * 1.1 * width + lag_ms, rows[c] + 0.45 * muap[c] / scale, lw=0.8, color="k")
    ax.set_yticks(range(rows.max() + 1))
    ax.set_xticks([])
    ax.set_ylabel("row (along fibres)")
    ax.set_title(f"unit {unit}: MUAP over the grid\n(peak {scale:.0f} µV, {width:.0f} ms per trace)", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)


def emg_figures(rec: xr.Dataset, out_dir: str | os.PathLike, stem: str = "recording") -> list[Path]:
    """Write the three standard EMG figures into ``out_dir``; return their paths."""
    out = Path(out_dir)
    return [plot_emg_channels(rec, out / f"{stem}_emg.png"),
            plot_rms_map(rec, out / f"{stem}_rms_map.png"),
            plot_muap_grid(rec, out / f"{stem}_muap_grid.png")]
