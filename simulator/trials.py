"""Many stimulated trials of one subject in one network run.

An evoked-response protocol repeats short trials (0.1–1.5 s) on the same subject. Instead of one
network per trial, :func:`simulate_trials` lays the trials end to end in one run of a
:class:`~simulator.network.Structure` with ``segments`` trial segments: at the start of every
segment each state variable of the pool, the muscle and the controller is reset to its initial
value (:func:`simulator.network.segment_reset`) and the nerve latches of the ending trial are
recorded, so every trial starts from the same state as a run of its own. Each trial keeps its
own noise (drawn from the same seed as :func:`simulator.simulation.simulate` with ``trial``), its
stimulus at the same time within its segment, and comes back as its own ``activity`` Dataset:
the results equal one run per trial up to floating-point rounding of the run time.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import xarray as xr

from .engine import Results, Values, run
from .inputs.stimulation import Stimulus
from .network import SEGMENT_ARRAYS, STIM_ARRAYS, TIMED_ARRAYS, Structure
from .assembly import structure_for
from .calibration import Calibration, calibrate
from .simulation import TrialRun, finish_trial, prepare_trial
from .subject import SimulationConfig, unit_table

__all__ = ["simulate_trials", "MAX_BATCH_UNIT_S"]

#: Largest batch, in units x simulated seconds (the per-unit noise of a batch is held in memory:
#: 8 bytes per unit per input step); longer protocols run in several batches.
MAX_BATCH_UNIT_S = 2000.0


def simulate_trials(cfg: SimulationConfig, stimuli: Sequence[Stimulus], trials: Sequence[int], *,
                    calibration: Calibration | None = None) -> list[xr.Dataset]:
    """Run the task of ``cfg`` once per stimulus, all in one network run (or a few).

    Parameters
    ----------
    cfg
        The subject and the task of every trial (its duration is the trial's).
    stimuli
        The stimulus of each trial.
    trials
        The repetition index of each trial (its noise, as ``simulate(..., trial=k)``).
    calibration
        The subject's calibration (computed or loaded when None).

    Returns
    -------
    list of xarray.Dataset
        One ``activity`` Dataset per trial, in order, as :func:`simulator.simulation.simulate`
        returns them.
    """
    if len(stimuli) != len(trials):
        raise ValueError(f"{len(stimuli)} stimuli but {len(trials)} trial indices")
    duration, dt = cfg.task.duration_s, cfg.dt_ms * 1e-3
    for stimulus in stimuli:
        stimulus.check(duration, dt)
    cfg = _aligned(cfg)
    duration = cfg.task.duration_s
    cal = calibration if calibration is not None else calibrate(cfg)
    one = structure_for(cfg, duration, stimulated=True)
    per_batch = max(1, int(MAX_BATCH_UNIT_S // (duration * one.n_units)))
    props = unit_table(cfg)
    out: list[xr.Dataset] = []
    for start in range(0, len(stimuli), per_batch):
        runs = [prepare_trial(cfg, one, cal, trial=k, stimulus=s, props=props)
                for s, k in zip(stimuli[start:start + per_batch], trials[start:start + per_batch])]
        batch = dataclasses.replace(one, duration_s=duration * len(runs), segments=len(runs))
        res = run(batch, _concatenate(one, batch, runs), cfg.engine)
        out += [finish_trial(cfg, _segment(res, one, k), r) for k, r in enumerate(runs)]
    return out


def _aligned(cfg: SimulationConfig) -> SimulationConfig:
    """``cfg`` with its task lengthened (end of the plateau, or the final rest) to the next whole
    number of input and recording steps, so that trial segments tile the run's time grids; the
    extra time comes after everything the trial measures."""
    # the least common multiple of the two steps, in whole nanoseconds
    step = math.lcm(round(cfg.drive.noise_dt_ms * 1e6), round(1e9 / cfg.fs_force_hz)) * 1e-9
    duration = cfg.task.duration_s
    aligned = float(np.ceil(duration / step - 1e-6)) * step
    if aligned - duration < 1e-9:
        return cfg
    task = cfg.task
    if task.shape == "constant":
        task = task.replace(plateau_s=task.plateau_s + aligned - duration)
    else:
        task = task.replace(rest_after_s=task.rest_after_s + aligned - duration)
    return cfg.replace(task=task)


def _concatenate(one: Structure, batch: Structure, runs: list[TrialRun]) -> Values:
    """Values of the batched run: time courses laid end to end, per-segment nerve pulses."""
    values = dict(runs[0].values)  # subject constants are the same in every trial
    length = one.duration_s
    for k, r in enumerate(runs):  # each segment's nerve pulse in run time
        t_nerve = np.asarray(r.values["ta.t_nerve_ta"], dtype=float)
        r.values["ta.t_nerve_ta"] = np.where(t_nerve >= 0, t_nerve + k * length, -1.0)
    steps = {**{f"ta.{k}": (one.n_input_steps - 1, batch.n_input_steps) for k in TIMED_ARRAYS},
             **{f"ta.{k}": (one.n_stim_steps - 1, batch.n_stim_steps)
                for k in (*STIM_ARRAYS, *SEGMENT_ARRAYS)}}
    for key, (m, total) in steps.items():
        # a TimedArray holds its last sample: each trial contributes its first m samples, the
        # last one its final sample too
        parts = [np.asarray(r.values[key])[:m] for r in runs] + [np.asarray(runs[-1].values[key])[m:]]
        values[key] = np.concatenate(parts, axis=0)
        if values[key].shape[0] != total:
            raise AssertionError(f"{key}: {values[key].shape[0]} samples, the batch needs {total}")
    return values


def _segment(res: Results, one: Structure, k: int) -> Results:
    """The results of trial segment ``k``, on the time grid of a run of its own."""
    length, dt = one.duration_s, one.dt_s
    m = int(round(length / one.record_dt_s))
    rows = slice(k * m, (k + 1) * m)
    offset_steps = int(round(k * length / dt))
    step = np.rint(res.spike_time / dt).astype(np.int64) - offset_steps
    keep = (step >= 0) & (step < int(round(length / dt)))
    n_seg = res.latches["ax_m"].shape[1] + 1 if res.latches is not None else 1
    if k < n_seg - 1:
        nerve = {name: np.array(v[:, k]) for name, v in res.latches.items()}
    else:
        nerve = {name: np.array(v) for name, v in res.nerve.items()}
    nerve["t_coll"] = np.where(nerve["ax_coll"] > 0.5, nerve["t_coll"] - k * length, 0.0)
    return Results(
        spike_time=step[keep] * dt,
        spike_unit=res.spike_unit[keep],
        t=res.t[:m],
        force=res.force[rows],
        excitation=res.excitation[rows],
        target=res.target[rows],
        signals={name: v[rows] for name, v in res.signals.items()},
        pathways={name: v[:, rows] for name, v in res.pathways.items()},
        nerve=nerve,
        engine=res.engine,
    )
