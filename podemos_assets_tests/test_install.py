"""What `make install` leaves in the venv that every Dagster process depends on."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

# The packages each process imports to load the definitions (docs/architecture.md, "Start-up costs").
LOADED_BY_EVERY_PROCESS = ("dagster", "dagster_dbt", "dbt", "pandas", "pandera")


@pytest.mark.parametrize("package", LOADED_BY_EVERY_PROCESS)
def test_the_installed_packages_carry_their_bytecode(package):
    """uv compiles nothing unless told (--compile-bytecode), and where PYTHONDONTWRITEBYTECODE is set the first
    import never writes the .pyc either: every run worker and step then compiles these from source, 8.6 s
    per definitions load instead of 4.3 s."""
    root = Path(importlib.util.find_spec(package).submodule_search_locations[0])
    sources = list(root.rglob("*.py"))
    missing = [p for p in sources if not Path(importlib.util.cache_from_source(str(p))).exists()]
    assert sources and len(missing) <= 0.01 * len(sources), (
        f"{len(missing)} of {len(sources)} modules of {package} have no bytecode (e.g. {missing[0]}): "
        "run `make install` (uv pip install --compile-bytecode)")
