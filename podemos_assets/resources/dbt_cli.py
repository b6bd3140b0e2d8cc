"""The dbt CLI resource, minus three per-run costs of dagster-dbt that this project does not need.

Measured on the demo (2 cores): every `dbt.cli(...)` ran `dbt --version` in a subprocess (5.8 s: it imports
dbt) and built an in-process dbt adapter (4.5 s: it parses dbt's 500 macros), on top of the `dbt build`
itself. The version is read from the metadata of dbt's own environment (.venv-dbt, where the executable
lives) without a subprocess. The adapter serves only `fetch_row_counts()` / `fetch_column_metadata()`, which no asset
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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import distributions
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from packaging import version

from podemos_assets.resources.dbt import DBT_SELECT_TAG, PARSE_WINDOW, dbt_site_packages


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
        # dbt-core's version from its environment's metadata (.venv-dbt, /opt/dbt in the image), not from a
        # `dbt --version` subprocess per invocation.
        site = [str(p) for p in dbt_site_packages(self.dbt_executable)]
        for dist in distributions(name="dbt-core", path=site):
            return version.parse(dist.version)
        return super()._cli_version  # some other dbt on PATH: ask it

    def _initialize_dbt_core_adapter(self, args):  # noqa: ARG002 - no adapter metadata is fetched
        return None

    def build(self, context: dg.AssetExecutionContext, env: Mapping[str, str] | None = None) -> Iterator:
        """`dbt build` of the asset's selection, with `env` (e.g. the run's window) as environment variables."""
        args = ["build", *_group_selection(context)]
        values = {**PARSE_WINDOW, **(env or {})}
        if self.warehouse_path:
            values["PODEMOS_WAREHOUSE_PATH"] = self.warehouse_path
        if self.target_root is None:  # no home: dagster-dbt's own fresh target directory per invocation
            with _environ(values):
                invocation = self.cli(args, context=context)
            yield from _described(invocation.stream())
            return
        target = Path(self.target_root) / context.op_def.name
        target.mkdir(parents=True, exist_ok=True)
        with open(target / ".build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # the warehouse pool already serializes builds; this is the floor
            with _environ(values):
                invocation = self.cli(args, context=context, target_path=target)
            yield from _described(invocation.stream())


def _group_selection(context: dg.AssetExecutionContext) -> list[str]:
    """`--select` of the asset group's models (DBT_SELECT_TAG), or nothing when Dagster runs a subset of the
    group: dagster-dbt then selects the subset itself, and dbt would take the union of both selections.
    The groups are declared with select="" (resources/dbt.py, `manifest_of`), so without this dbt would
    build every model of the project."""
    group = context.op.tags.get(DBT_SELECT_TAG)
    if not group:
        raise dg.Failure(f"{context.op.name} has no {DBT_SELECT_TAG} op tag: declare the group with "
                         "resources.dbt.dbt_group (pagos/reports.py), or dbt would build the whole project")
    assets = context.assets_def
    subset = (assets.keys_by_output_name != assets.node_keys_by_output_name
              or assets.check_specs_by_output_name != assets.node_check_specs_by_output_name)
    return [] if subset else ["--select", group]


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
