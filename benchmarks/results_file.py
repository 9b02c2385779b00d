"""Where a benchmark's results go: benchmarks/results/NAME.json (everything) and NAME.md (its
table), both written atomically, the table also printed."""

from __future__ import annotations

from pathlib import Path

from latentzoo.files import atomic_write, write_json

RESULTS = Path(__file__).resolve().parent / "results"


def save(name: str, result: dict, table: str) -> None:
    out = RESULTS / name
    write_json(out.with_suffix(".json"), result)
    atomic_write(out.with_suffix(".md"), table)
    print(table)
