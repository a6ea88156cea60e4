"""The ``activity`` Dataset: spikes, force, drives and per-unit properties of one run
(DESIGN.md conventions), assembled from the engine's raw results, and its checks."""

from __future__ import annotations

import dataclasses
import json
import platform
from typing import Any

import numpy as np
import xarray as xr

from . import _schema
from .engine import Results
from .inputs.stimulation import Stimulus
from ._schema import check_activity
from .calibration import Calibration
from .subject import SimulationConfig

__all__ = ["to_dataset", "add_stimulation", "check_activity"]


def to_dataset(cfg: SimulationConfig, res: Results, props: dict[str, np.ndarray], cal: Calibration,
               *, goal_time: np.ndarray, goal: np.ndarray,
               voltage_units: tuple[int, ...] = ()) -> xr.Dataset:
    """Assemble the ``activity`` Dataset from raw engine results."""
    from importlib import metadata

    from . import __version__
    target_pct = np.interp(res.t, goal_time, goal) * 100.0
    data_vars: dict[str, Any] = {
        _schema.SPIKE_TIME: ("spike", res.spike_time, {"units": "s", "long_name": "spike time"}),
        _schema.SPIKE_UNIT: ("spike", res.spike_unit, {"long_name": "motor unit of the spike"}),
        "force": ("time", res.force, {"units": "N", "long_name": "muscle force"}),
        "force_mvc": ("time", 100.0 * res.force / cal.mvc_n, {"units": "%MVC", "long_name": "muscle force"}),
        "target": ("time", target_pct, {"units": "%MVC" if cfg.task.control == "force" else "%",
                                        "long_name": f"{cfg.task.control} target"}),
        "excitation": ("time", res.excitation, {"units": "1",
                                                "long_name": "excitatory command (fraction of maximum)"}),
    }
    # the drives as the network computed them (recorded, not recomputed here)
    sig = res.signals
    signals = {
        "interneuron_activity": (sig["r_ein"], "1", "excitatory interneuron activity"),
        "renshaw_activity": (sig["r_rc"], "1", "Renshaw inhibition (units of max excitation)"),
        "ia_activity": (sig["r_ia"], "1", "Ia afferent activity (1 = reference rate)"),
        "pool_rate": (sig["pool_rate"], "Hz", "mean discharge rate of the pool"),
        "corticospinal_output": (sig["o_cst"], "1", "corticospinal output"),
        "reticulospinal_output": (sig["o_rst"], "1", "reticulospinal output"),
        "monoaminergic_drive": (sig["monoamine"], "1", "monoaminergic drive"),
    }
    for name, (values, unit, long_name) in signals.items():
        data_vars[name] = ("time", values, {"units": unit, "long_name": long_name})
    pathway_names = {"i_cm": "corticomotoneuronal", "i_rst": "reticulospinal",
                     "i_in": "spinal interneurons", "i_ia": "Ia monosynaptic", "i_inh": "inhibition"}
    for key, long_name in pathway_names.items():
        data_vars[f"current_{long_name.split()[0].lower()}"] = (
            ("pathway_unit", "time"), res.pathways[key] * 1e9,
            {"units": "nA", "long_name": f"{long_name} synaptic current"})
    for name, unit in _schema.UNIT_PROPERTIES.items():
        data_vars[name] = ("unit", np.asarray(props[name]), {"units": unit})
    data_vars["ia_epsp_conductance_us"] = ("unit", props["ia_epsp_conductance_us"], {"units": "uS"})
    data_vars["rst_weight"] = ("unit", props["rst_weight"], {"units": "1"})
    data_vars["tetanic_force"] = ("unit", props["tetanic_n"], {"units": "N",
                                                           "long_name": "unit force at high rates"})
    data_vars["reflex_latency_ms"] = ("unit", props["reflex_latency_ms"], {"units": "ms"})
    coords: dict[str, Any] = {"time": ("time", res.t, {"units": "s"}),
                              "unit": ("unit", np.arange(cfg.pool.n_units)),
                              "pathway_unit": ("pathway_unit", np.array([0, cfg.pool.n_units - 1]))}
    if res.voltage is not None:
        coords["vtime"] = ("vtime", res.voltage_t, {"units": "s"})
        coords["vunit"] = ("vunit", np.asarray(voltage_units, dtype=int))
        data_vars["v_s"] = (("vunit", "vtime"), res.voltage["v_s"] * 1e3, {"units": "mV"})
        data_vars["v_d"] = (("vunit", "vtime"), res.voltage["v_d"] * 1e3, {"units": "mV"})
        data_vars["m_pic"] = (("vunit", "vtime"), res.voltage["m_pic"], {"units": "1"})
    attrs = {
        "kind": "activity",
        "config": cfg.to_dict(),
        "seed": cfg.seed,
        "engine": res.engine,
        "dt_s": cfg.dt_ms * 1e-3,
        "fs_force_hz": cfg.fs_force_hz,
        "duration_s": cfg.task.duration_s,
        "mvc_n": cal.mvc_n,
        "mnpool_version": __version__,
        "brian2_version": metadata.version("brian2"),
        "python_version": platform.python_version(),
    }
    return _schema.describe(xr.Dataset(data_vars, coords=coords, attrs=attrs))


def add_stimulation(ds: xr.Dataset, stimulus: Stimulus, res: Results,
                     props: dict[str, np.ndarray]) -> None:
    """Record the stimulus and the fate of every motor axon in the activity Dataset."""
    nerve = res.nerve
    new = {"axon_collision_time": ("unit", np.where(nerve["ax_coll"] > 0.5, nerve["t_coll"], np.nan),
                                   {"units": "s", "long_name": "soma time of the discharge that "
                                    "collided with the antidromic spike"})}
    for key, name, long_name in (("ax_m", "axon_orthodromic", "stimulated spike reached the muscle"),
                                 ("ax_anti", "axon_antidromic", "antidromic spike invaded the soma"),
                                 ("ax_fail", "axon_refractory", "axon refractory at the pulse")):
        new[name] = ("unit", nerve[key] > 0.5, {"long_name": long_name})
    for key in ("nerve_threshold_ma", "proximal_delay_s", "distal_delay_s"):
        new[key] = ("unit", props[key], {"units": {"ma": "mA"}.get(key.rsplit("_", 1)[1], "s")})
    # one merge for all seven variables: every item assignment re-aligns the whole Dataset, and
    # a battery session records ~30 stimulated trials
    ds.update(new)
    ds.attrs["stimulus"] = json.dumps(dataclasses.asdict(stimulus))
    _schema.describe(ds)
