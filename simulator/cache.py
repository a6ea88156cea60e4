"""The one folder where mnpool keeps what is expensive to recompute and safe to delete.

Standalone builds, MVC calibrations and MUAP templates live under ``$MNPOOL_CACHE`` (or
``~/.cache/mnpool``); every entry is keyed by a hash of everything that determines it, so a stale
entry is never reused and the whole folder can be removed at any time.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir"]


def cache_dir(*parts: str) -> Path:
    """Return (and create) the cache folder, or a sub-folder of it.

    Parameters
    ----------
    *parts
        Optional sub-folder names, e.g. ``cache_dir("calibrations")``.

    Returns
    -------
    Path
        ``$MNPOOL_CACHE/<parts...>`` if the variable is set, else ``~/.cache/mnpool/<parts...>``.
    """
    root = Path(os.environ.get("MNPOOL_CACHE") or Path.home() / ".cache" / "mnpool")
    path = root.joinpath(*parts)
    path.mkdir(parents=True, exist_ok=True)
    return path
