"""Architecture invariants that code review alone would let slip."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def _offenders(folder, forbidden):
    return [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / folder).rglob("*.py"))
        for name in _imported_modules(path)
        if name.split(".")[0] in forbidden
    ]


def test_qbo_layer_is_pure_python():
    assert _offenders("noko_qbo/qbo", {"odoo", "qbo_sandbox"}) == []


def test_addon_never_imports_the_sandbox_outside_tests():
    offenders = [o for o in _offenders("noko_qbo", {"qbo_sandbox"}) if "/tests/" not in o]
    assert offenders == []


def test_sandbox_is_independent_of_the_addon():
    assert _offenders("qbo_sandbox", {"noko_qbo", "odoo"}) == []
