"""docs/reliability.md names only tests that exist."""

import ast
import re

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
