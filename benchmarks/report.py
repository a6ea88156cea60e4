"""Print the throughput figures of the last ``make bench`` run (pytest-benchmark JSON)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: str = ".benchmarks/latest.json") -> int:
    """Print one line per benchmark with its ``extra_info`` (throughputs, sizes)."""
    data = json.loads(Path(path).read_text())
    for b in data["benchmarks"]:
        info = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                         for k, v in b.get("extra_info", {}).items())
        print(f"{b['name']}: min {b['stats']['min']:.3f} s; {info}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
