"""The peer's job for `bench_commands.py`: MyoGen 0.12's NEURON motoneuron pool, N cells, a
trapezoidal descending drive of D seconds (0.5 s rest, 3 s rise, plateau, 3 s fall, 0.5 s rest),
integration step 0.1 ms as in mnpool. Run with a Python that has MyoGen installed (a throwaway
venv, never the project's): ``python myogen_pool.py N D``. Prints the spike count.

The pool is MyoGen's default ``AlphaMN__Pool`` (NERLab model); each motoneuron receives a
Poisson descending-drive neuron of its own (rate 0-60 Hz following the trapezoid) plus a shared
fraction of the others (connection probability 0.3), the set-up of MyoGen's own examples.
"""

from __future__ import annotations

import sys

import numpy as np
import quantities as pq
from myogen.simulator import Network, SimulationRunner
from myogen.simulator.neuron.populations import AlphaMN__Pool, DescendingDrive__Pool
from neuron import h


def trapezoid_hz(t_ms: np.ndarray, duration_s: float, peak_hz: float = 60.0) -> np.ndarray:
    t = t_ms * 1e-3
    plateau = duration_s - 7.0
    rise = np.clip((t - 0.5) / 3.0, 0.0, 1.0)
    fall = np.clip((0.5 + 3.0 + plateau + 3.0 - t) / 3.0, 0.0, 1.0)
    return peak_hz * np.minimum(rise, fall)


def main(n: int, duration_s: float) -> int:
    dt = 0.1
    drive = DescendingDrive__Pool(n=n, timestep__ms=dt * pq.ms)
    pool = AlphaMN__Pool(n=n)
    net = Network({"DD": drive, "aMN": pool})
    net.connect("DD", "aMN", probability=0.3)
    inputs = net.connect_from_external("cortex", "DD")
    rate = trapezoid_hz(np.arange(0.0, duration_s * 1e3 + dt, dt), duration_s)

    def step(counter) -> None:  # noqa: ANN001 - MyoGen passes an itertools.count
        k = min(next(counter), rate.size - 1)
        for cell, netcon in zip(drive, inputs):
            if cell.integrate(rate[k]):
                netcon.event(h.t + 1.0)

    runner = SimulationRunner(net, models={}, step_callback=step)
    block = runner.run(duration__ms=duration_s * 1e3 * pq.ms, timestep__ms=dt * pq.ms, verbose=False)
    spikes = sum(len(st) for seg in block.segments for st in seg.spiketrains)
    print(f"MyoGen {n} units, {duration_s:g} s: {spikes} spikes (all populations)")
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), float(sys.argv[2])))
