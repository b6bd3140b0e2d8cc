"""Automation of `regulatorio`: one path per asset, every one deciding from durable state.

- sensor `llegada_fuentes_regulatorias` (2 min) targets the 15 source assets: a file (or lake partition) is
  new when its sha256 is neither the current version's nor an already refused one, whatever its mtime; the
  warehouse source `sucursales_pagos` is re-read for a payment date whose fingerprint in `pagos_historicos`
  (one GROUP BY over the whole history) differs from the one its current version recorded, once
  pagos_merge and cobranza_diaria_sucursal have materialized that day at least once;
- sensor `entrega_reporte_regulatorio` (1 min) targets the report: for every open day, and every day whose
  sources or collections changed since its cursor, it asks `deadline.decide` (02:00 build when complete,
  partial at the 05:30 cut-off, a new version when inputs change); the run key is the inputs' fingerprint;
- sensor `vigilancia_frescura_regulatoria` (1 min) runs the per-day freshness checks when a day's verdict at
  this minute differs from the one last recorded (a window closing, a file arriving, a delivery, 06:00
  passing), and only then: the verdicts are judged in the sensor, the run records them as check results.
Why sensors and not automation conditions for the sources: a report day is a payment date, which later
extraction days of `pagos_historicos` can still change, so no partition mapping says which day to re-read;
the warehouse's own content does. All on by default through `podemos_assets.automation`.
"""

import hashlib
import json

import dagster as dg
from dagster._core.storage.dagster_run import NOT_FINISHED_STATUSES  # queued to canceling

from podemos_assets.automation import sensor_status
from podemos_assets.config import GO_LIVE
from podemos_assets.regulatorio.assets import COBRANZA_KEY, REPORT_KEY, source_key
from podemos_assets.regulatorio.checks import FRESHNESS_JOB, evaluate
from podemos_assets.regulatorio.deadline import decide, open_dates
from podemos_assets.regulatorio.extracts import fingerprints, load_extract, refusals, source_sha
from podemos_assets.regulatorio.registry import load_sources
from podemos_assets.resources import LakeResource, WarehouseResource
from podemos_assets.resources.clock import ClockResource

REPORT_JOB = dg.define_asset_job("reporte_regulatorio", selection=[REPORT_KEY],
                                 description="Builds and delivers one day's regulatory report")
SOURCES_JOB = dg.define_asset_job("fuentes_regulatorias", selection=[source_key(n) for n in load_sources()],
                                  description="Ingests the regulatory sources that arrived or changed")
PAGOS_KEY = dg.AssetKey("pagos_historicos")
WAREHOUSE_SOURCE = "sucursales_pagos"


