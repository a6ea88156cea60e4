"""Figures of a decomposition: sources with their detected discharges, raster against the truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from .metrics import spike_trains_from_dataset

__all__ = ["plot_sources", "plot_raster"]


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def plot_sources(decomposition: xr.Dataset, path: str | Path, *, max_units: int = 12) -> Path:
    """Plot each estimated source [normalised] with its detected discharges marked.

    Parameters
    ----------
    decomposition
        Dataset from :func:`validation.decomposition.decompose`.
    path
        PNG file to write.
    max_units
        Largest number of sources drawn (best PNR first).
    """
    plt = _plt()
    n = min(max_units, decomposition.sizes["unit"])
    fig, axes = plt.subplots(max(n, 1), 1, figsize=(9, 0.9 * max(n, 1) + 0.6), sharex=True,
                             squeeze=False)
    t = decomposition["time"].values
    trains = spike_trains_from_dataset(decomposition, n_units=decomposition.sizes["unit"])
    for i in range(n):
        ax = axes[i, 0]
        s = decomposition["source"].values[i]
        ax.plot(t, s, lw=0.4, c="0.3")
        ax.plot(t[trains[i]], s[trains[i]], ".", ms=2.5, c="C3")
        ax.set_ylabel(f"MU {i}\nSIL {decomposition['sil'].values[i]:.2f}", fontsize=7)
        ax.set_yticks([])
    axes[-1, 0].set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_raster(decomposition: xr.Dataset, path: str | Path,
                recording: xr.Dataset | None = None, score: xr.Dataset | None = None) -> Path:
    """Raster of the estimated discharges, each above its matched true unit when truth is known.

    Parameters
    ----------
    decomposition
        Decomposition Dataset.
    path
        PNG file to write.
    recording
        Recording with ground truth (optional).
    score
        Output of :func:`validation.metrics.score` pairing estimates with true units (optional).
    """
    plt = _plt()
    fs = float(decomposition.attrs["fs_hz"])
    est = spike_trains_from_dataset(decomposition, n_units=decomposition.sizes["unit"])
    fig, ax = plt.subplots(figsize=(9, 0.3 * max(len(est), 1) * (2 if score is not None else 1) + 1))
    y = 0
    labels = []
    for i, tr in enumerate(est):
        ax.vlines(tr / fs, y - 0.4, y + 0.4, color="C3", lw=0.6)
        labels.append(f"est {i}")
        y += 1
        if score is not None and recording is not None:
            j = int(score["matched_unit"].values[i])
            if j >= 0:
                true = spike_trains_from_dataset(recording)[j]
                ax.vlines(true / fs, y - 0.4, y + 0.4, color="0.4", lw=0.6)
                labels.append(f"true {j} (RoA {score['roa'].values[j]:.2f})")
                y += 1
    ax.set_yticks(np.arange(y), labels, fontsize=6)
    ax.invert_yaxis()
    ax.set_xlabel("time (s)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
