"""Helpers shared by the exporters: the reference signal, ground-truth trains, format checks."""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["reference_signal", "ground_truth_trains", "check_muedit", "check_bids"]


def reference_signal(ds: xr.Dataset) -> np.ndarray:
    """Force of a recording [%MVC, else N], or zeros when it has none."""
    for name in ("force_mvc", "force"):
        if name in ds.variables:
            return np.asarray(ds[name].values, dtype=float)
    return np.zeros(ds.sizes["time"])


def ground_truth_trains(ds: xr.Dataset) -> dict[int, np.ndarray]:
    """0-based discharge samples of every unit of a recording (empty arrays included)."""
    su = np.asarray(ds["spike_unit"].values)
    ss = np.asarray(ds["spike_sample"].values, dtype=np.int64)
    n = int(ds.sizes["unit"]) if "unit" in ds.sizes else (int(su.max()) + 1 if su.size else 0)
    return {u: np.sort(ss[su == u]) for u in range(n)}


def check_muedit(montage: str) -> None:
    """Refuse a non-monopolar recording for MUedit (it derives its own montages)."""
    from ..config import ConfigError
    if montage != "monopolar":
        raise ConfigError(f"format 'mat' (MUedit) needs a monopolar recording; this one is "
                          f"{montage!r} (set emg.grid.montage = 'monopolar')")


def check_bids(fs: float) -> None:
    """Refuse a non-integer sampling rate for BIDS (EDF/BDF records of 1 s)."""
    from ..config import ConfigError
    if abs(fs - round(fs)) > 1e-9:
        raise ConfigError(f"format 'bids' writes EDF/BDF with 1 s records and needs an integer "
                          f"sampling rate; fs_hz = {fs!r}")
