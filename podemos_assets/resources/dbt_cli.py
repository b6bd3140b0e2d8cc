"""The dbt CLI resource, minus two per-run costs of dagster-dbt that this project does not use.

Measured on the demo (2 cores): every `dbt.cli(...)` ran `dbt --version` in a subprocess (5.8 s: it imports
dbt) and built an in-process dbt adapter (4.5 s: it parses dbt's 500 macros), on top of the `dbt build`
itself. The version is known without a subprocess when the executable is this venv's own dbt (it is the
installed dbt-core). The adapter serves only `fetch_row_counts()` / `fetch_column_metadata()`, which no asset
here calls; without it dagster-dbt streams dbt's events as they come instead of after dbt exits, and every
step that opens the warehouse afterwards starts after the dbt process has ended (the invocation waits for it).
Imported only by `resources.dbt.dbt_resource` (importing dagster-dbt costs seconds).
"""

from __future__ import annotations

import sys
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster_dbt import DbtCliResource
from packaging import version


class PodemosDbtCliResource(DbtCliResource):
    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable).parent == Path(sys.executable).parent:
            return version.parse(installed_version("dbt-core"))  # the venv's dbt is the installed dbt-core
        return super()._cli_version  # some other dbt on PATH: ask it

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - no adapter metadata is fetched
        return None
