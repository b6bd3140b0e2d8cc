"""What `make install` leaves in the venvs that every Dagster process and every dbt build depend on."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from podemos_assets.resources.dbt import dbt_site_packages

# The packages each process imports to load the definitions (docs/architecture.md, "Start-up costs").
LOADED_BY_EVERY_PROCESS = ("dagster", "dagster_dbt", "pandas", "pandera")


def _missing_bytecode(root: Path) -> tuple[list[Path], list[Path]]:
    sources = list(root.rglob("*.py"))
    return sources, [p for p in sources if not Path(importlib.util.cache_from_source(str(p))).exists()]


@pytest.mark.parametrize("package", LOADED_BY_EVERY_PROCESS)
def test_the_installed_packages_carry_their_bytecode(package):
    """uv compiles nothing unless told (--compile-bytecode), and where PYTHONDONTWRITEBYTECODE is set the first
    import never writes the .pyc either: every run worker and step then compiles these from source, 8.6 s
    per definitions load instead of 4.3 s."""
    sources, missing = _missing_bytecode(Path(importlib.util.find_spec(package).submodule_search_locations[0]))
    assert sources and len(missing) <= 0.01 * len(sources), (
        f"{len(missing)} of {len(sources)} modules of {package} have no bytecode (e.g. {missing[0]}): "
        "run `make install` (uv pip install --compile-bytecode)")


def test_dbt_lives_in_its_own_environment_with_its_bytecode():
    """dagster-dbt imports dbt-core whenever it is importable (1.2 s in every Dagster process) though it only
    runs the executable; each `dbt build` is a fresh interpreter, so dbt's own venv needs its bytecode."""
    assert importlib.util.find_spec("dbt") is None, (
        "dbt is importable in the Dagster venv: run `make install` (it moves dbt to .venv-dbt)")
    site = dbt_site_packages()[0]
    sources, missing = _missing_bytecode(site / "dbt")
    assert sources and len(missing) <= 0.01 * len(sources), f"{len(missing)} of {len(sources)} modules of dbt in {site}"


def test_loading_the_definitions_imports_no_dbt():
    loaded = subprocess.run([sys.executable, "-W", "ignore", "-c", "import sys, podemos_assets.definitions; "
                             "print(sorted({m.split('.')[0] for m in sys.modules if m.startswith('dbt')}))"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_a_venv_that_still_holds_dbt_core_is_told_to_reinstall():
    """dbt-core importable beside Dagster (a venv from before .venv-dbt) would make dagster-dbt select through
    dbt's graph, where the groups' select="" matches nothing: the load says what to run instead."""
    site = dbt_site_packages()[0]
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", "import podemos_assets.definitions"],
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(site)})
    assert done.returncode != 0
    assert "is importable beside Dagster" in done.stderr and "run `make install`" in done.stderr