def stale_freshness_checks(now, lake, outbox, instance: dg.DagsterInstance) -> list[dg.AssetCheckKey]:
    """The freshness checks whose per-day verdicts at `now` differ from their last recorded evaluation.

    Compared with the instance, not a cursor: a run that failed to start leaves the check stale, and the next
    tick asks again."""
    results = {dg.AssetCheckKey(r.asset_key, r.check_name): r.metadata["por_dia"].value
               for r in evaluate(now, lake, outbox)}
    recorded = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(results))
    stale = []
    for key, verdicts in results.items():
        record = recorded.get(key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        before = (evaluation.metadata or {}).get("por_dia") if evaluation else None
        if before is None or before.value != verdicts:
            stale.append(key)
    return stale


@dg.sensor(name="vigilancia_frescura_regulatoria", job=FRESHNESS_JOB, minimum_interval_seconds=60,
           default_status=sensor_status(),
           description="Runs the per-day freshness checks when a day's verdict changes (judged every minute)")
def freshness_watch(context: dg.SensorEvaluationContext, lake: LakeResource, outbox: LakeResource,
                    clock: ClockResource):
    if context.instance.get_runs_count(dg.RunsFilter(job_name=FRESHNESS_JOB.name, statuses=NOT_FINISHED_STATUSES)):
        return dg.SkipReason("a freshness run is in flight; its results are compared next tick")
    stale = stale_freshness_checks(clock.now(), lake, outbox, context.instance)
    if not stale:
        return dg.SkipReason("no day changed state since the last recorded verdicts")
    return dg.RunRequest(asset_check_keys=stale, tags={"podemos/motivo": f"{len(stale)} check(s) cambiaron"})


def _known(name: str, fecha: str, lake) -> set[str]:
    """Contents already handled for a source-day: the current version and every refused file."""
    current = load_extract(name, fecha, lake)
    return {r["sha256"] for r in refusals(name, fecha, lake)} | ({current.control["sha256"]} if current else set())


def file_arrivals(now, sources, lake, seen: dict[str, str]) -> tuple[dict[str, list[tuple[str, str]]], dict]:
    """Per open day, the (source, sha256) pairs of new content. `seen` (the cursor) only saves re-reading the
    lake's records for a content already known; the decision itself is against the lake."""
    new, seen_now = {}, {}
    for fecha in open_dates(now):
        for name, source in load_sources().items():
            if source.format == "warehouse":
                continue
            sha = source_sha(source, fecha, sources, lake)
            if sha is None:
                continue
            seen_now[f"{fecha}|{name}"] = sha
            if seen.get(f"{fecha}|{name}") == sha or sha in _known(name, fecha, lake):
                continue
            new.setdefault(fecha, []).append((name, sha))
    return new, seen_now


def warehouse_arrivals(now, lake, warehouse, ready: set[str], seen: dict[str, str]) -> tuple[dict[str, str], dict]:
    """Payment dates whose warehouse fingerprint differs from what the current version of the source read.
    `ready`: the days pagos_merge and cobranza_diaria_sucursal have materialized (a day is not "in" before)."""
    prints = fingerprints(warehouse, GO_LIVE)
    days = sorted((set(prints) | set(open_dates(now))) & ready)
    new, seen_now = {}, dict(seen)
    for fecha in days:
        fp = prints.get(fecha, "vacio")
        if seen.get(fecha) == fp:
            continue
        current = load_extract(WAREHOUSE_SOURCE, fecha, lake)
        seen_now[fecha] = fp
        if current is None or current.control.get("huella") != fp:
            new[fecha] = fp
    return new, seen_now


def _latest_storage_id(instance: dg.DagsterInstance, key: dg.AssetKey) -> int:
    records = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key), limit=1).records
    return records[0].storage_id if records else 0


def _merge_awaits_dbt(instance: dg.DagsterInstance) -> bool:
    """A pagos merge is newer than the latest cobranza_diaria_sucursal build. A merge can change any payment
    date and the next dbt build rebuilds every date that differs; both take the one `warehouse` pool slot,
    so a later storage id means the build ran after the merge."""
    return _latest_storage_id(instance, COBRANZA_KEY) < _latest_storage_id(instance, PAGOS_KEY)


def _ready_days(instance: dg.DagsterInstance) -> set[str]:
    """Days whose payments the warehouse holds and dbt has summarised (none while a merge awaits its build)."""
    if _merge_awaits_dbt(instance):
        return set()
    return set(instance.get_materialized_partitions(PAGOS_KEY)) & set(instance.get_materialized_partitions(COBRANZA_KEY))


def arrival_requests(now, sources, lake, warehouse, instance, cursor: dict) -> tuple[list[dg.RunRequest], dict]:
    files, seen_files = file_arrivals(now, sources, lake, cursor.get("archivos", {}))
    wh, seen_wh = warehouse_arrivals(now, lake, warehouse, _ready_days(instance), cursor.get("almacen", {}))
    requests = []
    for fecha in sorted(set(files) | set(wh)):
        items = sorted(files.get(fecha, []) + ([(WAREHOUSE_SOURCE, wh[fecha])] if fecha in wh else []))
        run_key = hashlib.sha256(json.dumps([fecha, items]).encode()).hexdigest()
        requests.append(dg.RunRequest(run_key=run_key, partition_key=fecha,
                                      asset_selection=[source_key(n) for n, _ in items],
                                      tags={"podemos/motivo": ("contenido nuevo: " + ", ".join(n for n, _ in items))[:200]}))
    return requests, {"archivos": seen_files, "almacen": seen_wh}


