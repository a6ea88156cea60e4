"""One subject in the lab: the state a session shares between experiments.

A :class:`Session` holds what a lab measures once per visit and reuses: the subject's MVC
calibration, its conduction times and nerve thresholds (from :func:`simulator.simulation.unit_table`),
the bipolar MUAP templates and Mmax per background level. Every experiment takes an optional
session (:func:`scenarios.registry.run`), so a battery of experiments on one subject measures
these once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from simulator import evoked
from simulator.inputs.stimulation import Stimulus
from simulator.simulation import Calibration, SimulationConfig, calibrate, simulate, unit_table
from simulator.task import TaskConfig

__all__ = ["Session"]


class Session:
    """One subject in the lab: calibration, MUAPs and conduction times, and its trials.

    Parameters
    ----------
    subject
        The virtual subject (its task is replaced by each trial's).
    simulator
        The simulation function (injectable for tests).
    calibration
        The subject's calibration, if already known (else measured on first use).
    """

    def __init__(self, subject: SimulationConfig, *, simulator: Callable[..., xr.Dataset] = simulate,
                 calibration: Calibration | None = None) -> None:
        self.subject = subject
        self.simulator = simulator
        self._calibration = calibration
        self.bipolar = evoked.BipolarConfig()
        self._templates: np.ndarray | None = None
        self.mmax_mv: dict[tuple[float, int], float] = {}

    # measured on first use, so a protocol that needs neither (a plain contraction) costs nothing;
    # each comes from the subject's own named streams, so the order of use does not matter
    @functools.cached_property
    def calibration(self) -> Calibration:
        """The subject's MVC calibration (:func:`simulator.simulation.calibrate`)."""
        return self._calibration or calibrate(self.subject)

    @functools.cached_property
    def _units(self) -> dict[str, np.ndarray]:
        return unit_table(self.subject)

    @property
    def proximal_s(self) -> np.ndarray:
        """Conduction time from the cortex-side entry to the pool, per unit [s]."""
        return self._units["proximal_delay_s"]

    @property
    def distal_s(self) -> np.ndarray:
        """Conduction time from the stimulation site to the muscle, per unit [s]."""
        return self._units["distal_delay_s"]

    @property
    def reflex_s(self) -> np.ndarray:
        """Reflex (H-wave) latency per unit [s]."""
        return self._units["reflex_latency_ms"] * 1e-3

    @property
    def axon_thresholds_ma(self) -> np.ndarray:
        """Nerve-stimulation threshold of every motor axon [mA]."""
        return self._units["nerve_threshold_ma"]

    def trial(self, stimulus: Stimulus | None, *, background_pct: float, duration_s: float,
              repeat: int, relax_at_s: float | None = None) -> tuple[np.ndarray, np.ndarray, xr.Dataset]:
        """Run one trial; return EMG time [s], bipolar EMG [mV] and the activity Dataset.

        The contraction lasts the whole trial, or until ``relax_at_s`` [s] followed by rest.
        """
        ds = self.simulator(self._task(background_pct, duration_s, relax_at_s), stimulus=stimulus,
                            trial=repeat, calibration=self.calibration)
        return (*self._emg(ds), ds)

    def trials(self, stimuli: Sequence[Stimulus], *, background_pct: float, duration_s: float,
               repeats: int, first_repeat: int = 0,
               relax_at_s: float | None = None) -> list[list[tuple[np.ndarray, np.ndarray, xr.Dataset]]]:
        """Run ``repeats`` trials of every stimulus (repeat ``r`` has the noise of
        ``trial(..., repeat=first_repeat + r)``); return ``[stimulus][repeat] -> (t, emg, Dataset)``.

        With the default simulator all trials share one network run
        (:func:`simulator.trials.simulate_trials`); an injected simulator runs them one by one.
        """
        indices = range(first_repeat, first_repeat + repeats)
        if self.simulator is not simulate:
            return [[self.trial(s, background_pct=background_pct, duration_s=duration_s, repeat=r,
                                relax_at_s=relax_at_s) for r in indices] for s in stimuli]
        from simulator.trials import simulate_trials
        flat = [(s, r) for s in stimuli for r in indices]
        dss = simulate_trials(self._task(background_pct, duration_s, relax_at_s), [s for s, _ in flat],
                              [r for _, r in flat], calibration=self.calibration)
        out = [(*self._emg(ds), ds) for ds in dss]
        return [out[i * repeats:(i + 1) * repeats] for i in range(len(stimuli))]

    def _task(self, background_pct: float, duration_s: float,
              relax_at_s: float | None = None) -> SimulationConfig:
        """The subject holding ``background_pct`` (%MVC, as open-loop excitation) for a trial,
        until ``relax_at_s`` [s] (None: the whole trial) and at rest afterwards."""
        level = 100.0 * float(self.calibration.excitation_for(background_pct / 100.0)) if background_pct else 0.0
        hold = duration_s if relax_at_s is None else relax_at_s
        task = TaskConfig(shape="constant", control="excitation", level=min(level, 100.0), rest_s=0.0,
                          plateau_s=hold, rest_after_s=duration_s - hold)
        return self.subject.replace(task=task)

    def _emg(self, ds: xr.Dataset) -> tuple[np.ndarray, np.ndarray]:
        if self._templates is None:
            self._templates = evoked.bipolar_templates(ds, self.bipolar, seed=self.subject.seed)
        return evoked.evoked_emg(ds, self._templates, self.bipolar.fs_hz)

    def m_window(self, stim_s: float) -> tuple[float, float]:
        """Window of the M-wave [s]."""
        return stim_s + self.distal_s.min() - 1e-3, stim_s + self.distal_s.max() + 12e-3

    def reflex_window(self, stim_s: float) -> tuple[float, float]:
        """Window of the H- and V-waves [s]."""
        return stim_s + self.reflex_s.min() - 2e-3, stim_s + self.reflex_s.max() + 15e-3

    def descending_window(self, stim_s: float, travel_s: float) -> tuple[float, float]:
        """Window of a response to a descending volley that reaches the pool ``travel_s`` after
        the stimulus (MEP, CMEP, startle)."""
        efferent = self.proximal_s + self.distal_s
        return stim_s + travel_s + efferent.min() - 1e-3, stim_s + travel_s + efferent.max() + 20e-3
