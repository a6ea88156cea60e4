"""mnpool simulator: the virtual subject (Brian2 motoneuron pool, pathways, muscle) and its recording.

The public entry points are re-exported here; see :mod:`simulator.network` for simulation and
:mod:`simulator.io` for saving and loading Datasets.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mnpool")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
