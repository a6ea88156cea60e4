"""Safe output folders: check ``--out`` before any work, stage every write, publish at the end.

Every command that writes results goes through this module, so that (issue 16):

* ``--out`` is checked before any long work (:func:`check_out`): it must not be a file nor lie
  under one, its nearest existing folder must be writable, and it must be empty or missing,
  unless ``--overwrite`` is given and the folder holds the results of an earlier mnpool run
  (identified by the :data:`MARKER` file every published folder carries). A folder of another
  origin is never replaced, even with ``--overwrite``.
* results are written into a hidden temporary folder beside ``--out`` and renamed into place
  only when the whole command succeeded (:func:`staged_output`); on any error, on SIGINT and on
  SIGTERM the temporary folder is removed, so ``--out`` is either the complete new result or
  what it was before.
* a temporary folder left by a run killed with SIGKILL (whose process no longer exists) is
  removed by the next run into the same ``--out``.

Resumable commands (sweeps, training, the atlas) write into ``--out`` directly, task by task;
they use :func:`check_out` with ``resume=`` to accept their own unfinished folder and
:func:`interruptible` so that an interrupted run removes its temporary files.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import ConfigError

__all__ = ["MARKER", "Interrupted", "check_out", "staged_output", "interruptible", "mark_output",
           "read_marker"]

#: File written into every published output folder: the command and mnpool version (JSON).
MARKER = ".mnpool-output"
_TMP_TAG = ".mnpool-"
_TMP_SUFFIX = ".tmp"
_PID_FILE = ".pid"


class Interrupted(KeyboardInterrupt):
    """The process received SIGTERM (SIGINT raises :class:`KeyboardInterrupt` as usual)."""


#: Name of the signal that stopped the current run, once :func:`interruptible` caught one.
_received: list[str] = []


def interrupt_received() -> str | None:
    """Name of the signal (``"SIGTERM"``, ``"SIGINT"``) that stopped this process's run, if any.

    The exception raised by the signal handler can arrive anywhere, e.g. inside the import of a
    C extension, which then re-raises it as an ``ImportError``; callers that report an
    interruption therefore ask this flag rather than rely on the exception's type.
    """
    return _received[-1] if _received else None


def read_marker(folder: str | os.PathLike) -> dict[str, Any] | None:
    """The :data:`MARKER` record of ``folder`` (``None`` if absent or unreadable)."""
    try:
        doc = json.loads((Path(folder) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def mark_output(folder: str | os.PathLike, command: str, complete: bool = True) -> None:
    """Write the :data:`MARKER` record (``command``, ``complete``, version) into ``folder``."""
    from . import __version__
    Path(folder, MARKER).write_text(json.dumps({"command": command, "complete": complete,
                                                "mnpool_version": __version__}) + "\n")


def _nearest_existing(p: Path) -> Path:
    """``p`` or its nearest ancestor that exists (as anything)."""
    q = p
    while not q.exists() and not q.is_symlink() and q != q.parent:
        q = q.parent
    return q


def check_out(out: str | os.PathLike, *, overwrite: bool = False, resume: str | None = None,
              option: str = "--out") -> Path:
    """Check that an output folder can be written, before any work.

    Parameters
    ----------
    out
        The output folder.
    overwrite
        Allow replacing a folder that holds an earlier mnpool result.
    resume
        Name of a resumable command (``"sweep"``...): its own folder is accepted as it is, to be
        continued.
    option
        How the folder is named in messages.

    Returns
    -------
    Path
        ``out`` as a path.

    Raises
    ------
    ConfigError
        ``out`` (or a folder on its path) is a file; its nearest existing folder is not
        writable; it is not empty and neither resumable nor replaceable.
    """
    p = Path(out)
    base = _nearest_existing(p.absolute())
    if p.exists() and not p.is_dir():
        raise ConfigError(f"{option} {str(out)!r} exists and is not a folder")
    if not base.is_dir():
        raise ConfigError(f"{option} {str(out)!r} cannot be created: {str(base)!r} is a file, "
                          "not a folder")
    if not os.access(base, os.W_OK | os.X_OK):
        raise ConfigError(f"{option} {str(out)!r} cannot be written: no write permission in "
                          f"{str(base)!r}")
    _remove_stale_temporaries(p)
    if p.is_dir():
        entries = sorted(e.name for e in p.iterdir())
        if entries:
            marker = read_marker(p)
            origin = marker.get("command") if marker else None
            if resume is not None and origin == resume and not overwrite:
                return p
            if not overwrite:
                raise ConfigError(
                    f"{option} {str(out)!r} is not empty ({len(entries)} entries, e.g. "
                    f"{entries[0]!r}); give --overwrite to replace an earlier mnpool result, or "
                    "choose another folder")
            if marker is None:
                raise ConfigError(
                    f"{option} {str(out)!r} holds files that mnpool did not write (no {MARKER}); "
                    "--overwrite replaces only mnpool output folders: choose another folder")
    return p


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _remove_stale_temporaries(out: Path) -> None:
    """Remove staging folders of ``out`` left by processes that no longer run (SIGKILL)."""
    parent = out.absolute().parent
    if not parent.is_dir():
        return
    for tmp in parent.glob(f".{glob.escape(out.name)}{_TMP_TAG}*{_TMP_SUFFIX}"):
        try:
            pid = int((tmp / _PID_FILE).read_text())
        except (OSError, ValueError):
            continue  # not ours, or being created right now: leave it
        if not _alive(pid):
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def interruptible() -> Iterator[None]:
    """Turn SIGTERM into :class:`Interrupted` (and keep SIGINT a ``KeyboardInterrupt``) inside
    the block, so that ``finally`` clauses remove temporary files when a run is stopped.

    Signal handlers can only be set from the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: Any) -> None:  # noqa: ARG001 - signal handler signature
        _received.append(signal.Signals(signum).name)
        raise Interrupted(f"stopped by signal {signal.Signals(signum).name}")

    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


