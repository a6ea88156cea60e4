"""Read back a ``report.html`` (:mod:`simulator.report`): its tables, figures and links, so
tests compare what a person sees with the numbers the command returned."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np


@dataclass
class Report:
    """What a report shows: ``tables`` maps each table's title to its rows (header first, cells
    as text), ``figures`` holds the decoded images (arrays), ``links`` the relative hrefs."""

    title: str = ""
    tables: dict[str, list[list[str]]] = field(default_factory=dict)
    figures: list[np.ndarray] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    def table(self, prefix: str) -> list[dict[str, str]]:
        """Rows of the table whose title starts with ``prefix``, as ``{column: cell}``."""
        (title,) = [t for t in self.tables if t.startswith(prefix)]
        head, *rows = self.tables[title]
        return [dict(zip(head, r)) for r in rows]


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.report = Report()
        self._text: list[str] | None = None
        self._heading = ""
        self._rows: list[list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = dict(attrs)
        if tag in ("h1", "h3", "td", "th"):
            self._text = []
        elif tag == "table":
            self._rows = []
        elif tag == "tr" and self._rows is not None:
            self._rows.append([])
        elif tag == "img":
            src = a["src"]
            assert src.startswith("data:image/png;base64,"), src[:40]
            import matplotlib.image as mpimg
            self.report.figures.append(mpimg.imread(io.BytesIO(base64.b64decode(src.split(",", 1)[1],
                                                                                validate=True)), format="png"))
        elif tag == "a":
            self.report.links.append(a["href"])

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("h1", "h3", "td", "th") and self._text is not None:
            text, self._text = "".join(self._text), None
            if tag == "h1":
                self.report.title = text
            elif tag == "h3":
                self._heading = text
            else:
                self._rows[-1].append(text)
        elif tag == "table" and self._rows is not None:
            self.report.tables[self._heading or "Versions"] = self._rows
            self._rows, self._heading = None, ""


def read_report(path: Path) -> Report:
    """Parse a report; every embedded figure is decoded (a corrupt one raises)."""
    parser = _Parser()
    parser.feed(Path(path).read_text(encoding="utf-8"))
    return parser.report


def number(cell: str) -> float:
    """A table cell as shown (4 significant digits; ``n/a`` is NaN)."""
    return float("nan") if cell == "n/a" else float(cell)


def close(cell: str, value: float) -> bool:
    """Whether a cell shows ``value`` (to the 4 significant digits the report prints)."""
    if not np.isfinite(value):
        return cell == "n/a"
    return cell == f"{value:.4g}"
