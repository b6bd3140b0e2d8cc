"""The dbt CLI resource for the project in sql/: the DuckDB `dev` target locally, `prod` (Redshift) in production."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from urllib.parse import urlparse

from dagster_dbt import DbtCliResource

from podemos_assets.config import REPO_ROOT, Settings

DBT_DIR = REPO_ROOT / "sql"


def _dbt_executable() -> str:
    """dbt installed beside this interpreter (the venv), else whatever `dbt` is on PATH.

    `.venv/bin/python -m pytest` or `dagster dev` started without activating the venv do not have the venv's
    bin on PATH, and dagster-dbt's own manifest preparer looks up a bare `dbt`; so the venv's bin goes first
    on PATH too.
    """
    beside = Path(sys.executable).parent / "dbt"
    if beside.exists():
        bindir = str(beside.parent)
        if bindir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")
        return str(beside)
    found = shutil.which("dbt")
    if found is None:
        raise RuntimeError("dbt is not installed: run `make install` (dbt-core and dbt-duckdb come with the package)")
    return found


DBT_EXECUTABLE = _dbt_executable()


def dbt_resource(settings: Settings) -> DbtCliResource:
    target = "prod" if urlparse(settings.warehouse_url).scheme == "redshift" else "dev"
    return DbtCliResource(project_dir=str(DBT_DIR), profiles_dir=str(DBT_DIR), target=target,
                          dbt_executable=DBT_EXECUTABLE)
