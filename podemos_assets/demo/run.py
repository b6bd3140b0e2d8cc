"""`podemos demo`: materialize the whole platform on the generated demo days, then print a summary.

Runs execute in-process against the DAGSTER_HOME instance (the one `make ui` shows), in as few runs
as the partitions allow: one process per partition costs seconds each. Each capability contributes a
step module (`run(ctx) -> None`) in data-flow order; a step whose module does not exist yet is skipped.
"""

from __future__ import annotations

import argparse
import importlib
import time
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from podemos_assets.config import Settings, load_settings
from podemos_assets.demo.scenario import Scenario

STEPS = [
    "podemos_assets.demo.steps_sucursales",
    "podemos_assets.demo.steps_campo",
    "podemos_assets.demo.steps_pagos",
    "podemos_assets.demo.steps_regulatorio",
    "podemos_assets.demo.steps_gobierno",
]


@dataclass
class DemoContext:
    settings: Settings
    scenario: Scenario
    instance: dg.DagsterInstance
    defs: dg.Definitions

    def materialize(self, selection, partition_key: str | None = None, tags: dict | None = None, raise_on_error=False):
        """One in-process run of `selection` (asset keys / AssetSelection) on the demo instance."""
        job = self.defs.resolve_implicit_global_asset_job_def()
        sel = selection if isinstance(selection, dg.AssetSelection) else dg.AssetSelection.assets(*selection)
        return job.get_subset(asset_selection=sel.resolve(self.defs.resolve_asset_graph())).execute_in_process(
            instance=self.instance,
            partition_key=partition_key,
            tags=tags or {},
            raise_on_error=raise_on_error,
            resources=None,
            # The steps print their own summary; every event still lands in the instance for `make ui`.
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", nargs="*", help="run only these steps (e.g. sucursales pagos)")


def main(args: argparse.Namespace) -> int:
    settings = load_settings()
    scenario = Scenario.load(settings.home)
    from podemos_assets.definitions import defs

    t_start = time.perf_counter()
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        ctx = DemoContext(settings, scenario, instance, defs)
        for name in STEPS:
            short = name.rsplit("_", 1)[-1]
            if args.only and short not in args.only:
                continue
            try:
                step = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name == name:
                    continue
                raise
            t0 = time.perf_counter()
            print(f"==> {short}")
            step.run(ctx)
            print(f"    {short} done in {time.perf_counter() - t0:.1f} s")
        print_summary(ctx, time.perf_counter() - t_start)
    return 0


def print_summary(ctx: DemoContext, seconds: float) -> None:
    """What the demo materialized, which checks passed and failed, and where to look."""
    instance = ctx.instance
    graph = ctx.defs.resolve_asset_graph()
    materialized, passed, failed = 0, 0, []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        if instance.get_latest_materialization_event(key) is not None:
            materialized += 1
        for check_key in graph.get(key).check_keys:
            for rec in instance.event_log_storage.get_asset_check_execution_history(check_key, limit=500):
                if rec.status == AssetCheckExecutionRecordStatus.SUCCEEDED:
                    passed += 1
                elif rec.status == AssetCheckExecutionRecordStatus.FAILED:
                    failed.append(f"{key.to_user_string()}:{check_key.name}")
    s = ctx.settings
    print()
    print(f"Demo finished in {seconds:.0f} s for {ctx.scenario.start} .. {ctx.scenario.end}")
    print(f"  assets materialized: {materialized} of {len(graph.get_all_asset_keys())}")
    print(f"  check executions:    {passed} passed, {len(failed)} failed")
    for name in sorted(set(failed))[:20]:
        print(f"    failed: {name} (x{failed.count(name)})")
    print(f"  lake:       {s.lake_url}")
    print(f"  warehouse:  {s.warehouse_url}")
    print(f"  outbox:     {s.outbox_url}")
    print(f"  alerts:     {s.alerts_url}")
    print(f"  Dagster:    {s.dagster_home}")
    print("Browse it: make ui  (http://127.0.0.1:3000)")