@dg.sensor(name="llegada_fuentes_regulatorias", job=SOURCES_JOB, minimum_interval_seconds=120,
           default_status=sensor_status(),
           description="Ingests each regulatory source when new content arrives (sha256 of the file, whatever its "
           "mtime; for sucursales_pagos, a changed payment date in the warehouse)")
def arrival_sensor(context: dg.SensorEvaluationContext, sources: LakeResource, lake: LakeResource,
                   warehouse: WarehouseResource, clock: ClockResource):
    requests, cursor = arrival_requests(clock.now(), sources, lake, warehouse, context.instance,
                                        json.loads(context.cursor or "{}"))
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    return requests or dg.SkipReason("no new source content")


def _changed_days(instance: dg.DagsterInstance, after: int | None) -> tuple[set[str], int | None]:
    """Days whose sources or collections were materialized after storage id `after` (and the newest id)."""
    days, newest = set(), after
    for key in [*(source_key(n) for n in load_sources()), COBRANZA_KEY]:
        result = instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=key, after_storage_id=after),
                                                 limit=1000, ascending=True)
        for record in result.records:
            partition = record.event_log_entry.dagster_event.partition
            if partition and partition >= GO_LIVE:
                days.add(partition)
            newest = max(newest or 0, record.storage_id)
    return days, newest


def delivery_requests(now, lake, outbox, warehouse, instance, cursor: dict) -> tuple[list[dg.RunRequest], dict]:
    changed, newest = _changed_days(instance, cursor.get("visto"))
    days = sorted(set(open_dates(now)) | changed)
    behind = _warehouse_behind(days, lake, warehouse, instance)
    requests = []
    for fecha in days:
        if fecha in behind:
            continue  # the arrival sensor re-reads it within minutes; its new version is a change seen here
        decision = decide(fecha, now, lake, outbox, warehouse)
        if decision.deliver:
            requests.append(dg.RunRequest(run_key=decision.inputs, partition_key=fecha,
                                          tags={"podemos/motivo": decision.reason[:200]}))
    # A day held back is looked at again from the same cursor: nothing it changed is skipped for good.
    return requests, {"visto": cursor.get("visto") if behind else newest}


def _warehouse_behind(days: list[str], lake, warehouse, instance: dg.DagsterInstance) -> set[str]:
    """Days whose branch payments in the warehouse differ from what `sucursales_pagos` last read (or every day,
    while a merge waits for its dbt build). Delivering one would fail the blocking reconciliation against
    cobranza_diaria_sucursal, which already holds the new payments."""
    if warehouse is None:
        return set()
    if _merge_awaits_dbt(instance):
        return set(days)
    prints = fingerprints(warehouse, GO_LIVE)
    behind = set()
    for fecha in days:
        current = load_extract(WAREHOUSE_SOURCE, fecha, lake)
        if current is not None and current.control.get("huella") != prints.get(fecha, "vacio"):
            behind.add(fecha)
    return behind


@dg.sensor(name="entrega_reporte_regulatorio", job=REPORT_JOB, minimum_interval_seconds=60,
           default_status=sensor_status(),
           description="Delivers each day's report: complete from 02:00 once every required source is in, PARTIAL "
           "at the 05:30 cut-off if one is missing, and a new version whenever its inputs change")
def delivery_sensor(context: dg.SensorEvaluationContext, lake: LakeResource, outbox: LakeResource,
                    warehouse: WarehouseResource, clock: ClockResource):
    requests, cursor = delivery_requests(clock.now(), lake, outbox, warehouse, context.instance,
                                         json.loads(context.cursor or "{}"))
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    return requests or dg.SkipReason("every open day is up to date")
