"""`podemos demo`: live through the generated demo days as production would, on a simulated clock.

Nothing here decides what runs. For each night after a demo day the clock advances in steps (00:05,
01:05 ... 07:35 America/Mexico_City); before each step the world moves (branch changes, the offline link,
phones syncing, regulatory files landing, see demo/world.py), then the simulated daemon evaluates the code
location's own schedules, sensors and automation conditions at that time and executes what they request
(podemos_assets/simulation.py). So what the demo shows is what the daemon does in production; every run
lands in the DAGSTER_HOME instance that `make ui` shows.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime

import dagster as dg

from podemos_assets.config import Settings, load_settings
from podemos_assets.demo.regulatorio import planted_sources
from podemos_assets.demo.scenario import Scenario
from podemos_assets.demo.world import MX, PLANTED, World

# Where the clock stops each night (Mexico City): the branch nights start at 01:00 local, the report is
# built from 02:00, cut off at 05:30 and due at 06:00; governance runs at 07:00; a late file lands at 07:00.
NIGHTLY_START = dtime(1, 0)
NIGHT_STEPS = [dtime(0, 5), dtime(1, 5), dtime(1, 35), dtime(2, 5), dtime(3, 5), dtime(4, 5), dtime(5, 35),
               dtime(6, 5), dtime(7, 5), dtime(7, 35)]


@dataclass
class DemoContext:
    settings: Settings
    scenario: Scenario
    instance: dg.DagsterInstance
    defs: dg.Definitions


def night_times(day) -> list[datetime]:
    """The simulated instants of the night after business day `day`."""
    return [datetime.combine(day + timedelta(days=1), t, MX) for t in NIGHT_STEPS]


def main(args: argparse.Namespace) -> int:
    from podemos_assets.definitions import defs
    from podemos_assets.resources import build_resources
    from podemos_assets.simulation import SimulatedDaemon

    settings = load_settings()
    scenario = Scenario.load(settings.home)
    t_start = time.perf_counter()
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        ctx = DemoContext(settings, scenario, instance, defs)
        world = World(ctx)
        daemon = SimulatedDaemon(defs, instance, build_resources(settings), on_run=_print_run)
        days = scenario.dates[: args.nights] if getattr(args, "nights", None) else scenario.dates
        for day in days:
            print(f"==> night after {day} (America/Mexico_City)")
            # The automation is switched on at the first night's 01:00 (earlier, it would catch up the
            # night before the demo's first day, which has no data).
            times = [t for t in night_times(day) if day != days[0] or t.time() >= NIGHTLY_START]
            for now in times:
                for note in world.advance(now):
                    print(f"    {now:%H:%M} world: {note}")
                daemon.tick(now)
        print_summary(ctx, daemon, world, time.perf_counter() - t_start)
    return 0


def _print_run(run) -> None:
    what = ", ".join(sorted({a.split("/")[0] if "/" in a else a for a in run.assets}))[:70] or "per-day checks"
    state = "ok" if run.success else "FAILED"
    print(f"    {run.at.astimezone(MX):%H:%M} {run.by}: {what} {run.partitions} {state} ({run.seconds:.1f} s)")
    if not run.success and run.error:
        # The reason alone (the exception's class path and stack trace are in the UI's run logs).
        print("        " + re.sub(r"^[\w.]+(Error|Failure|Exception): ", "", run.error.splitlines()[0])[:300])


def print_summary(ctx: DemoContext, daemon, world: World, seconds: float) -> None:
    """What the automation ran, what the planted trouble showed, and where to look."""
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    instance, graph = ctx.instance, ctx.defs.resolve_asset_graph()
    # An asset whose partitions definition has no partition yet cannot be materialized: the closed months
    # (`sucursales/meses_cerrados`) while go-live is younger than the daily window.
    empty = sorted(k for k in graph.get_all_asset_keys()
                   if graph.get(k).partitions_def and not graph.get(k).partitions_def.get_num_partitions())
    keys = [k for k in graph.get_all_asset_keys() if k not in empty]
    materialized = sum(1 for k in keys if instance.get_latest_materialization_event(k))
    failed_checks = Counter()
    passed = 0
    for key in graph.get_all_asset_keys():
        for check_key in graph.get(key).check_keys:
            for rec in instance.event_log_storage.get_asset_check_execution_history(check_key, limit=500):
                if rec.status == AssetCheckExecutionRecordStatus.SUCCEEDED:
                    passed += 1
                elif rec.status == AssetCheckExecutionRecordStatus.FAILED:
                    failed_checks[f"{key.to_user_string()}:{check_key.name}"] += 1
    by = Counter(r.by for r in daemon.runs)
    failed_runs = [r for r in daemon.runs if not r.success]
    s = ctx.settings
    print()
    print(f"Demo finished in {seconds:.0f} s: {len(daemon.runs)} runs, every one requested by the automation "
          f"({', '.join(f'{n} by {k}' for k, n in by.most_common())})")
    for name, values in sorted(daemon.tick_seconds.items()):
        print(f"  {name}: {len(values)} evaluations, {sum(values) / len(values):.2f} s mean, {max(values):.2f} s max")
    print(f"  assets materialized: {materialized} of {len(keys)}"
          + (f" (and {', '.join(k.to_user_string() for k in empty)}: no partition yet, no month is closed before the "
             "daily window; docs/sucursales.md)" if empty else ""))
    never = sorted(k.to_user_string() for k in keys if not instance.get_latest_materialization_event(k))
    if never:
        print(f"    not materialized yet: {', '.join(never)}")
    print(f"  check executions:    {passed} passed, {sum(failed_checks.values())} failed (every evaluation counts: "
          "the per-day arrival and deadline checks are recorded each time a day's verdict changes and fail while a day misses "
          "a file, i.e. the planted late and broken files, and the open days before the demo's first day, which "
          "have no files at all)")
    for name, n in sorted(failed_checks.items()):
        print(f"    failed: {name} (x{n})")
    print(f"  runs that failed:    {len(failed_runs)} (the planted trouble below; the UI has their logs)")
    print("  planted trouble (expected):")
    print(f"    - offline branch {ctx.scenario.offline_branch}: its nights fail, caught up when the link is back")
    for text in PLANTED.values():
        print(f"    - {text}")
    for note in planted_sources(s):
        print(f"    - {note}")
    print("      (a refused file fails esquema_y_totales_de_control and keeps the day's last good extract; a file "
          "missing at 05:30 makes the report PARTIAL, completed by a new version when it lands: reporte_regulatorio "
          "in the UI, the outbox's indice.json, the alerts file)")
    print(f"  lake:       {s.lake_url}")
    print(f"  warehouse:  {s.warehouse_url}")
    print(f"  outbox:     {s.outbox_url}")
    print(f"  alerts:     {s.alerts_url}")
    print(f"  Dagster:    {s.dagster_home}")
    print("Browse it: make ui  (http://127.0.0.1:3000)")
