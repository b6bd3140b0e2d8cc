"""The dbt resource's two shortcuts over dagster-dbt (resources/dbt_cli.py) stay true after an upgrade."""

from __future__ import annotations

import subprocess

from dagster_dbt import DbtCliResource
from packaging import version

from podemos_assets.config import load_settings
from podemos_assets.resources import build_warehouse
from podemos_assets.resources.dbt import DBT_EXECUTABLE, dbt_resource


def test_the_overridden_hooks_still_exist_in_dagster_dbt():
    # If dagster-dbt renames them, the overrides silently stop saving ~10 s per dbt step: fail here instead.
    assert {"_cli_version", "_initialize_dbt_core_adapter"} <= set(vars(DbtCliResource))


def test_the_version_without_a_subprocess_is_what_the_executable_says():
    settings = load_settings()
    resource = dbt_resource(settings, build_warehouse(settings.warehouse_url))
    said = subprocess.run([DBT_EXECUTABLE, "--version"], capture_output=True, text=True, check=True).stdout
    core = next(line for line in said.splitlines() if "installed:" in line).split(":")[-1].strip()
    assert resource._cli_version == version.parse(core)
    assert resource._initialize_dbt_core_adapter([]) is None
