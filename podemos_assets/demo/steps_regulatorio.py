"""Demo step `regulatorio`: ingest the days' sources, deliver the reports, live through the planted night.

In-process runs on the demo instance, few of them (single-run backfills over the demo's days):
1. every source for every day in one run (the planted malformed file is refused, its day fails);
2. every day's report in one run, the clock pinned at the last day's 05:30 cut-off: that day's required
   `spei` is missing, so it is delivered PARTIAL (the catch-up of older days is, honestly, after their 06:00);
3. the freshness checks at 06:00 of that night fail for `spei`; the alert sensor sends the failure;
4. the late file lands at 07:00, is ingested, and the complete version v2 is delivered;
5. the checks pass again and the alert sensor sends the recovery.
"""

from __future__ import annotations

import os
from datetime import time

import dagster as dg

from podemos_assets.demo.regulatorio import LATE_DIR, LATE_SOURCE
from podemos_assets.regulatorio.alertas import alert_sensor
from podemos_assets.regulatorio.assets import RECONCILIATION_CHECK, REPORT_KEY, SCHEMA_CHECK, source_key
from podemos_assets.regulatorio.checks import FRESHNESS_JOB
from podemos_assets.regulatorio.registry import CUTOFF, DEADLINE, at, load_sources
from podemos_assets.regulatorio.report import read_manifest, versions
from podemos_assets.resources import LakeResource, build_resources
from podemos_assets.resources.clock import ClockResource

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _run(ctx, keys, fechas, now, job=None):
    """One in-process run over a range of days with the clock pinned at `now`."""
    if job is None:
        checks = {dg.AssetCheckKey(k, RECONCILIATION_CHECK if k == REPORT_KEY else SCHEMA_CHECK) for k in keys}
        job = ctx.defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection=set(keys), asset_check_selection=checks)  # freshness checks run in their own job
    tags = {RANGE_START: fechas[0], RANGE_END: fechas[-1]} if fechas else {}
    resources = {**build_resources(ctx.settings), "clock": ClockResource.at(now)}
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the summary says what happened
    return job.execute_in_process(instance=ctx.instance, tags=tags, resources=resources, raise_on_error=False,
                                  run_config=quiet)


def _alerts(ctx, cursor):
    sensor_ctx = dg.build_sensor_context(instance=ctx.instance, cursor=cursor, definitions=ctx.defs,
                                         resources={"alerts": build_resources(ctx.settings)["alerts"]})
    alert_sensor(sensor_ctx)
    return sensor_ctx.cursor


def run(ctx) -> None:
    fechas = [d.isoformat() for d in ctx.scenario.dates]
    sources = LakeResource(url=ctx.settings.sources_url)
    outbox = LakeResource(url=ctx.settings.outbox_url)
    late = next((f for f in fechas if sources.exists(f"{LATE_DIR}/{f}/{LATE_SOURCE}.txt")), fechas[-1])
    names = list(load_sources())

    result = _run(ctx, [source_key(n) for n in names], fechas, at(fechas[-1], time(3, 0)))
    print(f"    sources: {len(names)} x {len(fechas)} days, run {'ok' if result.success else 'with refused/missing days'}")
    _run(ctx, [REPORT_KEY], fechas, at(fechas[-1], CUTOFF))
    freshness = ctx.defs.resolve_job_def(FRESHNESS_JOB.name)
    _run(ctx, None, None, at(late, DEADLINE), job=freshness)
    cursor = _alerts(ctx, None)

    key = f"{LATE_DIR}/{late}/{LATE_SOURCE}.txt"
    if sources.exists(key):  # the planted late file arrives at 07:00
        target = load_sources()[LATE_SOURCE].path(late)
        sources.write_bytes(target, sources.read_bytes(key))
        if sources.is_local:
            ts = at(late, time(7, 0)).timestamp()
            os.utime(sources.local_path(target), (ts, ts))
        sources.delete(key)
    _run(ctx, [source_key(LATE_SOURCE), REPORT_KEY], [late], at(late, time(7, 5)))
    _run(ctx, None, None, at(late, time(7, 10)), job=freshness)
    _alerts(ctx, cursor)

    for fecha in fechas:
        manifests = [read_manifest(fecha, v, outbox) for v in versions(fecha, outbox)]
        states = ", ".join(f"v{m['version']} {'PARCIAL' if m['parcial'] else 'completo'}"
                           f"{' (faltó ' + ', '.join(m['faltantes_requeridas']) + ')' if m['parcial'] else ''}"
                           for m in manifests) or "no entregado"
        print(f"    {fecha}: {states}")
