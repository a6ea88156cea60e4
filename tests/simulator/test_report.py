"""The self-contained HTML report: content, and rendering in a real headless browser."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from simulator.report import Table, write_report

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser")
                 if Path(p).exists()), None)


@pytest.fixture
def report(tmp_path):
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    fig.savefig(tmp_path / "a.png")
    plt.close(fig)
    (tmp_path / "experiment.nc").write_bytes(b"x" * 1000)
    table = Table("simulated vs published", ["measure", "simulated", "published"],
                  [["delta-F [pps]", 3.21, 3.9], ["n", 5, float("nan")]], note="Orssatto 2021")
    return write_report(tmp_path, title="mnpool experiment triangle", summary="A <test> run.",
                        figures=[("a.png", "the figure"), ("missing.png", "not there")],
                        tables=[table], config={"pool": {"n_units": 30}},
                        data_files=["experiment.nc", "absent.nc"], command="mnpool experiment")


def test_report_is_self_contained(report):
    text = report.read_text()
    assert text.count("data:image/png;base64,") == 1  # the missing figure is left out
    assert "&lt;test&gt;" in text and "<test>" not in text  # escaped
    assert "<td>3.21</td>" in text and "<td>n/a</td>" in text and "Orssatto 2021" in text
    assert 'href="experiment.nc"' in text and "absent.nc" not in text
    assert '"n_units": 30' in text and "<td>numpy</td>" in text
    # nothing is fetched from elsewhere: the only src/href are data: URIs and the relative link
    refs = re.findall(r'(?:src|href)="([^"]+)"', text)
    assert refs and all(r.startswith("data:") or r == "experiment.nc" for r in refs)


def render(page: Path, tmp_path: Path) -> tuple[str, str]:
    """DOM after load and Chromium's log of a page opened headless (no network, no GPU)."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
         "--v=0", f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
         "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    return proc.stdout, proc.stderr


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package 'chromium')")
def test_report_renders_in_chromium(report, tmp_path):
    dom, log = render(report, tmp_path)
    assert 'data-images-loaded="1/1"' in dom, log[-2000:]
    assert '<p class="broken">' not in dom
    console = [ln for ln in log.splitlines() if "CONSOLE" in ln]
    assert not console, console


@pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium (Debian package 'chromium')")
def test_chromium_check_sees_a_broken_figure(tmp_path):
    # the render check must be able to fail: a corrupt PNG is reported, not counted as loaded
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    page = write_report(tmp_path, title="broken", figures=[("bad.png", "corrupt figure")])
    dom, _ = render(page, tmp_path)
    assert 'data-images-loaded="0/1"' in dom and '<p class="broken">' in dom
