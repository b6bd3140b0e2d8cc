"""The dbt CLI resource for the project in sql/: the DuckDB `dev` target locally, `prod` (Redshift) in production."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from urllib.parse import urlparse

from dagster_dbt import DbtCliResource, DbtProject

from podemos_assets.config import REPO_ROOT, Settings

DBT_DIR = REPO_ROOT / "sql"


def _dbt_executable() -> str:
    """dbt installed beside this interpreter (the venv), else whatever `dbt` is on PATH: `.venv/bin/python`
    or `.venv/bin/dagster dev` run without an activated venv have no venv bin on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    found = str(beside) if beside.exists() else shutil.which("dbt")
    if found is None:
        raise RuntimeError("dbt is not installed: run `make install` (dbt-core and dbt-duckdb come with the package)")
    return found


DBT_EXECUTABLE = _dbt_executable()


def parse_project(project: DbtProject) -> None:
    """`dbt parse --quiet` (offline, no warehouse connection) with our dbt: what dagster-dbt's own preparer
    does, except that it looks up a bare `dbt` on PATH."""
    DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
        ["parse", "--quiet"], target_path=project.target_path).wait()


def dbt_resource(settings: Settings) -> DbtCliResource:
    target = "prod" if urlparse(settings.warehouse_url).scheme == "redshift" else "dev"
    return DbtCliResource(project_dir=str(DBT_DIR), profiles_dir=str(DBT_DIR), target=target,
                          dbt_executable=DBT_EXECUTABLE)
