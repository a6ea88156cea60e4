"""MVC calibration of a subject: the force–excitation curve and the maximal voluntary force.

An open-loop ramp of excitation from 0 to the maximum followed by a hold gives the
force–excitation curve and the MVC (force at maximal excitation, Fuglevand et al. 1993); the
result is cached on disk by the subject (:func:`simulator.cache.cache_dir`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

from . import streams
from ._docs import fill_doc
from .cache import cache_dir
from .engine import run
from .network import Structure
from .assembly import network_values, structure_for
from .subject import SimulationConfig, unit_table

__all__ = ["Calibration", "calibrate"]


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Force–excitation relation of a subject at rest-to-maximum excitation.

    Attributes
    ----------
    mvc_n
        Maximal voluntary force [N]: mean force over the last second at maximal excitation.
    excitation
        Excitation samples of the (monotone) force–excitation curve (0–1).
    force_n
        Force [N] at those excitation levels (non-decreasing).
    """

    mvc_n: float
    excitation: np.ndarray
    force_n: np.ndarray

    def excitation_for(self, force_fraction: np.ndarray) -> np.ndarray:
        """Feed-forward excitation expected to give ``force_fraction`` (of MVC)."""
        f = np.clip(np.asarray(force_fraction, dtype=float), 0.0, None) * self.mvc_n
        return np.interp(f, self.force_n, self.excitation, right=1.0)


#: Parameters that do not change the force of the calibration run, so do not invalidate a
#: cached calibration: the task and the engine, the subject's seed and session (they draw the
#: nerve thresholds, MUAP placement and the noise of the task runs; the calibration's noise is
#: a fixed draw), and the stimulation settings (the calibration run is not stimulated).
CALIBRATION_FREE = ("task", "engine", "seed", "session", "nerve", "cortex")


def _subject_key(cfg: SimulationConfig) -> str:
    # every other parameter (pool, membrane, muscle, pathways, neuromodulation, noise levels,
    # dt, force sampling, ramp and hold) and the model equations define the force-excitation curve
    subject = {k: v for k, v in cfg.to_dict().items() if k not in CALIBRATION_FREE}
    text = json.dumps(subject, sort_keys=True)
    return hashlib.sha1((text + Structure(1, 1.0).key()).encode()).hexdigest()[:16]


@fill_doc
def calibrate(cfg: SimulationConfig, *, use_cache: bool = True, progress: bool = False) -> Calibration:
    """Measure the subject's force–excitation curve and MVC (cached on disk).

    The calibration is a property of the subject's force-producing apparatus: it is cached by
    every parameter but those of :data:`CALIBRATION_FREE` (task, engine, seed, session, nerve
    and cortex stimulation settings), and its synaptic noise is one fixed draw, so a new noise
    seed or session of the same subject reuses it.

    Parameters
    ----------
    cfg
        Simulation configuration (the task is ignored).
    use_cache
        Reuse a calibration stored under :func:`simulator.cache.cache_dir`.
    %(progress)s

    Returns
    -------
    Calibration
    """
    path = cache_dir() / "calibrations" / f"{_subject_key(cfg)}.npz"
    if use_cache and path.is_file():
        with np.load(path) as z:
            return Calibration(float(z["mvc_n"]), z["excitation"], z["force_n"])
    ramp, hold = cfg.calibration_ramp_s, cfg.calibration_hold_s
    structure = structure_for(cfg, ramp + hold)
    t_in = np.arange(structure.n_input_steps) * structure.input_dt_s
    e_ff = np.clip(t_in / ramp, 0.0, 1.0)
    props = unit_table(cfg)
    # one fixed noise draw (that of seed 0's first session), so that the calibration does not
    # depend on the parameters it is not cached by
    rng = streams.noise(0, "calibration_noise", session=0)
    values = network_values(cfg, structure, props, rng, e_ff=e_ff, target=np.zeros_like(e_ff),
                     closed_loop=False, f_mvc=1.0)
    res = run(structure, values, cfg.engine, progress=progress)
    mvc = float(res.force[res.t >= ramp + hold - min(1.0, hold / 2)].mean())
    on_ramp = res.t <= ramp
    # force lags excitation by the twitch dynamics; shift by ~100 ms before pairing them
    lag = int(round(0.1 / (res.t[1] - res.t[0])))
    exc = res.excitation[on_ramp][:-lag]
    force = _smooth(res.force, 101)[on_ramp][lag:]
    force = np.maximum.accumulate(force)
    exc = np.append(exc, 1.0)
    force = np.append(force, max(mvc, force[-1]))
    cal = Calibration(mvc, exc, force)
    # a unique temporary file per writer: concurrent sweep workers calibrating the same subject
    # must never rename (or read) each other's half-written file
    from .io import atomic_path
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, mvc_n=mvc, excitation=exc, force_n=force)
    return cal


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    kernel = np.hanning(n)
    kernel /= kernel.sum()
    pad = np.pad(x, n // 2, mode="edge")
    return np.convolve(pad, kernel, mode="valid")
