"""A self-contained HTML report of a command's outputs (``report.html``).

One file a person opens in any browser, with nothing beside it needed: figures embedded as
base64 PNG, tables (e.g. simulated against published values), the configuration, the versions of
mnpool and of the libraries that made the numbers, and relative links to the data files written
next to it. The page carries no external resource; a short inline script marks images that fail
to decode, so a broken figure is visible rather than silently missing.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import importlib.metadata
import json
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Table", "write_report", "versions"]

#: Libraries whose versions the report lists (those that shape the numbers).
_LIBRARIES = ("mnpool", "brian2", "numpy", "scipy", "xarray", "pandas", "matplotlib", "dask")

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222;
       line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { font-size: 1.25em; margin-top: 1.6em;
border-bottom: 1px solid #ccc; }
.meta { color: #666; font-size: 0.9em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.broken { color: #b00; font-weight: bold; }
"""

# marks every image that did not decode (the report has no other script)
_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) { ok++; continue; }
    var note = document.createElement("p");
    note.className = "broken";
    note.textContent = "figure could not be shown: " + imgs[i].alt;
    imgs[i].parentNode.insertBefore(note, imgs[i]);
  }
  document.body.setAttribute("data-images-loaded", ok + "/" + imgs.length);
});
"""


@dataclass
class Table:
    """A table of the report.

    Attributes
    ----------
    title
        Heading above the table.
    columns
        Column names.
    rows
        Rows (same length as ``columns``); floats are shown to 4 significant digits.
    note
        Sentence under the table (e.g. where the published values come from).
    """

    title: str
    columns: Sequence[str]
    rows: Sequence[Sequence[object]]
    note: str = ""
    _fmt: str = field(default="{:.4g}", repr=False)

    def html(self) -> str:
        """The table as HTML."""
        def cell(v: object) -> str:
            if isinstance(v, float):
                return "n/a" if v != v else self._fmt.format(v)
            return html.escape(str(v))
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>"
                       for row in self.rows)
        note = f"<p class='meta'>{html.escape(self.note)}</p>" if self.note else ""
        return f"<h3>{html.escape(self.title)}</h3><table><tr>{head}</tr>{body}</table>{note}"


def versions() -> dict[str, str]:
    """Versions of Python and of the libraries in :data:`_LIBRARIES` that are installed."""
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _figure(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(caption or path.name)
    return (f"<figure><img alt=\"{alt}\" src=\"data:image/png;base64,{data}\">"
            f"<figcaption>{alt}</figcaption></figure>")


def write_report(out_dir: str | os.PathLike, *, title: str, summary: str = "",
                 figures: Iterable[tuple[str | os.PathLike, str]] = (),
                 tables: Iterable[Table] = (), config: Mapping | None = None,
                 data_files: Iterable[str | os.PathLike] = (),
                 command: str = "") -> Path:
    """Write ``out_dir/report.html``.

    Parameters
    ----------
    out_dir
        Folder of the command's outputs; figures and data files are given relative to it or
        absolute, and the links in the report are relative to it.
    title
        Page title.
    summary
        Paragraph under the title (plain text).
    figures
        ``(PNG file, caption)`` pairs, embedded in order.
    tables
        Tables shown after the figures.
    config
        Configuration that produced the outputs (shown as JSON).
    data_files
        Files to link to (those that do not exist are left out).
    command
        The command line that produced the outputs.

    Returns
    -------
    Path
        The report.
    """
    out = Path(out_dir)
    parts = [f"<h1>{html.escape(title)}</h1>",
             f"<p class='meta'>written {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M UTC}"
             + (f" by <code>{html.escape(command)}</code>" if command else "") + "</p>"]
    if summary:
        parts.append(f"<p>{html.escape(summary)}</p>")
    figs = [(out / p if not Path(p).is_absolute() else Path(p), c) for p, c in figures]
    figs = [(p, c) for p, c in figs if p.is_file()]
    if figs:
        parts.append("<h2>Figures</h2>" + "".join(_figure(p, c) for p, c in figs))
    tables = list(tables)
    if tables:
        parts.append("<h2>Results</h2>" + "".join(t.html() for t in tables))
    links = []
    for f in data_files:
        p = Path(f)
        full = p if p.is_absolute() else out / p
        if full.exists():
            rel = os.path.relpath(full, out)
            size = full.stat().st_size if full.is_file() else None
            label = f"{rel} ({size / 1e6:.2f} MB)" if size is not None else f"{rel}/"
            links.append(f"<li><a href=\"{html.escape(rel)}\">{html.escape(label)}</a></li>")
    if links:
        parts.append("<h2>Data files</h2><ul>" + "".join(links) + "</ul>")
    if config is not None:
        parts.append("<h2>Configuration</h2><pre>"
                     + html.escape(json.dumps(config, indent=2, sort_keys=True, default=str), quote=False)
                     + "</pre>")
    vrows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>"
                    for k, v in versions().items())
    parts.append(f"<h2>Versions</h2><table><tr><th>package</th><th>version</th></tr>{vrows}</table>")
    page = ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            + "\n".join(parts) + f"<script>{_SCRIPT}</script></body></html>\n")
    target = out / "report.html"
    out.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(".report.html.tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, target)
    return target
