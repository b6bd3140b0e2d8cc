"""The one automation path of the branch ETL: `sucursales_automatizacion`, a sensor on by default.

Why a sensor and not automation conditions: the night starts at 01:00 in each branch's own zone (ten
zones, one asset), and catching a branch up needs to ask the branch whether it answers, which only code
with the `branches` resource can do. Each tick, from durable state only (its cursor, the partitions'
status, the reconciliation's results), it requests:
1. **the night** of every zone whose 01:00 has passed since its last night: yesterday plus the
   `SETTLING_DAYS` before it, for the zone's branches (one run per block of neighbouring branches), and the
   reconciliation (`conciliacion_sucursales`: tombstones and fingerprints) for yesterday;
2. **settling of any age**: exactly the branch-days that the reconciliation found different from the
   source (one run per branch and run of consecutive days); a day older than the daily window is
   re-extracted with its whole closed month (`sucursales/meses_cerrados`, one run per branch and month);
3. **catch-up**: every branch-day of the last `CATCH_UP_LOOKBACK` days whose latest extraction failed
   (never extracted, or a re-extraction that failed after a good one), and every closed month whose
   latest extraction failed, for the branches that answer now;
4. **month close**: when the window moves on (the 1st of a month), the month that just left it is
   re-extracted whole once per branch (`sucursales/meses_cerrados`): a last reconciliation of the month
   with the branch, and the UI then shows every closed month as materialized, not missing. Older months
   never extracted (a go-live before the first deployment) are `podemos backfill`'s, not one tick's.

Runs are boxes of partitions (days x contiguous branches), so a night for 200 branches is a handful of
runs, not 800; per-branch failure isolation comes from the assets themselves.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from podemos_assets.automation import sensor_status
from podemos_assets.resources.branches import BranchesResource
from podemos_assets.resources.clock import ClockResource
from podemos_assets.sucursales.assets import extraccion_sucursales
from podemos_assets.sucursales.conciliacion import conciliacion_sucursales
from podemos_assets.sucursales.meses_cerrados import meses_cerrados
from podemos_assets.sucursales.partitions import (
    BRANCHES,
    CLOSED_MONTHS,
    FIRST_DAY,
    PARTITION_TZ,
    SETTLING_DAYS,
    contiguous_blocks,
    month_key,
    range_tags,
    split_key,
)
from podemos_assets.sucursales.schemas import HUELLAS, KEYS, MESES_CERRADOS

NIGHTLY_AT = time(1, 0)  # branch-local: the branch's day is closed and its staff gone
CATCH_UP_LOOKBACK = 30  # days the catch-up looks back for failed branch-days (older: fingerprints)
CATCH_UP_RETRY = timedelta(minutes=30)  # a branch that answers a ping but fails its run is retried this often
MOTIVO = "podemos/motivo"
EXTRACTION = [KEYS[t] for t in KEYS]
RECONCILIATION = list(conciliacion_sucursales.keys)
# Two jobs because a run's assets share one partitions definition: branch-days, and closed months.
DAYS_JOB = dg.define_asset_job("sucursales_dias", selection=dg.AssetSelection.assets(
    extraccion_sucursales, conciliacion_sucursales), description="Branch-days of the daily window")
MONTHS_JOB = dg.define_asset_job("sucursales_meses_cerrados", selection=dg.AssetSelection.assets(meses_cerrados),
                                 description="Closed months of a branch, re-extracted whole")


def zones() -> list[str]:
    return sorted({b.zona_horaria for b in BRANCHES.values()})


def latest_night(zone: str, now: datetime) -> date:
    """The branch-local date of the latest 01:00 in `zone` at or before `now`."""
    local = now.astimezone(ZoneInfo(zone))
    return local.date() if local.time() >= NIGHTLY_AT else local.date() - timedelta(days=1)


def night_requests(zone: str, night: date) -> list[dg.RunRequest]:
    """The runs of one zone's night: yesterday + settling days, and yesterday's reconciliation."""
    yesterday = night - timedelta(days=1)
    first = max(FIRST_DAY, yesterday - timedelta(days=SETTLING_DAYS))
    if yesterday < FIRST_DAY:
        return []
    ids = [b.id for b in BRANCHES.values() if b.zona_horaria == zone]
    requests = []
    for b0, b1 in contiguous_blocks(ids):
        requests.append(dg.RunRequest(run_key=f"noche|{zone}|{night}|{b0}", job_name=DAYS_JOB.name,
                                      asset_selection=EXTRACTION, tags={**range_tags(first, yesterday, b0, b1), MOTIVO: "noche"}))
        requests.append(dg.RunRequest(run_key=f"conciliacion|{zone}|{night}|{b0}", job_name=DAYS_JOB.name,
                                      asset_selection=RECONCILIATION,
                                      tags={**range_tags(yesterday, yesterday, b0, b1), MOTIVO: "conciliacion"}))
    return requests


def day_runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs."""
    runs: list[list[date]] = []
    for d in sorted(set(days)):
        if runs and d == runs[-1][-1] + timedelta(days=1):
            runs[-1].append(d)
        else:
            runs.append([d])
    return [(r[0], r[-1]) for r in runs]


