"""Figure of a gathered sweep: one per-task measure against the first swept parameter."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from scenarios.sweep.summary import DEFAULT_MEASURE
from simulator.config import ConfigError

__all__ = ["plot_sweep"]


def plot_sweep(ds: xr.Dataset, path: str | os.PathLike, measure: str | None = None) -> Path:
    """Plot one per-task measure against the first swept parameter and save it as PNG.

    Every task is a dot; the line joins the means over the other swept parameters.

    Parameters
    ----------
    ds
        Gathered sweep Dataset (:func:`gather`).
    path
        PNG file to write.
    measure
        A variable with only the ``task`` dimension (default :data:`DEFAULT_MEASURE` if present,
        else the first such variable).

    Raises
    ------
    ConfigError
        If ``measure`` is not a per-task variable of ``ds``.
    """
    from simulator.plotting import _pyplot, save_figure
    scalars = [v for v in ds.data_vars if ds[v].dims == ("task",) and v != "config"
               and np.issubdtype(ds[v].dtype, np.number)]
    if measure is None:
        measure = DEFAULT_MEASURE if DEFAULT_MEASURE in scalars else (scalars[0] if scalars else None)
    if measure not in scalars:
        raise ConfigError(f"measure {measure!r} is not a per-task number of the sweep; "
                          f"available: {', '.join(scalars) or 'none'}")
    key = ds.attrs["parameters"][0]
    x = ds[key].values
    y = ds[measure].values.astype(float)
    numeric = np.issubdtype(x.dtype, np.number)
    levels = np.unique(x)
    pos = x.astype(float) if numeric else np.searchsorted(levels, x).astype(float)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    ax.plot(pos, y, "o", alpha=0.6, label="task")
    means = [np.nanmean(y[x == lv]) if np.isfinite(y[x == lv]).any() else np.nan for lv in levels]
    ax.plot(levels.astype(float) if numeric else np.arange(levels.size), means, "-", lw=2,
            label="mean over other parameters" if len(ds.attrs["parameters"]) > 1 else "mean")
    if not numeric:
        ax.set_xticks(np.arange(levels.size), [str(v) for v in levels])
    unit = ds[measure].attrs.get("units", "")
    ax.set_xlabel(key)
    ax.set_ylabel(f"{measure} [{unit}]" if unit else measure)
    ax.set_title(f"{ds.attrs.get('n_finished', ds.sizes['task'])} tasks", fontsize=9)
    ax.legend(fontsize=8, frameon=False)
    return save_figure(fig, path)
