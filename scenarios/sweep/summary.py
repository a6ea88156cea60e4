"""The default task of a sweep: simulate a configuration, reduce it to motor-unit measures and
force statistics."""

from __future__ import annotations

import numpy as np
import xarray as xr

from simulator.simulation import SimulationConfig

__all__ = ["SUMMARY_MEASURES", "DEFAULT_MEASURE", "summarize"]


#: Per-task measures of :func:`summarize`: name -> (unit, long name).
SUMMARY_MEASURES: dict[str, tuple[str, str]] = {
    "mvc_n": ("N", "maximal voluntary force"),
    "force_mean_mvc": ("%MVC", "mean force on the plateau"),
    "force_sd_mvc": ("%MVC", "standard deviation of force on the plateau"),
    "force_cov_pct": ("%", "coefficient of variation of force on the plateau"),
    "tracking_rmse_mvc": ("%MVC", "root-mean-square force tracking error"),
    "n_spikes": ("1", "number of discharges"),
    "n_recruited": ("1", "units with a recruitment threshold"),
    "plateau_rate_pps": ("pps", "mean discharge rate of units firing on the plateau"),
}
#: Summary measure plotted by default.
DEFAULT_MEASURE = "force_cov_pct"


def summarize(cfg: SimulationConfig) -> xr.Dataset:
    """Simulate ``cfg`` and reduce it to motor-unit measures and force statistics.

    The plateau is where the target is at least 95 % of its peak (the whole task if the target
    is zero throughout).

    Parameters
    ----------
    cfg
        Full simulation configuration.

    Returns
    -------
    xarray.Dataset
        Per unit (dim ``unit``): the variables of :func:`simulator.measures.unit_summary`
        (thresholds [%MVC], rates [pps], ISI CoV, delta-F [pps]). Scalars: ``mvc_n`` [N],
        ``force_mean_mvc`` and ``force_sd_mvc`` on the plateau [%MVC], ``force_cov_pct`` [%],
        ``tracking_rmse_mvc`` over the task [%MVC], ``n_spikes``, ``n_recruited`` (units with a
        recruitment threshold) and ``plateau_rate_pps``, the mean discharge rate of the units
        firing on the plateau [pps].
    """
    from simulator.measures import spike_trains, unit_summary
    from simulator.simulation import simulate
    ds = simulate(cfg)
    units = unit_summary(ds)
    t = ds["time"].values
    force = ds["force_mvc"].values
    target = ds["target"].values
    plateau = target >= 0.95 * target.max() if target.max() > 0 else np.ones(t.size, bool)
    t0, t1 = t[plateau][0], t[plateau][-1]
    counts = np.array([np.count_nonzero((s >= t0) & (s <= t1)) for s in spike_trains(ds).values()])
    firing = counts >= 2
    mean_f, sd_f = float(force[plateau].mean()), float(force[plateau].std())
    values = {
        "mvc_n": float(ds.attrs["mvc_n"]),
        "force_mean_mvc": mean_f,
        "force_sd_mvc": sd_f,
        "force_cov_pct": 100.0 * sd_f / mean_f if mean_f > 0 else np.nan,
        "tracking_rmse_mvc": float(np.sqrt(np.mean((force - target) ** 2))),
        "n_spikes": int(ds.sizes["spike"]),
        "n_recruited": int(np.isfinite(units["recruitment_threshold"].values).sum()),
        "plateau_rate_pps": (float(counts[firing].mean() / (t1 - t0)) if firing.any() and t1 > t0
                             else np.nan),
    }
    for name, (unit, long_name) in SUMMARY_MEASURES.items():
        units[name] = ((), values[name], {"units": unit, "long_name": long_name})
    units.attrs = {"kind": "sweep_summary", "seed": cfg.seed}
    return units
