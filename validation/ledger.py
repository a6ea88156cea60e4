"""The ledger of fitted constants and held-out predictions (``validation/ledger.toml``).

A constant chosen so that a model output hits a published value is a *fit*: that value is then
no evidence for the model. A *prediction* is a published value no constant was tuned to; only
predictions count as validation (PHYSIOLOGY.md, "Fitted versus predicted"). The ledger keeps the
two apart:

* ``[[fitted]]``: ``name`` (dotted configuration key, e.g. ``muscle.troponin_km``), ``value``
  (the default in the code), ``target`` (what it was tuned to hit), ``source``.
* ``[[input]]``: values taken from the literature and imposed, then not tested as findings
  (e.g. SICI/ICF timing); ``name``, ``value``, ``source``.
* ``[[predicted]]``: ``quantity``, ``part`` (muscle, motoneuron, pool, evoked), ``unit``,
  ``published`` (mean or typical value), ``low``/``high`` (the published spread used as the
  pass window), ``simulated``, ``source``, ``test`` (``path::function`` that re-measures it),
  and ``note`` when the window is not the published spread.

:func:`problems` checks the ledger against the code (fitted values are the defaults, tests
exist); :func:`render_markdown` makes the README tables. The tests that re-measure the ledger's
values record them (pytest's ``record_property``); :func:`recorded` reads them back from a
JUnit XML report, so a re-measurement is one command::

    python -m pytest -m slow tests --junitxml=measured.xml
    python -m validation.ledger --recorded measured.xml
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

__all__ = ["LEDGER_PATH", "load", "passes", "problems", "render_markdown", "default_value", "is_fast",
           "recorded"]

#: The ledger shipped with the repository.
LEDGER_PATH = Path(__file__).with_name("ledger.toml")
PARTS = ("muscle", "motoneuron", "pool", "evoked")


def load(path: Path | str = LEDGER_PATH) -> dict[str, list[dict[str, Any]]]:
    """Read the ledger TOML: ``{"fitted": [...], "input": [...], "predicted": [...]}``."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    return {k: list(data.get(k, [])) for k in ("fitted", "input", "predicted")}


def passes(row: dict[str, Any]) -> bool:
    """Whether a prediction's simulated value lies in its published window [low, high]."""
    return float(row["low"]) <= float(row["simulated"]) <= float(row["high"])


def default_value(dotted: str) -> Any:
    """Default of a dotted configuration key of :class:`simulator.simulation.SimulationConfig`."""
    from simulator.simulation import SimulationConfig
    obj: Any = SimulationConfig()
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def problems(ledger: dict[str, list[dict[str, Any]]], root: Path | None = None) -> list[str]:
    """Everything in the ledger that disagrees with the code (empty when consistent).

    Parameters
    ----------
    ledger
        Output of :func:`load`.
    root
        Repository root, to find the tests named by predictions (default: this checkout).

    Returns
    -------
    list of str
        One line per problem.
    """
    root = root or Path(__file__).resolve().parents[1]
    out: list[str] = []
    for row in ledger["fitted"] + ledger["input"]:
        name = row.get("name", "?")
        if not row.get("source"):
            out.append(f"{name}: no source")
        if "." in name and not name.startswith("("):
            try:
                value = default_value(name)
            except AttributeError:
                out.append(f"{name}: not a configuration key")
                continue
            if abs(float(value) - float(row["value"])) > 1e-9 * max(1.0, abs(float(value))):
                out.append(f"{name}: ledger says {row['value']}, the code's default is {value}")
    for row in ledger["fitted"]:
        if not row.get("target"):
            out.append(f"{row.get('name', '?')}: a fitted constant needs its target")
    for row in ledger["predicted"]:
        q = row.get("quantity", "?")
        for key in ("part", "unit", "published", "low", "high", "simulated", "source", "test"):
            if key not in row:
                out.append(f"{q}: missing {key}")
        if row.get("part") not in PARTS:
            out.append(f"{q}: part {row.get('part')!r} is not one of {', '.join(PARTS)}")
        test = str(row.get("test", ""))
        path, _, func = test.partition("::")
        file = root / path
        if not file.is_file() or f"def {func}(" not in file.read_text():
            out.append(f"{q}: test {test} not found")
    return out


def is_fast(row: dict[str, Any], root: Path | None = None) -> bool:
    """Whether the test of a prediction runs in the default suite (not marked ``slow``)."""
    root = root or Path(__file__).resolve().parents[1]
    path, _, func = str(row["test"]).partition("::")
    lines = (root / path).read_text().splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith(f"def {func}("))
    while k > 0 and lines[k - 1].startswith("@"):
        k -= 1
        if "mark.slow" in lines[k]:
            return False
    return True


def _fmt(x: Any) -> str:
    if isinstance(x, float) and x != x:
        return "not measured"
    return f"{x:g}" if isinstance(x, (int, float)) else str(x)


def render_markdown(ledger: dict[str, list[dict[str, Any]]]) -> str:
    """README tables of the ledger: predictions (with pass/fail), then fitted constants and inputs."""
    lines = ["| part | prediction | published (window) | simulated | pass | source |",
             "|---|---|---|---|---|---|"]
    for row in ledger["predicted"]:
        unit = "" if row["unit"] == "1" else f" {row['unit']}"
        window = f"{_fmt(row['published'])} ({_fmt(row['low'])}–{_fmt(row['high'])}){unit}"
        mark = "yes" if passes(row) else "**no**"
        note = f" ({row['note']})" if row.get("note") else ""
        lines.append(f"| {row['part']} | {row['quantity']}{note} | {window} | {_fmt(row['simulated'])} | "
                     f"{mark} | {row['source']} |")
    lines += ["", "| fitted constant | value | chosen to hit | source |", "|---|---|---|---|"]
    for row in ledger["fitted"]:
        lines.append(f"| `{row['name']}` | {_fmt(row['value'])} | {row['target']} | {row['source']} |")
    lines += ["", "| input (imposed, not tested as a finding) | value | source |", "|---|---|---|"]
    for row in ledger["input"]:
        lines.append(f"| `{row['name']}` | {_fmt(row['value'])} | {row['source']} |")
    return "\n".join(lines) + "\n"


def update_readme(path: Path | str) -> None:
    """Replace the ledger block of a README (between ``<!-- ledger:start -->`` and
    ``<!-- ledger:end -->``) with the current rendering."""
    path = Path(path)
    text = path.read_text()
    start, end = "<!-- ledger:start -->", "<!-- ledger:end -->"
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{start}\n{render_markdown(load())}{end}{tail}")


def recorded(junit_xml: Path | str) -> dict[str, dict[str, str]]:
    """Values the tests recorded with ``record_property``, read from a pytest JUnit XML report.

    Parameters
    ----------
    junit_xml
        Report written by ``pytest --junitxml=PATH``.

    Returns
    -------
    dict
        ``{"path::function": {name: value}}`` for every test case that recorded something
        (values as the report stores them, i.e. strings), in the report's order.
    """
    import xml.etree.ElementTree as ET
    out: dict[str, dict[str, str]] = {}
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        props = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
        if props:
            path = case.get("classname", "").replace(".", "/")
            out[f"{path}.py::{case.get('name', '')}"] = props
    return out


if __name__ == "__main__":  # python -m validation.ledger README.md | --recorded report.xml
    import sys
    if sys.argv[1] == "--recorded":
        for test, props in recorded(sys.argv[2]).items():
            print(test + ": " + ", ".join(f"{k} = {v}" for k, v in props.items()))
    else:
        update_readme(sys.argv[1])
