"""Figures (PNG) of mnpool Datasets, written beside the data by the CLI: what a physiologist
looks at first (raster, force, discharge rates, pathway currents) and the HD-sEMG views
(traces, RMS map over the grid, MUAPs over the grid)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from . import measures

__all__ = ["plot_activity", "plot_pathways", "plot_unit_summary", "save_figure", "plot_emg_channels", "plot_rms_map", "plot_muap_grid",
           "emg_figures"]


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")  # figures are files; never open a window
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path: str | Path) -> Path:  # noqa: ANN001 - matplotlib Figure
    """Save ``fig`` as PNG (atomically) and close it."""
    from .io import atomic_path
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")
    _pyplot().close(fig)
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
    plt = _pyplot()

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


def plot_unit_summary(ds: xr.Dataset):
    """Per-unit measures of an experiment against recruitment threshold (%MVC).

    Panels: discharge rate at recruitment and peak rate [pps], delta-F [pps], rate–force gain
    [pps/%MVC]; the title carries the scalar outcomes.

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    rt = ds["recruitment_threshold"].values
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6))
    axes[0].plot(rt, ds["rate_at_recruitment"].values, "o", ms=3, label="at recruitment")
    axes[0].plot(rt, ds["peak_rate"].values, "o", ms=3, label="peak")
    axes[0].set_ylabel("discharge rate (pps)")
    axes[0].legend(fontsize=8, frameon=False)
    axes[1].plot(rt, ds["delta_f"].values, "o", ms=3, color="tab:green")
    axes[1].set_ylabel("delta-F (pps)")
    if "rate_force_gain" in ds:
        axes[2].plot(rt, ds["rate_force_gain"].values, "o", ms=3, color="tab:purple")
    axes[2].set_ylabel("rate–force gain (pps/%MVC)")
    for ax in axes:
        ax.set_xlabel("recruitment threshold (%MVC)")
    outcomes = [f"{k} {float(ds[k]):.3g} {ds[k].attrs.get('units', '')}" for k in
                ("mvc_n", "force_mean", "mean_rate", "median_delta_f") if k in ds]
    fig.suptitle(f"{ds.attrs.get('experiment', '')}: " + ", ".join(outcomes), fontsize=9)
    fig.tight_layout()
    return fig


#: Pathway currents of an activity Dataset and their colours.
PATHWAY_VARIABLES = {
    "current_corticomotoneuronal": ("corticomotoneuronal", "tab:blue"),
    "current_reticulospinal": ("reticulospinal", "tab:orange"),
    "current_spinal": ("spinal interneurons", "tab:green"),
    "current_ia": ("Ia monosynaptic", "tab:purple"),
    "current_inhibition": ("inhibition (Renshaw, reciprocal)", "tab:red"),
}


def plot_pathways(ds: xr.Dataset, *, smooth_s: float = 0.05):
    """Synaptic current of each pathway into the first- and last-recruited unit, with force.

    Parameters
    ----------
    ds
        Activity Dataset (it records the pathway currents of units 0 and N-1).
    smooth_s
        Moving-average window applied to the currents for display [s].

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    t = ds["time"].values
    n = max(1, int(round(smooth_s / (t[1] - t[0])))) if t.size > 1 else 1
    kernel = np.ones(n) / n
    fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    labels = ("low-threshold unit (first recruited)", "high-threshold unit (last recruited)")
    for ax, k, label in zip(axes[:2], range(2), labels):
        for var, (name, colour) in PATHWAY_VARIABLES.items():
            if var in ds:
                ax.plot(t, np.convolve(ds[var].values[k], kernel, mode="same"), color=colour,
                        lw=1, label=name)
        ax.axhline(0, color="0.6", lw=0.5)
        ax.set_ylabel("current (nA)")
        ax.set_title(f"{label}: unit {int(ds['pathway_unit'].values[k])}", fontsize=9)
    # one legend above the panels: inside an axes, loc="best" covered a trace and its search
    # over the 20 000-point lines took half of the figure's drawing time
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", bbox_to_anchor=(0.5, 0.905),
               ncol=3, fontsize=8, frameon=False)
    axes[2].plot(t, ds["force_mvc"].values, color="k", lw=1)
    axes[2].set_ylabel("force (%MVC)")
    axes[2].set_xlabel("time (s)")
    fig.align_ylabels(axes)
    return fig


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
        ``(start, stop)`` in s; default the second centred on the peak force.
    """
    plt = _pyplot()
    t = rec["time"].values
    if window_s is None:  # one second centred on the peak force (the plateau of a contraction)
        if t.size and "force" in rec and np.ptp(rec["force"].values) > 0:
            centre = float(t[int(np.argmax(rec["force"].values))])
        else:
            centre = float(t[-1]) / 2 if t.size else 0.5
        start = min(max(0.0, centre - 0.5), max(0.0, float(t[-1]) - 1.0)) if t.size else 0.0
        window_s = (start, start + 1.0)
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
    return save_figure(fig, path)


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
    return save_figure(fig, path)


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
    return save_figure(fig, path)


def emg_figures(rec: xr.Dataset, out_dir: str | os.PathLike, stem: str = "recording") -> list[Path]:
    """Write the three standard EMG figures into ``out_dir``; return their paths."""
    out = Path(out_dir)
    return [plot_emg_channels(rec, out / f"{stem}_emg.png"),
            plot_rms_map(rec, out / f"{stem}_rms_map.png"),
            plot_muap_grid(rec, out / f"{stem}_muap_grid.png")]
