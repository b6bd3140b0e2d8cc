"""Deadline machinery: the 02:00 build, the 05:30 cut-off, the 15-minute freshness watch, and the sensors
that ingest arriving files and re-deliver when a late source completes a partial report."""

import hashlib
import json

import dagster as dg

from podemos_assets.regulatorio.assets import REPORT_KEY, source_key
from podemos_assets.regulatorio.checks import FRESHNESS_JOB
from podemos_assets.regulatorio.deadline import decide, open_dates
from podemos_assets.regulatorio.extracts import mtime
from podemos_assets.regulatorio.registry import TZ_NAME, due_fecha, load_sources
from podemos_assets.resources import LakeResource
from podemos_assets.resources.clock import ClockResource

REPORT_JOB = dg.define_asset_job("reporte_regulatorio", selection=[REPORT_KEY],
                                 description="Builds and delivers one day's regulatory report")
SOURCES_JOB = dg.define_asset_job("fuentes_regulatorias", selection=[source_key(n) for n in load_sources()],
                                  description="Ingests the regulatory source files that arrived")


def _delivery_schedule(name: str, cron: str, what: str) -> dg.ScheduleDefinition:
    @dg.schedule(name=name, cron_schedule=cron, execution_timezone=TZ_NAME, job=REPORT_JOB, description=what,
                 default_status=dg.DefaultScheduleStatus.RUNNING)
    def _schedule(context: dg.ScheduleEvaluationContext, lake: LakeResource, outbox: LakeResource):
        now = context.scheduled_execution_time
        decision = decide(due_fecha(now), now, lake, outbox)
        if not decision.deliver:
            return dg.SkipReason(decision.reason)
        return dg.RunRequest(partition_key=decision.fecha, tags={"podemos/motivo": decision.reason[:200]})

    return _schedule


build_0200 = _delivery_schedule("reporte_regulatorio_0200", "0 2 * * *",
                                "Builds yesterday's report at 02:00 when every required source is in")
cutoff_0530 = _delivery_schedule("corte_reporte_regulatorio_0530", "30 5 * * *",
                                 "At the 05:30 cut-off, delivers a partial report if a required source is still missing")
freshness_watch = dg.ScheduleDefinition(name="vigilancia_frescura_regulatoria_15min", cron_schedule="*/15 * * * *",
                                        execution_timezone=TZ_NAME, job=FRESHNESS_JOB,
                                        default_status=dg.DefaultScheduleStatus.RUNNING)


def arrivals(now, sources: LakeResource, lake: LakeResource, seen: dict[str, str]) -> tuple[list[dg.RunRequest], dict]:
    """Run requests for files that appeared or changed since the cursor (one run per day, batched)."""
    requests, seen = [], dict(seen)
    for fecha in open_dates(now):
        new = []
        for name, source in load_sources().items():
            store = lake if source.format == "lake" else sources
            keys = [k for k in store.list(source.path(fecha)) if not k.endswith("/")] if source.format == "lake" \
                else ([source.path(fecha)] if store.exists(source.path(fecha)) else [])
            if not keys:
                continue
            sig = ";".join(f"{k}@{mtime(store, k)}" for k in keys)
            if seen.get(f"{fecha}|{name}") != sig:
                seen[f"{fecha}|{name}"] = sig
                new.append(name)
        if new:
            run_key = hashlib.sha256(json.dumps([fecha, {n: seen[f'{fecha}|{n}'] for n in new}]).encode()).hexdigest()
            requests.append(dg.RunRequest(run_key=run_key, partition_key=fecha,
                                          asset_selection=[source_key(n) for n in new]))
    open_now = set(open_dates(now))
    return requests, {k: v for k, v in seen.items() if k.split("|")[0] in open_now}


@dg.sensor(name="llegada_fuentes_regulatorias", job=SOURCES_JOB, minimum_interval_seconds=120,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Ingests each regulatory file when it lands in the drop zone (or changes: a re-send)")
def arrival_sensor(context: dg.SensorEvaluationContext, sources: LakeResource, lake: LakeResource,
                   clock: ClockResource):
    requests, seen = arrivals(clock.now(), sources, lake, json.loads(context.cursor or "{}"))
    context.update_cursor(json.dumps(seen, sort_keys=True))
    return requests or dg.SkipReason("no new source files")


def redeliveries(now, lake: LakeResource, outbox: LakeResource) -> list[dg.RunRequest]:
    requests = []
    for fecha in open_dates(now):
        decision = decide(fecha, now, lake, outbox)
        if decision.deliver:
            requests.append(dg.RunRequest(run_key=decision.inputs, partition_key=fecha,
                                          tags={"podemos/motivo": decision.reason[:200]}))
    return requests


@dg.sensor(name="reentrega_reporte_regulatorio", job=REPORT_JOB, minimum_interval_seconds=300,
           default_status=dg.DefaultSensorStatus.RUNNING,
           description="Delivers as soon as the day is ready between 02:00 and the cut-off, and a complete new "
           "version when a late source arrives after a partial delivery")
def redelivery_sensor(context: dg.SensorEvaluationContext, lake: LakeResource, outbox: LakeResource,
                      clock: ClockResource):
    return redeliveries(clock.now(), lake, outbox) or dg.SkipReason("every open day is up to date")