@contextmanager
def staged_output(out: str | os.PathLike, *, command: str, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary folder beside ``out``; publish it as ``out`` if the block succeeds.

    Call :func:`check_out` first (before any long work). On success the :data:`MARKER` is
    written and the folder renamed to ``out`` (an empty ``out`` is replaced; a non-empty one,
    accepted by :func:`check_out` with ``overwrite``, is moved aside and deleted once the new
    one is in place). On any exception, SIGINT or SIGTERM the temporary folder is removed, and
    so are the parent folders this call created.

    Parameters
    ----------
    out
        Final output folder.
    command
        Name of the command, recorded in the marker.
    overwrite
        Whether a non-empty ``out`` may be replaced (as checked by :func:`check_out`).
    """
    target = Path(out).absolute()
    created = []
    q = target.parent
    while not q.exists():
        created.append(q)
        q = q.parent
    with interruptible():
        tmp: Path | None = None
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{_TMP_TAG}", suffix=_TMP_SUFFIX,
                                        dir=target.parent))
            (tmp / _PID_FILE).write_text(str(os.getpid()))
            yield tmp
            (tmp / _PID_FILE).unlink()
            mark_output(tmp, command)
            check_out(target, overwrite=overwrite)  # again: something may have appeared meanwhile
            _publish(tmp, target)
        except BaseException:
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)
            for d in created:  # innermost first; only if still empty
                try:
                    d.rmdir()
                except OSError:
                    break
            raise


def _publish(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``; a non-empty ``target`` is moved aside, then deleted."""
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700 folders; outputs get normal permissions
    if target.is_dir() and any(target.iterdir()):
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}{_TMP_TAG}old-", suffix=_TMP_SUFFIX,
                                    dir=target.parent))
        os.replace(target, old / "previous")
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, target)  # rename(2) replaces an empty folder in one step


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
