"""Figures of mnpool Datasets (matplotlib, Agg-safe): what a physiologist looks at first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from . import measures

__all__ = ["plot_activity", "save_figure"]


def save_figure(fig, path: str | Path) -> Path:  # noqa: ANN001 - matplotlib Figure
    """Save ``fig`` as PNG (atomically) and close it."""
    import matplotlib.pyplot as plt

    from .io import atomic_path
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    plt.close(fig)
    return Path(path)


def plot_activity(ds: xr.Dataset, *, max_units: int = 60, rate_window_s: float = 1.0):
    """Raster, force with its target, and smoothed discharge rates of an activity Dataset.

    Parameters
    ----------
    ds
        Activity Dataset.
    max_units
        At most this many units are drawn (evenly spaced over the recruitment order).
    rate_window_s
        Hann window of the smoothed rates [s].

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    trains = measures.spike_trains(ds)
    n = len(trains)
    shown = np.unique(np.linspace(0, n - 1, min(n, max_units)).round().astype(int)) if n else []
    t = ds["time"].values
    fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True,
                             gridspec_kw={"height_ratios": [2.2, 1, 1.4]})
    cmap = plt.get_cmap("viridis")
    for k, u in enumerate(shown):
        s = trains[int(u)]
        axes[0].vlines(s, k + 0.6, k + 1.4, color=cmap(u / max(n - 1, 1)), lw=0.6)
    axes[0].set_ylabel(f"motor unit\n({len(shown)} of {n}, by recruitment order)")
    axes[0].set_ylim(0, len(shown) + 1)
    axes[1].plot(t, ds["force_mvc"].values, color="k", lw=1, label="force")
    if "target" in ds and ds.attrs.get("config", {}).get("task", {}).get("control", "force") == "force":
        axes[1].plot(t, ds["target"].values, color="tab:red", lw=1, ls="--", label="target")
    axes[1].set_ylabel("force (%MVC)")
    axes[1].legend(loc="upper right", fontsize=8, frameon=False)
    for u in shown[:: max(1, len(shown) // 12)]:
        r = measures.smoothed_rate(measures.main_train(trains[int(u)]), t, rate_window_s)
        axes[2].plot(t, r, color=cmap(u / max(n - 1, 1)), lw=1)
    axes[2].set_ylabel("discharge rate (pps)")
    axes[2].set_xlabel("time (s)")
    title = (f"{n} motor units, MVC {ds.attrs.get('mvc_n', float('nan')):.0f} N, "
             f"seed {ds.attrs.get('seed')}, engine {ds.attrs.get('engine')}")
    axes[0].set_title(title, fontsize=10)
    fig.align_ylabels(axes)
    return fig
