"""The import rules of the floor plan: resources/ and the ingestion service know no capability, and no
capability imports one downstream of it (the order of the data: sucursales -> pagos -> regulatorio;
ingesta -> campo -> regulatorio; gobierno reads the graph only)."""

from __future__ import annotations

import ast
from pathlib import Path

import podemos_assets

ROOT = Path(podemos_assets.__file__).parent
CAPABILITIES = {"sucursales", "pagos", "campo", "regulatorio", "gobierno", "ingesta", "spark", "demo"}
# package -> the packages of podemos_assets it may import (besides config, automation and resources)
ALLOWED = {
    "resources": set(),
    "ingesta": set(),
    "sucursales": {"gobierno"},
    "pagos": {"sucursales", "gobierno"},
    "campo": {"ingesta", "gobierno"},
    "regulatorio": {"sucursales", "pagos", "campo", "gobierno"},
    "spark": {"pagos"},  # the bulk path runs the payments rules (its merge SQL) on Spark
}


def imported_packages(package: str) -> dict[str, set[str]]:
    """module path -> the podemos_assets packages it imports (top level and inside functions)."""
    out = {}
    for path in (ROOT / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("podemos_assets."):
                names.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                names |= {a.name.split(".")[1] for a in node.names if a.name.startswith("podemos_assets.")}
        out[str(path.relative_to(ROOT))] = names & CAPABILITIES - {package}
    return out


def test_no_package_imports_a_capability_downstream_or_beside_it():
    wrong = {module: sorted(names - ALLOWED[package])
             for package in ALLOWED for module, names in imported_packages(package).items()
             if names - ALLOWED[package]}
    assert wrong == {}, f"imports that break the floor plan (module: packages it may not import): {wrong}"