def settling_requests(instance: dg.DagsterInstance, after_id: int | None) -> tuple[list[dg.RunRequest], int | None]:
    """Re-extraction of exactly the branch-days new reconciliation results found different (a day older
    than the daily window: its closed month)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=HUELLAS, after_storage_id=after_id), limit=1000, ascending=True).records
    requests = []
    for record in records:
        _, suc = split_key(record.partition_key)
        days = [date.fromisoformat(d) for d in record.asset_materialization.metadata["dias_distintos"].value]
        for mes in sorted({d.replace(day=1) for d in days if d < FIRST_DAY}):
            requests.append(month_request(mes, suc, "huella_mes_cerrado",
                                          run_key=f"mes|{suc}|{mes:%Y-%m}|{record.storage_id}"))
        for first, last in day_runs([d for d in days if d >= FIRST_DAY]):
            requests.append(dg.RunRequest(
                run_key=f"huella|{suc}|{first}|{last}|{record.storage_id}", job_name=DAYS_JOB.name,
                asset_selection=EXTRACTION,
                tags={**range_tags(first, last, suc, suc), MOTIVO: "huella"}))
    return requests, (records[-1].storage_id if records else after_id)


def failed_days(instance: dg.DagsterInstance, ids: list[str], first: date, last: date) -> dict[str, list[date]]:
    """Branch-days in [first, last] whose latest extraction attempt failed, per branch."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    keys = [f"{d.isoformat()}|{suc}" for suc in ids for d in days]
    return _with_status(instance, KEYS["transacciones"], keys, dg.AssetPartitionStatus.FAILED)


def failed_months(instance: dg.DagsterInstance, ids: list[str]) -> dict[str, list[date]]:
    """Closed months whose latest extraction attempt failed, per branch."""
    keys = [f"{mes}|{suc}" for suc in ids for mes in CLOSED_MONTHS.get_partition_keys()]
    return _with_status(instance, MESES_CERRADOS, keys, dg.AssetPartitionStatus.FAILED)


def _with_status(instance: dg.DagsterInstance, asset: dg.AssetKey, keys: list[str],
                 wanted: dg.AssetPartitionStatus | None) -> dict[str, list[date]]:
    """The partitions among `keys` whose status is `wanted` (None: never attempted), as dates per branch."""
    status = partition_statuses(instance, asset, keys)
    out: dict[str, list[date]] = {}
    for key in keys:
        if status.get(key) == wanted:
            day, suc = split_key(key)
            out.setdefault(suc, []).append(day)
    return {suc: sorted(v) for suc, v in sorted(out.items())}


STATUS_CHUNK = 5000  # partition keys per status query (SQLite allows 32,766 bound parameters per statement)


def partition_statuses(instance: dg.DagsterInstance, asset: dg.AssetKey,
                       keys: list[str]) -> dict[str, dg.AssetPartitionStatus]:
    """The status of exactly `keys` as `instance.get_status_by_partition` defines it (the latest planned
    attempt without a later materialization: failed if its run failed, in progress while it runs; else
    materialized if it ever was), read from the latest events of those partitions only.

    Why not `get_status_by_partition`: its cache is keyed by the partitions definition, which the daily
    window changes every month, and it rebuilds from the asset's whole history (19.5 s on Postgres, 32 s on
    SQLite after three years of 200 branches: the tick after the window moved). These are indexed queries on
    (asset, event type, partition) whose cost follows `keys`, not the history.
    """
    if not keys:
        return {}
    planned: dict[str, int] = {}
    done: dict[str, int] = {}
    unique = sorted(set(keys))
    for i in range(0, len(unique), STATUS_CHUNK):  # one bound parameter per key: stay under SQLite's limit
        chunk = set(unique[i:i + STATUS_CHUNK])
        planned.update(instance.get_latest_storage_id_by_partition(
            asset, dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED, chunk))
        done.update(instance.get_latest_storage_id_by_partition(asset, dg.DagsterEventType.ASSET_MATERIALIZATION, chunk))
    status = {k: dg.AssetPartitionStatus.MATERIALIZED for k in done}
    attempts = {storage_id: k for k, storage_id in planned.items() if storage_id > done.get(k, 0)}
    if not attempts:
        return status
    run_of: dict[str, str] = {}
    storage_ids = sorted(attempts)
    for i in range(0, len(storage_ids), STATUS_CHUNK):
        chunk = storage_ids[i:i + STATUS_CHUNK]
        records = instance.fetch_planned_materializations(
            dg.AssetRecordsFilter(asset_key=asset, storage_ids=chunk), limit=len(chunk)).records
        run_of.update((attempts[r.storage_id], r.run_id) for r in records)
    runs: dict[str, dg.DagsterRun] = {}
    ids = sorted(set(run_of.values()))
    for i in range(0, len(ids), 100):
        runs.update((r.run_id, r) for r in instance.get_runs(dg.RunsFilter(run_ids=ids[i:i + 100])))
    for key, run_id in run_of.items():
        run = runs.get(run_id)  # a deleted run: neither failed nor in progress, as Dagster reads it
        if run is None:
            continue
        if not run.is_finished:
            status[key] = dg.AssetPartitionStatus.IN_PROGRESS
        elif run.status == dg.DagsterRunStatus.FAILURE:
            status[key] = dg.AssetPartitionStatus.FAILED
    return status


