"""A ``simulate`` killed with SIGTERM while writing leaves no file behind (issue 16)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

SMALL = ("calibration_ramp_s = 2.0\ncalibration_hold_s = 1.0\n[pool]\nn_units = 10\n"
         "[task]\nlevel = 15\nrise_s = 0.5\nplateau_s = 0.5\nfall_s = 0.5\n")
CLI = "import sys; from scenarios.cli import main; sys.exit(main())"


def test_sigterm_during_the_write_leaves_no_partial_files(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(SMALL)
    work = tmp_path / "work"
    work.mkdir()
    out = work / "run"
    proc = subprocess.Popen([sys.executable, "-c", CLI, "simulate", "--config", str(cfg),
                             "--out", str(out), "--quiet", "--emg"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ})
    # Wait (as long as the simulation takes) until the staged activity.nc is written, i.e. the
    # command is in its write phase (figures and the EMG recording still to come), then stop it.
    staged = None
    while proc.poll() is None:
        found = [p for p in work.glob(".run.mnpool-*.tmp") if (p / "activity.nc").exists()]
        if found:
            staged = found[0]
            proc.send_signal(signal.SIGTERM)
            break
        time.sleep(0.002)
    _, err = proc.communicate(timeout=120)
    assert staged is not None, f"the command ended before its write phase: {err}"
    assert proc.returncode != 0
    assert "mnpool: interrupted" in err and "Traceback" not in err
    assert sorted(work.iterdir()) == []  # no --out, no staging folder, no temporary file
