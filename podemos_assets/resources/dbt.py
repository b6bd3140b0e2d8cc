"""The dbt CLI resource for the project in sql/: the DuckDB `dev` target locally, `prod` (Redshift) in production."""

from __future__ import annotations

from urllib.parse import urlparse

from dagster_dbt import DbtCliResource

from podemos_assets.config import REPO_ROOT, Settings

DBT_DIR = REPO_ROOT / "sql"


def dbt_resource(settings: Settings) -> DbtCliResource:
    target = "prod" if urlparse(settings.warehouse_url).scheme == "redshift" else "dev"
    return DbtCliResource(project_dir=str(DBT_DIR), profiles_dir=str(DBT_DIR), target=target)