def month_request(mes: date, suc: str, motivo: str, run_key: str | None = None) -> dg.RunRequest:
    return dg.RunRequest(run_key=run_key, job_name=MONTHS_JOB.name, asset_selection=[MESES_CERRADOS],
                         partition_key=month_key(mes, suc), tags={MOTIVO: motivo})


def month_close_requests(instance: dg.DagsterInstance, ids: list[str]) -> list[dg.RunRequest]:
    """The newest closed month of every branch that never had an extraction of it, once (run key)."""
    months = CLOSED_MONTHS.get_partition_keys()
    if not months:
        return []
    keys = [f"{months[-1]}|{suc}" for suc in ids]
    never = _with_status(instance, MESES_CERRADOS, keys, None)
    return [month_request(mes, suc, "cierre_de_mes", run_key=f"cierre|{mes:%Y-%m}|{suc}")
            for suc, meses in never.items() for mes in meses]


def catch_up_requests(instance: dg.DagsterInstance, branches: BranchesResource, ids: list[str], first: date,
                      last: date, tried: dict[str, str] | None = None, now: datetime | None = None,
                      ) -> tuple[list[dg.RunRequest], list[str], dict[str, str]]:
    """For each branch with failed days in [first, last] or failed closed months that answers now: one
    run over its failed days (per run of consecutive days) and one per failed month.

    Returns the run requests, the branches still down, and when each branch was last requested (a branch
    that answers but keeps failing is retried every CATCH_UP_RETRY, not every tick)."""
    tried = dict(tried or {})
    requests, down = [], []
    days, months = failed_days(instance, ids, first, last), failed_months(instance, ids)
    for suc in sorted(set(days) | set(months)):
        if now and suc in tried and now - datetime.fromisoformat(tried[suc]) < CATCH_UP_RETRY:
            continue
        if not branches.reader(suc, BRANCHES[suc].connection_url(branches.home_path)).ping():
            down.append(suc)
            continue
        for d0, d1 in day_runs(days.get(suc, [])):
            requests.append(dg.RunRequest(job_name=DAYS_JOB.name, asset_selection=EXTRACTION,
                                          tags={**range_tags(d0, d1, suc, suc), MOTIVO: "recuperacion"}))
        requests += [month_request(mes, suc, "recuperacion") for mes in months.get(suc, [])]
        if now:
            tried[suc] = now.isoformat()
    return requests, down, tried


@dg.sensor(
    name="sucursales_automatizacion",
    jobs=[DAYS_JOB, MONTHS_JOB],
    minimum_interval_seconds=120,
    default_status=sensor_status(),
    description="The branch ETL's night: 01:00 branch-local extraction (yesterday + settling days) and "
    "reconciliation, re-extraction of branch-days (or closed months) whose fingerprint differs, catch-up of failed days "
    "and months of branches that answer again, and the close of the month that leaves the daily window",
)
def sucursales_automatizacion(context: dg.SensorEvaluationContext, branches: BranchesResource,
                              clock: ClockResource):
    now = clock.now()
    cursor = json.loads(context.cursor) if context.cursor else {}
    nights: dict[str, str] = cursor.get("noches", {})
    requests = []
    for zone in zones():
        night = latest_night(zone, now)
        if nights.get(zone, "") < night.isoformat():
            requests += night_requests(zone, night)
            nights[zone] = night.isoformat()
    settled, huellas_id = settling_requests(context.instance, cursor.get("huellas_id"))
    requests += settled
    today = now.astimezone(ZoneInfo(PARTITION_TZ)).date()
    first = max(FIRST_DAY, today - timedelta(days=CATCH_UP_LOOKBACK))
    caught, down, tried = catch_up_requests(context.instance, branches, list(BRANCHES), first,
                                            today - timedelta(days=1), cursor.get("reintentos"), now)
    requests += caught + month_close_requests(context.instance, list(BRANCHES))
    if down:
        context.log.info(f"still unreachable: {', '.join(down)}")
    tried = {s: t for s, t in tried.items() if now - datetime.fromisoformat(t) < timedelta(days=CATCH_UP_LOOKBACK)}
    new_cursor = json.dumps({"noches": nights, "huellas_id": huellas_id, "reintentos": tried}, sort_keys=True)
    return dg.SensorResult(run_requests=requests, cursor=new_cursor,
                           skip_reason=None if requests else "nothing due")
