"""Shared parameter documentation (MNE-Python's ``docdict`` idea): each common argument is
described once here and inserted into docstrings with :func:`fill_doc`.

In a docstring, a line holding only ``%(name)s`` (indented like the other parameters) is replaced
by the entry ``name`` of :data:`DOCS`, re-indented to match.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

__all__ = ["DOCS", "fill_doc"]

F = TypeVar("F", bound=Callable)

#: name -> numpydoc parameter entry (first line unindented, description indented by 4).
DOCS: dict[str, str] = {
    "seed": """seed
    Random seed of the subject: it fixes the anatomy (nerve thresholds, MUAP placement) and,
    with the session and trial, the noise (:mod:`simulator.streams`). Same config and seed give
    the same spikes on both engines.""",
    "session": """session
    Testing session of the subject (0 = first): a later session draws new noise but keeps the
    subject's anatomy. None keeps the subject's own.""",
    "out": """out
    Output folder (created). Files are written atomically; a failed run leaves none behind.""",
    "engine": """engine
    Brian2 engine: ``"runtime"`` (Cython, built in this process) or ``"standalone"`` (C++
    compiled once per network structure and re-run with new values).""",
    "progress": """progress
    Show a progress bar on the terminal.""",
    "subject": """subject
    The virtual subject (:class:`simulator.simulation.SimulationConfig`); its task is ignored
    where a protocol says what the subject does.""",
    "scheduler": """scheduler
    Where tasks run: None for a local Dask ``LocalCluster`` (``workers`` processes), a scheduler
    address such as ``"tcp://host:8786"``, or ``"serial"`` for this process without Dask.""",
}

_PLACEHOLDER = re.compile(r"^(?P<indent>[ \t]*)%\((?P<name>\w+)\)s[ \t]*$", re.M)


def fill_doc(f: F) -> F:
    """Decorator replacing ``%(name)s`` lines of ``f.__doc__`` by the entries of :data:`DOCS`.

    Raises
    ------
    KeyError
        A placeholder names no entry (caught at import time, so a typo never ships).
    """
    if f.__doc__:
        def repl(m: re.Match) -> str:
            indent = m.group("indent")
            return "\n".join(indent + line if line else line
                             for line in DOCS[m.group("name")].splitlines())
        f.__doc__ = _PLACEHOLDER.sub(repl, f.__doc__)
    return f
