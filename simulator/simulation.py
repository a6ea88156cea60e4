"""Simulate a virtual subject performing a task: configuration, MVC calibration and the activity Dataset.

``simulate(config)`` is the one call behind ``mnpool simulate``:

1. compute every unit's parameters from the size-principle gradients
   (:mod:`simulator.models.pool`, :mod:`simulator.models.motoneuron`);
2. *calibrate* the subject (cached on disk): an open-loop ramp of excitation from 0 to the
   maximum followed by a hold gives the force–excitation curve and the MVC (force at maximal
   excitation, Fuglevand et al. 1993);
3. run the task: the controller tracks the force target with feed-forward from the calibration
   curve plus a PI correction (or imposes the excitation in open loop);
4. return an ``activity`` :class:`xarray.Dataset` (DESIGN.md conventions) carrying the full
   configuration, seed and versions in ``attrs``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from . import streams
from ._docs import fill_doc
from .activity import add_stimulation, to_dataset
from .assembly import network_values, structure_for
from .calibration import Calibration, calibrate
from .engine import Results, Values, run
from .inputs.stimulation import Stimulus
from .network import Structure
from .subject import SimulationConfig, load_config, unit_table
from .task import target_profile

# ``simulator.simulation`` stays the public face of a run: the subject, its calibration and its
# configuration loader are re-exported from the modules that now hold them.
__all__ = ["SimulationConfig", "Calibration", "calibrate", "simulate", "unit_table", "load_config",
           "model_fingerprint"]


def model_fingerprint() -> str:
    """A 16-hex-digit hash of the model: its Brian2 equations and every default parameter.

    Results simulated by the same fingerprint come from the same body; a library or any stored
    result records it (``attrs["model_fingerprint"]``), so a test can tell a result built by an
    older model (e.g. before a re-fit of the defaults) from a current one, which the package
    version alone cannot.
    """
    import hashlib
    import json

    from .network import _model_source_hash
    text = _model_source_hash() + json.dumps(SimulationConfig().to_dict(), sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


@fill_doc
def simulate(cfg: SimulationConfig, *, progress: bool = False, voltage_units: tuple[int, ...] = (),
             injection: tuple[np.ndarray, np.ndarray] | None = None,
             calibration: Calibration | None = None, stimulus: Stimulus | None = None,
             trial: int | None = None) -> xr.Dataset:
    """Run the task of ``cfg`` on its virtual subject.

    Parameters
    ----------
    cfg
        Simulation configuration (subject, task, seed, engine).
    %(progress)s
    voltage_units
        Units whose soma/dendrite potentials and PIC activation are recorded at every step
        (``v_s``, ``v_d``, ``m_pic`` in the Dataset, dims ``(vunit, vtime)``).
    injection
        Optional somatic current injection ``(amplitude per unit [A], time course (n_input_steps,))``.
    calibration
        Use this calibration instead of computing (or loading) one.
    stimulus
        Stimuli delivered during the task (:class:`simulator.inputs.stimulation.Stimulus`);
        stimulated runs integrate the volleys at ``dt_ms`` and return what happened in every
        motor axon (``axon_*`` variables, :func:`simulator.evoked.muscle_arrivals`).
    trial
        Repetition index of a trial on the same subject: changes the noise of the run, never the
        subject (whose stimulation thresholds and calibration follow ``cfg.seed``).

    Returns
    -------
    xarray.Dataset
        The ``activity`` Dataset (see :mod:`simulator._schema`).
    """
    task = cfg.task
    if stimulus is not None:
        stimulus.check(task.duration_s, cfg.dt_ms * 1e-3)
    cal = calibration if calibration is not None else calibrate(cfg, progress=progress)
    structure = structure_for(cfg, task.duration_s, voltage_units, stimulated=stimulus is not None)
    trial_run = prepare_trial(cfg, structure, cal, trial=trial, injection=injection, stimulus=stimulus)
    res = run(structure, trial_run.values, cfg.engine, progress=progress)
    return finish_trial(cfg, res, trial_run, structure.voltage_units)


@dataclasses.dataclass
class TrialRun:
    """Everything a trial's network run needs and its Dataset is assembled from."""

    values: Values
    props: dict[str, np.ndarray]
    calibration: Calibration
    goal_time: np.ndarray
    goal: np.ndarray
    stimulus: Stimulus | None


def prepare_trial(cfg: SimulationConfig, structure: Structure, cal: Calibration, *,
                  trial: int | None = None, injection: tuple[np.ndarray, np.ndarray] | None = None,
                  stimulus: Stimulus | None = None, props: dict[str, np.ndarray] | None = None) -> TrialRun:
    """Values of one run of ``cfg``'s task on ``structure`` (noise drawn for ``trial``)."""
    task = cfg.task
    t_in = np.arange(structure.n_input_steps) * structure.input_dt_s
    goal = target_profile(task, t_in) / 100.0
    if task.control == "force":
        e_ff, target, closed = cal.excitation_for(goal), goal, True
    else:
        e_ff, target, closed = goal, np.zeros_like(goal), False
    props = unit_table(cfg) if props is None else props
    rng = streams.noise(cfg.seed, "task_noise", session=cfg.session, trial=trial)
    values = network_values(cfg, structure, props, rng, e_ff=e_ff, target=target, closed_loop=closed,
                            f_mvc=cal.mvc_n, injection=injection, stimulus=stimulus)
    return TrialRun(values, props, cal, t_in, goal, stimulus)


def finish_trial(cfg: SimulationConfig, res: Results, trial_run: TrialRun,
                 voltage_units: tuple[int, ...] = ()) -> xr.Dataset:
    """The ``activity`` Dataset of one trial from its raw results."""
    ds = to_dataset(cfg, res, trial_run.props, trial_run.calibration, goal_time=trial_run.goal_time,
                    goal=trial_run.goal, voltage_units=voltage_units)
    # the cortical signal standing in for EEG/MEG: corticospinal output with its common and beta
    # oscillations (the shared input of every corticomotoneuronal synapse)
    values = trial_run.values
    oscillation = np.interp(res.t, trial_run.goal_time, values["ta.common_ta"] + values["ta.beta_ta"])
    ds["cortical_signal"] = ("time", ds["corticospinal_output"].values * (1 + oscillation),
                             {"units": "1", "long_name": "corticospinal output with its oscillations"})
    if trial_run.stimulus is not None:
        add_stimulation(ds, trial_run.stimulus, res, trial_run.props)
    return ds
