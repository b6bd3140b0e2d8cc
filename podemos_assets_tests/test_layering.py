"""The import rules of the floor plan: resources/, the ingestion service and the alert room (alertas.py, it
serves every group) know no capability, and no capability imports one downstream of it (the order of the
data: sucursales -> pagos -> regulatorio; ingesta -> campo -> regulatorio; gobierno reads the graph only and
no capability imports it); contracts/ imports nothing but itself and the settings."""

from __future__ import annotations

import ast
from pathlib import Path

import podemos_assets

ROOT = Path(podemos_assets.__file__).parent
CAPABILITIES = {"sucursales", "pagos", "campo", "regulatorio", "gobierno", "ingesta", "spark", "demo", "alertas"}
# Everyone may import the settings (config), the contracts (vocabulary, types, branch tables, lake layout),
# the automation switch and the resources: they are not in CAPABILITIES.
# package (or single-module room) -> the packages of podemos_assets it may import (besides config, automation
# and resources)
ALLOWED = {
    "resources": set(),
    "alertas": set(),  # the platform's alert sensor: registered by definitions.py, imported by no capability
    "ingesta": set(),
    "sucursales": set(),
    "pagos": {"sucursales"},
    "campo": {"ingesta"},
    "regulatorio": {"sucursales", "pagos", "campo"},
    "spark": {"pagos"},  # the bulk path runs the payments rules (its merge SQL) on Spark
}


def imported_packages(package: str) -> dict[str, set[str]]:
    """module path -> the podemos_assets packages it imports (top level and inside functions)."""
    out = {}
    module = ROOT / f"{package}.py"
    for path in [module] if module.exists() else (ROOT / package).rglob("*.py"):
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


def test_contracts_import_nothing_but_contracts_and_settings():
    """Contracts are what capabilities and resources agree on: they depend on neither."""
    wrong = {}
    for path in (ROOT / "contracts").rglob("*.py"):
        names = {node.module.split(".")[1] for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("podemos_assets.")}
        if names - {"contracts", "config"}:
            wrong[path.name] = sorted(names - {"contracts", "config"})
    assert wrong == {}, f"contracts importing a capability or a resource: {wrong}"
