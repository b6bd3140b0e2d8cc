"""The dbt CLI resource, minus three per-run costs of dagster-dbt that this project does not need.

Measured on the demo (2 cores): every `dbt.cli(...)` ran `dbt --version` in a subprocess (5.8 s: it imports
dbt) and built an in-process dbt adapter (4.5 s: it parses dbt's 500 macros), on top of the `dbt build`
itself. The version is known without a subprocess when the executable is this venv's own dbt (it is the
installed dbt-core). The adapter serves only `fetch_row_counts()` / `fetch_column_metadata()`, which no asset
here calls; without it dagster-dbt streams dbt's events as they come instead of after dbt exits, and every
step that opens the warehouse afterwards starts after the dbt process has ended (the invocation waits for it).

The third cost: a full re-parse on every build (~3 s). dbt re-parses the whole project when `--vars` or the
profile differ from its saved parse state, and dagster-dbt gives each invocation a fresh target directory
seeded from `sql/target`, parsed without the run's window or this home's warehouse. `build` therefore passes
the window and the warehouse path as environment variables (dbt re-parses only the files that read a
changed one) and keeps one target directory per home and asset, so the parse state of the last build is
the starting point of the next, and `sql/target` no longer collects a directory per run.
Imported only by `resources.dbt.dbt_resource` and the dbt assets (importing dagster-dbt costs seconds).
"""

from __future__ import annotations

import fcntl
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging import version

from podemos_assets.resources.dbt import PARSE_WINDOW


@contextmanager
def _environ(values: Mapping[str, str]) -> Iterator[None]:
    """`values` in os.environ while dagster-dbt starts dbt: `cli()` copies os.environ into the subprocess it
    launches before returning, and takes no environment of its own."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class PodemosDbtCliResource(DbtCliResource):
    target_root: str | None = None  # per-home directory of dbt's artifacts and parse state, one per asset
    warehouse_path: str | None = None  # the embedded DuckDB file (profiles.yml reads PODEMOS_WAREHOUSE_PATH)

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable).parent == Path(sys.executable).parent:
            return version.parse(installed_version("dbt-core"))  # the venv's dbt is the installed dbt-core
        return super()._cli_version  # some other dbt on PATH: ask it

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - no adapter metadata is fetched
        return None

    def build(self, context: dg.AssetExecutionContext, env: Mapping[str, str] | None = None) -> Iterator:
        """`dbt build` of the asset's selection, with `env` (e.g. the run's window) as environment variables."""
        values = {**PARSE_WINDOW, **(env or {})}
        if self.warehouse_path:
            values["PODEMOS_WAREHOUSE_PATH"] = self.warehouse_path
        if self.target_root is None:  # no home: dagster-dbt's own fresh target directory per invocation
            with _environ(values):
                invocation = self.cli(["build"], context=context)
            yield from _described(invocation.stream())
            return
        target = Path(self.target_root) / context.op_def.name
        target.mkdir(parents=True, exist_ok=True)
        with open(target / ".build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the warehouse pool already serializes builds; this is the floor
            with _environ(values):
                invocation = self.cli(["build"], context=context, target_path=target)
            yield from _described(invocation.stream())


def _described(events: Iterator) -> Iterator:
    """dagster-dbt's test results carry no description: give each one what the check history should say."""
    for event in events:
        if isinstance(event, dg.AssetCheckResult) and not event.description:
            metadata = event.metadata or {}
            status = getattr(metadata.get("status"), "value", metadata.get("status"))
            failing = getattr(metadata.get("dagster_dbt/failed_row_count"), "value",
                              metadata.get("dagster_dbt/failed_row_count"))
            outcome = status or ("pass" if event.passed else "fail")
            text = f"dbt test {event.check_name}: {outcome}" + (f", {failing} failing row(s)" if failing else "")
            event = event._replace(description=text)
        yield event
