"""The package's layers, checked from its imports: a module imports only from layers below its
own, or from its own unit (subpackage). Units that share a layer (the core, the kernels and the
targets; particle and parametric flows; games and diagnostics; analysis and export) never import
each other. Imports inside functions count too (an `ast` scan of every file)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "flows"

LAYERS = {
    "_checks": 1, "_io": 1, "_trees": 1, "_sampling": 1,
    "core": 2, "kernels": 2, "targets": 2,
    "discrepancies": 3,
    "particle": 4, "parametric": 4,
    "games": 5, "diagnostics": 5,
    "analysis": 6, "export": 6,
    "cli": 7,
}
TOP = {"__init__", "__main__"}  # the package's face: it may name every namespace


def unit_of(parts: tuple[str, ...]) -> str:
    """The unit of a module given by its path parts below `flows/` (`("particle", "mmd")`)."""
    return parts[0]


def imported_units(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, unit) for every import of a `flows` module in the file at `path` (in the package at `root`)."""
    parts = path.relative_to(root).with_suffix("").parts
    package = ["flows", *parts[:-1]]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = base + (node.module.split(".") if node.module else [])
            elif node.module and node.module.split(".")[0] == "flows":
                target = node.module.split(".")
            else:
                continue
            names = [a.name for a in node.names] if len(target) == 1 else [None]
            for name in names:
                full = target + ([name] if name else [])
                if len(full) > 1:
                    found.append((node.lineno, full[1]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                full = alias.name.split(".")
                if full[0] == "flows" and len(full) > 1:
                    found.append((node.lineno, full[1]))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).with_suffix("").parts[0] not in TOP)


def test_every_module_has_a_layer():
    units = {unit_of(p.relative_to(PACKAGE).with_suffix("").parts) for p in MODULES}
    assert units <= set(LAYERS), f"modules outside every layer: {sorted(units - set(LAYERS))}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_follow_the_layers(path):
    unit = unit_of(path.relative_to(PACKAGE).with_suffix("").parts)
    wrong = [
        f"line {line}: {unit} (layer {LAYERS[unit]}) imports {other} (layer {LAYERS[other]})"
        for line, other in imported_units(path)
        if other != unit and LAYERS[other] >= LAYERS[unit]
    ]
    assert not wrong, "\n".join(wrong)


def test_the_scan_sees_a_violation(tmp_path):
    """The check can fail: a kernel module importing a flow (and, inside a function, the command
    line) is caught."""
    (tmp_path / "kernels").mkdir()
    bad = tmp_path / "kernels" / "bad.py"
    bad.write_text("from ..particle.mmd import MMDFlow\n\n\ndef f():\n    import flows.cli\n")
    assert imported_units(bad, root=tmp_path) == [(1, "particle"), (5, "cli")]
