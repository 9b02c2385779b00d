"""The package's shape, read from its source with ast: imports point one way down the layers (those
inside functions included), no import cycles, no model-name branches outside the registry, a
docstring atop every file, no file over 400 lines."""

import ast
import graphlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

PKG = ROOT / "latentzoo"
# Lowest first. A module may import from lower layers and, inside its own subpackage, from siblings.
LAYERS = [
    ["errors", "version"],
    ["files", "console", "device", "noise", "distributed", "windows", "measures", "jpeg_cells"],
    ["zoo"],
    ["signal_noise", "photo_noise"],
    ["sets"],
    ["data"],
    ["sources"],
    ["lazy"],
    ["inputs"],
    ["series"],
    ["recordings"],
    ["audio"],
    ["signal_inputs"],
    ["sounds"],
    ["photos"],
    ["examples"],
    ["config"],
    ["nn"],
    ["kinds"],
    ["models"],
    ["codec"],
    ["runs"],
    ["loop"],
    ["eval"],
    ["training"],
    ["jobs"],
    ["viz"],
    ["bench"],
    ["workflows"],
    ["app"],
    ["cli"],
    ["__main__"],
]
RANK = {name: i for i, names in enumerate(LAYERS) for name in names}
MAX_LINES = 400


def modules() -> dict[str, Path]:
    out = {}
    for p in PKG.rglob("*.py"):
        parts = list(p.relative_to(PKG.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """(imported latentzoo module, whether the import sits inside a function) for every import."""
    mods = modules()
    base = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(
                child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
            )
            targets = []
            if isinstance(child, ast.Import):
                targets = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom):
                mod = (
                    ".".join(
                        base[: len(base) - (child.level - 1)]
                        + ([child.module] if child.module else [])
                    )
                    if child.level
                    else (child.module or "")
                )
                targets = [f"{mod}.{a.name}" for a in child.names] + [mod]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != name and t != "latentzoo":
                    found.append((t, inner))
                    break
            visit(child, inner)

    visit(ast.parse(path.read_text()), False)
    return found


def layer(module: str) -> str:
    return module.split(".")[1]


def test_every_module_has_a_layer():
    assert {layer(m) for m in modules() if m != "latentzoo"} <= set(RANK)


def test_imports_point_down_the_layers_and_none_hides_in_a_function():
    wrong, hidden = [], []
    for name, path in modules().items():
        if name == "latentzoo":
            continue  # the package root re-exports the public API from every layer
        for target, in_function in imports(name, path):
            if in_function:
                hidden.append(f"{name} -> {target}")
            same_package = layer(name) == layer(target)  # siblings inside one subpackage
            if not same_package and RANK[layer(target)] >= RANK[layer(name)]:
                wrong.append(f"{name} -> {target}")
    assert not wrong, f"imports against the layer order: {wrong}"
    assert not hidden, f"package imports inside functions: {hidden}"


def test_no_import_cycles():
    graph = {name: {t for t, _ in imports(name, path)} for name, path in modules().items()}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError on a cycle


# a config's model kind (`cfg.kind`) and a data kind (`data_kind`); the modules mapping each to code
KIND_ATTRIBUTES = ("kind", "data_kind")
REGISTRIES = ("latentzoo.models.registry", "latentzoo.kinds.registry")


def names_a_kind(node) -> bool:
    """`cfg.kind`, `model.cfg.kind`, `x.data_kind`: an attribute that holds a kind's name (numpy's
    `dtype.kind` and a noise term's `kind` are not)."""
    if not isinstance(node, ast.Attribute) or node.attr not in KIND_ATTRIBUTES:
        return False
    owner = node.value
    owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
    return node.attr == "data_kind" or owner_name.endswith("cfg")


def test_no_kind_name_branches_outside_the_registries():
    """`cfg.kind == "vqvae"`, `model.cfg.kind in ("vae", "cvae")`, `data_kind == "image"` and the
    like: callers ask the model or the data kind what it can do."""
    offenders = []
    for name, path in modules().items():
        if name in REGISTRIES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare):
                sides = [node.left, *node.comparators]
                names_model = any(names_a_kind(s) for s in sides)
                literal = any(
                    isinstance(s, ast.Constant)
                    and isinstance(s.value, str)
                    or isinstance(s, (ast.Tuple, ast.List, ast.Set))
                    and s.elts
                    and all(
                        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in s.elts
                    )
                    for s in sides
                )
                if names_model and literal:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"kind-name branches: {offenders}"


def test_every_file_opens_with_a_docstring_and_stays_short():
    for path in PKG.rglob("*.py"):
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} has no docstring"
        assert len(path.read_text().splitlines()) <= MAX_LINES, (
            f"{path.relative_to(ROOT)} is over {MAX_LINES} lines"
        )


def test_the_layer_order_is_written_once_more_in_the_package_docstring():
    doc = ast.get_docstring(ast.parse((PKG / "__init__.py").read_text())).split("layered", 1)[1]
    listed = [
        w
        for line in doc.splitlines()
        if re.match(r"    \S", line)
        for w in re.findall(r"[a-z_]+", line.strip().split("  ")[0])
    ]
    assert [w for w in listed if w in RANK] == [n for names in LAYERS for n in names]


def test_the_shared_import_graph_tool_agrees():
    tool = ROOT.parent / "shared" / "tools" / "importgraph.py"
    if not tool.is_file():
        pytest.skip("../shared/tools/importgraph.py is not beside the project")
    res = subprocess.run([sys.executable, str(tool), str(PKG)], capture_output=True, text=True)
    assert res.returncode == 0 and "0 cycles" in res.stdout, res.stdout
