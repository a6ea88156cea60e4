"""Contraction tasks: what the virtual subject is asked to do.

A task is a target time course, either of force (in %MVC, tracked by a closed-loop controller
that adjusts the excitation of the pool) or of the excitation itself (open loop, in % of the
maximal synaptic drive). Shapes follow the standard protocols: constant, linear ramp up,
triangular ramp up and down (for delta-F, Gorassini et al. 2002) and trapezoid
(ramp–plateau–ramp, e.g. Del Vecchio et al. 2019).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .config import Config, ConfigError, param

__all__ = ["TaskConfig", "target_profile", "CONTROLLER_EQUATIONS", "controller_values"]


@dataclasses.dataclass(frozen=True)
class TaskConfig(Config):
    """A contraction task.

    The profile is: ``rest_s`` at zero, a linear rise over ``rise_s`` to ``level``, a plateau of
    ``plateau_s``, a linear fall over ``fall_s`` and ``rest_after_s`` at zero. ``constant`` uses
    only the plateau; ``ramp`` stops at the end of the rise; ``triangle`` has no plateau.
    """

    section = "task"

    shape: str = param("trapezoid", choices=("constant", "ramp", "triangle", "trapezoid"))
    control: str = param("force", choices=("force", "excitation"),
                         doc="track a force target (closed loop) or impose the excitation (open loop)")
    level: float = param(30.0, lo=0.0, hi=100.0, unit="%",
                         doc="peak target (%MVC for force control, % of maximal excitation otherwise)")
    rest_s: float = param(0.5, lo=0.0, hi=600.0, unit="s")
    rise_s: float = param(3.0, lo=0.0, hi=600.0, unit="s")
    plateau_s: float = param(4.0, lo=0.0, hi=3600.0, unit="s")
    fall_s: float = param(3.0, lo=0.0, hi=600.0, unit="s")
    rest_after_s: float = param(0.5, lo=0.0, hi=600.0, unit="s")
    kp: float = param(0.6, lo=0.0, hi=50.0, doc="controller proportional gain (excitation per unit force error)")
    ki: float = param(3.0, lo=0.0, hi=500.0, unit="1/s", doc="controller integral gain")
    force_filter_ms: float = param(50.0, lo=1.0, hi=2000.0, unit="ms",
                                   doc="low-pass time constant of the force the controller sees")

    def validate(self) -> None:
        if self.duration_s <= 0:
            raise ConfigError("task duration is zero: set task.plateau_s or task.rise_s > 0")
        if self.duration_s > 3600:
            raise ConfigError(f"task duration {self.duration_s:g} s exceeds the 3600 s limit")

    @property
    def duration_s(self) -> float:
        """Total duration of the task [s]."""
        rise, plateau, fall = self._phases()
        return self.rest_s + rise + plateau + fall + self.rest_after_s

    def _phases(self) -> tuple[float, float, float]:
        if self.shape == "constant":
            return 0.0, self.plateau_s, 0.0
        if self.shape == "ramp":
            return self.rise_s, 0.0, 0.0
        if self.shape == "triangle":
            return self.rise_s, 0.0, self.fall_s
        return self.rise_s, self.plateau_s, self.fall_s


def target_profile(task: TaskConfig, t: np.ndarray) -> np.ndarray:
    """Target value (in % of MVC or of maximal excitation) at times ``t`` [s]."""
    rise, plateau, fall = task._phases()
    t0 = task.rest_s
    t = np.asarray(t, dtype=float)
    if task.shape == "constant":
        return np.where((t >= t0) & (t < t0 + plateau), task.level, 0.0)
    if task.shape == "ramp":  # rise, then hold the level for rest_after_s
        return np.interp(t, [0.0, t0, t0 + rise], [0.0, 0.0, task.level])
    knots = np.cumsum([0.0, t0, rise, plateau, fall, task.rest_after_s])
    return np.interp(t, knots, [0.0, 0.0, task.level, task.level, 0.0, 0.0])


#: Brian2 equations of the force controller (the one-neuron ``drive`` group): the low-passed
#: muscle force is compared with the target and sets the cortical command ``exc`` = feed-forward
#: + PI correction, clipped to [0, 1]. ``goal`` and ``e_ff`` are fractions (of MVC and of
#: maximal command).
CONTROLLER_EQUATIONS = """
force : newton
F_mvc : newton (constant, shared)
kp : 1 (constant, shared)
ki : 1/second (constant, shared)
tau_f : second (constant, shared)
closed_loop : 1 (constant, shared)
goal = target_ta(t) : 1
e_ff = eff_ta(t) : 1
dforce_f/dt = (force / F_mvc - force_f) / tau_f : 1
derr_int/dt = closed_loop * ki * (goal - force_f) * int(e_raw < 1.0 or goal < force_f) : 1
e_raw = e_ff + closed_loop * (kp * (goal - force_f) + err_int) : 1
dexc/dt = (clip(e_raw, 0, 1) - exc) / (2*ms) : 1
"""


def controller_values(task: TaskConfig, *, f_mvc: float, closed_loop: bool) -> dict[str, float]:
    """Brian2 values of the force controller (SI units, keyed by variable name).

    Parameters
    ----------
    task
        The task (controller gains and force filter).
    f_mvc
        Maximal voluntary force [N] that normalises the force.
    closed_loop
        Whether the PI correction acts (force control) or the command is imposed (excitation).
    """
    return {"F_mvc": f_mvc, "kp": task.kp, "ki": task.ki, "tau_f": task.si("force_filter_ms"),
            "closed_loop": float(closed_loop)}
