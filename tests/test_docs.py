"""docs/reliability.md names only tests that exist, each with the number of cases it runs."""

import ast
import importlib
import re
import subprocess
import sys

from conftest import ROOT


def test_every_test_the_reliability_table_names_exists():
    table = (ROOT / "docs" / "reliability.md").read_text()
    named = re.findall(r"`(tests/\w+\.py)::(\w+)`", table)
    assert len(named) >= 15
    for path, name in named:
        tree = ast.parse((ROOT / path).read_text())
        assert name in {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}, (
            f"{path}::{name} does not exist"
        )


def collected_items(node_ids: list[str]) -> dict[str, int]:
    """How many test cases pytest collects for each `path::name` (its parametrizations)."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + sorted(set(node_ids)),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    counts = dict.fromkeys(node_ids, 0)
    for line in out.splitlines():
        base = line.split("[")[0]
        if base in counts:
            counts[base] += 1
    return counts


def cases_of(path: str, name: str, items: int) -> int:
    """The cases a test runs: its hypothesis examples (each of its items runs that many), or the
    count its `cases` marker declares for a loop inside one item, else its collected items."""
    module = importlib.import_module(path.removeprefix("tests/").removesuffix(".py"))
    test = getattr(module, name)
    hypothesis = getattr(test, "_hypothesis_internal_use_settings", None)
    if hypothesis is not None:
        return items * hypothesis.max_examples
    marks = [m for m in getattr(test, "pytestmark", []) if m.name == "cases"]
    return marks[0].args[0] if marks else items


def test_each_reliability_row_counts_the_cases_its_test_runs():
    rows = re.findall(
        r"^\|[^|]+\|[^|]+\|[^|]+\| ([\d,]+) \| `(tests/\w+\.py)::(\w+)` \|$",
        (ROOT / "docs" / "reliability.md").read_text(),
        re.M,
    )
    named = re.findall(r"`(tests/\w+\.py)::(\w+)`", (ROOT / "docs" / "reliability.md").read_text())
    assert len(rows) == len(named)  # every row gives its count as a number
    items = collected_items([f"{p}::{n}" for _, p, n in rows])
    for count, path, name in rows:
        runs = cases_of(path, name, items[f"{path}::{name}"])
        assert int(count.replace(",", "")) == runs, f"{path}::{name} runs {runs}, not {count}"
